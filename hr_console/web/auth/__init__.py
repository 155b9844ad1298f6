"""Sign-in, sign-out, language, and the role checks every other area uses."""

from hr_console.web.auth.roles import roles_required
from hr_console.web.auth.routes import bp

__all__ = ["bp", "roles_required"]
