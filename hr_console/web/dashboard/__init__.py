"""Dashboard: what waits, what flows, who is offline; charts drawn on the server."""

from hr_console.web.dashboard.routes import bp

__all__ = ["bp"]
