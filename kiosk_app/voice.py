"""Recording a voice message on the terminal: the microphone behind one small interface, and
the clip made from what it heard. No Kivy.

A ``Microphone`` records mono 16-bit samples at ``VOICE_RATE`` between ``start`` and
``stop`` and tells how loud the last moments were (``level``, for the meter). Two exist:

- ``DeviceMicrophone``: the terminal's real microphone through PortAudio (the
  ``sounddevice`` library; Debian's ``libportaudio2``);
- ``FileMicrophone``: a WAV file played as if spoken in real time, for the tests and for
  trying the screen on a terminal without a microphone.

``microphone(setting)`` picks one from the kiosk's ``microphone`` setting: "auto" (the real
one if the terminal has an input device, else none: the button is then hidden), "none", or a
WAV file's path. ``make_clip`` encodes what was recorded (Opus in Ogg, ``relais_wire.audio``)
at most ``MAX_VOICE_SECONDS`` long.
"""

from __future__ import annotations

import array
import logging
import math
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from relais_wire import audio, limits

log = logging.getLogger("relais.kiosk.voice")

RATE = limits.VOICE_RATE
MAX_SAMPLES = limits.MAX_VOICE_SECONDS * RATE
LEVEL_WINDOW = RATE // 10  # the meter shows the last 100 ms
MIN_MS = 500  # shorter than this is a slip of the finger, not a message


class Microphone(Protocol):
    def start(self) -> None: ...

    def stop(self) -> bytes: ...

    def level(self) -> float: ...

    def elapsed(self) -> float: ...


def _rms_level(samples: memoryview | array.array) -> float:
    """0..1 on a speech-friendly scale (square root of the RMS), for the meter."""
    if not len(samples):
        return 0.0
    rms = math.sqrt(sum(v * v for v in samples) / len(samples))
    return min(1.0, math.sqrt(rms / 32768.0) * 1.6)


class FileMicrophone:
    """A WAV file (mono, 16-bit, ``VOICE_RATE``) heard as if spoken now: ``stop`` returns
    as much of it as the time recorded, silence past its end."""

    def __init__(self, path: Path) -> None:
        with wave.open(str(path), "rb") as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, RATE):
                raise ValueError(f"{path}: a microphone file must be mono 16-bit {RATE} Hz WAV")
            self._pcm = w.readframes(w.getnframes())
        self._started: float | None = None

    def start(self) -> None:
        self._started = time.monotonic()

    def elapsed(self) -> float:
        return 0.0 if self._started is None else time.monotonic() - self._started

    def _upto(self) -> int:
        return min(int(self.elapsed() * RATE), MAX_SAMPLES)

    def level(self) -> float:
        end = self._upto() * 2
        return _rms_level(memoryview(self._pcm[max(0, end - LEVEL_WINDOW * 2):end]).cast("h"))

    def stop(self) -> bytes:
        n = self._upto()
        self._started = None
        pcm = self._pcm[:n * 2]
        return pcm + bytes(max(0, n * 2 - len(pcm)))


class DeviceMicrophone:
    """The terminal's microphone through PortAudio: blocks of samples appended by
    ``sounddevice``'s own thread, at most ``MAX_VOICE_SECONDS`` kept."""

    def __init__(self) -> None:
        import sounddevice  # noqa: F401 - fails here, not mid-recording, when it cannot work

        self._lock = threading.Lock()
        self._pcm = bytearray()
        self._stream = None
        self._started: float | None = None

    def start(self) -> None:
        import sounddevice

        with self._lock:
            self._pcm = bytearray()
        self._stream = sounddevice.RawInputStream(samplerate=RATE, channels=1, dtype="int16",
                                                  callback=self._block)
        self._stream.start()
        self._started = time.monotonic()

    def _block(self, data: bytes, _frames: int, _time: object, _status: object) -> None:
        with self._lock:
            room = MAX_SAMPLES * 2 - len(self._pcm)
            if room > 0:
                self._pcm += bytes(data)[:room]

    def elapsed(self) -> float:
        return 0.0 if self._started is None else time.monotonic() - self._started

    def level(self) -> float:
        with self._lock:
            tail = bytes(self._pcm[-LEVEL_WINDOW * 2:])
        return _rms_level(memoryview(tail).cast("h"))

    def stop(self) -> bytes:
        stream, self._stream, self._started = self._stream, None, None
        if stream is not None:
            stream.stop()
            stream.close()
        with self._lock:
            pcm, self._pcm = bytes(self._pcm), bytearray()
        return pcm


def _input_device() -> bool:
    try:
        import sounddevice

        return bool(sounddevice.query_devices(kind="input"))
    except Exception:  # no PortAudio, no device, no permission: no microphone
        return False


def microphone(setting: str) -> Microphone | None:
    """The kiosk's ``microphone`` setting made a microphone, or None (no button)."""
    value = (setting or "auto").strip()
    if value == "none":
        return None
    if value == "auto":
        return DeviceMicrophone() if _input_device() else None
    try:
        return FileMicrophone(Path(value))
    except (OSError, ValueError, EOFError, wave.Error) as exc:
        log.warning("the microphone file cannot be used: %s", exc)
        return None


@dataclass(frozen=True)
class Clip:
    ogg: bytes
    duration_ms: int


def make_clip(pcm: bytes) -> Clip | None:
    """The clip of a recording, or None when it is too short to be a message."""
    pcm = pcm[:MAX_SAMPLES * 2]
    ms = audio.duration_ms(pcm)
    if ms < MIN_MS:
        return None
    return Clip(audio.encode(pcm), ms)


def playable(ogg: bytes) -> bytes:
    """A WAV file of a clip, for Kivy's sound player (which does not read Opus). The clip
    came from the relay, which made it itself; decoding still refuses anything else."""
    return audio.wav(audio.decode(ogg))


def clock(seconds: float) -> str:
    """0:07, 1:00."""
    s = max(0, int(seconds + 0.5))
    return f"{s // 60}:{s % 60:02d}"
