"""Legal holds: HR or an auditor keeps a person's messages, or one conversation, past the
retention for a dispute (an employee's claim, a labour inspection, a court). The
retention purge (services.retention) skips what an active hold covers and counts it.

A hold is placed with a reason and released with one; both are audited (``legal_hold.*``,
naming the people as ``employee:ID`` so each person's access-request export finds them).
A released hold stays in the table as the record of what was kept, by whom and why.

What a hold covers (``held_clause``, one SQL condition, never a loop over messages):
- ``person``: every message the person sent (1:1 and group posts) or received (1:1, and
  the group posts they hold a receipt for);
- ``conversation``: the 1:1 messages between its two people, both ways.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session

from hr_console.services import audit
from hr_console.services.errors import Invalid, NotFound
from hr_console.store.models import Employee, GroupReceipt, LegalHold, Message, utcnow
from relais_wire.envelope import WireError, clean_text

KINDS = ("person", "conversation")
MAX_REASON_CHARS = 300


def _reason(value: str | None, field: str = "reason") -> str:
    """A reason someone will read in a dispute: required, plain text, at most 300 chars."""
    try:
        text = clean_text(value or "", field, MAX_REASON_CHARS, allow_empty=True).strip()
    except WireError as exc:
        code = "too_long" if exc.code == "too_long" else "bad_text"
        raise Invalid(code, exc.message, field=field, max_chars=MAX_REASON_CHARS) from None
    if not text:
        raise Invalid("empty", "A reason is required.", field=field)
    return text


MAX_ID = 2**31 - 1  # an INTEGER column: a larger number is nobody (and no database error)


def _person(session: Session, employee_id: int | None, field: str) -> Employee:
    ok = isinstance(employee_id, int) and 0 < employee_id <= MAX_ID
    row = session.get(Employee, employee_id) if ok else None
    if row is None:
        raise Invalid("unknown_person", "No employee has this number.", field=field)
    return row


def target(hold_id: int) -> str:
    return f"legal_hold:{hold_id}"


def place(session: Session, kind: str, employee_id: int | None, reason: str | None, *,
          actor: str, other_id: int | None = None) -> LegalHold:
    """Place a hold; everything is checked before anything is written. The same active
    hold twice is refused (``hold_exists``): one record per thing kept."""
    if kind not in KINDS:
        raise Invalid("bad_kind", "A hold is on a person or on a conversation.", field="kind")
    person = _person(session, employee_id, "employee")
    other = None
    if kind == "conversation":
        other = _person(session, other_id, "other")
        if other.id == person.id:
            raise Invalid("same_person", "A conversation is between two different people.",
                          field="other")
    text = _reason(reason)
    first, second = (person.id, None) if other is None else sorted((person.id, other.id))
    same = session.scalar(select(LegalHold.id).where(
        LegalHold.kind == kind, LegalHold.employee_id == first,
        LegalHold.other_employee_id.is_(None) if second is None
        else LegalHold.other_employee_id == second,
        LegalHold.released_at.is_(None)))
    if same is not None:
        raise Invalid("hold_exists", "The same hold is already in place.", hold=same)
    row = LegalHold(kind=kind, employee_id=first, other_employee_id=second, reason=text,
                    placed_by=actor, placed_at=utcnow())
    session.add(row)
    session.flush()
    people = [f"employee:{first}"] + ([f"employee:{second}"] if second else [])
    audit.record(session, actor, "legal_hold.place", target(row.id), kind=kind, people=people,
                 reason=text)
    return row


def release(session: Session, hold_id: int, reason: str | None, *, actor: str) -> LegalHold:
    """Release an active hold: the purge takes what it kept at its next run (if nothing
    else holds it). Audited with the reason; a hold already released is ``not_found``."""
    row = session.get(LegalHold, hold_id) if 0 < hold_id <= MAX_ID else None
    if row is None or row.released_at is not None:
        raise NotFound("not_found", "No such active hold.")
    text = _reason(reason, "release_reason")
    row.released_at, row.released_by, row.release_reason = utcnow(), actor, text
    session.flush()
    people = [f"employee:{row.employee_id}"] + (
        [f"employee:{row.other_employee_id}"] if row.other_employee_id else [])
    audit.record(session, actor, "legal_hold.release", target(row.id), kind=row.kind,
                 people=people, reason=text, placed_by=row.placed_by,
                 placed_at=row.placed_at.isoformat(timespec="seconds"))
    return row


@dataclass(frozen=True)
class HoldRow:
    hold: LegalHold
    person: str
    other: str | None


def listing(session: Session, *, active_only: bool = True, limit: int = 500) -> list[HoldRow]:
    """Holds for the console, newest first, with the people's names (one query)."""
    a, b = Employee.__table__.alias("a"), Employee.__table__.alias("b")
    stmt = (select(LegalHold, a.c.name, b.c.name)
            .join(a, a.c.id == LegalHold.employee_id)
            .outerjoin(b, b.c.id == LegalHold.other_employee_id)
            .order_by(LegalHold.placed_at.desc(), LegalHold.id.desc()).limit(limit))
    if active_only:
        stmt = stmt.where(LegalHold.released_at.is_(None))
    return [HoldRow(h, name, other) for h, name, other in session.execute(stmt)]


def count_active(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LegalHold)
                          .where(LegalHold.released_at.is_(None))) or 0


def of_person(session: Session, employee_id: int) -> list[LegalHold]:
    """Every hold naming the person, active or not, oldest first (their export lists them)."""
    return list(session.execute(
        select(LegalHold).where(or_(LegalHold.employee_id == employee_id,
                                    LegalHold.other_employee_id == employee_id))
        .order_by(LegalHold.id)).scalars())


def held_clause(session: Session) -> ColumnElement[bool]:
    """The SQL condition 'this message row is under an active hold', for ``Message``.

    ``false()`` when no hold is active (the purge's usual case costs one COUNT); otherwise
    three set lookups the database does once per statement, never a loop in Python."""
    if not count_active(session):
        return false()
    active = LegalHold.released_at.is_(None)
    people = select(LegalHold.employee_id).where(active, LegalHold.kind == "person")
    h = LegalHold.__table__.alias("h")
    pair = exists().where(
        h.c.released_at.is_(None), h.c.kind == "conversation",
        or_(and_(h.c.employee_id == Message.sender_id,
                 h.c.other_employee_id == Message.recipient_id),
            and_(h.c.employee_id == Message.recipient_id,
                 h.c.other_employee_id == Message.sender_id)))
    received_post = exists().where(GroupReceipt.message_id == Message.id,
                                   GroupReceipt.employee_id.in_(people))
    # Never NULL (a group post's recipient is NULL): NOT NULL would keep every post.
    return or_(Message.sender_id.in_(people),
               and_(Message.recipient_id.is_not(None), Message.recipient_id.in_(people)),
               pair, and_(Message.group_id.is_not(None), received_post))
