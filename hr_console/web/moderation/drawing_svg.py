"""The moderation queue's drawings: the SVG renderer lives in services.drawing_svg, shared
with a person's access-request report (services.person_export)."""

from hr_console.services.drawing_svg import EMPTY, render

__all__ = ["EMPTY", "render"]
