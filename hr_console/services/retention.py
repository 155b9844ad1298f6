"""Retention: messages older than ``retention_days`` go, with what hangs off them (their
photos, what the relay still owed a terminal about them, the moderation decisions).

The audit log is append-only and is never purged; the purge itself is audited with its
counts. Deletion runs in batches, each its own transaction, so a large first purge never
holds the database (and the relay) for long.

Scheduling: run ``relais purge`` once a day (cron or a systemd timer, see
docs/retention.md); a relay may instead call ``purge_if_due`` on its timer,
which purges at most once a day across every relay of the home.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hr_console.services import audit, settings
from hr_console.store.models import (
    AuditEntry,
    Downlink,
    Media,
    Message,
    ModerationDecision,
    Notice,
    utcnow,
)

BATCH = 2000
PURGE_ACTION = "retention.purge"
MESSAGE_DOWNLINKS = ("text", "photo", "drawing", "state", "retract")

OpenSession = Callable[[], AbstractContextManager[Session]]


@dataclass
class PurgeCounts:
    messages: int = 0
    media: int = 0
    downlinks: int = 0
    decisions: int = 0

    def add(self, other: PurgeCounts) -> None:
        self.messages += other.messages
        self.media += other.media
        self.downlinks += other.downlinks
        self.decisions += other.decisions


def cutoff(session: Session, now: dt.datetime | None = None, days: int | None = None) -> dt.datetime:
    days = int(settings.get(session, "retention_days") if days is None else days)
    if days < 1:
        raise ValueError("retention_days must be at least 1")
    return (now or utcnow()) - dt.timedelta(days=days)


def purge_batch(session: Session, before: dt.datetime, limit: int = BATCH) -> PurgeCounts:
    """Delete up to ``limit`` messages created before ``before`` and what hangs off them."""
    rows = session.execute(
        select(Message.id, Message.client_id, Message.media_id)
        .where(Message.created_at < before).order_by(Message.created_at).limit(limit)
    ).all()
    counts = PurgeCounts()
    if not rows:
        return counts
    ids = [r[0] for r in rows]
    client_ids = sorted({r[1] for r in rows})
    media_ids = sorted({r[2] for r in rows if r[2] is not None})
    counts.decisions = session.execute(
        delete(ModerationDecision).where(ModerationDecision.message_id.in_(ids))).rowcount or 0
    counts.downlinks = session.execute(
        delete(Downlink).where(Downlink.ref.in_(client_ids), Downlink.kind.in_(MESSAGE_DOWNLINKS))
    ).rowcount or 0
    counts.messages = session.execute(delete(Message).where(Message.id.in_(ids))).rowcount or 0
    if media_ids:
        still_used = set(session.execute(
            select(Message.media_id).where(Message.media_id.in_(media_ids))).scalars())
        still_used |= set(session.execute(
            select(Notice.media_id).where(Notice.media_id.in_(media_ids))).scalars())
        orphans = [m for m in media_ids if m not in still_used]
        if orphans:
            counts.media = session.execute(
                delete(Media).where(Media.id.in_(orphans))).rowcount or 0
    return counts


def purge(open_session: OpenSession, *, actor: str = "system", now: dt.datetime | None = None,
          days: int | None = None, batch: int = BATCH) -> PurgeCounts:
    """Purge everything past retention, batch by batch; audited once with the totals."""
    with open_session() as s:
        before = cutoff(s, now, days)
        retention = int(settings.get(s, "retention_days") if days is None else days)
    total = PurgeCounts()
    while True:
        with open_session() as s:
            counts = purge_batch(s, before, batch)
        total.add(counts)
        if counts.messages < batch:
            break
    with open_session() as s:
        audit.record(s, actor, PURGE_ACTION, "messages", retention_days=retention,
                     before=before.isoformat(timespec="seconds"), messages=total.messages,
                     media=total.media, downlinks=total.downlinks, decisions=total.decisions)
    return total


def last_purge(session: Session) -> dt.datetime | None:
    return session.scalar(select(func.max(AuditEntry.ts)).where(AuditEntry.action == PURGE_ACTION))


def purge_if_due(open_session: OpenSession, *, actor: str = "relay",
                 now: dt.datetime | None = None,
                 every: dt.timedelta = dt.timedelta(days=1)) -> PurgeCounts | None:
    """For a relay's timer: purge when the last purge is older than ``every``.

    Two relays racing here may both purge; that is harmless (the second finds nothing)."""
    now = now or utcnow()
    with open_session() as s:
        last = last_purge(s)
    if last is not None and now - last < every:
        return None
    return purge(open_session, actor=actor, now=now)
