"""The two sounds of the kiosk: a new message, an urgent notice (``assets/sounds``, made by
``assets/make_sounds.py``), and a text read aloud (``ReadAloud``). A terminal without a
sound card plays nothing and says so once in the log; ``played`` and ``spoken`` record what
was asked for, for the tests."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections import deque
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
    """The "Listen" button's voice (``kiosk_app.speech``): the text is spoken by one thread
    of its own and played on the UI thread, as the other sounds. One at a time: a new one,
    or ``stop``, silences the one playing, and taps faster than the engine coalesce into the
    latest (one espeak-ng process at most, whatever a finger does). ``forget`` (at logout)
    also deletes what was spoken. ``spoken`` records the last few (text, language, WAV
    file) for the tests."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled  # False: speech is made (and recorded) but not played
        self.available = speech.available()
        self.spoken: deque[tuple[str, str, Path]] = deque(maxlen=8)
        self.failed = 0
        self._dir = Path(tempfile.mkdtemp(prefix="relais-read-aloud-"))
        self._turn = 0  # UI thread only
        self._sound: Sound | None = None
        self._wanted = threading.Condition()
        self._request: tuple[int, str, str] | None = None  # the latest, for the speaker thread
        self._closed = False
        self._thread: threading.Thread | None = None

    def say(self, text: str, reader_language: str) -> None:
        if not self.available or not text.strip() or self._closed:
            return
        self.stop()
        lang = speech.spoken_language(text, reader_language)
        with self._wanted:
            self._request = (self._turn, text, lang)
            self._wanted.notify()
        if self._thread is None:
            self._thread = threading.Thread(target=self._speaker, daemon=True,
                                             name="kiosk-read-aloud")
            self._thread.start()

    def _speaker(self) -> None:
        while True:
            with self._wanted:
                while self._request is None and not self._closed:
                    self._wanted.wait()
                if self._closed:
                    return
                assert self._request is not None
                (turn, text, lang), self._request = self._request, None
            try:
                wav = speech.synthesize(text, lang)
            except speech.SpeechError as exc:
                log.warning("cannot read aloud: %s", exc)
                self.failed += 1
                continue
            path = self._dir / f"read-{turn}.wav"
            try:
                path.write_bytes(wav)
            except OSError:  # the kiosk closed meanwhile (its folder is gone)
                return
            Clock.schedule_once(lambda _dt, a=(turn, text, lang, path): self._play(*a), 0)

    def _play(self, turn: int, text: str, lang: str, path: Path) -> None:
        if turn != self._turn:  # another one, a stop or a logout came meanwhile
            path.unlink(missing_ok=True)
            return
        if len(self.spoken) == self.spoken.maxlen:
            self.spoken[0][2].unlink(missing_ok=True)
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
        """Silence what is playing; what is being made is never played, what waits is dropped."""
        self._turn += 1
        with self._wanted:
            self._request = None
        sound, self._sound = self._sound, None
        if sound is not None:
            if sound.state == "play":
                sound.stop()
            sound.unload()

    def forget(self) -> None:
        """At logout: silence, and delete what was spoken (nobody's words stay behind)."""
        self.stop()
        for _text, _lang, path in self.spoken:
            path.unlink(missing_ok=True)
        self.spoken.clear()

    def close(self) -> None:
        self.forget()
        with self._wanted:
            self._closed = True
            self._wanted.notify()
        shutil.rmtree(self._dir, ignore_errors=True)
