"""Reminders until acknowledged: the relay's schedule and the badge-in count (issue 16).

The rules are ``domain.reminders``; this module finds, in SQL, the receipts they make due
and sends the reminders through ``notices.send_reminders`` (the same path as HR's remind
button: an older undelivered copy is replaced, never doubled, and each one is counted on
the receipt).

Cost follows what is due, not the company's size (docs/architecture.md, decision 11): the
timed round reads the current notices that have an interval (a partial index holds only
notices with one); a notice to everyone or to a site is reached from the people badged in
(one open session per terminal at most), each one's receipt through the unique (notice,
employee) index; a team's or a shift's notice by its few receipts. Nobody away, no past
notice and no notice without an interval is read.

``clock`` is the time every function here reads (tests move it instead of sleeping minutes).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    DateTime,
    TextClause,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from hr_console.services import notices
from hr_console.store.models import BadgeSession, Notice, NoticeReceipt, utcnow

log = logging.getLogger("relais.reminders")

clock: Callable[[], dt.datetime] = utcnow
ROUND_MAX = 2000  # reminders sent by one round at most; the rest are due at the next


def now() -> dt.datetime:
    return clock()


def _current(at: dt.datetime):  # noqa: ANN202 - a SQL condition on Notice
    """``domain.reminders.current`` in SQL."""
    return and_(Notice.published_at.is_not(None),
                or_(Notice.valid_until.is_(None), Notice.valid_until > at))


# --- at badge-in ------------------------------------------------------------------------


def at_badge_in(session: Session, employee_id: int, at: dt.datetime | None = None) -> int:
    """Count the reminder a badge-in's sync gives (``domain.reminders.at_badge_in``: every current
    notice asking for acknowledgement that this person was given and has not acknowledged
    is presented again, full screen first). One UPDATE through the person's receipts, in
    the badge-in's transaction. Returns how many were counted."""
    at = at or now()
    owed = exists().where(Notice.id == NoticeReceipt.notice_id, Notice.ack_required.is_(True),
                          _current(at))
    result = session.execute(
        update(NoticeReceipt)
        .where(NoticeReceipt.employee_id == employee_id,
               NoticeReceipt.acknowledged_at.is_(None),
               NoticeReceipt.delivered_at.is_not(None), owed)
        .values(reminders=NoticeReceipt.reminders + 1, last_reminded_at=at)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


# --- while badged in --------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    notice_id: int
    employee_id: int


# Targets whose audience may be most of the company: their receipts are reached from the
# people badged in; a team's or a shift's from the notice (a few dozen rows).
WIDE = ("everyone", "site")


def _reminding(session: Session, at: dt.datetime) -> list[tuple[int, int, str]]:
    """(notice id, minutes, target kind) of the current notices asking for acknowledgement
    with an interval: a handful, read through the partial index of notices with one."""
    return [(n, int(m), k) for n, m, k in session.execute(
        select(Notice.id, Notice.remind_every_min, Notice.target_kind)
        .where(Notice.remind_every_min.is_not(None), Notice.ack_required.is_(True),
               _current(at)))]


def reminding(session: Session, at: dt.datetime) -> dict[int, list[int]]:
    """The current notices asking for acknowledgement with an interval, as {minutes: [notice
    ids]}."""
    out: dict[int, list[int]] = defaultdict(list)
    for notice_id, minutes, _kind in sorted(_reminding(session, at)):
        out[minutes].append(notice_id)
    return dict(out)


def _windows(notices_: list[tuple[int, int, str]], at: dt.datetime):  # noqa: ANN202
    """Reminded (or reached) at least its notice's interval ago: one branch per interval in
    use, since minutes cannot be added to a column in the same SQL on SQLite and
    PostgreSQL."""
    by_interval: dict[int, list[int]] = defaultdict(list)
    for notice_id, minutes, _kind in notices_:
        by_interval[minutes].append(notice_id)
    since = func.coalesce(NoticeReceipt.last_reminded_at, NoticeReceipt.delivered_at)
    return or_(*(and_(NoticeReceipt.notice_id.in_(sorted(ids)),
                      since <= at - dt.timedelta(minutes=minutes))
                 for minutes, ids in sorted(by_interval.items())))


def _wide(notices_: list[tuple[int, int, str]], at: dt.datetime) -> TextClause:
    """The receipts due of notices to everyone or a site, from the open sessions to each
    one's receipt by the unique (notice, employee) index. Written out because of its
    CROSS JOIN, which makes SQLite take the sessions first: judging by averages (a notice's
    receipts: a thousand), it would otherwise walk the whole audience of the notice to
    everyone (50,000) and look each one up among the sessions. PostgreSQL plans the same
    statement from real statistics."""
    by_interval: dict[int, list[int]] = defaultdict(list)
    for notice_id, minutes, _kind in notices_:
        by_interval[minutes].append(notice_id)
    params: list[BindParameter] = [bindparam("ids", sorted(c[0] for c in notices_),
                                             expanding=True)]
    windows = []
    for k, (minutes, ids) in enumerate(sorted(by_interval.items())):
        windows.append(f"(r.notice_id IN :ids_{k} AND "
                       f"COALESCE(r.last_reminded_at, r.delivered_at) <= :cut_{k})")
        params += [bindparam(f"ids_{k}", sorted(ids), expanding=True),
                   bindparam(f"cut_{k}", at - dt.timedelta(minutes=minutes), type_=DateTime())]
    return text(
        "SELECT DISTINCT r.notice_id, r.employee_id"
        " FROM badge_sessions AS b CROSS JOIN notice_receipts AS r"
        " WHERE b.ended_at IS NULL AND r.employee_id = b.employee_id"
        " AND r.notice_id IN :ids AND r.acknowledged_at IS NULL"
        f" AND ({' OR '.join(windows)})"
        " ORDER BY r.notice_id, r.employee_id LIMIT :limit").bindparams(*params)


def due(session: Session, at: dt.datetime | None = None, *,
        limit: int = ROUND_MAX) -> list[Due]:
    """Receipts owed a timed reminder now (``domain.reminders.due``): of a current notice
    asking for acknowledgement with an interval, not acknowledged, whose person is badged
    in, last reminded (or reached) at least the interval ago.

    Read by index only, as much as is due: the notices with an interval (partial index);
    for a notice to everyone or a site, the people badged in (one open session per
    terminal at most) and each one's receipt of it through the unique (notice, employee)
    index, never its whole audience; for a team's or a shift's, its few receipts."""
    at = at or now()
    current = _reminding(session, at)
    if not current:
        return []
    wide = [c for c in current if c[2] in WIDE]
    narrow = [c for c in current if c[2] not in WIDE]
    rows: list[tuple[int, int]] = []
    if wide:
        rows += session.execute(_wide(wide, at), {"limit": limit}).tuples().all()
    if narrow:  # a team's or a shift's receipts, kept for whoever is badged in
        # "+ 0": not by the employee index (SQLite's planner would take it for each of the
        # people badged in and each notice), by the notice's few receipts.
        badged = select(BadgeSession.employee_id).where(BadgeSession.ended_at.is_(None))
        rows += session.execute(
            select(NoticeReceipt.notice_id, NoticeReceipt.employee_id)
            .where(NoticeReceipt.notice_id.in_(sorted(c[0] for c in narrow)),
                   (NoticeReceipt.employee_id + literal_column("0")).in_(badged),
                   NoticeReceipt.acknowledged_at.is_(None), _windows(narrow, at))
            .order_by(NoticeReceipt.notice_id, NoticeReceipt.employee_id)
            .limit(limit)).tuples().all()
    return [Due(n, e) for n, e in sorted(rows)[:limit]]


def send_due(session: Session, at: dt.datetime | None = None, *,
             limit: int = ROUND_MAX) -> int:
    """The relay's round (on the relay that runs the home's chores): send every timed
    reminder due now, one batch of copies per notice. Returns how many were sent."""
    at = at or now()
    pairs = due(session, at, limit=limit)
    if not pairs:
        return 0
    who: dict[int, list[int]] = defaultdict(list)
    for pair in pairs:
        who[pair.notice_id].append(pair.employee_id)
    sent = 0
    for notice in session.execute(select(Notice).where(Notice.id.in_(sorted(who)))).scalars():
        sent += notices.send_reminders(session, notice, who[notice.id], at=at)
    log.info("reminded %d people of %d notices", sent, len(who))
    return sent

