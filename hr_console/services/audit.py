"""The append-only audit log. Each entry's hash covers its content and the previous hash,
so changing, deleting or reordering any row breaks the chain that ``verify`` walks."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hr_console.store.models import AuditEntry, utcnow

GENESIS = "0" * 64


def _digest(prev: str, entry: AuditEntry) -> str:
    content = json.dumps(
        [prev, entry.id, entry.ts.isoformat(timespec="microseconds"), entry.actor, entry.action,
         entry.target, entry.detail],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(content.encode()).hexdigest()


def record(session: Session, actor: str, action: str, target: str | None = None,
           **detail: Any) -> AuditEntry:
    """Append one entry in the caller's transaction (so it commits with the action)."""
    last = session.execute(
        select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1).with_for_update()
    ).scalar_one_or_none()
    prev = last.hash if last else GENESIS
    entry = AuditEntry(id=(last.id + 1) if last else 1, ts=utcnow(), actor=actor, action=action,
                       target=target, detail=detail or None, prev_hash=prev, hash="")
    entry.hash = _digest(prev, entry)
    session.add(entry)
    session.flush()
    return entry


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
    return Verification(True, count)
