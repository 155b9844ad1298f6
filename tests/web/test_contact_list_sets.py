"""``people.contact_list`` as one set query gives exactly what the old scan of every
employee against every rule gave (tests/bench/contact_scale.py keeps it), and the indexed
``people.check`` the same verdicts as ``may_write`` over every rule, on SQLite and
PostgreSQL: on the demo home plus a random organisation (teams with and without a
supervisor, one supervising two teams and their own, the HR desk, people without a team,
inactive people, duplicate names) under several random rule sets of every kind."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import delete, select

from hr_console.domain import policy
from hr_console.services import people
from hr_console.store.db import Store, open_batch_cache
from hr_console.store.models import ContactRule, Employee, Site, Team
from tests.bench.contact_scale import all_rules, old_contact_list
from tests.system_fixture import prepared_home


def _organisation(s, rnd: random.Random) -> None:  # noqa: ANN001
    site = s.execute(select(Site)).scalars().first()
    teams = [Team(name=f"sets {k}", site_id=site.id) for k in range(7)]
    s.add_all(teams)
    s.flush()
    names = ["Alex Roux", "Alex Roux", "Nora Diallo", "Marc Petit", "Zoé Girard"]
    staff = []
    for k in range(45):
        e = Employee(name=f"{rnd.choice(names)}" if k % 3 else f"Sets {k:02d}",
                     team_id=rnd.choice(teams).id if k % 9 else None,
                     is_hr_desk=rnd.random() < 0.12, active=rnd.random() >= 0.15)
        staff.append(e)
    s.add_all(staff)
    s.flush()
    boss = staff[1]
    boss.team_id = teams[0].id
    teams[0].supervisor_id = boss.id  # supervises their own team...
    teams[1].supervisor_id = boss.id  # ...and another
    for t in teams[2:6]:
        t.supervisor_id = rnd.choice(staff).id  # sometimes an inactive one
    # teams[6]: no supervisor


def _random_rules(s, rnd: random.Random, n: int) -> None:  # noqa: ANN001
    s.execute(delete(ContactRule))
    person_ids = list(s.execute(select(Employee.id)).scalars()) + [10**6]
    team_ids = list(s.execute(select(Team.id)).scalars()) + [10**6]
    for _ in range(n):
        sk = rnd.choice(policy.SENDER_KINDS)
        rk = rnd.choice(policy.RECIPIENT_KINDS)

        def ref(kind: str) -> int | None:
            return (rnd.choice(person_ids) if kind == "person"
                    else rnd.choice(team_ids) if kind == "team" else None)
        s.add(ContactRule(sender_kind=sk, sender_ref=ref(sk), recipient_kind=rk,
                          recipient_ref=ref(rk), allow_reply=rnd.random() < 0.5))
    s.flush()


def _crafted_rules(s, round_: int) -> None:  # noqa: ANN001
    """Rounds the random ones may miss: replies towards a supervisor of several teams."""
    s.execute(delete(ContactRule))
    boss_teams = list(s.execute(select(Team.id).where(Team.name.in_(("sets 0", "sets 1")))
                                .order_by(Team.id)).scalars())
    boss = s.execute(select(Team.supervisor_id).where(Team.id == boss_teams[0])).scalar_one()
    members = list(s.execute(select(Employee.id).where(
        Employee.team_id == boss_teams[0], Employee.active.is_(True), Employee.id != boss)
        .order_by(Employee.id)).scalars())
    other = s.execute(select(Team.id).where(Team.name == "sets 3")).scalar_one()
    rules = [("person", members[-1], "supervisor", None), ("person", members[0], "supervisor",
                                                           None),
             ("team", boss_teams[1], "supervisor", None), ("team", other, "supervisor", None),
             ("team", other, "hr_desk", None)]
    if round_ % 2:
        rules.append(("everyone", None, "supervisor", None))
    for sk, sr, rk, rr in rules:
        s.add(ContactRule(sender_kind=sk, sender_ref=sr, recipient_kind=rk, recipient_ref=rr,
                          allow_reply=True))
    s.flush()


def test_set_query_equals_the_scan(tmp_path: Path, db_url: str) -> None:
    cfg, _demo = prepared_home(tmp_path, db_url)
    store = Store(cfg.database_url)
    rnd = random.Random(1414)
    try:
        with store.session() as s:
            _organisation(s, rnd)
        for round_ in range(9):
            with store.session() as s:
                if round_ in (1, 2):
                    _crafted_rules(s, round_)
                elif round_:  # round 0: the demo's own rules
                    _random_rules(s, rnd, rnd.choice([3, 8, 20, 40]))
            with store.session() as s:
                ids = list(s.execute(select(Employee.id).order_by(Employee.id)).scalars())
                for employee_id in [*ids, 10**6]:
                    new = people.contact_list(s, employee_id)
                    assert new == old_contact_list(s, employee_id), (round_, employee_id)
            with store.session() as s:
                open_batch_cache(s)  # as the relay: the rule index built once
                rules = all_rules(s)
                everyone = people.persons(s, *ids)
                for a in ids:
                    for b in rnd.sample(ids, 15) + [a]:
                        want = policy.may_write(everyone[a], everyone[b], rules)
                        got = people.check(s, a, b)
                        assert got == (None if want.allowed else want.reason), (round_, a, b)
                assert people.check(s, ids[0], 10**6) == "unknown_recipient"
    finally:
        store.dispose()
