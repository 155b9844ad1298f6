"""A finger drawing as SVG, drawn like the kiosk draws it: each stroke a polyline of its
colour ``c`` and width ``w`` with round ends and joins, on a white ``w``x``h`` canvas.

Every value is re-validated by the wire contract's parser and every attribute escaped,
so a hostile row in the database can neither break out of an attribute nor add markup."""

from __future__ import annotations

from html import escape
from typing import Any

from relais_wire.drawing import parse_drawing
from relais_wire.envelope import WireError

EMPTY = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 3" width="160" height="120">'
         '<rect width="4" height="3" fill="#eeeeee"/></svg>')


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def render(obj: Any) -> str:
    try:
        drawing = parse_drawing(obj)
    except (WireError, TypeError, ValueError):
        return EMPTY
    w, h = drawing.width, drawing.height
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_attr(w)} {_attr(h)}" '
        f'width="{_attr(w)}" height="{_attr(h)}" preserveAspectRatio="xMidYMid meet">',
        f'<rect x="0" y="0" width="{_attr(w)}" height="{_attr(h)}" fill="#ffffff"/>',
    ]
    for stroke in drawing.strokes:
        pts = stroke.points
        coords = " ".join(f"{int(pts[i])},{int(pts[i + 1])}" for i in range(0, len(pts), 2))
        if len(pts) == 2:  # a single tap is a dot
            x, y = int(pts[0]), int(pts[1])
            parts.append(f'<circle cx="{x}" cy="{y}" r="{_attr(max(1, stroke.width / 2))}" '
                         f'fill="{_attr(stroke.colour)}"/>')
            continue
        parts.append(
            f'<polyline points="{_attr(coords)}" fill="none" stroke="{_attr(stroke.colour)}" '
            f'stroke-width="{_attr(stroke.width)}" stroke-linecap="round" stroke-linejoin="round"/>')
    parts.append("</svg>")
    return "".join(parts)
