"""The two sounds of the kiosk: a new message, an urgent notice (``assets/sounds``, made by
``assets/make_sounds.py``), and a text read aloud (``ReadAloud``). A terminal without a
sound card plays nothing and says so once in the log; ``played`` and ``spoken`` record what
was asked for, for the tests."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path

from kivy.clock import Clock
from kivy.core.audio import Sound, SoundLoader

from kiosk_app import speech
from kiosk_app.config import ASSETS

log = logging.getLogger("relais.kiosk")
SOUNDS = ASSETS / "sounds"


class Sounds:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.played: list[str] = []
        self._cache: dict[str, Sound | None] = {}

    def _load(self, name: str) -> Sound | None:
        if name not in self._cache:
            path = SOUNDS / f"{name}.wav"
            sound = None
            try:
                sound = SoundLoader.load(str(path)) if path.exists() else None
            except Exception:  # no audio device, no provider: a silent kiosk still works
                log.warning("cannot load sound %s", path, exc_info=True)
            if sound is None:
                log.warning("sound %s is unavailable on this terminal", name)
            self._cache[name] = sound
        return self._cache[name]

    def play(self, name: str) -> None:
        self.played.append(name)
        if not self.enabled:
            return
        sound = self._load(name)
        if sound is not None:
            if sound.state == "play":
                sound.stop()
            sound.play()


class ReadAloud:
    """The "Listen" button's voice (``kiosk_app.speech``): the text is spoken in a thread of
    its own (espeak-ng takes a few hundred milliseconds) and played on the UI thread, as the
    other sounds. One at a time: a new one, or ``stop``, silences the one playing.
    ``spoken`` records (text, language, WAV file) for the tests; the file is kept until the
    next one."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled  # False: speech is made (and recorded) but not played
        self.available = speech.available()
        self.spoken: list[tuple[str, str, Path]] = []
        self.failed = 0
        self._dir = Path(tempfile.mkdtemp(prefix="relais-read-aloud-"))
        self._turn = 0
        self._sound: Sound | None = None

    def say(self, text: str, reader_language: str) -> None:
        if not self.available or not text.strip():
            return
        self.stop()
        self._turn += 1
        turn, lang = self._turn, speech.spoken_language(text, reader_language)
        threading.Thread(target=self._make, args=(turn, text, lang), daemon=True,
                         name="kiosk-read-aloud").start()

    def _make(self, turn: int, text: str, lang: str) -> None:
        try:
            wav = speech.synthesize(text, lang)
        except speech.SpeechError as exc:
            log.warning("cannot read aloud: %s", exc)
            self.failed += 1
            return
        path = self._dir / f"read-{turn}.wav"
        try:
            path.write_bytes(wav)
        except OSError:  # the kiosk closed meanwhile (its folder is gone)
            return
        Clock.schedule_once(lambda _dt: self._play(turn, text, lang, path), 0)

    def _play(self, turn: int, text: str, lang: str, path: Path) -> None:
        if turn != self._turn:  # another one was asked for meanwhile
            path.unlink(missing_ok=True)
            return
        for old in self.spoken[-1:]:
            old[2].unlink(missing_ok=True)
        self.spoken.append((text, lang, path))
        if not self.enabled:
            return
        try:
            self._sound = SoundLoader.load(str(path))
        except Exception:  # no audio device, no provider: the kiosk still works
            log.warning("cannot play %s", path, exc_info=True)
            self._sound = None
        if self._sound is not None:
            self._sound.play()

    def stop(self) -> None:
        self._turn += 1
        if self._sound is not None and self._sound.state == "play":
            self._sound.stop()
        self._sound = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
