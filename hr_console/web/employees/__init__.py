"""Employees: list and search, profile, badge, PIN, activation, CSV import and export."""

from hr_console.web.employees.routes import bp

__all__ = ["bp"]
