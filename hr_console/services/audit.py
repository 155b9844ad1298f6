"""The append-only audit log. Each entry's hash covers its content and the previous hash,
so changing, deleting or reordering any row breaks the chain that ``verify`` walks.

The chain alone cannot tell that its last rows were cut off: what is left is still a valid
chain. So every append also updates an anchor (a settings row with the number of entries and
the last hash) in the same transaction, and ``verify`` checks the chain ends there. The
anchor row is also the lock that serialises appends across processes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hr_console.store.db import database_key
from hr_console.store.models import AuditEntry, Setting, utcnow

GENESIS = "0" * 64
ANCHOR_KEY = "audit_anchor"  # {"entries": n, "last_id": id, "hash": h}


def _digest(prev: str, entry: AuditEntry) -> str:
    return _digest_of(prev, entry.id, entry.ts, entry.actor, entry.action, entry.target,
                      entry.detail)


def _digest_of(prev: str, entry_id: int, ts: Any, actor: str, action: str,
               target: str | None, detail: Any) -> str:
    content = json.dumps(
        [prev, entry_id, ts.isoformat(timespec="microseconds"), actor, action, target, detail],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(content.encode()).hexdigest()


def _anchor_row(session: Session) -> Setting | None:
    stmt = select(Setting).where(Setting.key == ANCHOR_KEY)
    if session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()  # SQLite: BEGIN IMMEDIATE already serialises writers
    return session.execute(stmt).scalar_one_or_none()


def record(session: Session, actor: str, action: str, target: str | None = None,
           **detail: Any) -> AuditEntry:
    """Append one entry in the caller's transaction (so it commits with the action)."""
    anchor = _anchor_row(session)
    before = 0 if anchor is not None else session.scalar(
        select(func.count()).select_from(AuditEntry)) or 0
    last = session.execute(
        select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none()
    prev = last.hash if last else GENESIS
    entry = AuditEntry(id=(last.id + 1) if last else 1, ts=utcnow(), actor=actor, action=action,
                       target=target, detail=detail or None, prev_hash=prev, hash="")
    entry.hash = _digest(prev, entry)
    session.add(entry)
    if anchor is None:  # first entry, or a log written before anchors existed
        session.add(Setting(key=ANCHOR_KEY, value=_anchor_value(before + 1, entry)))
    else:
        entries = int((anchor.value or {}).get("entries", 0)) + 1
        anchor.value = _anchor_value(entries, entry)
    session.flush()
    return entry


def _anchor_value(entries: int, entry: AuditEntry) -> dict[str, Any]:
    return {"entries": entries, "last_id": entry.id, "hash": entry.hash}


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_bad_id: int | None = None
    problem: str = ""
    last_id: int = 0  # of a good chain: where a later ``verify(since=...)`` resumes
    last_hash: str = GENESIS


_CHAIN = (select(AuditEntry.id, AuditEntry.ts, AuditEntry.actor, AuditEntry.action,
                 AuditEntry.target, AuditEntry.detail, AuditEntry.prev_hash, AuditEntry.hash)
          .order_by(AuditEntry.id))


def verify(session: Session, since: Verification | None = None) -> Verification:
    """Walk the chain and check that it ends at the anchor. ``since``: a good verification
    of an earlier state of this log (``last_id``, ``last_hash``); its last entry is checked
    to be still there, unchanged, with as many before it, and only what follows is walked
    (the console's audit page, at every view; a full walk is a second or more per 100,000
    entries). Rows are read as plain tuples, a batch at a time."""
    prev, expected_id, count, stmt = GENESIS, 1, 0, _CHAIN
    if since is not None and since.ok and since.last_id:
        kept = session.execute(_CHAIN.where(AuditEntry.id == since.last_id)).first()
        before = session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.id <= since.last_id))
        if kept is None or before != since.entries or kept.hash != since.last_hash \
                or _digest_of(kept.prev_hash, *kept[:6]) != kept.hash:
            return verify(session)  # changed under it: the whole walk says where
        prev, expected_id, count = kept.hash, since.last_id + 1, since.entries
        stmt = _CHAIN.where(AuditEntry.id > since.last_id)
    rows = session.execute(stmt.execution_options(yield_per=2000))
    for entry_id, ts, actor, action, target, detail, prev_hash, digest in rows:
        count += 1
        if entry_id != expected_id:
            return Verification(False, count, entry_id, f"entry {expected_id} is missing")
        if prev_hash != prev:
            return Verification(False, count, entry_id, "chain broken (deleted or reordered)")
        if _digest_of(prev, entry_id, ts, actor, action, target, detail) != digest:
            return Verification(False, count, entry_id, "content altered")
        prev = digest
        expected_id += 1
    return _check_anchor(session, count, prev, expected_id - 1)


def _check_anchor(session: Session, count: int, last_hash: str, last_id: int) -> Verification:
    row = session.get(Setting, ANCHOR_KEY)
    anchor = row.value if row is not None and isinstance(row.value, dict) else None
    if anchor is None:
        if count == 0:
            return Verification(True, 0)
        return Verification(False, count, count, "the anchor (entry count and last hash) is missing")
    want = anchor.get("entries")
    if want != count or anchor.get("hash") != last_hash:
        missing = want - count if isinstance(want, int) and want > count else None
        problem = (f"the last {missing} entr{'y' if missing == 1 else 'ies'} were deleted "
                   f"(the anchor counts {want}, the log holds {count})" if missing
                   else f"the log does not end where the anchor says (entry {anchor.get('last_id')})")
        return Verification(False, count, anchor.get("last_id"), problem)
    return Verification(True, count, last_id=last_id, last_hash=last_hash)


class ChainWatch:
    """The chain's state as the console's audit page shows it at every view, without
    walking the whole log each time (150,000 entries: 2 s; the page took 4.3 s). Per
    database, the last good verification is kept: a view checks that its last entry is
    unchanged with as many before it, then walks only the entries since. The whole chain is
    walked again at most ``full_every`` seconds apart, so an old entry altered in place is
    seen within that time; the page says when it was (``relais audit verify`` always walks
    it all)."""

    def __init__(self, full_every: float = 600.0) -> None:
        self.full_every = full_every
        self._lock = threading.Lock()
        self._known: dict[str, tuple[Verification, float, dt.datetime]] = {}

    def check(self, session: Session) -> tuple[Verification, dt.datetime]:
        """The chain's state now, and when it was last walked whole (UTC)."""
        key = database_key(session)
        with self._lock:
            known = self._known.get(key)
            if known is not None and time.monotonic() - known[1] < self.full_every:
                result = verify(session, since=known[0])
                walked, at = known[1], known[2]
            else:
                result = verify(session)
                walked, at = time.monotonic(), utcnow()
            if result.ok:
                self._known[key] = (result, walked, at)
            else:
                self._known.pop(key, None)  # walked whole again at the next view
            return result, at


WATCH = ChainWatch()
