"""Safety alerts in the console: the open ones on the dashboard (with a sound), the list,
and marking one handled (who, when, audited). Admin, HR and supervisors."""

from hr_console.web.safety.routes import bp

__all__ = ["bp"]
