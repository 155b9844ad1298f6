"""Console users (admin only): sign-in accounts, their role and language, the employee a
supervisor is, deactivation, password reset and unlocking after a lock-out."""

from hr_console.web.users.routes import bp

__all__ = ["bp"]
