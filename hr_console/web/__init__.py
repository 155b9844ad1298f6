"""The HR console (Flask). The application factory lives here; one blueprint per area."""

from hr_console.web.app import create_app

__all__ = ["create_app"]
