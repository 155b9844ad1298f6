"""Photos and drawings as the kiosk sends and shows them. Pillow only: no Kivy, no server.

Photos leave the terminal normalised: EXIF orientation applied, every piece of metadata
(EXIF with GPS, ICC, XMP, comments) dropped, RGB, long side at most ``MAX_PHOTO_SIDE``,
a baseline JPEG of at most ``MAX_PHOTO_BYTES``. Anything that is not a plain picture, or
that would take more memory to decode than a kiosk can spare, is refused with a
``PhotoError`` that a person can read, in French or English.

Drawings are finger strokes on the wire contract's compact format (``relais_wire.drawing``):
integer coordinates, origin at the top left with y growing downwards (as in SVG and an HTML
canvas, so the console draws them as they are), colours ``#rrggbb``, widths in canvas units.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from struct import error as struct_error  # a malformed EXIF block raises it
from typing import Any

from PIL import Image, ImageDraw, ImageFile, ImageOps, UnidentifiedImageError

from relais_wire import limits
from relais_wire.drawing import parse_drawing

# --- photos --------------------------------------------------------------------------------

MAX_INPUT_BYTES = 40 * 1024 * 1024  # a 50 MP JPEG straight from a camera fits
MAX_SOURCE_PIXELS = 50_000_000  # ~200 MB of RGBA while decoding: the most a kiosk may spend
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
QUALITIES = (85, 78, 70, 62, 55, 48, 40)

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a cut-off file is an error, never half a photo

_MESSAGES = {
    "empty": ("Le fichier est vide.", "The file is empty."),
    "too_large": ("Le fichier est trop lourd (plus de 40 Mo).", "The file is too large (over 40 MB)."),
    "not_image": ("Ce fichier n'est pas une photo lisible.", "This file is not a readable photo."),
    "damaged": ("La photo est abîmée ou incomplète.", "The photo is damaged or incomplete."),
    "too_many_pixels": ("La photo est trop grande pour être ouverte en sécurité.",
                        "The photo is too large to open safely."),
    "too_small": ("La photo est trop petite.", "The photo is too small."),
    "cannot_shrink": ("Impossible de réduire la photo sous 250 Ko.",
                      "The photo cannot be made smaller than 250 KB."),
}


class PhotoError(ValueError):
    """A photo the kiosk will not send or show. ``code`` is stable; ``message(lang)`` is
    what the screen says."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {self.message('en')}" + (f" ({detail})" if detail else ""))

    def message(self, lang: str = "fr") -> str:
        fr, en = _MESSAGES.get(self.code, _MESSAGES["not_image"])
        return fr if lang == "fr" else en


