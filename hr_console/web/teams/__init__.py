"""Teams and sites: sites, teams, their supervisor and moderation mode, and their shifts."""

from hr_console.web.teams.routes import bp

__all__ = ["bp"]
