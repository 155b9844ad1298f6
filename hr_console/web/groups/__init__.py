"""Workgroups: groups of employees who converse on the terminals, their membership rules,
who may post, and how their posts are moderated."""

from hr_console.web.groups.routes import bp

__all__ = ["bp"]