def _open(data: bytes) -> Image.Image:
    """Open without decoding, then check the declared size before any pixel is read."""
    if not data:
        raise PhotoError("empty")
    if len(data) > MAX_INPUT_BYTES:
        raise PhotoError("too_large", f"{len(data)} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError("too_many_pixels", str(exc)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise PhotoError("not_image", str(exc)) from None
    width, height = img.size
    if width * height > MAX_SOURCE_PIXELS:
        raise PhotoError("too_many_pixels", f"{width}x{height}")
    if width < 8 or height < 8:
        raise PhotoError("too_small", f"{width}x{height}")
    return img


def _decode(img: Image.Image, target: int) -> Image.Image:
    """Read the pixels (JPEGs decode at a reduced scale when that still covers ``target``),
    apply the EXIF orientation and bring any mode to 8-bit RGB on white."""
    if img.format == "JPEG":
        img.draft("RGB", (target, target))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)  # an animation: its first frame
            # An unreadable orientation tag keeps the pixels as stored.
            with contextlib.suppress(ValueError, TypeError, KeyError, SyntaxError, struct_error):
                img = ImageOps.exif_transpose(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError("too_many_pixels", str(exc)) from None
    # Hostile bytes make Pillow's decoders raise nearly anything, counting frames above all
    # (fuzzing found struct.error from a GIF cut inside a frame's header and TypeError from
    # a TIFF whose second directory is garbage): all of it is a damaged photo, said clearly.
    except Exception as exc:
        raise PhotoError("damaged", f"{type(exc).__name__}: {exc}") from None
    return _to_rgb(img)


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grey: scale to 8 bits instead of letting convert() clip at 255.
        img = img.convert("I") if mode != "I" else img
        _lo, hi = img.getextrema()
        scale = 255.0 / 65535.0 if hi > 255 else 1.0
        img = img.point(lambda v: v * scale).convert("L")
    elif mode == "F":
        lo, hi = img.getextrema()
        span = (hi - lo) or 1.0
        img = img.point(lambda v: (v - lo) * 255.0 / span).convert("L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return img.convert("RGB")


def _shrink(img: Image.Image, side: int) -> Image.Image:
    if max(img.size) <= side:
        return img
    scale = side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    clean = Image.new("RGB", img.size)
    clean.paste(img)  # a fresh image carries no info dict: no EXIF, ICC, XMP nor comment
    clean.save(out, "JPEG", quality=quality, optimize=True, subsampling="4:2:0")
    return out.getvalue()


def normalise_photo(data: bytes, *, max_side: int = limits.MAX_PHOTO_SIDE,
                    max_bytes: int = limits.MAX_PHOTO_BYTES) -> bytes:
    """The JPEG the kiosk sends for a photo in any common format. Raises ``PhotoError``."""
    img = _shrink(_decode(_open(data), max_side), max_side)
    side = max(img.size)
    while True:
        for quality in QUALITIES:
            jpeg = _jpeg(img, quality)
            if len(jpeg) <= max_bytes:
                return jpeg
        side = int(side * 0.8)
        if side < 160:
            raise PhotoError("cannot_shrink")
        img = _shrink(img, side)


@dataclass(frozen=True)
class Pixels:
    """Decoded RGBA pixels, top row first, ready for a texture."""

    width: int
    height: int
    rgba: bytes


def pixels_for_display(data: bytes, max_side: int) -> Pixels:
    """Decode a photo (one received, or one in the image folder) for the screen, with the
    same guards as for sending: a 250 KB JPEG may still declare 60 000 x 60 000 pixels."""
    img = _shrink(_decode(_open(data), max_side), max_side).convert("RGBA")
    return Pixels(img.width, img.height, img.tobytes())


# --- drawings ------------------------------------------------------------------------------

DRAWING_LONG_SIDE = 800  # canvas units of the long side of a sent drawing
SIMPLIFY_TOLERANCE = 1.0  # canvas units: finer than a finger can mean
PALETTE = ("#111111", "#d32f2f", "#1565c0", "#2e7d32", "#f9a825")
WIDTHS = (4, 10, 22)  # thin, medium, thick, in canvas units

Point = tuple[float, float]


@dataclass(frozen=True)
class RawStroke:
    """A stroke as the finger drew it, in screen pixels with y growing downwards."""

    colour: str
    width: float  # in screen pixels
    points: tuple[Point, ...]


def simplify(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Ramer-Douglas-Peucker, iterative: keeps the points that shape the line."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy)
        worst, index = -1.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                dist = math.hypot(px - x1, py - y1)
            else:
                dist = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
            if dist > worst:
                worst, index = dist, i
        if worst > tolerance and index > 0:
            keep[index] = True
            stack.append((first, index))
            stack.append((index, last))
    return [p for p, k in zip(points, keep, strict=True) if k]


def _canvas(width: float, height: float) -> tuple[int, int, float]:
    if width <= 0 or height <= 0:
        raise ValueError("the drawing area has no size")
    scale = DRAWING_LONG_SIDE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale)), scale


def build_drawing(strokes: Iterable[RawStroke], width: float, height: float) -> dict[str, Any]:
    """The wire object for finger strokes drawn on a ``width`` x ``height`` pixel area.

    Points are scaled to the canvas, rounded, simplified and de-duplicated; if the result
    is still over the contract's limits the tolerance grows until it fits.
    """
    strokes = [s for s in strokes if s.points]
    if not strokes:
        raise ValueError("an empty drawing cannot be sent")
    w, h, scale = _canvas(width, height)
    tolerance = SIMPLIFY_TOLERANCE
    while True:
        out = [_wire_stroke(s, scale, w, h, tolerance) for s in strokes[-limits.DRAWING_MAX_STROKES:]]
        total = sum(len(s["p"]) // 2 for s in out)
        if total <= limits.DRAWING_MAX_POINTS:
            drawing = {"w": w, "h": h, "strokes": out}
            parse_drawing(drawing)  # the contract is the judge
            return drawing
        tolerance *= 1.6


def _wire_stroke(stroke: RawStroke, scale: float, w: int, h: int, tolerance: float) -> dict:
    pts = [(min(max(x * scale, 0), w), min(max(y * scale, 0), h)) for x, y in stroke.points]
    pts = simplify(pts, tolerance)
    flat: list[int] = []
    last: tuple[int, int] | None = None
    for x, y in pts:
        p = (round(x), round(y))
        if p != last:
            flat.extend(p)
            last = p
    width = int(min(max(round(stroke.width * scale), limits.DRAWING_MIN_WIDTH), limits.DRAWING_MAX_WIDTH))
    return {"c": stroke.colour.lower(), "w": width, "p": flat}


def render_drawing(drawing: dict[str, Any], max_side: int = 400,
                   background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """A drawing as a picture, with round caps and joins like the kiosk's own rendering
    (used for previews, exports and the tests that compare both)."""
    parsed = parse_drawing(drawing)
    scale = max_side / max(parsed.width, parsed.height)
    size = (max(1, round(parsed.width * scale)), max(1, round(parsed.height * scale)))
    img = Image.new("RGB", size, background)
    d = ImageDraw.Draw(img)
    for stroke in parsed.strokes:
        width = max(1, round(stroke.width * scale))
        pts = [(stroke.points[i] * scale, stroke.points[i + 1] * scale)
               for i in range(0, len(stroke.points), 2)]
        if len(pts) > 1:
            d.line(pts, fill=stroke.colour, width=width, joint="curve")
        r = width / 2
        for x, y in (pts[0], pts[-1]) if len(pts) > 1 else pts:
            d.ellipse((x - r, y - r, x + r, y + r), fill=stroke.colour)
    return img
