"""Moderation: the queue of held messages, recent deliveries and post-moderation review,
and the history of decisions. Live: static/moderation.js polls ``queue.json``."""

from hr_console.web.moderation.routes import bp

__all__ = ["bp"]
