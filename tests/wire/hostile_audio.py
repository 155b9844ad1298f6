"""A corpus of hostile voice clips, made from a real one: what a terminal whose password was
read off its disk could send instead of a recording. Each comes with the error code it must
get; ``python -m tests.wire.hostile_audio DIR`` writes them out to listen to or replay."""

from __future__ import annotations

import array
import math
import struct
import sys
from pathlib import Path

from relais_wire import audio, limits

_PAGE = struct.Struct("<4sBBqIIIB")


def tone(seconds: float, freq: float = 220.0) -> bytes:
    """Mono 16-bit samples at VOICE_RATE: a voice-like buzz (a tone with a slow swell)."""
    rate = limits.VOICE_RATE
    return array.array("h", (
        int(9000 * math.sin(2 * math.pi * freq * i / rate)
            * (0.6 + 0.4 * math.sin(2 * math.pi * 2.5 * i / rate)))
        for i in range(int(seconds * rate)))).tobytes()


def clip(seconds: float = 2.0) -> bytes:
    return audio.encode(tone(seconds))


def pages(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each Ogg page."""
    out, pos = [], 0
    while pos < len(data):
        nsegs = data[pos + 26]
        end = pos + 27 + nsegs + sum(data[pos + 27:pos + 27 + nsegs])
        out.append((pos, end))
        pos = end
    return out


def _with_granule(data: bytes, page: int, granule: int) -> bytes:
    start, _end = pages(data)[page]
    out = bytearray(data)
    struct.pack_into("<q", out, start + 6, granule)
    return bytes(out)


def _with_serial(data: bytes, serial: int) -> bytes:
    out = bytearray(data)
    for start, _end in pages(data):
        struct.pack_into("<I", out, start + 14, serial)
    return bytes(out)


def _head_field(data: bytes, offset: int, value: int) -> bytes:
    """Change one byte of the OpusHead packet (first page's body)."""
    start, _end = pages(data)[0]
    body = start + 27 + data[start + 26]
    out = bytearray(data)
    out[body + offset] = value
    return bytes(out)


def corpus() -> dict[str, tuple[bytes, str]]:
    """Name: (bytes, the error code they must get, or "" for one that is taken: its pages
    say it lasts a second, so a second is what is decoded, stored and sent)."""
    good = clip(2.0)
    ten_hours = 10 * 3600 * audio.OPUS_RATE
    last = len(pages(good)) - 1
    long_clip = audio.encode(tone(limits.MAX_VOICE_SECONDS + 2.0))
    # Seventy seconds of sound whose pages all claim to end at one second.
    lying = long_clip
    for i in range(2, len(pages(long_clip))):
        lying = _with_granule(lying, i, audio.OPUS_RATE)
    other = _with_serial(clip(1.0), 0x5EC0_0D)
    return {
        "empty": (b"", "bad_audio"),
        "not_audio": (b"%PDF-1.7\n" + bytes(range(256)) * 8, "bad_audio"),
        "jpeg_bytes": (b"\xff\xd8\xff\xe0" + b"\0" * 2000, "bad_audio"),
        "truncated_mid_page": (good[: len(good) - 37], "bad_audio"),
        "truncated_header": (good[:20], "bad_audio"),
        "trailing_payload": (good + b"<?php system($_GET['c']); ?>", "bad_audio"),
        "trailing_zip": (good + b"PK\x03\x04" + b"\0" * 300, "bad_audio"),
        "second_stream": (good + other, "bad_audio"),
        "not_opus_codec": (good.replace(b"OpusHead", b"Speex   ", 1), "bad_audio"),
        "three_channels": (_head_field(good, 9, 3), "bad_audio"),
        "mapping_family_255": (_head_field(good, 18, 255), "bad_audio"),
        "ten_hour_header": (_with_granule(good, last, ten_hours), "too_long"),
        "longer_than_a_minute": (long_clip, "too_long"),
        "lying_granules_70s": (lying, ""),
        "oversized": (good + b"\0" * (limits.MAX_VOICE_BYTES + 1), "too_large"),
        "garbage_packets": (_garbled(good), "bad_audio"),
    }


def _garbled(data: bytes) -> bytes:
    """The audio pages' bodies overwritten with noise; headers and page layout intact."""
    out = bytearray(data)
    for i, (start, end) in enumerate(pages(data)):
        if i < 2:
            continue
        body = start + 27 + data[start + 26]
        for j in range(body, end):
            out[j] = (j * 131 + 7) & 0xFF
    return bytes(out)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-audio")
    target.mkdir(parents=True, exist_ok=True)
    for name, (data, code) in corpus().items():
        (target / f"{name}.{code}.ogg").write_bytes(data)
    print(f"{len(corpus())} clips in {target}")
