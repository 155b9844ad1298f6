"""Receipts committed beside the worker, on PostgreSQL.

At a steady rate every message brings receipts (the recipient's ``received``, the sender's
``received`` of its ``delivered`` tick), which wait a few milliseconds for company and are
then committed together (``Relay._keep_company``). While the worker commits them, a text
that arrives waits for that whole transaction: on PostgreSQL, where each statement is a
round trip, that wait was most of a text's 99th percentile. So a batch of receipts alone
goes to a thread and a connection of its own when that thread is free, and the worker
goes on with the texts.

Order within a terminal is kept: nothing of a terminal whose receipts are on their way
here is handled (nor routed to the login desk) until they are committed. Two transactions
of disjoint terminals at once is what two relays do all the time. SQLite has one writer:
the lane would only wait for the worker's lock, so the relay does not start one there.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

log = logging.getLogger("relais.relay")

Item = TypeVar("Item")


class ReceiptLane(Generic[Item]):
    """One batch at a time: ``offer`` takes a batch only while the lane is idle, so the
    worker never queues work behind it and waits for it only for a terminal it holds."""

    def __init__(self, commit: Callable[[list[Item]], None],
                 terminal_of: Callable[[Item], str]) -> None:
        self._commit = commit
        self._terminal_of = terminal_of
        self._cond = threading.Condition()
        self._job: list[Item] | None = None
        self._holding: Counter[str] = Counter()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="relay-receipts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def offer(self, batch: list[Item]) -> bool:
        """Takes ``batch`` if the lane is idle; False: the worker commits it itself (also
        when the lane's thread is not running: never started, stopped)."""
        with self._cond:
            if self._job is not None or self._stopping or not self._thread.is_alive():
                return False
            self._job = batch
            self._holding = Counter(map(self._terminal_of, batch))
            self._cond.notify_all()
            return True

    def wait_for(self, terminals: Iterable[str]) -> None:
        """Returns once none of these terminals has receipts on their way here. Should the
        lane's thread have died holding a batch, the caller commits it (never waits for ever)."""
        wanted = set(terminals)
        with self._cond:
            while wanted.intersection(self._holding):
                if not self._thread.is_alive():
                    break
                self._cond.wait(timeout=1.0)
            else:
                return
        self._orphan()

    def stop(self) -> None:
        """Commits what it holds, then ends."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._orphan()

    def _orphan(self) -> None:
        """A batch the lane's thread left (it died holding it): committed by the caller."""
        with self._cond:
            job, self._job, self._holding = self._job, None, Counter()
        if job is not None:
            log.error("the receipts lane stopped holding %d uplinks; committing them here",
                      len(job))
            self._commit(job)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._job is not None or self._stopping)
                job = self._job
                if job is None:
                    return
            try:
                self._commit(job)  # the relay's own: it logs and acks what failed
            except Exception:  # pragma: no cover - _commit handles its own failures
                log.exception("the receipts lane failed a batch")
            finally:
                with self._cond:
                    self._job = None
                    self._holding = Counter()
                    self._cond.notify_all()
