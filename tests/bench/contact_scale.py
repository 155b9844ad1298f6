"""The contact list as it was computed before issue 14 (every active employee checked
against every rule), kept as the reference the set query is compared with, and the
realistic organisation of ``relais gen-data`` at scale for measuring both
(tests/bench/test_contact_list_bench.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from hr_console.domain import policy
from hr_console.services import gendata, people
from hr_console.store.models import ContactRule, Employee, Team


def all_rules(session: Session) -> list[policy.Rule]:
    return [policy.Rule(r.sender_kind, r.sender_ref, r.recipient_kind, r.recipient_ref,
                        r.allow_reply, r.on_shift_only)
            for r in session.execute(select(ContactRule).order_by(ContactRule.id)).scalars()]


def old_contact_list(session: Session, employee_id: int, *, on_shift: bool = True,
                     later: dict | None = None) -> list[dict]:
    """``people.contact_list`` before issue 14: O(employees x rules). ``on_shift`` False:
    the person is off shift, and whom only on-shift-only rules let them write to is marked
    ``off_shift`` with ``later`` (when they may write again)."""
    me = people.person(session, employee_id)
    if me is None:
        return []
    team = aliased(Team)
    rows = session.execute(
        select(Employee.id, Employee.name, Employee.team_id, team.supervisor_id,
               Employee.is_hr_desk, Employee.active, team.name)
        .outerjoin(team, team.id == Employee.team_id)
        .where(Employee.active.is_(True), Employee.id != employee_id)
        .order_by(Employee.name, Employee.id)
    ).all()
    by_id = {r[0]: r for r in rows}
    persons = [policy.Person(r[0], r[2], r[3], r[4], r[5]) for r in rows]
    rules = all_rules(session)
    allowed = policy.contacts(me, persons, rules)
    now = set(allowed if on_shift else policy.contacts(me, persons, rules, on_shift=False))
    return [{"id": i, "name": by_id[i][1], "team": by_id[i][6] or "", "hr": bool(by_id[i][4]),
             **({} if i in now else {"off_shift": True, **(later or {})})}
            for i in allowed]


def build_org(session: Session, employees: int, team_size: int, *, hr_desk: int = 6,
              person_rules: int = 200, team_pairs: int = 50, seed: int = 14) -> dict:
    """The organisation ``relais gen-data`` makes (:func:`gendata.organisation`: teams of
    ``team_size`` with a supervisor each, an HR desk, 2 % inactive; each team <-> itself,
    each team -> its supervisor, everyone -> HR desk, ``person_rules`` person -> person,
    ``team_pairs`` team -> team), without messages."""
    org = gendata.organisation(session, employees=employees, team_size=team_size,
                               hr_desk=hr_desk, person_rules=person_rules,
                               team_pairs=team_pairs, seed=seed, pepper="bench")
    return {"employees": org.employee_ids, "teams": org.team_ids, "rules": org.rules,
            "supervisors": org.supervisors, "hr_desk": org.hr_desk}
