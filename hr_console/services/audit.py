"""The append-only audit log. Each entry's hash covers its content and the previous hash,
so changing, deleting or reordering any row breaks the chain that ``verify`` walks.

The chain alone cannot tell that its last rows were cut off: what is left is still a valid
chain. So every append also updates an anchor (a settings row with the number of entries and
the last hash) in the same transaction, and ``verify`` checks the chain ends there. The
anchor row is also the lock that serialises appends across processes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hr_console.store.models import AuditEntry, Setting, utcnow

GENESIS = "0" * 64
ANCHOR_KEY = "audit_anchor"  # {"entries": n, "last_id": id, "hash": h}


def _digest(prev: str, entry: AuditEntry) -> str:
    content = json.dumps(
        [prev, entry.id, entry.ts.isoformat(timespec="microseconds"), entry.actor, entry.action,
         entry.target, entry.detail],
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


def verify(session: Session) -> Verification:
    prev = GENESIS
    expected_id = 1
    count = 0
    for entry in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars():
        count += 1
        if entry.id != expected_id:
            return Verification(False, count, entry.id, f"entry {expected_id} is missing")
        if entry.prev_hash != prev:
            return Verification(False, count, entry.id, "chain broken (deleted or reordered)")
        if _digest(prev, entry) != entry.hash:
            return Verification(False, count, entry.id, "content altered")
        prev = entry.hash
        expected_id += 1
    return _check_anchor(session, count, prev)


def _check_anchor(session: Session, count: int, last_hash: str) -> Verification:
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
    return Verification(True, count)
