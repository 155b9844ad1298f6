"""The works council's monthly moderation report: a page with charts, a printable version
and a CSV. Admin, HR and auditors; no supervisor (docs/works-council-report.md)."""

from hr_console.web.council.routes import bp

__all__ = ["bp"]
