"""Contact policy: who may write to whom, per person and per group, as the relay enforces
it and the kiosk shows it."""

from hr_console.web.contacts.routes import bp

__all__ = ["bp"]
