"""Audit log: filters, pages, the chain check, and an audited CSV export."""

from hr_console.web.audit.routes import bp

__all__ = ["bp"]
