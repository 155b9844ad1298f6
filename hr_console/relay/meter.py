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
        """Seconds until ``key`` has a token (0.0: it has one now), none taken: for a cost
        known only afterwards, paid with ``spend``."""
        with self._lock:
            bucket = self._filled(key, time.monotonic() if now is None else now)
            return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def spend(self, key: str, now: float | None = None) -> None:
        """One token of ``key`` used (none left: none owed)."""
        with self._lock:
            bucket = self._filled(key, time.monotonic() if now is None else now)
            bucket.tokens = max(0.0, bucket.tokens - 1)

    def _filled(self, key: str, now: float) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        return bucket

    def _take(self, key: str, now: float) -> bool:
        bucket = self._filled(key, now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True
        self.refused += 1
        return False
