"""Legal holds and access requests: HR, admins and auditors keep a person's messages, or one
conversation, past the retention for a dispute, release them, and export everything about
a person (services.legal_holds, services.person_export). Never supervisors."""

from hr_console.web.holds.routes import bp

__all__ = ["bp"]
