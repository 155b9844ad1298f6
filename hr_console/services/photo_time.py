"""The relay's time a terminal's photos may take.

A photo from a terminal is decoded and encoded again inside the relay's transaction
(``photos.normalise``), while every other terminal's messages wait. The kiosk sends what its
camera took, already made small (long side 1280, at most 250 KB): 10 to 25 ms here. A
picture made to be slow within the wire's limits (a 4000 x 4000 JPEG of one colour, noise
that must be encoded again several times to fit) takes 170 to 320 ms, and the per-terminal
meter lets 20 uplinks a second through: with a terminal's password and a session open on it,
one client held the worker all the time. So each terminal has a budget of that time, a
token bucket in seconds: a photo is let in while the bucket holds any, and what its making
took is taken out afterwards. One over the budget is answered ``rate_limited`` with its ref
and stays in the kiosk's outbox, which sends it again: late, never lost. A person sending
the photos they take never comes near it.

Kept in the process's memory (it bounds CPU, not what is stored): a relay restarted starts
with full buckets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from hr_console.services.errors import ServiceError

BURST_S = 3.0  # a bucket's size: a dozen honest photos sent at once, a few slow ones
PER_MINUTE_S = 3.0  # refilled this much a minute: 5 % of the worker for a terminal at most
_KEPT = 10_000  # buckets kept at most, whatever is sent

T = TypeVar("T")

_lock = threading.Lock()
_buckets: dict[str, tuple[float, float]] = {}  # key -> (seconds left, when last counted)


def key(session: Session, terminal: int | str, side: str) -> str:
    """A bucket's name: the database (several homes run relays in one process in tests and
    the bench), the terminal, and whose share it is ("live": the person badged in; "late":
    late items of sessions that ended, what a terminal's password alone can send; "lead": a
    team lead's notices), so that a thief spending one never holds another back."""
    return f"{session.get_bind().url}|{terminal}|{side}"


def _level(key: str, now: float) -> float:
    left, stamp = _buckets.get(key, (BURST_S, now))
    return min(BURST_S, left + (now - stamp) * PER_MINUTE_S / 60)


def timed(key: str, make: Callable[[], T]) -> T:
    """``make()`` (a photo's normalisation) if ``key``'s bucket holds any time, its duration
    then taken out of it; else ``rate_limited``. ``key``: the bucket (``key()``)."""
    start = time.monotonic()
    with _lock:
        if _level(key, start) <= 0:
            raise ServiceError("rate_limited", "Too many photos: they will be sent again.")
    try:
        return make()
    finally:
        end = time.monotonic()
        with _lock:
            if len(_buckets) > _KEPT:
                _buckets.clear()
            _buckets[key] = (_level(key, end) - (end - start), end)
