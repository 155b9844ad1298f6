"""Feeds every corpus image to one photo normaliser in a process of its own, so that the
memory it reports (``ru_maxrss``: C allocations included, which tracemalloc cannot see) is
the normaliser's and not the test session's.

    python -m tests.security.corpus_runner CORPUS_DIR kiosk|server

Prints one JSON object per image, then one with the process's peak memory.
"""

from __future__ import annotations

import io
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from PIL import Image

from relais_wire.limits import MAX_PHOTO_BYTES, MAX_PHOTO_SIDE

FORBIDDEN = (b"<script", b"<?php", b"PK\x03\x04", b"SecretCam", b"Photographer", b"<html", b"Exif",
             b"ICC_PROFILE", b"http://ns.adobe.com/xap")


def _normaliser(which: str):  # noqa: ANN202
    if which == "kiosk":
        from kiosk_app.media import PhotoError, normalise_photo

        return normalise_photo, PhotoError, lambda e: (e.code, e.message("en"), e.message("fr"))
    from hr_console.services import photos
    from hr_console.services.errors import Invalid

    return photos.normalise, Invalid, lambda e: (e.code, e.message, e.message)


def check_clean(jpeg: bytes) -> list[str]:
    """What is wrong with a normaliser's output (empty: a plain, bare JPEG)."""
    problems = []
    img = Image.open(io.BytesIO(jpeg))
    if img.format != "JPEG" or img.mode != "RGB":
        problems.append(f"{img.format} {img.mode}")
    if max(img.size) > MAX_PHOTO_SIDE or len(jpeg) > MAX_PHOTO_BYTES:
        problems.append(f"too big: {img.size}, {len(jpeg)} bytes")
    for key in ("exif", "icc_profile", "xmp", "comment", "photoshop", "adobe"):
        if key in img.info:
            problems.append(f"kept {key}")
    if not jpeg.endswith(b"\xff\xd9"):
        problems.append("data after the end of the picture")
    problems += [f"kept {marker!r}" for marker in FORBIDDEN if marker in jpeg]
    img.load()
    return problems


def run(corpus: Path, which: str) -> list[dict[str, Any]]:
    normalise, error, describe = _normaliser(which)
    index = json.loads((corpus / "corpus.json").read_text())
    out = []
    for entry in index["images"]:
        data = (corpus / "images" / entry["name"]).read_bytes()
        tracemalloc.start()
        start = time.perf_counter()
        result: dict[str, Any] = {"name": entry["name"], "want": entry[which]}
        try:
            jpeg = normalise(data)
            result.update(outcome="clean", problems=check_clean(jpeg))
        except error as exc:
            code, en, fr = describe(exc)
            result.update(outcome="refuse", code=code, message=en, message_fr=fr)
        except Exception as exc:  # the finding: anything else is a crash
            result.update(outcome="crash", error=f"{type(exc).__name__}: {exc}"[:300])
        result["seconds"] = time.perf_counter() - start
        result["py_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        del data
        out.append(result)
    return out


if __name__ == "__main__":
    for row in run(Path(sys.argv[1]), sys.argv[2]):
        print(json.dumps(row))
