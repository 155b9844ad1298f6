"""The terminal's microphone interface (kiosk_app.voice): the file-fed one records what the
file says for as long as it is held, the meter follows the sound, a slip of the finger makes
no clip, and a terminal without a microphone shows no button."""

from __future__ import annotations

import time
import wave
from pathlib import Path

from kiosk_app import voice
from relais_wire import audio, limits
from tests.wire.hostile_audio import tone


def _wav(path: Path, pcm: bytes, rate: int = limits.VOICE_RATE, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return path


def test_the_file_microphone_records_for_as_long_as_it_is_held(tmp_path: Path) -> None:
    mic = voice.microphone(str(_wav(tmp_path / "m.wav", bytes(8000) + tone(3.0))))
    assert isinstance(mic, voice.FileMicrophone)
    mic.start()
    time.sleep(0.1)
    assert mic.level() < 0.05  # the file starts with a quarter second of silence
    time.sleep(0.9)
    assert mic.level() > 0.3  # then speaks
    pcm = mic.stop()
    assert 0.9 <= audio.duration_ms(pcm) / 1000 <= 1.5
    clip = voice.make_clip(pcm)
    assert clip is not None and abs(clip.duration_ms - audio.duration_ms(pcm)) <= 1
    assert abs(audio.duration_ms(audio.decode(clip.ogg)) - clip.duration_ms) <= 50


def test_a_slip_of_the_finger_makes_no_clip() -> None:
    assert voice.make_clip(tone(0.3)) is None
    assert voice.make_clip(b"") is None


def test_a_recording_is_cut_at_a_minute() -> None:
    clip = voice.make_clip(tone(limits.MAX_VOICE_SECONDS + 1.5))
    assert clip is not None and clip.duration_ms == limits.MAX_VOICE_SECONDS * 1000


def test_no_microphone_no_button(tmp_path: Path) -> None:
    assert voice.microphone("none") is None
    # This machine has no PortAudio input: "auto" finds none (a terminal then shows no button).
    assert voice.microphone("auto") is None
    assert voice.microphone(str(tmp_path / "missing.wav")) is None
    stereo = _wav(tmp_path / "stereo.wav", tone(0.5) * 2, channels=2)
    assert voice.microphone(str(stereo)) is None  # not what a microphone file must be


def test_clock_reads_like_a_player() -> None:
    assert [voice.clock(s) for s in (0, 6.6, 59.4, 60)] == ["0:00", "0:07", "0:59", "1:00"]
