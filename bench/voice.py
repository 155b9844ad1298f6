"""12. Voice messages (issue 19): how big a clip is, what the relay's re-encoding of a minute
costs, and what the relay's worker pays for a voice message against a text.

- size: a minute of speech-like sound (a voiced buzz whose pitch and loudness move as
  syllables do) encoded as the kiosk encodes it (``relais_wire.audio.encode``); bytes a
  second, against the 16 kbit/s the encoder is asked for;
- re-encoding: ``services.voice.normalise`` of that minute (what the relay's voice desk does
  in its own process), CPU seconds, median of three; its ratio is to the minute itself
  (a real-time factor: 0.01 is a hundredth of the clip's length);
- relay cost: bench/hot_path.py's in-process batch path, the same pairs and rounds once with
  texts and once with 10-second clips (re-encoded beforehand, as the desk does), worker CPU
  per delivered message; the ratio is voice to text.

    python -m bench.voice
"""

from __future__ import annotations

import array
import json
import math
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from relais_wire import audio, limits


def speech_like(seconds: float) -> bytes:
    """Mono 16-bit at VOICE_RATE: a buzz at a moving pitch, loud and soft four times a
    second, with breath noise: harder for the encoder than a pure tone, close to a voice."""
    rate = limits.VOICE_RATE
    out = array.array("h")
    phase, seed = 0.0, 12345
    for i in range(int(seconds * rate)):
        t = i / rate
        pitch = 120 + 40 * math.sin(2 * math.pi * 0.7 * t)
        phase += 2 * math.pi * pitch / rate
        syllable = max(0.0, math.sin(2 * math.pi * 4 * t)) ** 0.5
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        noise = (seed / 0x7FFFFFFF - 0.5) * 0.08
        value = syllable * (0.5 * math.sin(phase) + 0.25 * math.sin(2 * phase)
                            + 0.12 * math.sin(3 * phase)) + noise
        out.append(int(max(-1.0, min(1.0, value)) * 20000))
    return out.tobytes()


def _reencode(clip: bytes, runs: int = 3) -> dict[str, Any]:
    from hr_console.services import voice

    cpu = []
    for _ in range(runs):
        t0 = time.process_time()
        made = voice.normalise(clip)
        cpu.append(time.process_time() - t0)
    seconds = made.duration_ms / 1000
    median = statistics.median(cpu)
    return {"cpu_s": round(median, 3), "runs_cpu_s": [round(c, 3) for c in cpu],
            "clip_s": seconds, "ratio_to_clip": round(median / seconds, 4),
            "kept_ms": made.duration_ms}


def _relay_cost(pairs: int, rounds: int) -> dict[str, Any]:
    from bench.hot_path import drive

    clip = audio.encode(speech_like(10.0))
    out: dict[str, Any] = {"pairs": pairs, "rounds": rounds, "clip_bytes": len(clip)}
    for name, content in (("text", None), ("voice", clip)):
        root = Path(tempfile.mkdtemp(prefix="relais-voice-bench-"))
        try:
            out[name] = drive(f"sqlite:///{root / 'relais.db'}", pairs=pairs, rounds=rounds,
                              workdir=root, clip=content)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    text, voice_ = out["text"]["cpu_ms_per_delivered"], out["voice"]["cpu_ms_per_delivered"]
    out["voice_over_text"] = round(voice_ / text, 2) if text else None
    return out


def run(*, pairs: int = 16, rounds: int = 10, say: Any = print) -> dict[str, Any]:
    minute = audio.encode(speech_like(60.0))
    size = {"clip_s": 60, "bytes": len(minute), "bytes_per_s": round(len(minute) / 60),
            "asked_bytes_per_s": limits.VOICE_BITRATE // 8}
    size["ratio_to_asked"] = round(size["bytes_per_s"] / size["asked_bytes_per_s"], 2)
    say(f"voice: a minute is {len(minute)} bytes")
    reencode = _reencode(minute)
    say(f"voice: re-encoding a minute takes {reencode['cpu_s']} s of CPU")
    cost = _relay_cost(pairs, rounds)
    say(f"voice: worker CPU per message × {cost['voice_over_text']} a text")
    return {"size": size, "reencode": reencode, "relay": cost}


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
