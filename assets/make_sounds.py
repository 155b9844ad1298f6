"""Makes the kiosk's sounds with Python's ``wave`` module: no recording, no download.

Run ``python -m assets.make_sounds`` to regenerate ``assets/sounds/*.wav`` (kept in the
repository). A workshop is loud: the tones sit between 800 and 2000 Hz, where the ear is
most sensitive and most machines are quieter, with soft attacks so they do not click.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

OUT = Path(__file__).with_name("sounds")
RATE = 22050


def tone(freq: float, seconds: float, volume: float = 0.8) -> list[float]:
    n = int(RATE * seconds)
    fade = max(1, int(RATE * 0.01))
    out = []
    for i in range(n):
        env = min(1.0, i / fade, (n - i) / fade)
        # A touch of the octave makes a beep sound like a chime rather than a test tone.
        s = math.sin(2 * math.pi * freq * i / RATE) + 0.3 * math.sin(4 * math.pi * freq * i / RATE)
        out.append(volume * env * s / 1.3)
    return out


def silence(seconds: float) -> list[float]:
    return [0.0] * int(RATE * seconds)


def write(name: str, samples: list[float]) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(struct.pack("<h", int(max(-1, min(1, s)) * 32000)) for s in samples))
    return path


def main() -> None:
    # New message: two rising notes, friendly.
    write("message", tone(880, 0.12) + silence(0.04) + tone(1320, 0.18))
    # Urgent notice: three pairs of alternating high notes, hard to miss.
    urgent: list[float] = []
    for _ in range(3):
        urgent += tone(1760, 0.14, 1.0) + tone(1175, 0.14, 1.0) + silence(0.08)
    write("urgent", urgent)
    print(f"sounds written to {OUT}")


if __name__ == "__main__":
    main()
