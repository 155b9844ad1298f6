"""The relay's inbox: one FIFO per terminal, served in turn.

A single FIFO puts every message behind whatever one terminal sent just before: a flooding
or stuck terminal's burst (which the meter lets through) would delay everyone else by its
whole length. Served in turn, another terminal's message waits for at most one message of
each busy terminal. Order within a terminal is kept, which its ``seq`` relies on.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict, deque
from typing import Generic, TypeVar

T = TypeVar("T")


class FairInbox(Generic[T]):
    def __init__(self) -> None:
        self._queues: OrderedDict[str, deque[T]] = OrderedDict()
        self._size = 0
        self._cond = threading.Condition()

    def put(self, item: T, key: str = "") -> None:
        with self._cond:
            self._queues.setdefault(key, deque()).append(item)
            self._size += 1
            self._cond.notify()

    def get(self, timeout: float | None = None) -> T:
        """The next item, taking terminals in turn; ``queue.Empty`` after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._size:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise queue.Empty
                self._cond.wait(left)
            key, items = next(iter(self._queues.items()))
            item = items.popleft()
            self._size -= 1
            if items:
                self._queues.move_to_end(key)  # its next message waits for the others' turn
            else:
                del self._queues[key]
            return item

    def drain(self, limit: int, per_key: int) -> list[T]:
        """Up to ``limit`` items waiting now, at most ``per_key`` of any one key (taken in
        turn), so a batch built from them never makes the others wait for one key's backlog."""
        out: list[T] = []
        taken: dict[str, int] = {}
        with self._cond:
            while self._size and len(out) < limit:
                key = next((k for k in self._queues if taken.get(k, 0) < per_key), None)
                if key is None:
                    break
                items = self._queues[key]
                out.append(items.popleft())
                self._size -= 1
                taken[key] = taken.get(key, 0) + 1
                if items:
                    self._queues.move_to_end(key)
                else:
                    del self._queues[key]
        return out

    def qsize(self) -> int:
        with self._cond:
            return self._size
