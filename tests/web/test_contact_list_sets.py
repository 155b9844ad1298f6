"""``people.contact_list`` as one set query gives exactly what the old scan of every
employee against every rule gave (tests/bench/contact_scale.py keeps it), the console's
"who may write to them" exactly the people ``may_write`` lets write to that person, and the indexed
``people.check`` the same verdicts as ``may_write`` over every rule, on SQLite and
PostgreSQL: on the demo home plus a random organisation (teams with and without a
supervisor, one supervising two teams and their own, the HR desk, people without a team,
inactive people, duplicate names) under several random rule sets of every kind, some of
them on shift only, with the clock (``services.shifts.now``) set where some teams are on
shift, some off and some have no shift at all."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from hr_console.domain import policy
from hr_console.domain.shifts import ShiftTimes, Status, status
from hr_console.services import contacts, people, shifts
from hr_console.store.db import Store, open_batch_cache
from hr_console.store.models import ContactRule, Employee, Shift, Site, Team
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
    # At the test's clock (Monday 7 December 2026, 04:00 in Paris): teams 0, 2 and 4 are off
    # shift (one starts at 06:00, one at 14:00, one works weekends), team 1 on its night
    # shift, 3 within the grace period before 04:10, 5 and 6 have no shift.
    for team, start, end, days in ((0, 6, 14, "mon,tue,wed,thu,fri"), (1, 22, 6, "sun,mon"),
                                   (2, 14, 22, "mon,tue"), (3, 4, 12, "mon"),
                                   (4, 8, 16, "sat,sun")):
        minute = 10 if team == 3 else 0
        s.add(Shift(name=f"sets {team}", team_id=teams[team].id, days=days,
                    start_time=dt.time(start, minute), end_time=dt.time(end)))


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
                          recipient_ref=ref(rk), allow_reply=rnd.random() < 0.5,
                          on_shift_only=rnd.random() < 0.4))
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
    for k, (sk, sr, rk, rr) in enumerate(rules):
        s.add(ContactRule(sender_kind=sk, sender_ref=sr, recipient_kind=rk, recipient_ref=rr,
                          allow_reply=True, on_shift_only=bool(round_ == 2 and k % 2)))
    s.flush()


CLOCK = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)  # Monday, 04:00 in Paris


def _shift_states(s, ids: list[int]) -> dict[int, Status]:  # noqa: ANN001
    """Each person's shift state at CLOCK, from the rows and the domain rule alone."""
    by_team: dict[int, list[ShiftTimes]] = {}
    for row in s.execute(select(Shift)).scalars():
        by_team.setdefault(row.team_id, []).append(
            ShiftTimes.of(row.days, row.start_time, row.end_time))
    team_of = dict(s.execute(select(Employee.id, Employee.team_id)).tuples().all())
    grace = dt.timedelta(minutes=15)
    return {i: status(by_team.get(team_of.get(i), []), ZoneInfo("Europe/Paris"), CLOCK, grace)
            for i in ids}


def _bare(entries: list[dict]) -> list[dict]:
    """A contact list without the off-shift marks (the console shows the on-shift reach)."""
    return [{k: v for k, v in e.items() if k in ("id", "name", "team", "hr")} for e in entries]


def test_set_query_equals_the_scan(tmp_path: Path, db_url: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shifts, "now", lambda: CLOCK)
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
                states = _shift_states(s, ids)
                off = {i for i, st in states.items() if st.off_shift}
                assert off and any(st.on_shift for st in states.values())
                assert any(not st.scheduled for st in states.values())
                for employee_id in [*ids, 10**6]:
                    new = people.contact_list(s, employee_id)
                    state = states.get(employee_id)
                    later = shifts.opening(state) if state is not None else {}
                    assert new == old_contact_list(s, employee_id, on_shift=employee_id not in off,
                                                   later=later), (round_, employee_id)
                    if employee_id in off and any(e.get("off_shift") for e in new):
                        assert later and later["from"] in ("06:00", "14:00", "08:00")
                rules = all_rules(s)
                everyone = people.persons(s, *ids)
                names = dict(s.execute(select(Employee.id, Employee.name)).tuples().all())
                for employee_id in ids:  # the console's "who may write to them"
                    me = everyone[employee_id]
                    scan = sorted((names[p], p) for p in ids
                                  if policy.may_write(everyone[p], me, rules).allowed)
                    shown, total = contacts._writers(s, me)
                    assert total == len(scan), (round_, employee_id)
                    assert [w[0] for w in shown] == [p for _n, p in scan][:contacts.WRITERS_SHOWN]
                    page = contacts.policy(s, employee_id)  # what the console's page shows
                    kiosk = people.contact_list(s, employee_id)
                    assert page.can_write_to == _bare(kiosk)[:contacts.CONTACTS_SHOWN]
                    assert page.can_write_to_total == len(kiosk)
                    assert (page.writers, page.writers_total) == (shown, total)
            with store.session() as s:
                open_batch_cache(s)  # as the relay: the rule index built once
                rules = all_rules(s)
                everyone = people.persons(s, *ids)
                for a in ids:
                    for b in rnd.sample(ids, 15) + [a]:
                        want = policy.may_write(everyone[a], everyone[b], rules,
                                                on_shift=a not in off)
                        got = people.check(s, a, b)
                        assert got == (None if want.allowed else want.reason), (round_, a, b)
                assert people.check(s, ids[0], 10**6) == "unknown_recipient"
    finally:
        store.dispose()
