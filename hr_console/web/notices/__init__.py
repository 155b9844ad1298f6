"""Shift notices: compose (text, photo, target, urgency, acknowledgement, validity and
schedule), the list with reach / seen / acknowledged counts, per-notice tracking with
reminders, and withdrawal. Admin and HR address anyone; supervisors their own teams."""

from hr_console.web.notices.routes import bp

__all__ = ["bp"]
