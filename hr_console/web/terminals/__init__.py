"""Terminals (admin only): enrolment, site, rename, credential rotation and revocation,
each followed by a re-render and reload of the broker's password file and ACL."""

from hr_console.web.terminals.routes import bp

__all__ = ["bp"]
