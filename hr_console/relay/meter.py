"""Per-terminal flood limit: a token bucket, so one rogue or stuck terminal cannot fill the
relay's queue and starve everyone else (docs/architecture.md, decision 2)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class Bucket:
    tokens: float
    stamp: float


@dataclass
class Meter:
    rate: float = 20.0  # uplinks per second, sustained
    burst: float = 60.0
    _buckets: dict[str, Bucket] = field(default_factory=dict)
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def allow(self, key: str, now: float | None = None) -> bool:
        with self._lock:  # the relay's network thread and its worker both ask
            return self._take(key, time.monotonic() if now is None else now)

    def wait(self, key: str, now: float | None = None) -> float:
        """``allow``, saying instead how long until it would: 0.0 when allowed (and taken),
        else the seconds until the next token."""
        with self._lock:
            now = time.monotonic() if now is None else now
            if self._take(key, now):
                return 0.0
            return (1 - self._buckets[key].tokens) / self.rate

    def _take(self, key: str, now: float) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True
        self.refused += 1
        return False
