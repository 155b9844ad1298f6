"""Test photos made on the spot with Pillow: a 12-megapixel camera shot with EXIF, rotated,
CMYK, 16-bit, transparent, truncated, decompression bombs. Nothing is downloaded."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw

ORIENTATION = 0x0112
GPS_IFD = 0x8825


def camera_like(size: tuple[int, int] = (4000, 3000), seed_colour: int = 0) -> Image.Image:
    """Smooth shapes and sensor noise: compresses like a real photo, not like a flat fill."""
    w, h = size
    small = Image.new("RGB", (w // 8, h // 8), (90 + seed_colour, 120, 150))
    d = ImageDraw.Draw(small)
    for i in range(12):
        x, y = (i * 97) % (w // 8), (i * 53) % (h // 8)
        d.ellipse((x, y, x + w // 30, y + h // 25), fill=(40 + i * 17 % 200, 200 - i * 11, 60 + i * 13))
    d.rectangle((0, h // 16 * 1.7, w // 8, h // 8), fill=(120, 110, 100))
    img = small.resize(size, Image.Resampling.BICUBIC)
    noise = Image.effect_noise(size, 28).convert("RGB")
    return Image.blend(img, noise, 0.18)


def jpeg(img: Image.Image, *, quality: int = 92, orientation: int | None = None,
         gps: bool = False, comment: bytes | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    if orientation:
        exif[ORIENTATION] = orientation
    if gps:
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    out = io.BytesIO()
    kwargs = {"comment": comment} if comment else {}
    img.save(out, "JPEG", quality=quality, exif=exif.tobytes(), **kwargs)
    return out.getvalue()


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def png_header_bomb(width: int = 60000, height: int = 60000) -> bytes:
    """A valid PNG signature and IHDR that declare a gigantic image, and almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
