"""Reading people, teams and contact rules as domain values, and the contact lists built
from them. The relay's check and the kiosk's list come from the same function."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from hr_console.domain.policy import Person, Rule, contacts, may_write
from hr_console.store.db import batch_cache, cached, keep
from hr_console.store.models import ContactRule, Employee, Team


def person(session: Session, employee_id: int) -> Person | None:
    row = session.execute(
        select(Employee.id, Employee.team_id, Team.supervisor_id, Employee.is_hr_desk,
               Employee.active)
        .outerjoin(Team, Team.id == Employee.team_id)
        .where(Employee.id == employee_id)
    ).one_or_none()
    return None if row is None else Person(*row)


def persons(session: Session, *ids: int) -> dict[int, Person]:
    """Several people (and their teams) in one query. The rows stay in the session, so
    that a later ``session.get(Employee, id)`` or ``session.get(Team, id)`` of the same
    unit of work costs no query (for the rest of the batch, in the relay)."""
    out: dict[int, Person] = {}
    cache = batch_cache(session)
    known = cache.setdefault("persons", {}) if cache is not None else {}
    missing = [i for i in dict.fromkeys(ids) if i not in known]
    if missing:
        for emp, team in session.execute(
                select(Employee, Team).outerjoin(Team, Team.id == Employee.team_id)
                .where(Employee.id.in_(missing))).tuples():
            keep(session, emp, team)
            known[emp.id] = Person(emp.id, emp.team_id, team.supervisor_id if team else None,
                                   emp.is_hr_desk, emp.active)
    for i in ids:
        if i in known:
            out[i] = known[i]
    return out


def rules(session: Session) -> list[Rule]:
    """Every contact rule (once per batch in the relay: ``store.db.open_batch_cache``)."""
    return cached(session, "contact_rules", lambda: [
        Rule(r.sender_kind, r.sender_ref, r.recipient_kind, r.recipient_ref, r.allow_reply)
        for r in session.execute(select(ContactRule)).scalars()
    ])


def check(session: Session, sender_id: int, recipient_id: int) -> str | None:
    """None when ``sender`` may write to ``recipient``, else the refusal code."""
    both = persons(session, sender_id, recipient_id)
    sender, recipient = both.get(sender_id), both.get(recipient_id)
    if sender is None or recipient is None:
        return "unknown_recipient"
    verdict = may_write(sender, recipient, rules(session))
    return None if verdict.allowed else verdict.reason


def contact_list(session: Session, employee_id: int) -> list[dict]:
    """Everyone this employee may write to, as their kiosk shows them."""
    me = person(session, employee_id)
    if me is None:
        return []
    team = aliased(Team)
    rows = session.execute(
        select(Employee.id, Employee.name, Employee.team_id, team.supervisor_id,
               Employee.is_hr_desk, Employee.active, team.name)
        .outerjoin(team, team.id == Employee.team_id)
        .where(Employee.active.is_(True), Employee.id != employee_id)
        .order_by(Employee.name)
    ).all()
    people = {r[0]: r for r in rows}
    allowed = contacts(me, (Person(r[0], r[2], r[3], r[4], r[5]) for r in rows), rules(session))
    return [
        {"id": i, "name": people[i][1], "team": people[i][6] or "", "hr": bool(people[i][4])}
        for i in allowed
    ]
