"""Finger drawings as compact vector strokes, the same on every kiosk and in the console.

Format: ``{"w": W, "h": H, "strokes": [{"c": "#rrggbb", "w": width, "p": [x0, y0, x1, y1, ...]}]}``
with integer canvas coordinates in ``0..W`` and ``0..H``. Flat integer lists keep a typical
drawing to a few kilobytes of JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from relais_wire import limits
from relais_wire.errors import WireError

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Stroke:
    colour: str
    width: int
    points: tuple[int, ...]  # x0, y0, x1, y1, ...


@dataclass(frozen=True)
class Drawing:
    width: int
    height: int
    strokes: tuple[Stroke, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "w": self.width,
            "h": self.height,
            "strokes": [{"c": s.colour, "w": s.width, "p": list(s.points)} for s in self.strokes],
        }


def _err(message: str, where: str) -> Exception:
    return WireError("bad_drawing", message, where)


def _dim(obj: dict, key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not (
        1 <= value <= limits.DRAWING_MAX_SIDE
    ):
        raise _err(f"drawing.{key} must be an integer from 1 to {limits.DRAWING_MAX_SIDE}",
                   f"drawing.{key}")
    return value


def parse_drawing(obj: Any) -> Drawing:
    """Validate a drawing object (already JSON-decoded). Raises ``WireError``."""
    if not isinstance(obj, dict):
        raise _err("field 'drawing' must be an object", "drawing")
    width, height = _dim(obj, "w"), _dim(obj, "h")
    strokes_in = obj.get("strokes")
    if not isinstance(strokes_in, list) or not strokes_in:
        raise _err("drawing.strokes must be a non-empty list", "drawing.strokes")
    if len(strokes_in) > limits.DRAWING_MAX_STROKES:
        raise _err(f"a drawing has at most {limits.DRAWING_MAX_STROKES} strokes", "drawing.strokes")
    total = 0
    strokes: list[Stroke] = []
    for i, s in enumerate(strokes_in):
        where = f"drawing.strokes[{i}]"
        if not isinstance(s, dict):
            raise _err(f"{where} must be an object", where)
        colour = s.get("c")
        if not isinstance(colour, str) or not _COLOUR.fullmatch(colour):
            raise _err(f"{where}.c must be a colour like #1a2b3c", f"{where}.c")
        w = s.get("w")
        if isinstance(w, bool) or not isinstance(w, int) or not (
            limits.DRAWING_MIN_WIDTH <= w <= limits.DRAWING_MAX_WIDTH
        ):
            raise _err(f"{where}.w must be an integer from {limits.DRAWING_MIN_WIDTH} to "
                       f"{limits.DRAWING_MAX_WIDTH}", f"{where}.w")
        points = s.get("p")
        if not isinstance(points, list) or len(points) < 2 or len(points) % 2:
            raise _err(f"{where}.p must be a list of x, y pairs", f"{where}.p")
        total += len(points) // 2
        if total > limits.DRAWING_MAX_POINTS:
            raise _err(f"a drawing has at most {limits.DRAWING_MAX_POINTS} points", f"{where}.p")
        for j, value in enumerate(points):
            bound = width if j % 2 == 0 else height
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= bound:
                raise _err(f"{where}.p[{j}] must be an integer inside the canvas", f"{where}.p")
        strokes.append(Stroke(colour=colour.lower(), width=w, points=tuple(points)))
    return Drawing(width=width, height=height, strokes=tuple(strokes))
