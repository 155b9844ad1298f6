"""The relay's side of the partition leases: which terminals this relay listens to.

A relay subscribes to the uplink and presence topics of the terminals in the partitions it
owns (services.leases), one topic each, never to a wildcard shared with other relays: no
MQTT 5 shared subscription is needed, so any broker that routes plain subscriptions (a
Mosquitto, an ejabberd cluster) carries it unchanged, and a terminal's uplinks reach one
relay at a time. The keeper runs a round every ``tick_s``: heartbeat, renew, take a fair
share, give back the surplus after it stopped listening to it, and every ``refresh_s``
re-read the terminal names of its partitions (a terminal enrolled, renamed or revoked).

Messages published while a partition changes hands (nobody subscribed for a moment) are
dropped by the broker; the kiosk's outbox sends them again until the relay's own receipt
(docs/architecture.md, decision 2), so a hand-over delays them and loses nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from hr_console.services import leases
from hr_console.store.db import Store
from relais_wire import topics

log = logging.getLogger("relais.relay")

TICK_S = 1.0  # a round of heartbeat, renewal and fair share
LEASE_TTL_S = 5.0  # a relay silent that long loses its partitions
REFRESH_S = 3.0  # how often the names of the owned partitions' terminals are read again
FORGET_EVERY_S = 60.0

Topics = Callable[[list[str]], None]


def topics_of(names: Iterable[str]) -> list[str]:
    """The topics a relay subscribes to for these terminals: uplink and presence."""
    return [t for n in sorted(names) for t in (topics.uplink(n), topics.status(n))]


class PartitionKeeper:
    """Holds this relay's leases and the terminal topics that follow from them.

    ``subscribe`` and ``unsubscribe`` receive topic lists (the relay passes them to paho);
    ``lock`` is the relay's database lock, so that on SQLite the keeper's short transactions
    take turns with the worker's instead of sleeping in the busy timeout.
    """

    def __init__(self, store: Store, me: str, *, subscribe: Topics, unsubscribe: Topics,
                 lock: threading.Lock | None = None, tick_s: float = TICK_S,
                 ttl_s: float = LEASE_TTL_S, refresh_s: float = REFRESH_S,
                 reader: Callable[[], Session] | None = None) -> None:
        self.store = store
        self.me = me
        self._subscribe = subscribe
        self._unsubscribe = unsubscribe
        self._lock = lock or threading.Lock()
        self._reader = reader
        self.tick_s = tick_s
        self.ttl = dt.timedelta(seconds=ttl_s)
        self.refresh_s = refresh_s
        self._state = threading.Lock()  # owned and terminals, read by paho's thread
        self._owned: frozenset[int] = frozenset()
        self._terminals: dict[str, int] = {}
        self._refreshed = 0.0
        self._forgot = 0.0
        self.rounds = 0
        self.handovers = 0  # partitions taken over from another relay or given back

    # --- what the relay reads --------------------------------------------------------------

    @property
    def owned(self) -> frozenset[int]:
        with self._state:
            return self._owned

    def owns(self, partition: int) -> bool:
        return partition in self.owned

    def all_topics(self) -> list[str]:
        """Everything to subscribe to after a (re)connection: the broker kept nothing."""
        with self._state:
            return topics_of(self._terminals)

    # --- rounds ------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.tick_s):
            try:
                self.round()
            except Exception:
                log.exception("lease round failed; trying again")

    def round(self) -> None:
        """Renew and rebalance; then listen to what was gained and stop listening to what
        was lost or is given back (given back only once nobody here listens to it)."""
        with self._lock, self.store.session() as s:
            if self.rounds == 0:
                leases.ensure_rows(s)
            result = leases.keep(s, self.me, self.owned, ttl=self.ttl)
            if time.monotonic() - self._forgot > FORGET_EVERY_S:
                leases.forget_gone(s)
                self._forgot = time.monotonic()
        self.rounds += 1
        held = set(result.held)
        surplus = sorted(held)[result.share:] if len(held) > result.share else []
        held.difference_update(surplus)
        if result.lost:
            log.warning("relay %s lost partitions %s to another relay", self.me,
                        sorted(result.lost))
        changed = bool(result.gained or result.lost or surplus)
        if changed or time.monotonic() - self._refreshed > self.refresh_s:
            self._listen(frozenset(held))
        if surplus:
            with self._lock, self.store.session() as s:
                leases.give_back(s, self.me, surplus)
            log.info("relay %s gave back %d partitions (%d relays live)", self.me,
                     len(surplus), result.live_relays)
        self.handovers += len(result.gained) + len(surplus)

    def _listen(self, held: frozenset[int]) -> None:
        with self._read() as s:
            wanted = leases.terminals_in(s, held)
        with self._state:
            before = set(self._terminals)
            self._owned = held
            self._terminals = wanted
        self._refreshed = time.monotonic()
        gone = before - set(wanted)
        new = set(wanted) - before
        if gone:
            self._unsubscribe(topics_of(gone))
        if new:
            self._subscribe(topics_of(new))

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """A read: the relay's reader (a WAL snapshot on SQLite, no write lock, so the
        worker never waits for it), else a turn on the lock like a write."""
        if self._reader is not None:
            with self._reader() as s:
                yield s
            return
        with self._lock, self.store.session() as s:
            yield s

    def leave(self) -> None:
        """Stopping cleanly: stop listening, free every partition at once."""
        with self._state:
            names = list(self._terminals)
            self._owned, self._terminals = frozenset(), {}
        if names:
            self._unsubscribe(topics_of(names))
        try:
            with self._lock, self.store.session() as s:
                leases.leave(s, self.me)
        except Exception:
            log.exception("could not free the partitions; they expire in %s", self.ttl)
