"""Reading people, teams and contact rules as domain values, and the contact lists built
from them. The relay's check and the kiosk's list come from the same function."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from hr_console.domain.policy import Person, Rule, contacts, may_write
from hr_console.store.models import ContactRule, Employee, Team


def person(session: Session, employee_id: int) -> Person | None:
    row = session.execute(
        select(Employee.id, Employee.team_id, Team.supervisor_id, Employee.is_hr_desk,
               Employee.active)
        .outerjoin(Team, Team.id == Employee.team_id)
        .where(Employee.id == employee_id)
    ).one_or_none()
    return None if row is None else Person(*row)


def rules(session: Session) -> list[Rule]:
    return [
        Rule(r.sender_kind, r.sender_ref, r.recipient_kind, r.recipient_ref, r.allow_reply)
        for r in session.execute(select(ContactRule)).scalars()
    ]


def check(session: Session, sender_id: int, recipient_id: int) -> str | None:
    """None when ``sender`` may write to ``recipient``, else the refusal code."""
    sender, recipient = person(session, sender_id), person(session, recipient_id)
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
