"""What a notice's copy says on the wire, filled in when the copy is sent instead of stored
with every copy.

A notice to everyone at 50,000 employees queued 50,000 copies, each carrying the notice's
title and body (up to 4,000 characters, about 5 KB of JSON): 270 MB written in the
console's transaction, which held SQLite's only writer (and so every relay's batch) for
about 3 s, and the database 300 MB larger per notice until the copies were delivered. A
copy now only names its notice (``REF``); ``expand`` makes the wire view when the copy is
claimed, from the notice as it is then, with one query for all the notices of a claim.
Copies queued before this carry their whole view and go out as they are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hr_console.store.models import Notice

REF = "$notice"  # never on the wire: ``expand`` replaces it with the notice's view


def wire_view(notice: Notice) -> dict[str, Any]:
    """The notice as a kiosk gets it (in a copy, and in the sync's list)."""
    return {"notice": notice.uid, "title": notice.title, "body": notice.body,
            "urgent": notice.urgent, "ack_required": notice.ack_required,
            "photo": notice.media_id is not None,
            "valid_until": notice.valid_until.isoformat() if notice.valid_until else None}


def copy_fields(notice: Notice, **extra: Any) -> dict[str, Any]:
    """What a copy of ``notice`` stores (``downlinks.queue_many``'s fields)."""
    return {REF: notice.uid, **extra}


def expand(session: Session, payloads: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """``payloads`` as they go on the wire, in order: a copy that names a notice gets the
    notice's view; None for one whose notice no longer exists (nothing to send)."""
    uids = sorted({p[REF] for p in payloads if REF in p})
    if not uids:
        return list(payloads)
    found = {n.uid: n for n in session.execute(
        select(Notice).where(Notice.uid.in_(uids))).scalars()}
    out: list[dict[str, Any] | None] = []
    for payload in payloads:
        uid = payload.get(REF)
        if uid is None:
            out.append(payload)
        elif uid in found:
            rest = {k: v for k, v in payload.items() if k != REF}
            out.append({**rest, **wire_view(found[uid])})
        else:
            out.append(None)
    return out
