"""SQLite WAL checkpoints off the relay's commit path.

By default SQLite checkpoints inside the COMMIT that takes the write-ahead log past 1,000
pages: the committing thread copies the log into the database file and syncs it before
COMMIT returns. In the relay that thread is the worker, so every few thousand messages one
batch waited for a checkpoint before its messages were published (the tail of figure 2's
latency in docs/benchmarks.md). The relay's connections therefore never checkpoint
(``wal_autocheckpoint=0``, ``Store(..., wal_autocheckpoint=False)``) and this thread does
it, PASSIVE, about once a second, on a connection of its own: a PASSIVE checkpoint never
waits for a lock and never blocks a writer or a reader, it copies what no reader still
needs; what it leaves is taken at the next round. The console keeps SQLite's default, so
the log stays bounded when no relay runs.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("relais.checkpoints")

EVERY_S = 1.0


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=0, isolation_level=None)


def _passive(conn: sqlite3.Connection) -> tuple[int, int, int]:
    busy, logged, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(busy), int(logged), int(copied)


def checkpoint(path: str) -> tuple[int, int, int]:
    """One PASSIVE checkpoint of the database at ``path``: (busy, pages in the log, pages
    copied), as ``PRAGMA wal_checkpoint`` gives them."""
    conn = _connect(path)
    try:
        return _passive(conn)
    finally:
        conn.close()


def run(path: str, stop: threading.Event, every_s: float = EVERY_S) -> None:
    """Checkpoint ``path`` every ``every_s`` until ``stop``, on one connection kept for the
    purpose; never raises (a failed round is tried again at the next: the log only grows
    meanwhile, nothing is lost)."""
    conn = _connect(path)
    try:
        while not stop.wait(every_s):
            try:
                _passive(conn)
            except sqlite3.Error as exc:
                log.warning("WAL checkpoint of %s failed: %s", path, exc)
    finally:
        conn.close()
