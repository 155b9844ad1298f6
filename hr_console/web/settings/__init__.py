"""Settings: retention, keyword filter, moderation defaults, quick replies. Admins change
them; HR reads them. Every change is audited with its old and new values."""

from hr_console.web.settings.routes import bp

__all__ = ["bp"]
