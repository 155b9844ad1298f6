"""Voice messages made safe to store and send: decoded and encoded again on the server.

A terminal is not trusted: the wire checked the size and the Ogg magic of what it sent,
nothing more. Every voice message is decoded here (``relais_wire.audio.decode``: the Ogg
pages walked by hand first, then FFmpeg, counting the samples it really gets) and encoded
again from those samples alone, mono Opus at the wire's bitrate. What reaches the recipient
and the console is that new file: no trailing payload, no metadata, no second stream, and a
length the relay measured itself. Anything else is refused with ``Invalid`` ("bad_audio",
"too_long", "too_large") before anything is stored.

Re-encoding a minute costs a few hundred milliseconds of CPU: the relay does it in a
process of its own before the message's transaction (``prepare`` / ``ready``), never in
its worker, where every other terminal's messages would wait; ``clip`` then finds the
result. Code that has nothing prepared (one message at a time, tests) encodes in place.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hr_console.services.errors import Invalid, ServiceError
from relais_wire import audio
from relais_wire.errors import WireError

MIME = "audio/ogg"
PREPARED_KEPT = 64  # clips ready for the worker; one per voice message in flight is plenty
_BESIDE = "voice.made_beside"  # a session's info key: this transaction never encodes


class NotReady(Exception):
    """The relay's transaction met a clip not made yet: the uplink waits (it is deferred,
    and the relay's voice desk makes the clip), it is never encoded in the worker."""


def made_beside(session: Session) -> None:
    """This session is the relay worker's: ``clip`` finds prepared clips or raises
    ``NotReady``, whatever reached the batch (however its JSON was spelled)."""
    session.info[_BESIDE] = True


@dataclass(frozen=True)
class Clip:
    """A voice message as it is stored and sent."""

    data: bytes
    duration_ms: int


def key(data: bytes) -> str:
    """Which prepared clip belongs to these bytes (a terminal's resend has the same)."""
    return hashlib.sha256(data).hexdigest()


def normalise(data: bytes) -> Clip:
    """The clean clip made from ``data``, or ``Invalid`` naming what is wrong with it."""
    try:
        pcm = audio.decode(data)
    except WireError as err:
        raise Invalid(err.code, err.message, field="audio") from None
    return Clip(audio.encode(pcm), audio.duration_ms(pcm))


Refusal = tuple[str, str]  # an ``Invalid``'s code and message


def outcome(data: bytes) -> Clip | Refusal:
    """``normalise`` as a value, for a pool process to hand back (``Invalid`` does not
    survive pickling: its arguments are not its ``args``)."""
    try:
        return normalise(data)
    except Invalid as err:
        return (err.code, err.message)


class _Prepared:
    """Clips (or refusals) made ahead of their transaction, by the bytes' ``key``; the
    oldest are forgotten past ``PREPARED_KEPT`` (a forgotten one is simply made again)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: OrderedDict[str, Clip | Refusal] = OrderedDict()

    def put(self, k: str, result: Clip | Refusal) -> None:
        with self._lock:
            self._done[k] = result
            self._done.move_to_end(k)
            while len(self._done) > PREPARED_KEPT:
                self._done.popitem(last=False)

    def has(self, k: str) -> bool:
        with self._lock:
            return k in self._done

    def get(self, k: str) -> Clip | Refusal | None:
        with self._lock:
            return self._done.get(k)


prepared = _Prepared()


_TURNED_AWAY = "voice.turned_away"  # a session's info key: clips over their terminal's budget


def turned_away(session: Session, keys: set[str]) -> None:
    """These clips are not made now (their terminal's refused clips took their share of
    the voice process, ``relay.voices``): their messages are answered ``rate_limited`` by
    this transaction, which moves their terminal's mark, so that its later messages do not
    wait for them; the kiosk's outbox sends them again."""
    session.info[_TURNED_AWAY] = keys


def clip(session: Session, data: bytes) -> Clip:
    """The clip for a terminal's bytes: prepared ahead when the relay did, else made now
    (``NotReady`` in the relay's worker instead, see ``made_beside``)."""
    if key(data) in session.info.get(_TURNED_AWAY, ()):
        raise ServiceError("rate_limited", "Too many voice messages: they will be sent again.")
    ready = prepared.get(key(data))
    if ready is None:
        if session.info.get(_BESIDE):
            raise NotReady(key(data))
        return normalise(data)
    if isinstance(ready, tuple):
        raise Invalid(*ready, field="audio")
    return ready
