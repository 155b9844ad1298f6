"""Writes the bad-input corpus: hostile images and malformed uplink payloads.

    python tests/data/make_corpus.py OUT_DIR

Deterministic (fixed seeds), made with Pillow and the standard library only, nothing
downloaded. The tests call ``build(dir)`` into a cache directory at run time (the corpus holds
a 41 MB file and a 10 MB payload: too big to commit). ``OUT_DIR/images/NAME`` and
``OUT_DIR/payloads/NAME`` hold the bytes; ``OUT_DIR/corpus.json`` says what each one is and
what must become of it:

- images: ``refuse`` (not a picture, a bomb, damaged, too big) or ``clean`` (an unusual but
  legitimate picture: CMYK, 16-bit, animated, wrong extension, huge metadata, polyglot
  trailers; it must come out as a plain RGB JPEG with nothing of the original but pixels),
  or ``either`` where refusing or cleaning are both right. Expectations may differ between the
  kiosk normaliser and the server one (they accept different formats).
- payloads: every one must be refused by the wire parser (``code`` when one is expected).

Zero-width and direction-changing characters are refused, not neutralised, as the wire
contract does (relais_wire.envelope.clean_text): a hidden character can hide a word from the
keyword filter or disguise a message, and a shop-floor message never needs one. Right-to-left
letters themselves (Arabic, Hebrew) are ordinary text and are accepted.
"""

from __future__ import annotations

import base64
import io
import json
import random
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, TiffImagePlugin

SEED = 20240611


@dataclass
class Entry:
    name: str
    kind: str  # what it is, in a few words
    kiosk: str  # refuse | clean | either
    server: str  # refuse | clean | either
    code: str | None = None  # payloads: the expected WireError code, if one is certain


# --- images --------------------------------------------------------------------------------


