"""When to warn and when to log out a person who walked away. Plain Python: the app asks
it once a second with the clock's time, the tests ask it with any time they like."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Idle:
    state: str  # "active", "warning" or "expired"
    left: float  # seconds until the automatic logout


class InactivityWatch:
    def __init__(self, timeout: float = 60.0, warning: float = 15.0,
                 now: Callable[[], float] = time.monotonic) -> None:
        if not 0 < warning < timeout:
            raise ValueError("the warning must come before the timeout")
        self.timeout, self.warning, self._now = timeout, warning, now
        self._last = now()

    def touch(self) -> None:
        """A touch, a key, a badge: the person is still there."""
        self._last = self._now()

    def check(self) -> Idle:
        left = self.timeout - (self._now() - self._last)
        if left <= 0:
            return Idle("expired", 0.0)
        if left <= self.warning:
            return Idle("warning", left)
        return Idle("active", left)


class BadgeReader:
    """A badge reader is a keyboard: it types the badge number, then Enter, within a few
    milliseconds. Keys that come slower than ``gap`` seconds apart start a new badge, so a
    stray key press does not stick to the next badge."""

    def __init__(self, gap: float = 1.0, max_chars: int = 64,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.gap, self.max_chars, self._now = gap, max_chars, now
        self._chars: list[str] = []
        self._last = 0.0

    def feed(self, text: str) -> None:
        t = self._now()
        if t - self._last > self.gap:
            self._chars.clear()
        self._last = t
        for ch in text:
            if ch.isprintable() and not ch.isspace() and len(self._chars) < self.max_chars:
                self._chars.append(ch)

    def enter(self) -> str | None:
        """Enter was pressed: the badge read, if any (and the buffer is emptied)."""
        fresh = self._now() - self._last <= self.gap
        badge = "".join(self._chars) if fresh else ""
        self._chars.clear()
        return badge or None
