"""The kiosk's outbox: every message is written here before it is sent, and stays until the
relay confirms it, across lost links, broker restarts and kiosk restarts.

Plain ``sqlite3`` (the kiosk has no server database and needs no ORM). A lock guards the
connection because paho's thread and the UI's both reach it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    seq INTEGER,
    sid TEXT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(state, next_try);
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox(state, created);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

MAX_BACKOFF_S = 60.0


@dataclass(frozen=True)
class Item:
    id: str
    seq: int | None
    sid: str | None
    kind: str
    payload: dict[str, Any]
    attempts: int


class Outbox:
    def __init__(self, path: str | Path, resend_after: float = 3.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.resend_after = resend_after
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # typed by a person: never lose it
        # What leaves the outbox leaves the disk (a shared terminal's disk can be read):
        # deleted rows are overwritten, and the log is emptied at each confirmation
        # (``confirm``), or its old pages kept every confirmed message readable.
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, payload: dict[str, Any], *, ordered: bool) -> Item:
        """Store a new item; ``ordered`` items get the terminal's next ``seq``."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq = None
                if ordered:
                    row = self._db.execute("SELECT value FROM counters WHERE name='seq'").fetchone()
                    seq = (row[0] if row else 0) + 1
                    self._db.execute("INSERT OR REPLACE INTO counters VALUES ('seq', ?)", (seq,))
                    payload = {**payload, "seq": seq}
                self._db.execute(
                    "INSERT INTO outbox (id, seq, sid, kind, payload, created) VALUES (?,?,?,?,?,?)",
                    (payload["id"], seq, payload.get("sid"), payload["type"],
                     json.dumps(payload, ensure_ascii=False), time.time()),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return Item(payload["id"], seq, payload.get("sid"), payload["type"], payload, 0)

    def due(self, now: float | None = None, *, all_pending: bool = False,
            limit: int | None = None) -> list[Item]:
        """What to (re)send now, oldest first, at most ``limit``.

        One timer for the whole queue, the oldest item's: when it is due, the queue goes
        again from its head, in order; until then only what was never sent. The relay
        commits a terminal's messages in ``seq`` order and holds back any that overtakes a
        missing one, so later items resent on their own timers, ahead of an older one
        further along its backoff, would only spend the terminal's rate budget. ``limit``
        keeps a long queue (after a long time offline) within that budget: the next items
        go once the relay has answered these."""
        now = time.time() if now is None else now
        # Chosen and cut by SQLite: a queue that grew offline is not read and parsed whole
        # twice a second.
        with self._lock:
            head = self._db.execute("SELECT next_try FROM outbox WHERE state='pending' "
                                    "ORDER BY created, rowid LIMIT 1").fetchone()
            if head is None:
                return []
            fresh = "AND attempts=0 " if not all_pending and head[0] > now else ""
            rows = self._db.execute(
                "SELECT id, seq, sid, kind, payload, attempts FROM outbox "
                f"WHERE state='pending' {fresh}ORDER BY created, rowid LIMIT ?",
                (-1 if limit is None else limit,)).fetchall()
        return [Item(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in rows]

    def sent(self, item_id: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            row = self._db.execute("SELECT attempts FROM outbox WHERE id=?", (item_id,)).fetchone()
            if row is None:
                return
            delay = min(self.resend_after * (2 ** row[0]), MAX_BACKOFF_S)
            self._db.execute("UPDATE outbox SET attempts=attempts+1, next_try=? WHERE id=?",
                             (now + delay, item_id))

    def confirm(self, item_id: str) -> bool:
        """The relay answered for this item: it leaves the kiosk's disk (what a person typed
        is not kept on a shared terminal longer than needed): its row is overwritten, and
        the log that still held it is checkpointed and truncated. True if it was pending."""
        with self._lock:
            cur = self._db.execute("DELETE FROM outbox WHERE id=? AND state='pending'", (item_id,))
            if cur.rowcount > 0:
                # Busy (another reader) leaves the log for the next confirm to empty.
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return cur.rowcount > 0

    def get(self, item_id: str) -> Item | None:
        with self._lock:
            r = self._db.execute("SELECT id, seq, sid, kind, payload, attempts FROM outbox "
                                 "WHERE id=?", (item_id,)).fetchone()
        return None if r is None else Item(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5])

    def pending(self, sid: str | None = None) -> list[Item]:
        items = self.due(all_pending=True)
        return items if sid is None else [i for i in items if i.sid == sid]

    def last_seq(self) -> int:
        """The last ``seq`` given out: a logout declares it, so the relay takes the session's
        items up to it and nothing typed later in its name."""
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name='seq'").fetchone()
        return int(row[0]) if row else 0

    def pending_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM outbox WHERE state='pending'").fetchone()[0]

    def make_all_due(self) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET next_try=0 WHERE state='pending'")
