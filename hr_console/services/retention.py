"""Retention: messages older than ``retention_days`` go, with what hangs off them (their
photos, what the relay still owed a terminal about them, the moderation decisions). Group
posts are messages too and go the same way, with their members' receipts. Safety alerts
older than that lose their photo (the alert stays: what happened and who handled it). Badge
sessions that ended before the cutoff go too: who badged in where and when is personal data
kept no longer than the messages (a works council asks), and 1,000 terminals add thousands a
day. The
copies of notices that have ended, still owed to people who did not badge in before the
end, go at every purge whatever their age (nobody is sent them any more).

The audit log is append-only and is never purged; the purge itself is audited with its
counts. Messages under an active legal hold (services.legal_holds) are skipped and counted
(``held``): they stay until the hold is released, then go at the next purge. Deletion runs
in batches, each its own transaction, so a large first purge never holds the database (and
the relay) for long.

Scheduling: every relay asks ``purge_if_due`` now and then (``relais up`` runs one relay;
``purge_every_hours`` in relais.toml, default 24, 0 for never); of several relays sharing
the database exactly one purges per period: the claim is taken under a lock (a
PostgreSQL advisory lock, or SQLite's ``BEGIN IMMEDIATE``) and recorded in the same
transaction. ``relais purge`` from cron works as well and counts as that period's purge.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from hr_console.services import audit, downlinks, legal_holds, sessions, settings
from hr_console.store.models import (
    AuditEntry,
    BadgeSession,
    Downlink,
    GroupReceipt,
    LegalHold,
    Media,
    Message,
    ModerationDecision,
    Notice,
    SafetyAlert,
    Setting,
    utcnow,
)

BATCH = 2000
PURGE_ACTION = "retention.purge"
MESSAGE_DOWNLINKS = ("text", "photo", "drawing", "voice", "state", "retract")

OpenSession = Callable[[], AbstractContextManager[Session]]
# Bookkeeping beside the settings (not one of them: settings.DEFAULTS does not list it):
# when a relay last claimed the scheduled purge.
CLAIM_KEY = "retention.claimed_at"
PG_LOCK = 0x52454C5055524745  # 'RELPURGE': the advisory lock of the purge claim


@dataclass
class PurgeCounts:
    messages: int = 0
    media: int = 0
    downlinks: int = 0
    decisions: int = 0
    held: int = 0  # past retention but kept by a legal hold
    alert_photos: int = 0  # photos of safety alerts raised before the cutoff
    sessions: int = 0  # badge sessions that ended before the cutoff

    def add(self, other: PurgeCounts) -> None:
        self.messages += other.messages
        self.media += other.media
        self.downlinks += other.downlinks
        self.decisions += other.decisions
        self.held += other.held
        self.alert_photos += other.alert_photos
        self.sessions += other.sessions


def cutoff(session: Session, now: dt.datetime | None = None, days: int | None = None) -> dt.datetime:
    days = int(settings.get(session, "retention_days") if days is None else days)
    if days < 1:
        raise ValueError("retention_days must be at least 1")
    return (now or utcnow()) - dt.timedelta(days=days)


def purge_batch(session: Session, before: dt.datetime, limit: int = BATCH) -> PurgeCounts:
    """Delete up to ``limit`` messages created before ``before`` and what hangs off them,
    except those under an active legal hold."""
    rows = session.execute(
        select(Message.id, Message.client_id, Message.media_id)
        .where(Message.created_at < before, ~legal_holds.held_clause(session))
        .order_by(Message.created_at).limit(limit)
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
    # A group post's receipts (the FK cascades too; said here so no engine setting matters).
    session.execute(delete(GroupReceipt).where(GroupReceipt.message_id.in_(ids)))
    counts.messages = session.execute(delete(Message).where(Message.id.in_(ids))).rowcount or 0
    if media_ids:
        still_used = set(session.execute(
            select(Message.media_id).where(Message.media_id.in_(media_ids))).scalars())
        still_used |= set(session.execute(
            select(Notice.media_id).where(Notice.media_id.in_(media_ids))).scalars())
        still_used |= set(session.execute(
            select(SafetyAlert.media_id).where(SafetyAlert.media_id.in_(media_ids))).scalars())
        orphans = [m for m in media_ids if m not in still_used]
        if orphans:
            counts.media = session.execute(
                delete(Media).where(Media.id.in_(orphans))).rowcount or 0
    return counts


def purge_alert_photos(session: Session, before: dt.datetime) -> int:
    """The photos of safety alerts raised before ``before``: a photo of an injured
    colleague is kept as long as messages, no longer. The alert itself stays (HR's record
    of what happened and who handled it), without its photo."""
    rows = session.execute(select(SafetyAlert.id, SafetyAlert.media_id).where(
        SafetyAlert.raised_at < before, SafetyAlert.media_id.is_not(None))).all()
    if not rows:
        return 0
    media_ids = sorted({m for _a, m in rows})
    session.execute(update(SafetyAlert).where(SafetyAlert.id.in_([a for a, _m in rows]))
                    .values(media_id=None))
    still_used = set(session.execute(
        select(Message.media_id).where(Message.media_id.in_(media_ids))).scalars())
    still_used |= set(session.execute(
        select(Notice.media_id).where(Notice.media_id.in_(media_ids))).scalars())
    orphans = [m for m in media_ids if m not in still_used]
    if orphans:
        session.execute(delete(Media).where(Media.id.in_(orphans)))
    return len(rows)


def due(session: Session, before: dt.datetime) -> tuple[int, int]:
    """(messages a purge would delete, messages past ``before`` a legal hold keeps)."""
    past = Message.created_at < before
    held = legal_holds.held_clause(session)
    total = session.scalar(select(func.count()).select_from(Message).where(past)) or 0
    kept = session.scalar(select(func.count()).select_from(Message).where(past, held)) or 0
    return total - kept, kept


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
        total.alert_photos = purge_alert_photos(s, before)
    total.downlinks += drop_ended_notices(open_session, now, batch)
    # Never one a late outbox item may still name (a message, a safety alert): those of the
    # last LATE_OUTBOX_DAYS stay, whatever a shorter retention says.
    total.sessions = purge_sessions(open_session, min(
        before, (now or utcnow()) - dt.timedelta(days=sessions.LATE_OUTBOX_DAYS)), batch)
    with open_session() as s:
        total.held = due(s, before)[1]
        audit.record(s, actor, PURGE_ACTION, "messages", retention_days=retention,
                     before=before.isoformat(timespec="seconds"), messages=total.messages,
                     media=total.media, downlinks=total.downlinks, decisions=total.decisions,
                     held=total.held, alert_photos=total.alert_photos,
                     sessions=total.sessions)
    return total


def purge_sessions(open_session: OpenSession, before: dt.datetime, batch: int = BATCH) -> int:
    """Delete the badge sessions that ended before ``before``, ``batch`` per transaction,
    except those of people under an active legal hold (a person's, or one side of a
    conversation's): when and where they badged in may be part of the dispute. The caller
    keeps those a late outbox item may still name (``sessions.LATE_OUTBOX_DAYS``). Returns
    how many went."""
    holds = LegalHold.released_at.is_(None)
    held = select(LegalHold.employee_id).where(holds).union(
        select(LegalHold.other_employee_id).where(holds,
                                                  LegalHold.other_employee_id.is_not(None)))
    total = 0
    while True:
        with open_session() as s:
            some = (select(BadgeSession.id)
                    .where(BadgeSession.ended_at < before, BadgeSession.employee_id.not_in(held))
                    .limit(batch))
            gone = s.execute(delete(BadgeSession).where(BadgeSession.id.in_(some))
                             .execution_options(synchronize_session=False)).rowcount or 0
        total += gone
        if gone < batch:
            return total


def drop_ended_notices(open_session: OpenSession, now: dt.datetime | None = None,
                       batch: int = BATCH) -> int:
    """Whatever the retention, notice copies owed to nobody: those of notices that have
    ended, and those of people no longer employed (deactivated). ``batch`` rows per
    transaction, like the messages. Returns how many went."""
    with open_session() as s:
        uids = downlinks.ended_notices_owed(s, now)
    drops = [lambda s, uid=uid: downlinks.drop_copies(s, "notice", uid, batch) for uid in uids]
    drops.append(lambda s: downlinks.drop_departed_notice_copies(s, batch))
    total = 0
    for drop in drops:
        while True:
            with open_session() as s:
                gone = drop(s)
            total += gone
            if gone < batch:
                break
    return total


def last_purge(session: Session) -> dt.datetime | None:
    """When messages were last purged (by a relay or by ``relais purge``)."""
    return session.scalar(select(func.max(AuditEntry.ts)).where(AuditEntry.action == PURGE_ACTION))


def claim_purge(session: Session, now: dt.datetime, every: dt.timedelta) -> bool:
    """True for exactly one caller per period ``every``: the claim is checked and written
    in one transaction that holds the lock, so two relays asking at the same moment cannot
    both get it. A purge by ``relais purge`` within the period counts too."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and not session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                       {"key": PG_LOCK}):
        return False  # another relay is deciding right now
    # SQLite: the transaction began with BEGIN IMMEDIATE (hr_console.store.db), which
    # already lets one writer at a time through.
    row = session.get(Setting, CLAIM_KEY, with_for_update=True)
    claimed = _parse(row.value) if row is not None else None
    last = max((t for t in (claimed, last_purge(session)) if t is not None), default=None)
    if last is not None and now - last < every:
        return False
    if row is None:
        session.add(Setting(key=CLAIM_KEY, value=now.isoformat()))
    else:
        row.value = now.isoformat()
    session.flush()
    return True


def _parse(value: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def purge_if_due(open_session: OpenSession, *, actor: str = "relay",
                 now: dt.datetime | None = None,
                 every: dt.timedelta = dt.timedelta(days=1)) -> PurgeCounts | None:
    """For a relay's timer: purge when nobody has in the last ``every`` (None: not due, or
    another relay has it)."""
    now = now or utcnow()
    with open_session() as s:
        if not claim_purge(s, now, every):
            return None
    return purge(open_session, actor=actor, now=now)
