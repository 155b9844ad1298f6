"""The two sounds of the kiosk: a new message, an urgent notice (``assets/sounds``, made by
``assets/make_sounds.py``), and a text read aloud (``ReadAloud``). A terminal without a
sound card plays nothing and says so once in the log; ``played`` and ``spoken`` record what
was asked for, for the tests."""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from kivy.clock import Clock
from kivy.core.audio import Sound, SoundLoader

from kiosk_app import speech
from kiosk_app.config import ASSETS

log = logging.getLogger("relais.kiosk")
SOUNDS = ASSETS / "sounds"


def scratch(kind: str, terminal: str = "") -> Path:
    """A new private directory for what ``kind`` decodes (colleagues' voice messages, texts
    spoken aloud), after deleting the ones an earlier run of this terminal left: a kiosk that
    crashed, lost power or was killed never reached its ``close``, and the next person at a
    shared terminal, or whoever reads its disk, must not find them. Only this terminal's
    (its name, then exactly ``mkdtemp``'s random part: not "kiosk-7-a"'s for "kiosk-7"),
    and only this user's (``mkdtemp`` makes them 0700), and never one in use: each running
    kiosk holds a lock on its folders (``LIVE``), so a second instance of the same terminal
    (the two screen sizes the tests walk at once, a demo beside a real install) keeps its
    files."""
    # A terminal's name is [a-z0-9-]; an unnamed kiosk (a test's) is "_", which none is.
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", terminal)[:64] or "_"
    prefix = f"relais-{kind}-{name}-"
    base = Path(tempfile.gettempdir())
    left = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}")
    try:
        found = list(base.iterdir())
    except OSError:  # an unreadable temporary folder: nothing to sweep, the kiosk starts
        found = []
    for old in found:
        try:
            if left.fullmatch(old.name) and old.is_dir() and not old.is_symlink() \
                    and old.stat().st_uid == os.getuid() and not _in_use(old):
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
    made = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    fd = os.open(made / LIVE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    _HELD.append(fd)  # held as long as the process lives: a crash lets it go
    return made


LIVE = ".in-use"  # in each scratch folder, locked by the kiosk that made it
_HELD: list[int] = []
_YOUNG_S = 60.0  # a folder this new without its lock yet is another kiosk's, starting


def _in_use(folder: Path) -> bool:
    """Whether a running kiosk holds ``folder``'s lock (or is just making it)."""
    try:
        fd = os.open(folder / LIVE, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return time.time() - folder.stat().st_mtime < _YOUNG_S
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


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

    def __init__(self, enabled: bool = True, terminal: str = "") -> None:
        self.enabled = enabled  # False: speech is made (and recorded) but not played
        self.available = speech.available()
        self.spoken: deque[tuple[str, str, Path]] = deque(maxlen=8)
        self.failed = 0
        self._dir = scratch("read-aloud", terminal)
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
                wav = speech.synthesize(text, lang, self._dir)
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


class ClipPlayer:
    """Voice messages played on the terminal, one at a time: the clip decoded off the UI
    thread (``kiosk_app.voice.playable``), then played by Kivy. ``position`` follows the
    sound, or the clock where the terminal has no sound card (the bar still moves and ends
    on time). Pause keeps the place; ``forget`` (at logout) silences it and deletes the
    decoded files. ``played`` records which messages were played, for the tests."""

    def __init__(self, enabled: bool = True, terminal: str = "") -> None:
        self.enabled = enabled
        self.played: list[str] = []
        self.failed = 0
        self.msg_id: str | None = None  # the clip playing or paused
        self.paused = False
        self.length = 0.0  # seconds
        self._offset = 0.0  # where the clip was when it last started or paused
        self._since: float | None = None  # time.monotonic() when it last started
        self._sound: Sound | None = None
        self._turn = 0
        self._dir = scratch("voice", terminal)

    @property
    def position(self) -> float:
        if self._since is None:
            return self._offset
        now = self._offset + time.monotonic() - self._since
        return min(self.length, now)

    @property
    def playing(self) -> bool:
        return self.msg_id is not None and not self.paused

    def toggle(self, msg_id: str, ogg: bytes, length: float) -> None:
        """Play a clip, pause it, or take it up again where it was paused."""
        if msg_id == self.msg_id:
            if self.paused:
                self._resume()
            else:
                self._pause()
            return
        self.stop()
        self.msg_id, self.length, self.paused = msg_id, max(length, 0.1), False
        self._offset, self._since = 0.0, time.monotonic()
        self.played.append(msg_id)
        turn = self._turn
        threading.Thread(target=self._decode, args=(turn, msg_id, ogg), daemon=True,
                         name="kiosk-voice").start()

    def _decode(self, turn: int, msg_id: str, ogg: bytes) -> None:
        from kiosk_app import voice  # PyAV: loaded at the first clip played

        try:
            wav = voice.playable(ogg)
        except Exception as exc:  # a clip that is not one: the bar runs, nothing is heard
            log.warning("cannot play voice message %s: %s", msg_id, exc)
            self.failed += 1
            return
        path = self._dir / f"clip-{turn}.wav"
        try:
            path.write_bytes(wav)
        except OSError:
            return
        Clock.schedule_once(lambda _dt: self._start(turn, path), 0)

    def _start(self, turn: int, path: Path) -> None:
        if turn != self._turn or not self.enabled:
            path.unlink(missing_ok=True)
            return
        try:
            self._sound = SoundLoader.load(str(path))
        except Exception:
            log.warning("cannot play %s", path, exc_info=True)
            self._sound = None
        if self._sound is not None:
            self._sound.play()
            if self.position > 0.2:  # decoding took a moment: start where the bar is
                self._sound.seek(self.position)
            if self.paused:
                self._sound.stop()

    def pause(self) -> None:
        """Hold a playing clip where it is (read-aloud is about to speak): one voice at a time."""
        if self.playing:
            self._pause()

    def _pause(self) -> None:
        self._offset, self._since, self.paused = self.position, None, True
        if self._sound is not None and self._sound.state == "play":
            self._sound.stop()

    def _resume(self) -> None:
        if self._offset >= self.length:
            self._offset = 0.0
        self._since, self.paused = time.monotonic(), False
        if self._sound is not None:
            self._sound.play()
            self._sound.seek(self._offset)

    def tick(self) -> bool:
        """Called while a clip plays: False once it has ended (it is then forgotten)."""
        if self.msg_id is None:
            return False
        if not self.paused and self.position >= self.length:
            self.stop()
            return False
        return True

    def stop(self) -> None:
        self._turn += 1
        self.msg_id, self.paused, self._since, self._offset = None, False, None, 0.0
        sound, self._sound = self._sound, None
        if sound is not None:
            if sound.state == "play":
                sound.stop()
            sound.unload()
        for old in self._dir.glob("clip-*.wav"):
            old.unlink(missing_ok=True)

    def forget(self) -> None:
        self.stop()
        self.played.clear()

    def close(self) -> None:
        self.forget()
        shutil.rmtree(self._dir, ignore_errors=True)
