"""The messaging charter (issue 17): HR and admins publish a version (its four sections in
French and English) that every worker accepts at their next badge-in, and read who has;
auditors read (services.charter). Never supervisors."""

from hr_console.web.charter.routes import bp

__all__ = ["bp"]
