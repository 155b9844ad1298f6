"""The two sounds of the kiosk: a new message, an urgent notice (``assets/sounds``, made by
``assets/make_sounds.py``). A terminal without a sound card plays nothing and says so once
in the log; ``played`` records what was asked for, for the tests."""

from __future__ import annotations

import logging

from kivy.core.audio import Sound, SoundLoader

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
