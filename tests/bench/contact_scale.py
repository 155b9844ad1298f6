"""The contact list as it was computed before issue 14 (every active employee checked
against every rule), kept as the reference the set query is compared with, and a
realistic organisation at scale for measuring both (tests/bench/test_contact_list_bench.py)."""

from __future__ import annotations

import random

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, aliased

from hr_console.domain import policy
from hr_console.services import people
from hr_console.store.models import ContactRule, Employee, Site, Team


def all_rules(session: Session) -> list[policy.Rule]:
    return [policy.Rule(r.sender_kind, r.sender_ref, r.recipient_kind, r.recipient_ref,
                        r.allow_reply)
            for r in session.execute(select(ContactRule).order_by(ContactRule.id)).scalars()]


def old_contact_list(session: Session, employee_id: int) -> list[dict]:
    """``people.contact_list`` before issue 14: O(employees x rules)."""
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
    allowed = policy.contacts(me, (policy.Person(r[0], r[2], r[3], r[4], r[5]) for r in rows),
                              all_rules(session))
    return [{"id": i, "name": by_id[i][1], "team": by_id[i][6] or "", "hr": bool(by_id[i][4])}
            for i in allowed]


def build_org(session: Session, employees: int, team_size: int, *, hr_desk: int = 6,
              person_rules: int = 200, team_pairs: int = 50, seed: int = 14) -> dict:
    """Teams of ``team_size`` with a supervisor each, an HR desk, 2 % inactive; rules:
    each team <-> itself, each team -> its supervisor, everyone -> HR desk with reply,
    ``person_rules`` person -> person, ``team_pairs`` team -> team with reply. Core inserts,
    ids taken after the existing rows."""
    rnd = random.Random(seed)
    site = Site(name=f"scale-{seed}-{employees}")
    session.add(site)
    session.flush()
    n_teams = max(1, employees // team_size)
    first_team = (session.scalar(select(Team.id).order_by(Team.id.desc()).limit(1)) or 0) + 1
    first_emp = (session.scalar(select(Employee.id).order_by(Employee.id.desc()).limit(1))
                 or 0) + 1
    team_ids = list(range(first_team, first_team + n_teams))
    session.execute(insert(Team), [{"id": t, "name": f"team {t}", "site_id": site.id}
                                   for t in team_ids])
    first_names = ["Anne", "Karim", "Julie", "Thomas", "Sophie", "Yanis", "Léa", "Marc",
                   "Inès", "Paul", "Chloé", "Hugo", "Nadia", "Lucas", "Emma", "Omar"]
    last_names = ["Martin", "Bernard", "Petit", "Moreau", "Benali", "Dubois", "Lefèvre",
                  "Garcia", "Roux", "Fournier", "Girard", "Mercier", "Diallo", "Nguyen"]
    rows = []
    for k in range(employees):
        i = first_emp + k
        rows.append({"id": i, "name": f"{rnd.choice(first_names)} {rnd.choice(last_names)} {k}",
                     "team_id": team_ids[k % n_teams] if k >= hr_desk else None,
                     "is_hr_desk": k < hr_desk, "active": rnd.random() >= 0.02,
                     "language": "fr", "failed_logins": 0})
    for chunk in range(0, len(rows), 5000):
        session.execute(insert(Employee), rows[chunk:chunk + 5000])
    members: dict[int, list[int]] = {}
    for r in rows:
        if r["team_id"] is not None:
            members.setdefault(r["team_id"], []).append(r["id"])
    for t in team_ids:
        session.execute(Team.__table__.update().where(Team.id == t)
                        .values(supervisor_id=members[t][0] if t in members else None))
    rules = []
    for t in team_ids:
        rules.append(dict(sender_kind="team", sender_ref=t, recipient_kind="team",
                          recipient_ref=t, allow_reply=True))
        rules.append(dict(sender_kind="team", sender_ref=t, recipient_kind="supervisor",
                          recipient_ref=None, allow_reply=True))
    rules.append(dict(sender_kind="everyone", sender_ref=None, recipient_kind="hr_desk",
                      recipient_ref=None, allow_reply=True))
    ids = [r["id"] for r in rows]
    for _ in range(person_rules):
        a, b = rnd.sample(ids, 2)
        rules.append(dict(sender_kind="person", sender_ref=a, recipient_kind="person",
                          recipient_ref=b, allow_reply=rnd.random() < 0.5))
    for _ in range(team_pairs):
        a, b = rnd.sample(team_ids, 2)
        rules.append(dict(sender_kind="team", sender_ref=a, recipient_kind="team",
                          recipient_ref=b, allow_reply=True))
    session.execute(insert(ContactRule), rules)
    return {"employees": ids, "teams": team_ids, "rules": len(rules),
            "supervisors": [members[t][0] for t in team_ids if t in members],
            "hr_desk": ids[:hr_desk]}
