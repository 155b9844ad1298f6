"""Photos that people upload to the console (notice pictures), made safe to store and send.

Every upload is decoded with Pillow and re-encoded from its pixels only: EXIF orientation
applied, every piece of metadata dropped (EXIF with GPS, ICC, comments), long side at most
``MAX_PHOTO_SIDE``, a baseline JPEG of at most ``MAX_PHOTO_BYTES`` (the same limits as a
kiosk photo, relais_wire.limits). Anything that is not a whole, sane image is refused with
``Invalid("bad_image" | "image_too_large" | "image_too_big_pixels")`` before anything is
stored: truncated files, decompression bombs, other file types.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from hr_console.services.errors import Invalid
from hr_console.store.models import Media, utcnow
from relais_wire.limits import MAX_PHOTO_BYTES, MAX_PHOTO_SIDE

MAX_UPLOAD_BYTES = 12 * 1024 * 1024  # what we agree to read at all
MAX_INPUT_PIXELS = 40_000_000  # 40 MP: any real camera; far below what a bomb declares
MAX_INPUT_SIDE = 12_000
FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
_QUALITIES = (85, 78, 70, 62, 55, 48, 40)
JPEG_MAGIC = b"\xff\xd8\xff"


def _refuse(code: str, message: str) -> Invalid:
    return Invalid(code, message, field="photo")


def normalise(data: bytes, *, max_side: int = MAX_INPUT_SIDE) -> bytes:
    """A clean JPEG made from ``data``, or ``Invalid`` naming what is wrong with it.
    ``max_side``: the longest side accepted, read from the header before any decoding; a
    terminal's photos (``from_terminal``) are never larger than the kiosk makes them."""
    if not data:
        raise _refuse("bad_image", "The photo file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refuse("image_too_large",
                      f"The photo file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise _refuse("image_too_big_pixels", "The photo has too many pixels.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse("bad_image", "This file is not a photo (JPEG, PNG or WebP).") from None
    with img:
        if img.format not in FORMATS:
            raise _refuse("bad_image", "This file is not a photo (JPEG, PNG or WebP).")
        width, height = img.size
        # The header is all a bomb needs to lie about: judge it before decoding anything.
        if (width <= 0 or height <= 0 or width * height > MAX_INPUT_PIXELS
                or max(width, height) > max_side):
            raise _refuse("image_too_big_pixels", "The photo has too many pixels.")
        try:
            if img.format in ("JPEG", "MPO"):
                img.draft("RGB", (MAX_PHOTO_SIDE * 2, MAX_PHOTO_SIDE * 2))
            img.load()
            clean = _pixels_only(img)
        except Image.DecompressionBombError:
            raise _refuse("image_too_big_pixels", "The photo has too many pixels.") from None
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError):
            raise _refuse("bad_image", "The photo file is damaged or incomplete.") from None
    return _encode(clean)


def _pixels_only(img: Image.Image) -> Image.Image:
    try:
        oriented = ImageOps.exif_transpose(img) or img
    except Exception:  # a broken EXIF block: keep the pixels as they are
        oriented = img
    if oriented.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grey: scale to 8 bits (convert() would clip it to nearly all white).
        wide = oriented.convert("I") if oriented.mode != "I" else oriented
        scale = 255.0 / 65535.0 if wide.getextrema()[1] > 255 else 1.0
        oriented = wide.point(lambda v: v * scale).convert("L")
    if oriented.mode in ("RGBA", "LA", "PA") or (oriented.mode == "P" and "transparency" in oriented.info):
        rgba = oriented.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = oriented.convert("RGB")
    flat.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE), Image.Resampling.LANCZOS)
    # A new image carries no info dict at all: nothing of the original's metadata survives.
    clean = Image.new("RGB", flat.size)
    clean.paste(flat)
    return clean


def _encode(img: Image.Image) -> bytes:
    for _ in range(4):
        for quality in _QUALITIES:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=quality, optimize=True)
            out = buf.getvalue()
            if len(out) <= MAX_PHOTO_BYTES:
                return out
        img = img.resize((max(1, img.width * 3 // 4), max(1, img.height * 3 // 4)),
                         Image.Resampling.LANCZOS)
    raise _refuse("image_too_large", "The photo cannot be made small enough.")


def from_terminal(data: bytes) -> bytes:
    """``normalise`` for a photo a terminal sent: the kiosk makes every photo at most
    ``MAX_PHOTO_SIDE`` on its long side before it leaves, so a larger one is forged, and is
    refused from its header. It is decoded in the relay's worker: a 5119 x 7800 JPEG of one
    colour fits the wire's 250 KB and took 485 ms there, a kiosk's own photo 10 to 25 ms.
    (A safety alert's photo keeps the console's limits, as before; ``photo_time`` bounds
    what its decoding costs.)"""
    return normalise(data, max_side=MAX_PHOTO_SIDE)


def store(session: Session, data: bytes, *, terminal: bool = False) -> Media:
    """Normalise and keep one photo (``terminal``: one a terminal sent, ``from_terminal``);
    returns the Media row (flushed, so it has an id)."""
    jpeg = from_terminal(data) if terminal else normalise(data)
    row = Media(sha256=hashlib.sha256(jpeg).hexdigest(), mime="image/jpeg", data=jpeg,
                created_at=utcnow())
    session.add(row)
    session.flush()
    return row
