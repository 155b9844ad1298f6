"""What the relay owes each employee's terminal, kept in the database until confirmed.

A use case never publishes: it queues a ``Downlink`` in its own transaction, so the
message and the promise to deliver it commit together. The relay then sends each
pending downlink to the employee's current terminal (with that session's id) and sends it
again until the terminal's ``received`` receipt deletes the row (docs/architecture.md,
decision 2).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from hr_console.services import notice_view
from hr_console.store.models import (
    BadgeSession,
    Downlink,
    Employee,
    Message,
    Notice,
    Terminal,
    utcnow,
)
from relais_wire.envelope import CONTENT_KINDS, envelope

# Run for every message: built once (see messaging._FIND).
_DROP_STATE = delete(Downlink).where(Downlink.employee_id == bindparam("emp"),
                                     Downlink.kind == "state", Downlink.ref == bindparam("ref"))
_CONFIRM = (delete(Downlink)
            .where(Downlink.id == bindparam("dl"), Downlink.employee_id == bindparam("emp"))
            .returning(Downlink.kind, Downlink.ref, Downlink.sender_id))


def queue(session: Session, employee_id: int, kind: str, ref: str | None = None, *,
          sender_id: int | None = None, **fields: Any) -> Downlink:
    """Queue one downlink. A newer ``state`` for the same message replaces an unsent older
    one: the sender needs the latest state, not every intermediate one twice. A message's
    copy names its ``sender_id``: its ``ref`` (the client id the sender's kiosk chose) is
    unique only per sender."""
    if kind == "state" and ref:
        session.execute(_DROP_STATE, {"emp": employee_id, "ref": ref})
    row_id = str(uuid.uuid4())
    payload = envelope(kind, id=row_id, **fields)
    row = Downlink(id=row_id, employee_id=employee_id, kind=kind, ref=ref, payload=payload,
                   sender_id=sender_id, created_at=utcnow())
    session.add(row)
    session.info.setdefault(_QUEUED, []).append(row_id)
    return row


_QUEUED = "relais.queued_downlinks"
_INSERT = Downlink.__table__.insert()


def queue_many(session: Session, kind: str, employee_ids: Collection[int],
               fields: dict[str, Any], *, ref: str | None = None,
               sender_id: int | None = None) -> list[str]:
    """The same downlink for many employees (a group post's copies, its retraction) in one
    INSERT of all the rows, registered like ``queue``'s so the relay claims them after the
    commit (``take_queued``). Not for ``state`` (``queue`` replaces an older one)."""
    assert kind != "state"
    now = utcnow()
    base = envelope(kind, id="", **fields)  # the same for all but its id: built once
    rows = []
    for employee_id in employee_ids:
        row_id = str(uuid.uuid4())
        rows.append({"id": row_id, "employee_id": employee_id, "kind": kind, "ref": ref,
                     "payload": {**base, "id": row_id}, "sender_id": sender_id,
                     "created_at": now, "sent_at": None, "attempts": 0, "confirmed_at": None})
    if not rows:
        return []
    session.execute(_INSERT, rows)
    _register(session, [(row["id"], row["employee_id"]) for row in rows])
    return [row["id"] for row in rows]


def queue_audience(session: Session, kind: str, audience: Select[tuple[int]],
                   fields: dict[str, Any], *, ref: str | None = None,
                   sender_id: int | None = None) -> list[str]:
    """``queue_many`` for the employees ``audience`` selects (their ids), written by the
    database itself: one ``INSERT … SELECT`` whose rows' ids the database makes
    (``_row_id``) and whose payload, the same for every row, carries no id (the claim
    gives each copy its row's, ``_outgoing``). A notice to everyone at 50,000 employees
    built 50,000 rows in Python first: a second of the console's (or the chore relay's)
    CPU while it held SQLite's one writer; a post to a 50,000-member group, 1.5 s of the
    relay's worker."""
    assert kind != "state"
    payload = {k: v for k, v in envelope(kind, **fields).items() if k != "id"}
    people = audience.subquery()
    rows = select(_row_id(session), people.c[0], literal(kind, String), literal(ref, String),
                  bindparam("payload", payload, type_=_TABLE.c.payload.type),
                  literal(sender_id, Integer), literal(utcnow(), DateTime), literal(0, Integer))
    written = session.execute(
        insert(_TABLE).from_select(["id", "employee_id", "kind", "ref", "payload", "sender_id",
                                    "created_at", "attempts"], rows)
        .returning(_TABLE.c.id, _TABLE.c.employee_id)).all()
    _register(session, [(row_id, employee_id) for row_id, employee_id in written])
    return [row_id for row_id, _employee_id in written]


# Up to this many new rows are all named to the relay's claim; past it, those of people badged
# in only (one read of the open sessions, a row per terminal in use).
_REGISTER_ALL_MAX = 500


def _register(session: Session, rows: list[tuple[str, int]]) -> None:
    """Name new rows ``(id, employee_id)`` to the claim the relay makes after the commit
    (``take_queued``): those of people not badged in cannot be claimed, and wait for their
    badge-in or the sweep (``claim_due``). A post or a notice to 50,000 people named
    50,000 ids in one claim: seconds of the one writer, and past PostgreSQL's 65,535
    parameters a statement at 66,000."""
    if len(rows) > _REGISTER_ALL_MAX:
        badged_in = set(session.execute(select(BadgeSession.employee_id).where(
            BadgeSession.ended_at.is_(None))).scalars())
        rows = [row for row in rows if row[1] in badged_in]
    session.info.setdefault(_QUEUED, []).extend(row_id for row_id, _employee_id in rows)


def _row_id(session: Session) -> ColumnElement[str]:
    """A new random uuid (version 4, canonical text, as ``uuid.uuid4``) made by the database
    for each row of an ``INSERT … SELECT``."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.gen_random_uuid(), String)
    return literal_column(_SQLITE_UUID4, String)


# Version nibble 4, variant 10xx (one of 8, 9, a, b), the rest random: uuid.uuid4's layout.
_SQLITE_UUID4 = (
    "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "
    "substr(hex(randomblob(2)), 2) || '-' || substr('89AB', 1 + (random() & 3), 1) || "
    "substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))")


def take_queued(session: Session) -> list[str]:
    """The ids of the downlinks this session queued since the last call: the relay claims
    exactly those after a batch (``claim``) instead of sweeping every due row."""
    return session.info.pop(_QUEUED, None) or []


@dataclass(frozen=True)
class Outgoing:
    downlink_id: str
    terminal: str
    payload: dict[str, Any]  # with ``sid`` filled in


# Who is badged in but not yet sent their sync: read after a claim (see ``_withhold``).
Withheld = Callable[[], Collection[int]]


# What the sweep takes: never confirmed, and never sent or sent before ``cutoff``.
_DUE = and_(Downlink.confirmed_at.is_(None),
            or_(Downlink.sent_at.is_(None), Downlink.sent_at < bindparam("cutoff")))


def claim_due(session: Session, *, resend_after: float, limit: int = 500,
              employee_id: int | None = None,
              partitions: Collection[int] | None = None,
              withheld: Withheld | None = None) -> list[Outgoing]:
    """Downlinks due now for employees who are badged in, marked as sent by this caller
    (the deliverer's periodic sweep). ``partitions``: only for employees whose current
    terminal is in one of them (a relay sends to the terminals of its partitions).
    ``withheld``: see ``_withhold``.

    The conditional UPDATE is the claim: with several relays polling, only the one whose
    update hits the row sends it this round.

    The copy of a notice that ended while its reader was away (its time passed) is deleted
    here instead of sent: back from a month's leave, someone got every notice of that month
    at badge-in, urgent ones ringing, that the sync itself no longer lists (the copies of
    readers who never badge in go with the retention purge: ``retention.drop_ended_notices``)."""
    now = utcnow()
    cutoff = now - dt.timedelta(seconds=resend_after)
    stmt = (
        select(Downlink.id, Downlink.payload, Downlink.employee_id, BadgeSession.id,
               Terminal.name, _ENDED)
        .join(BadgeSession, and_(BadgeSession.employee_id == Downlink.employee_id,
                                 BadgeSession.ended_at.is_(None)))
        .join(Terminal, Terminal.id == BadgeSession.terminal_id)
        .outerjoin(Notice, and_(Downlink.kind == "notice", Notice.uid == Downlink.ref))
        .where(_DUE)
        .order_by(Downlink.created_at)
        .limit(limit)
    )
    if employee_id is not None:
        stmt = stmt.where(Downlink.employee_id == employee_id)
    if partitions is not None:
        if not partitions:
            return []
        stmt = stmt.where(Terminal.partition.in_(sorted(partitions)))
    rows = session.execute(stmt, {"now": now, "cutoff": cutoff}).all()
    ended = [r[0] for r in rows if r[5]]
    if ended:
        session.execute(delete(Downlink).where(Downlink.id.in_(ended)))
    rows = [r[:5] for r in rows if not r[5]]
    if not rows:
        return []
    # One conditional UPDATE claims them all: a row another relay claimed meanwhile no
    # longer matches (its sent_at is now, past the cutoff), and RETURNING says which matched.
    claimed = set(session.execute(
        update(Downlink)
        .where(Downlink.id.in_([r[0] for r in rows]), _DUE)
        .values(sent_at=now, attempts=Downlink.attempts + 1)
        .returning(Downlink.id), {"cutoff": cutoff}
    ).scalars())
    rows = _withhold(session, [r for r in rows if r[0] in claimed], withheld)
    return _outgoing(session, rows)


# ``claim_due``'s, one row at most (``any_due``).
_ANY_DUE = (
    select(Downlink.id)
    .join(BadgeSession, and_(BadgeSession.employee_id == Downlink.employee_id,
                             BadgeSession.ended_at.is_(None)))
    .join(Terminal, Terminal.id == BadgeSession.terminal_id)
    .where(_DUE, Terminal.partition.in_(bindparam("parts", expanding=True)))
    .limit(1))
# On PostgreSQL, the same by index lookups only: for each badged-in person of these
# partitions, their first due row (a LATERAL subquery, which SQLite does not have).
# A delivered downlink is deleted, and until a VACUUM its index entry stays, pointing at a
# dead row. As the planner likes to run this look (a bitmap scan per person, or one scan
# of the whole table, by its statistics of the moment), every look visits every such row:
# 80,000 of them after a busy quarter of an hour, 15 to 30 ms of the database's CPU four
# times a second. A plain index scan marks the entries it finds dead as it goes (one entry
# per row: migration 0017), so that a look pays only for the rows that died since the one
# before, once no transaction older than their deletion is still open (a long report or a
# backup holds them until it ends; VACUUM is what removes them). The settings below, for
# the look's own transaction, leave the planner no other way.
_FIRST_DUE = (select(Downlink.id)
              .where(Downlink.employee_id == BadgeSession.employee_id, _DUE)
              .limit(1).lateral("first_due"))
_ANY_DUE_BY_INDEX = (
    select(_FIRST_DUE.c.id)
    .select_from(BadgeSession)
    .join(Terminal, Terminal.id == BadgeSession.terminal_id)
    .join(_FIRST_DUE, true())
    .where(BadgeSession.ended_at.is_(None),
           Terminal.partition.in_(bindparam("parts", expanding=True)))
    .limit(1))
_INDEX_SCANS = select(func.set_config("enable_bitmapscan", "off", true()),
                      func.set_config("enable_seqscan", "off", true()))  # SET LOCAL, both


def any_due(session: Session, *, resend_after: float, partitions: Collection[int]) -> bool:
    """Whether ``claim_due`` would find anything for these partitions: the deliverer's
    look, in a read-only transaction that takes no lock, before a round that does. On
    PostgreSQL it changes planner settings for the caller's transaction (``SET LOCAL``):
    give it one of its own."""
    if not partitions:
        return False
    stmt = _ANY_DUE
    if session.get_bind().dialect.name != "sqlite":
        session.execute(_INDEX_SCANS)
        stmt = _ANY_DUE_BY_INDEX
    cutoff = utcnow() - dt.timedelta(seconds=resend_after)
    return session.execute(stmt, {"cutoff": cutoff, "parts": sorted(partitions)}
                           ).first() is not None


def _outgoing(session: Session, rows: list[Any]) -> list[Outgoing]:
    """Claimed rows ``(id, payload, employee_id, sid, terminal)`` as what to publish: a
    notice's copy gets the notice's view (``notice_view.expand``); one whose notice no
    longer exists is deleted, nothing sent."""
    rows = [r for r in rows if r[4] is not None]
    payloads = notice_view.expand(session, [r[1] for r in rows])
    gone = [r[0] for r, payload in zip(rows, payloads, strict=True) if payload is None]
    if gone:
        session.execute(delete(Downlink).where(Downlink.id.in_(gone)))
    # The id is the row's: a copy written by ``queue_audience`` stores none.
    return [Outgoing(r[0], r[4], {**payload, "id": r[0], "sid": r[3]})
            for r, payload in zip(rows, payloads, strict=True) if payload is not None]


def _withhold(session: Session, rows: list[Any], withheld: Withheld | None) -> list[Any]:
    """Claimed rows ``(id, payload, employee_id, ...)`` minus those of employees whose
    badge-in has committed but whose sync is not published yet: a terminal gets the history
    first, then what is owed. Their claims are undone in this transaction (due again at
    once); the login desk wakes the deliverer after the sync. The set is read after the
    claim on purpose: a badge-in whose commit the claim saw was added to it before that
    commit."""
    held = withheld() if withheld is not None and rows else ()
    if not held:
        return rows
    kept = [r for r in rows if r[2] not in held]
    if len(kept) < len(rows):
        session.execute(
            update(Downlink)
            .where(Downlink.id.in_([r[0] for r in rows if r[2] in held]))
            .values(sent_at=None, attempts=Downlink.attempts - 1)
            .execution_options(synchronize_session=False))
    return kept


# The current badge session of a downlink's employee and its terminal, for RETURNING (one
# open session per employee at most: a badge-in ends the others). SQLite's RETURNING
# renders column names without their table, so the correlation names ``downlinks`` itself
# and the terminal comes from a nested subquery rather than a join (no ambiguous ``id``).
_OWNER = literal_column("downlinks.employee_id")
_OPEN = and_(BadgeSession.employee_id == _OWNER, BadgeSession.ended_at.is_(None))
_SID = select(BadgeSession.id).where(_OPEN).limit(1).scalar_subquery()
_TERMINAL = (select(Terminal.name).where(Terminal.id == select(BadgeSession.terminal_id)
                                         .where(_OPEN).limit(1).scalar_subquery())
             .scalar_subquery())


_TABLE = Downlink.__table__
_CLAIM = (
    update(_TABLE)
    .where(_TABLE.c.id.in_(bindparam("ids", expanding=True)), _TABLE.c.confirmed_at.is_(None),
           _TABLE.c.sent_at.is_(None), exists(select(BadgeSession.id).where(_OPEN)))
    .values(sent_at=bindparam("now"), attempts=_TABLE.c.attempts + 1)
    .returning(_TABLE.c.id, _TABLE.c.payload, _TABLE.c.employee_id, _SID, _TERMINAL))


# The same claim made as the rows are written: a row whose employee is badged in is
# inserted already sent (by this caller, now), so the relay's batch needs no UPDATE after
# its INSERT. ``owner`` repeats each row's employee for the condition (a bound name may not
# be a column's).
_BADGED_IN = exists(select(BadgeSession.id).where(BadgeSession.employee_id == bindparam("owner"),
                                                 BadgeSession.ended_at.is_(None)))
_INSERT_CLAIMED = (
    insert(_TABLE)
    .values(sent_at=case((_BADGED_IN, bindparam("now")), else_=None),
            attempts=case((_BADGED_IN, 1), else_=0))
    .returning(_TABLE.c.id, _TABLE.c.payload, _TABLE.c.employee_id, _SID, _TERMINAL,
               _TABLE.c.sent_at, sort_by_parameter_order=True))


def insert_claimed(session: Session, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert downlink rows (``id``, ``employee_id``, ``kind``, ``ref``, ``payload``,
    ``sender_id``, ``created_at``) in one statement, claiming at once those of employees
    badged in, as ``claim`` would right after. Returns the claimed rows, in the order given,
    for ``claimed``; the others wait for the sweep (``claim_due``) as unclaimed rows do."""
    if not rows:
        return []
    now = utcnow()
    got = session.execute(_INSERT_CLAIMED, [
        {**row, "owner": row["employee_id"], "now": now, "confirmed_at": None}
        for row in rows]).all()
    return [r[:5] for r in got if r[5] is not None]


# Whether a row of ``claim_due`` is the copy of a notice that has ended (its outer join).
_ENDED = and_(Notice.valid_until.is_not(None),
              Notice.valid_until <= bindparam("now")).label("ended")


def ended_notices_owed(session: Session, now: dt.datetime | None = None) -> list[str]:
    """The uids of the notices that have ended and still have copies waiting (``claim_due``
    drops those of people badged in; these wait for people who may never badge in again):
    for the retention purge, which deletes them with ``drop_copies``."""
    owed = exists().where(Downlink.kind == "notice", Downlink.ref == Notice.uid)
    return list(session.execute(select(Notice.uid).where(
        Notice.valid_until <= (now or utcnow()), owed).order_by(Notice.id)).scalars())


def drop_copies(session: Session, kind: str, ref: str, limit: int) -> int:
    """Delete up to ``limit`` of the copies of ``kind`` about ``ref`` (a notice's run to
    50,000: deleted a batch per transaction, never holding the database long)."""
    return _delete_some(session, limit, Downlink.kind == kind, Downlink.ref == ref)


def drop_departed_notice_copies(session: Session, limit: int) -> int:
    """Delete up to ``limit`` notice copies owed to employees no longer active: nobody can
    badge in as them, and a returning one's sync brings the notices still current."""
    departed = select(Employee.id).where(Employee.active.is_(False))
    return _delete_some(session, limit, Downlink.kind == "notice",
                        Downlink.employee_id.in_(departed))


def _delete_some(session: Session, limit: int, *where: Any) -> int:
    """Delete up to ``limit`` downlinks matching ``where``; how many went."""
    some = select(Downlink.id).where(*where).limit(limit)
    return session.execute(delete(Downlink).where(Downlink.id.in_(some))
                           .execution_options(synchronize_session=False)).rowcount or 0


def claimed(session: Session, rows: list[Any], *,
            withheld: Withheld | None = None) -> list[Outgoing]:
    """Claimed rows ``(id, payload, employee_id, sid, terminal)`` (``insert_claimed``'s,
    ``claim``'s) as what to publish, minus the withheld (see ``_withhold``)."""
    return _outgoing(session, _withhold(session, rows, withheld))


def claim(session: Session, ids: Iterable[str], *,
          withheld: Withheld | None = None) -> list[Outgoing]:
    """Claim exactly these downlinks (those a batch just queued) for their employees'
    current terminals, in the order given: one conditional ``UPDATE ... RETURNING``. Rows
    of employees not badged in, or already sent or confirmed, stay for the sweep
    (``claim_due``); no other relay's rows are touched. ``withheld``: see ``_withhold``."""
    order = {row_id: i for i, row_id in enumerate(dict.fromkeys(ids))}
    if not order:
        return []
    rows = session.execute(_CLAIM, {"ids": list(order), "now": utcnow()}).all()
    rows.sort(key=lambda r: order[r[0]])
    return claimed(session, rows, withheld=withheld)


@dataclass(frozen=True)
class Confirmed:
    kind: str
    ref: str | None
    sender_id: int | None = None  # for a message's copy


def confirm(session: Session, employee_id: int, downlink_id: str) -> Confirmed | None:
    """The terminal has it: forget the row and say what it was (None if already confirmed,
    or not this employee's). One statement: DELETE ... RETURNING."""
    row = session.execute(_CONFIRM, {"dl": downlink_id, "emp": employee_id}).one_or_none()
    return None if row is None else Confirmed(row[0], row[1], row[2])


def drop_copy(session: Session, recipient_id: int, sender_id: int, client_id: str) -> None:
    """Forget an undelivered copy of one sender's message (retracted). Rows queued before
    copies named their sender match on the client id alone."""
    session.execute(delete(Downlink).where(
        Downlink.employee_id == recipient_id, Downlink.ref == client_id,
        Downlink.kind.in_(CONTENT_KINDS),
        or_(Downlink.sender_id == sender_id, Downlink.sender_id.is_(None))))


def reset_for(session: Session, employee_id: int) -> None:
    """Badge-in: everything pending is due at once on the new terminal."""
    session.execute(update(Downlink).where(
        Downlink.employee_id == employee_id, Downlink.confirmed_at.is_(None)).values(sent_at=None))


_POSTS = Message.__table__


def drop_group_copies(session: Session, employee_id: int, *, keep: Collection[int]) -> int:
    """Forget the copies of group posts still owed to this employee whose group is not in
    ``keep`` (the groups they are a member of now): someone moved out of a group, or whose
    group was deleted, while their copies waited for their next badge-in, does not receive
    them then. Returns how many were dropped."""
    post = exists().where(_POSTS.c.sender_id == Downlink.sender_id,
                          _POSTS.c.client_id == Downlink.ref,
                          _POSTS.c.group_id.is_not(None))
    if keep:
        post = post.where(_POSTS.c.group_id.not_in(sorted(keep)))
    result = session.execute(
        delete(Downlink).where(Downlink.employee_id == employee_id,
                               Downlink.kind.in_(CONTENT_KINDS), post)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def pending_count(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(Downlink)) or 0