def _save(img: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _photo(size: tuple[int, int] = (320, 240), mode: str = "RGB") -> Image.Image:
    rng = random.Random(SEED)
    img = Image.new("RGB", size, (200, 120, 40))
    d = ImageDraw.Draw(img)
    for _ in range(30):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        d.ellipse((x, y, x + 40, y + 30), fill=tuple(rng.randrange(256) for _ in range(3)))
    return img.convert(mode) if mode != "RGB" else img


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_bomb(width: int, height: int, bit_depth: int = 8, colour: int = 2) -> bytes:
    """A PNG that declares a huge canvas and carries a little compressed data."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def _png_zlib_bomb(side: int) -> bytes:
    """A real PNG of ``side`` x ``side`` grey zeros: tiny file, ``side**2`` bytes decoded."""
    raw = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    parts = [raw.compress(row) for _ in range(side)]
    parts.append(raw.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", b"".join(parts))
            + _png_chunk(b"IEND", b""))


def _jpeg_with_size(width: int, height: int) -> bytes:
    """A small JPEG whose SOF0 header is rewritten to declare ``width`` x ``height``."""
    data = bytearray(_save(_photo((64, 48)), "JPEG", quality=80))
    i = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, i + 5, height, width)
    return bytes(data)


def _gif_header_bomb() -> bytes:
    data = bytearray(_save(_photo((32, 32)).convert("P"), "GIF"))
    struct.pack_into("<HH", data, 6, 65535, 65535)  # logical screen
    i = data.index(b"\x2c")  # first image descriptor
    struct.pack_into("<HH", data, i + 5, 65535, 65535)
    return bytes(data)


def _bmp_header_bomb() -> bytes:
    data = bytearray(_save(_photo((16, 16)), "BMP"))
    struct.pack_into("<ii", data, 18, 60000, 60000)
    return bytes(data)


def _webp_header_bomb() -> bytes:
    """A VP8X WebP declaring a 16384 x 16384 canvas around a tiny picture."""
    small = _save(_photo((16, 16)), "WEBP", lossless=True)
    body = small[12:]  # the VP8L chunk
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (16383).to_bytes(3, "little") * 2
    payload = b"WEBP" + vp8x + body
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def _tiff_header_bomb() -> bytes:
    data = bytearray(_save(_photo((16, 16)), "TIFF"))
    # First IFD: find ImageWidth (256) and ImageLength (257) entries and enlarge them.
    order = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(order + "I", data, 4)
    (count,) = struct.unpack_from(order + "H", data, ifd)
    for n in range(count):
        at = ifd + 2 + n * 12
        tag, typ = struct.unpack_from(order + "HH", data, at)
        if tag in (256, 257):
            if typ == 3:
                struct.pack_into(order + "H", data, at + 8, 65000)
            else:
                struct.pack_into(order + "I", data, at + 8, 65000)
    return bytes(data)


def _exif(**tags: Any) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x013B] = "Photographer Name"  # Artist
    for key, value in tags.items():
        exif[int(key[1:], 16)] = value
    gps = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    exif[0x8825] = gps
    return exif.tobytes()


def _jpeg_segments(jpeg: bytes, segments: list[bytes]) -> bytes:
    """Insert raw marker segments right after SOI."""
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _animated(fmt: str, frames: int, size: tuple[int, int] = (64, 48), **kw: Any) -> bytes:
    imgs = [Image.new("RGB", size, ((i * 37) % 256, (i * 91) % 256, 80)) for i in range(frames)]
    return _save(imgs[0], fmt, save_all=True, append_images=imgs[1:], duration=40, loop=0, **kw)


def _truncations(name: str, data: bytes, fractions: tuple[float, ...]) -> dict[str, bytes]:
    return {f"{name}_cut{int(f * 100)}": data[: max(1, int(len(data) * f))] for f in fractions}


def images() -> list[tuple[Entry, bytes]]:
    out: list[tuple[Entry, bytes]] = []

    def add(name: str, kind: str, kiosk: str, server: str, data: bytes) -> None:
        out.append((Entry(name, kind, kiosk, server), data))

    photo = _photo()
    jpeg = _save(photo, "JPEG", quality=85)
    png = _save(photo, "PNG")
    gif = _save(photo.convert("P"), "GIF")
    webp = _save(photo, "WEBP", quality=80)
    tiff = _save(photo, "TIFF")
    bmp = _save(photo, "BMP")

    # Decompression bombs: header lies and real ones.
    add("bomb_png_100000x100000.png", "PNG declaring 10^10 pixels", "refuse", "refuse",
        _png_header_bomb(100_000, 100_000))
    add("bomb_png_16bit_rgba_50000.png", "16-bit RGBA PNG declaring 50000x50000", "refuse", "refuse",
        _png_header_bomb(50_000, 50_000, 16, 6))
    add("bomb_png_zlib_12000.png", "real 12000x12000 PNG of zeros (144 MP) in a small file",
        "refuse", "refuse", _png_zlib_bomb(12_000))
    add("bomb_png_wide_200000x8.png", "PNG 200000 pixels wide", "either", "refuse",
        _png_header_bomb(200_000, 8))
    add("bomb_jpeg_65000x65000.jpg", "JPEG whose SOF declares 65000x65000", "refuse", "refuse",
        _jpeg_with_size(65000, 65000))
    add("bomb_jpeg_60000x1000.jpg", "JPEG whose SOF declares 60000x1000 (60 MP)", "refuse", "refuse",
        _jpeg_with_size(60000, 1000))
    add("bomb_gif_65535.gif", "GIF declaring 65535x65535", "refuse", "refuse", _gif_header_bomb())
    add("bomb_bmp_60000.bmp", "BMP declaring 60000x60000", "refuse", "refuse", _bmp_header_bomb())
    add("bomb_webp_16383.webp", "WebP VP8X canvas 16383x16383", "refuse", "refuse",
        _webp_header_bomb())
    add("bomb_tiff_65000.tif", "TIFF declaring 65000x65000", "refuse", "refuse", _tiff_header_bomb())

    # Damaged files.
    for base, data in (("jpeg", jpeg), ("png", png), ("gif", gif), ("webp", webp), ("tiff", tiff),
                       ("bmp", bmp)):
        for name, cut in _truncations(f"truncated_{base}", data, (0.02, 0.3, 0.7, 0.95)).items():
            add(name, f"{base} cut short", "refuse", "refuse", cut)
    bad_crc = bytearray(png)
    bad_crc[png.index(b"IDAT") + 10] ^= 0xFF
    add("png_idat_corrupted.png", "PNG with a corrupted IDAT byte (CRC mismatch)", "refuse", "refuse",
        bytes(bad_crc))
    add("jpeg_no_eoi_garbage.jpg", "JPEG header then random bytes", "refuse", "refuse",
        jpeg[:200] + random.Random(SEED).randbytes(4000))

    # Not pictures at all (some dressed as one).
    rng = random.Random(SEED + 1)
    add("empty.jpg", "empty file", "refuse", "refuse", b"")
    add("one_byte.jpg", "one byte", "refuse", "refuse", b"\xff")
    add("random_bytes.png", "64 KB of random bytes named .png", "refuse", "refuse", rng.randbytes(65536))
    add("text.jpg", "plain text named .jpg", "refuse", "refuse", b"hello, this is not a photo\n" * 50)
    add("html_with_jpeg_magic.jpg", "HTML behind a JPEG magic number", "refuse", "refuse",
        b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>")
    add("svg_script.svg", "SVG with a script", "refuse", "refuse",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>')
    add("pdf.jpg", "a PDF named .jpg", "refuse", "refuse",
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    add("elf.png", "an executable named .png", "refuse", "refuse",
        b"\x7fELF\x02\x01\x01" + b"\x00" * 200)
    add("zip.jpg", "a ZIP archive named .jpg", "refuse", "refuse", _zip({"a.txt": b"x" * 100}))
    add("eps.jpg", "PostScript (would run Ghostscript)", "refuse", "refuse",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n")
    add("ico.jpg", "a Windows icon", "refuse", "refuse", _save(_photo((32, 32)), "ICO"))
    add("too_large_41mb.jpg", "41 MB file (JPEG header, zeros)", "refuse", "refuse",
        jpeg[:100] + b"\x00" * (41 * 1024 * 1024))
    add("too_large_13mb.png", "13 MB file (PNG header, zeros)", "either", "refuse",
        png[:100] + b"\x00" * (13 * 1024 * 1024))
    add("tiny_1x1.png", "1x1 pixel", "refuse", "either", _save(Image.new("RGB", (1, 1)), "PNG"))
    add("tiny_4000x2.png", "4000x2 sliver", "refuse", "either", _save(Image.new("RGB", (4000, 2)), "PNG"))

    # Huge metadata.
    add("jpeg_exif_gps.jpg", "JPEG with EXIF make, artist and GPS position", "clean", "clean",
        _save(photo, "JPEG", exif=_exif()))
    add("jpeg_exif_orientation_6.jpg", "JPEG rotated by EXIF", "clean", "clean",
        _save(photo, "JPEG", exif=_exif(x0112=6)))
    add("jpeg_exif_orientation_99.jpg", "JPEG with an impossible EXIF orientation", "clean", "clean",
        _save(photo, "JPEG", exif=_exif(x0112=99)))
    add("jpeg_exif_garbage.jpg", "JPEG with a garbage EXIF block", "either", "either",
        _jpeg_segments(jpeg, [_segment(0xE1, b"Exif\x00\x00" + rng.randbytes(3000))]))
    add("jpeg_many_app_segments.jpg", "JPEG with 150 APP segments of 64 KB (10 MB of metadata)",
        "either", "either",
        _jpeg_segments(jpeg, [_segment(0xE0 + (i % 15), b"X" * 65000) for i in range(150)]))
    add("jpeg_icc_1mb.jpg", "JPEG with a 1 MB ICC profile", "clean", "clean",
        _save(photo, "JPEG", icc_profile=b"\x00" * (1024 * 1024)))
    add("jpeg_comment_script.jpg", "JPEG whose comment holds a script", "clean", "clean",
        _jpeg_segments(jpeg, [_segment(0xFE, b"<script>alert(document.cookie)</script>")]))
    add("png_text_4mb.png", "PNG with a 4 MB tEXt chunk", "either", "either",
        _png_insert(png, _png_chunk(b"tEXt", b"Comment\x00" + b"A" * (4 * 1024 * 1024))))
    add("png_ztxt_bomb.png", "PNG with a zTXt chunk inflating to 200 MB", "either", "either",
        _png_insert(png, _png_chunk(b"zTXt", b"Comment\x00\x00"
                                    + zlib.compress(b"A" * (200 * 1024 * 1024), 9))))
    add("png_iccp_bomb.png", "PNG with an iCCP chunk inflating to 100 MB", "either", "either",
        _png_insert(png, _png_chunk(b"iCCP", b"p\x00\x00" + zlib.compress(b"\x00" * (100 << 20), 9))))
    add("png_10000_chunks.png", "PNG with 10,000 private ancillary chunks", "either", "either",
        _png_insert(png, b"".join(_png_chunk(b"prVt", b"x" * 10) for _ in range(10000))))

    # Unusual but legitimate encodings: cleaned.
    add("cmyk.jpg", "CMYK JPEG", "clean", "clean", _save(photo.convert("CMYK"), "JPEG"))
    add("grey.jpg", "greyscale JPEG", "clean", "clean", _save(photo.convert("L"), "JPEG"))
    add("progressive.jpg", "progressive JPEG", "clean", "clean", _save(photo, "JPEG", progressive=True))
    add("grey16.png", "16-bit greyscale PNG", "clean", "clean", _grey16())
    add("rgba.png", "PNG with transparency", "clean", "clean", _save(photo.convert("RGBA"), "PNG"))
    add("la.png", "grey + alpha PNG", "clean", "clean", _save(photo.convert("LA"), "PNG"))
    add("palette_trns.png", "palette PNG with a transparent colour", "clean", "clean",
        _save(photo.convert("P"), "PNG", transparency=0))
    add("one_bit.png", "1-bit PNG", "clean", "clean", _save(photo.convert("1"), "PNG"))
    add("tiff_16bit.tif", "16-bit greyscale TIFF", "clean", "refuse", _tiff16())
    add("tiff_float.tif", "32-bit float TIFF", "clean", "refuse", _save(photo.convert("F"), "TIFF"))
    add("tiff_cmyk.tif", "CMYK TIFF", "clean", "refuse", _save(photo.convert("CMYK"), "TIFF"))
    add("animated.gif", "animated GIF, 60 frames", "clean", "refuse", _animated("GIF", 60))
    add("animated_5000_frames.gif", "GIF with 5,000 frames", "either", "refuse",
        _animated("GIF", 5000, (16, 16)))
    add("animated.png", "animated PNG (APNG), 30 frames", "clean", "clean", _animated("PNG", 30))
    add("animated.webp", "animated WebP, 30 frames", "clean", "clean", _animated("WEBP", 30))
    add("webp_lossless_alpha.webp", "lossless WebP with alpha", "clean", "clean",
        _save(photo.convert("RGBA"), "WEBP", lossless=True))
    add("bmp.bmp", "BMP", "clean", "refuse", bmp)
    add("large_5000x4000.jpg", "20 MP JPEG", "clean", "clean",
        _save(_photo((5000, 4000)), "JPEG", quality=60))

    # Wrong extension and polyglots.
    add("png_named.jpg", "a PNG named .jpg", "clean", "clean", png)
    add("jpeg_named.gif", "a JPEG named .gif", "clean", "clean", jpeg)
    add("webp_named.png", "a WebP named .png", "clean", "clean", webp)
    add("jpeg_plus_zip.jpg", "JPEG with a ZIP archive appended (polyglot)", "clean", "clean",
        jpeg + _zip({"evil.js": b"alert(1)"}))
    add("jpeg_plus_html.jpg", "JPEG with HTML appended", "clean", "clean",
        jpeg + b"<html><script>alert(1)</script></html>")
    add("gifar.gif", "GIF with a JAR appended (GIFAR)", "clean", "refuse",
        gif + _zip({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n"}))
    add("png_plus_php.png", "PNG with PHP appended", "clean", "clean", png + b"<?php system($_GET['c']); ?>")
    add("png_text_script.png", "PNG whose tEXt holds a script", "clean", "clean",
        _png_insert(png, _png_chunk(b"tEXt", b"Comment\x00<script>alert(1)</script>")))
    add("mpo_two_frames.jpg", "MPO (multi-picture JPEG)", "either", "clean",
        _save(photo, "MPO", save_all=True, append_images=[photo.rotate(90)]))
    return out


def _png_insert(png: bytes, chunks: bytes) -> bytes:
    """Insert chunks right after IHDR."""
    at = 8 + 8 + 13 + 4
    return png[:at] + chunks + png[at:]


def _zip(files: dict[str, bytes]) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _grey16() -> bytes:
    img = Image.new("I;16", (200, 150))
    img.putdata([(x * 300) % 65536 for x in range(200 * 150)])
    return _save(img, "PNG")


def _tiff16() -> bytes:
    img = Image.new("I;16", (120, 90))
    img.putdata([(x * 700) % 65536 for x in range(120 * 90)])
    TiffImagePlugin.WRITE_LIBTIFF = False
    return _save(img, "TIFF")


# --- payloads --------------------------------------------------------------------------------

ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def _valid_text(**fields: Any) -> dict[str, Any]:
    env = {"v": 1, "type": "text", "id": ID, "ts": 1700000000000, "seq": 1, "sid": SID, "to": 3,
           "text": "Bonjour"}
    env.update(fields)
    return env


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _drawing(**kw: Any) -> dict[str, Any]:
    drawing = {"w": 400, "h": 300, "strokes": [{"c": "#112233", "w": 4, "p": [0, 0, 10, 10]}]}
    drawing.update(kw)
    return _valid_text(type="drawing", text=None, drawing=drawing)


def payloads() -> list[tuple[Entry, bytes]]:
    out: list[tuple[Entry, bytes]] = []

    def add(name: str, kind: str, data: bytes | dict, code: str | None = None) -> None:
        raw = _dump({k: v for k, v in data.items() if v is not None}) if isinstance(data, dict) else data
        out.append((Entry(f"{len(out):03d}_{name}", kind, "refuse", "refuse", code), raw))

    valid = _dump(_valid_text())
    # Bad JSON: the valid envelope cut at 30 places, and classic mistakes.
    for i in range(1, 31):
        add(f"json_cut_{i}", "valid envelope cut short", valid[: len(valid) * i // 31], "bad_json")
    for name, raw in {
        "trailing_garbage": valid + b"garbage", "two_objects": valid + valid,
        "single_quotes": valid.replace(b'"', b"'"), "trailing_comma": valid[:-1] + b",}",
        "comment": b"/* hi */" + valid, "nan": valid.replace(b'"ts":1700000000000', b'"ts":NaN'),
        "infinity": valid.replace(b'"ts":1700000000000', b'"ts":Infinity'),
        "huge_float": valid.replace(b'"ts":1700000000000', b'"ts":1e400'),
        "5000_digits": valid.replace(b'"ts":1700000000000', b'"ts":' + b"9" * 5000),
        "deep_nesting": b"[" * 100_000 + b"]" * 100_000,
        "deep_object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        "bom": b"\xef\xbb\xbf" + valid, "empty": b"", "whitespace": b"   \n\t ",
        "nul": b"\x00" * 10, "unquoted_keys": b"{v:1,type:text}", "hex_number": b'{"v":0x1}',
        "leading_zero": b'{"v":01}', "plus_sign": b'{"v":+1}',
    }.items():
        add(f"json_{name}", name.replace("_", " "), raw, "bad_json" if name != "whitespace" else None)
    for name, obj in {"array": [1, 2], "string": "text", "number": 42, "null": None, "true": True,
                      "array_of_envelope": [_valid_text()]}.items():
        add(f"not_object_{name}", f"JSON {name}, not an object", _dump(obj), "bad_json")

    # Oversize.
    add("oversize_512k", "one byte over the payload limit",
        b'{"v":1,"type":"text","text":"' + b"a" * (512 * 1024) + b'"}', "too_large")
    add("oversize_10mb", "10 MB payload", b'{"pad":"' + b"a" * (10 * 1024 * 1024) + b'"}', "too_large")
    add("text_too_long", "text of 1001 characters", _valid_text(text="a" * 1001), "too_long")
    add("text_too_long_emoji", "1001 emoji", _valid_text(text="\U0001f600" * 1001), "too_long")
    add("caption_too_long", "caption of 201 characters",
        _valid_text(type="photo", text=None, image=base64.b64encode(b"\xff\xd8\xff" + b"0" * 50).decode(),
                    caption="c" * 201), "too_long")

    # Wrong types, field by field.
    wrong = {"null": None, "bool": True, "float": 1.5, "string": "1", "list": [], "object": {},
             "negative": -1, "huge": 2**63}
    for field in ("v", "ts", "seq", "to"):
        for label, value in wrong.items():
            env = _valid_text()
            if value is None:
                env[field] = None
                env = {k: v for k, v in env.items() if k != field}
                # A content item names 'to' (a person) or 'group': with neither, 'to' is
                # the field at fault, as a bad one rather than a missing one.
                add(f"missing_{field}", f"no '{field}'", env,
                    "bad_field" if field == "to" else "missing_field")
                continue
            env[field] = value
            code = "bad_version" if field == "v" and label in ("negative", "huge") else None
            add(f"wrong_{field}_{label}", f"'{field}' is {label}", env, code)
    for field in ("type", "id", "sid", "text"):
        for label, value in wrong.items():
            if value is None or label == "string":
                continue
            add(f"wrong_{field}_{label}", f"'{field}' is {label}", _valid_text(**{field: value}),
                "bad_field" if field != "type" else None)
    for label, value in {"short": ID[:-1], "braces": "{" + ID + "}", "urn": "urn:uuid:" + ID,
                         "no_dashes": ID.replace("-", ""), "dashes_moved": ID[:9] + "-" + ID[9:-1],
                         "not_hex": "z" * 8 + ID[8:], "empty": "", "fullwidth": ID.replace("0", "０"),
                         "nul": ID[:-1] + "\x00"}.items():
        add(f"bad_id_{label}", f"id {label}", _valid_text(id=value), "bad_field")
        add(f"bad_sid_{label}", f"sid {label}", _valid_text(sid=value), "bad_field")
    for kind in ("selfie", "notice", "error", "state", "retract", "TEXT", "", "text ", "téxt"):
        add(f"unknown_type_{kind or 'empty'}", f"type {kind!r}", _valid_text(type=kind), "unknown_type")
    add("version_2", "wire version 2", _valid_text(v=2), "bad_version")
    add("version_0", "wire version 0", _valid_text(v=0), "bad_version")
    add("missing_sid", "text without a session", _valid_text(sid=None), "missing_field")
    add("missing_text", "text without text", _valid_text(text=None), "missing_field")

    # Invalid UTF-8.
    head, tail = valid.split(b"Bonjour")
    for label, junk in {"ff": b"\xff", "fe_ff": b"\xfe\xff", "lone_continuation": b"\x80",
                        "overlong_nul": b"\xc0\x80", "overlong_slash": b"\xe0\x80\xaf",
                        "surrogate": b"\xed\xa0\x80", "truncated_2": b"\xc3", "truncated_3": b"\xe2\x82",
                        "truncated_4": b"\xf0\x9f\x98", "beyond_10ffff": b"\xf4\x90\x80\x80",
                        "latin1_e_acute": b"caf\xe9", "cp1252_quote": b"\x93hi\x94"}.items():
        add(f"utf8_{label}", f"invalid UTF-8: {label}", head + junk + tail, "bad_utf8")
    for label, esc in {"lone_high": "\\ud800", "lone_low": "\\udc00", "reversed": "\\udc00\\ud800"}.items():
        add(f"escaped_surrogate_{label}", f"JSON escape of a {label} surrogate",
            head + esc.encode() + tail, "bad_field")

    # Hidden and direction-changing characters, control characters: refused in every text.
    hidden = {"zwsp": "\u200b", "zwnj": "\u200c", "zwj": "\u200d", "word_joiner": "\u2060",
              "bom": "\ufeff", "lre": "\u202a", "rle": "\u202b", "pdf": "\u202c", "lro": "\u202d",
              "rlo": "\u202e", "lri": "\u2066", "rli": "\u2067", "fsi": "\u2068", "pdi": "\u2069",
              "alm": "\u061c", "lrm": "\u200e", "rlm": "\u200f", "soft_hyphen": "\u00ad",
              "tag_a": "\U000e0041", "invisible_times": "\u2062"}
    for label, ch in hidden.items():
        add(f"hidden_text_{label}", f"text with U+{ord(ch):04X}", _valid_text(text=f"gr{ch}ève"),
            "bad_text")
    for label in ("rlo", "zwsp", "lrm"):
        ch = hidden[label]
        add(f"hidden_caption_{label}", f"caption with U+{ord(ch):04X}",
            _valid_text(type="photo", text=None, caption=f"a{ch}b",
                        image=base64.b64encode(b"\xff\xd8\xff" + b"0" * 50).decode()), "bad_text")
        add(f"hidden_badge_{label}", f"badge with U+{ord(ch):04X}",
            {"v": 1, "type": "login", "id": ID, "ts": 1, "badge": f"10{ch}01"}, "bad_text")
    add("rtl_override_spoof", "filename-style RLO spoof", _valid_text(text="photo\u202egpj.exe"),
        "bad_text")
    for label, ch in {"nul": "\x00", "bell": "\x07", "escape_ansi": "\x1b[31m", "delete": "\x7f",
                      "c1_nel": "\x85", "c1_csi": "\x9b", "unassigned": "\u0378",
                      "private_use": "\ue000", "backspace": "\x08", "carriage_return": "\r"}.items():
        add(f"control_{label}", f"text with {label}", _valid_text(text=f"ok{ch}ok"), "bad_text")
    for label, text in {"empty": "", "spaces": "   ", "newlines": "\n\n\t"}.items():
        add(f"text_{label}", f"text {label}", _valid_text(text=text), "empty")

    # Drawings.
    add("drawing_100000_points", "a drawing of 100,000 points (compact)",
        _drawing(strokes=[{"c": "#000000", "w": 2, "p": [0] * 200_000}]), "bad_drawing")
    add("drawing_100000_points_big", "a drawing of 100,000 points (over the payload limit)",
        _drawing(strokes=[{"c": "#000000", "w": 2, "p": [399, 299] * 100_000}]), "too_large")
    add("drawing_6001_points", "one point over the limit",
        _drawing(strokes=[{"c": "#000000", "w": 2, "p": [1, 1] * 6001}]), "bad_drawing")
    add("drawing_301_strokes", "301 strokes",
        _drawing(strokes=[{"c": "#000000", "w": 2, "p": [1, 1]}] * 301), "bad_drawing")
    for label, kw in {"no_strokes": {"strokes": []}, "strokes_object": {"strokes": {}},
                      "strokes_string": {"strokes": "M0 0"}, "w_zero": {"w": 0}, "h_big": {"h": 2001},
                      "w_string": {"w": "400"}, "w_float": {"w": 400.5}, "h_bool": {"h": True},
                      "stroke_not_object": {"strokes": [[0, 0, 1, 1]]},
                      "nested_strokes": {"strokes": [[[[[]]]]]}}.items():
        add(f"drawing_{label}", f"drawing {label}", _drawing(**kw), "bad_drawing")
    for label, kw in {"colour_name": {"c": "red"}, "colour_short": {"c": "#fff"},
                      "colour_bad_hex": {"c": "#12345g"}, "colour_newline": {"c": "#123456\n"},
                      "colour_script": {"c": "#123456<script>"}, "colour_null": {"c": None},
                      "width_zero": {"w": 0}, "width_41": {"w": 41}, "width_bool": {"w": True},
                      "width_float": {"w": 2.5}, "points_odd": {"p": [1, 2, 3]},
                      "points_one": {"p": [1]}, "points_empty": {"p": []},
                      "points_negative": {"p": [-1, 0]}, "points_outside": {"p": [401, 0]},
                      "points_float": {"p": [1.5, 2]}, "points_string": {"p": "0,0,1,1"},
                      "points_bool": {"p": [True, False]}, "points_nested": {"p": [[0, 0]]},
                      "points_null": {"p": [None, None]}}.items():
        stroke = {"c": "#112233", "w": 4, "p": [0, 0, 10, 10]}
        stroke.update(kw)
        if kw.get("c", 0) is None:
            stroke.pop("c")
        add(f"stroke_{label}", f"stroke {label}", _drawing(strokes=[stroke]), "bad_drawing")
    add("drawing_not_object", "drawing is a string", {**_drawing(), "drawing": "<svg/>"},
        "bad_drawing")
    add("drawing_missing", "drawing kind without a drawing",
        {k: v for k, v in _drawing().items() if k != "drawing"}, "bad_drawing")

    # Photos.
    jpeg_b64 = base64.b64encode(b"\xff\xd8\xff" + b"0" * 50).decode()
    photo = _valid_text(type="photo", text=None, image=jpeg_b64)
    for label, image in {"not_base64": "not base64!", "png": base64.b64encode(b"\x89PNG\r\n\x1a\n"
                                                                                + b"0" * 40).decode(),
                         "empty": "", "newlines": jpeg_b64[:8] + "\n" + jpeg_b64[8:],
                         "data_url": "data:image/jpeg;base64," + jpeg_b64, "padding": jpeg_b64 + "==",
                         "gif": base64.b64encode(b"GIF89a" + b"0" * 40).decode(),
                         "html": base64.b64encode(b"<html><script>alert(1)</script>").decode(),
                         "number": 12345, "list": [jpeg_b64],
                         "over_250k": base64.b64encode(b"\xff\xd8\xff" + b"0" * (250 * 1024)).decode(),
                         }.items():
        add(f"photo_{label}", f"photo image {label}", {**photo, "image": image})
    add("photo_missing_image", "photo without image", {k: v for k, v in photo.items() if k != "image"},
        "missing_field")

    # Other kinds.
    login = {"v": 1, "type": "login", "id": ID, "ts": 1, "badge": "1001"}
    for label, kw in {"badge_65": {"badge": "1" * 65}, "badge_empty": {"badge": ""},
                      "badge_number": {"badge": 1001}, "pin_letters": {"pin": "abcd"},
                      "pin_short": {"pin": "123"}, "pin_long": {"pin": "123456789"},
                      "pin_arabic_digits": {"pin": "١٢٣٤"}, "pin_number": {"pin": 1234},
                      "pin_fullwidth": {"pin": "１２３４"}}.items():
        add(f"login_{label}", f"login {label}", {**login, **kw})
    receipt = {"v": 1, "type": "receipt", "id": ID, "ts": 1, "sid": SID, "ref": ID, "status": "read"}
    for label, kw in {"status_unknown": {"status": "deleted"}, "status_upper": {"status": "READ"},
                      "ref_bad": {"ref": "x"}, "ref_missing": {"ref": None},
                      "status_list": {"status": ["read"]}}.items():
        add(f"receipt_{label}", f"receipt {label}", {**receipt, **kw})
    alert = {"v": 1, "type": "alert", "id": ID, "ts": 1, "pictogram": "fire"}
    for label, kw, code in (
            ("pictogram_unknown", {"pictogram": "explosion"}, "bad_field"),
            ("pictogram_upper", {"pictogram": "FIRE"}, "bad_field"),
            ("pictogram_markup", {"pictogram": "<img src=x onerror=alert(1)>"}, "bad_field"),
            ("pictogram_list", {"pictogram": ["fire"]}, "bad_field"),
            ("pictogram_missing", {"pictogram": None}, "missing_field"),
            ("text_201", {"text": "a" * 201}, "too_long"),
            ("text_hidden", {"text": "fe\u200bu"}, "bad_text"),
            ("oversize", {"text": "a" * (600 * 1024)}, "too_large")):
        add(f"alert_{label}", f"safety alert {label}", {**alert, **kw}, code)
    return out


# --- writing -----------------------------------------------------------------------------------


def build(out_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Write the corpus under ``out_dir`` (idempotent) and return its index."""
    index: dict[str, list[dict[str, Any]]] = {}
    for group, make in (("images", images), ("payloads", payloads)):
        folder = out_dir / group
        folder.mkdir(parents=True, exist_ok=True)
        entries = []
        for entry, data in make():
            (folder / entry.name).write_bytes(data)
            entries.append(asdict(entry))
        index[group] = entries
    (out_dir / "corpus.json").write_text(json.dumps(index, indent=1, ensure_ascii=False))
    return index


def load(out_dir: Path, build_if_missing: Callable[[Path], Any] | None = build) -> dict:
    index = out_dir / "corpus.json"
    if not index.exists() and build_if_missing is not None:
        build_if_missing(out_dir)
    return json.loads(index.read_text())


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    idx = build(target)
    print(f"{len(idx['images'])} images and {len(idx['payloads'])} payloads written to {target}")
