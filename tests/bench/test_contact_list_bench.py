"""Badge-in's contact list at scale, old (every active employee against every rule) vs
new (one set query), in the same run on SQLite: 10,000 employees / ~750 rules and 50,000
employees / ~5,000 rules (gen-data's organisation, through tests/bench/contact_scale.py),
marked ``long``, and at 300 employees in ``make test``; prints the figures, asserts only
that both give the same lists.

    .venv/bin/python -m pytest -m long -s tests/bench/test_contact_list_bench.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from hr_console.services import people
from hr_console.store.db import Store
from tests.bench.contact_scale import build_org, old_contact_list
from tests.system_fixture import prepared_home

SIZES = [  # employees, team size (rules: 2 per team + 1 + 200 + 50)
    pytest.param(300, 10, id="small"),  # make test: gen-data's organisation, same lists
    pytest.param(10_000, 40, marks=pytest.mark.long),
    pytest.param(50_000, 21, marks=pytest.mark.long),
]


def _median_ms(store: Store, fn, who: list[int], runs: int) -> float:  # noqa: ANN001
    times = []
    for k in range(runs):
        employee_id = who[k % len(who)]
        with store.session() as s:  # a fresh unit of work: rules read again, as the console
            t0 = time.perf_counter()
            fn(s, employee_id)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


@pytest.mark.parametrize("employees,team_size", SIZES)
def test_contact_list_old_vs_new(tmp_path: Path, employees: int, team_size: int) -> None:
    cfg, _demo = prepared_home(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}")
    store = Store(cfg.database_url)
    try:
        with store.session() as s:
            org = build_org(s, employees, team_size)
        with store.session() as s:
            s.execute(text("ANALYZE"))
        # A worker, a supervisor, an HR desk person, and more workers.
        who = [org["employees"][employees // 20], org["supervisors"][3], org["hr_desk"][1],
               *org["employees"][employees // 10::max(1, employees // 7)]]
        with store.session() as s:  # the old scan takes over a minute a call at 50,000
            for employee_id in who if employees <= 20_000 else who[:3]:
                assert people.contact_list(s, employee_id) == old_contact_list(s, employee_id)
        workers = [w for w in who if w not in org["hr_desk"]]  # the HR desk reaches everyone
        new = _median_ms(store, people.contact_list, workers, 21)
        new_hr = _median_ms(store, people.contact_list, [org["hr_desk"][1]], 5)
        old = _median_ms(store, old_contact_list, workers, 3 if employees > 20_000 else 7)
        with store.session() as s:
            sizes = [len(people.contact_list(s, e)) for e in who]
        print(f"\ncontact_list SQLite {employees:,} employees, {org['rules']:,} rules: "
              f"old {old:.1f} ms, new {new:.2f} ms median, {old / new:.0f}x "
              f"(workers and supervisors); an HR desk person's list of everyone {new_hr:.1f} ms; "
              f"list sizes {min(sizes)}-{max(sizes)}")
    finally:
        store.dispose()
