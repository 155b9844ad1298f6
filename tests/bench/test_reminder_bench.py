"""The relay's reminder round at scale (issue 16): what ``services.reminders.due`` costs on
gen-data's organisation with a year of notices behind it, every terminal occupied, and
how that cost follows what is due rather than the company's size. At 300 employees in
``make test``; at 50,000 marked ``long``. Asserts that the query gives exactly what
``domain.reminders`` says is due (every receipt checked in Python) and, on SQLite, that its
plan reads no table whole; prints the figures.

    .venv/bin/python -m pytest -m long -s tests/bench/test_reminder_bench.py
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Integer, func, insert, literal, select, text

from hr_console.domain import reminders as rules
from hr_console.services import gendata, notices, reminders
from hr_console.store.db import Store
from hr_console.store.models import BadgeSession, Employee, Notice, NoticeReceipt, Terminal, utcnow
from tests.system_fixture import prepared_home

SIZES = [
    pytest.param(300, 10, id="small"),
    pytest.param(50_000, 21, marks=pytest.mark.long, id="50k"),
]
MIN = dt.timedelta(minutes=1)


def _notice(s, now: dt.datetime, *, kind: str, ref: int | None, every: int | None,  # noqa: ANN001
            ended: bool, rng: random.Random) -> int:
    n = Notice(uid=str(uuid.uuid4()), title="n", body="", target_kind=kind, target_ref=ref,
               urgent=False, ack_required=True, remind_every_min=every,
               valid_from=now - dt.timedelta(days=rng.randrange(2, 365)),
               valid_until=now - dt.timedelta(days=1) if ended else None,
               published_at=now - dt.timedelta(days=400))
    s.add(n)
    s.flush()
    # Its receipts, set-based: everyone, or the team's members.
    who = select(Employee.id).where(Employee.active.is_(True))
    if kind == "team":
        who = who.where(Employee.team_id == ref)
    pick = select(literal(n.id, Integer), who.subquery().c.id)
    s.execute(insert(NoticeReceipt).from_select(["notice_id", "employee_id"], pick))
    return n.id


def _history(store: Store, org: gendata.Org, now: dt.datetime) -> dict[str, int]:
    """A year of notices: ended team and company notices (with and without intervals), and
    the current ones: one to everyone every 5 minutes, team notices every 15 and 60 minutes
    and at badge-in only. 90 % of receipts reached their person 20 minutes ago, 40 % are
    acknowledged; one person badged in at each terminal."""
    rng = random.Random(16)
    teams = org.team_ids[1:]
    with store.session() as s:
        for _ in range(300):
            _notice(s, now, kind="team", ref=rng.choice(teams), every=rng.choice([None, 5, 15]),
                    ended=True, rng=rng)
        for every in (5, None, 30):
            _notice(s, now, kind="everyone", ref=None, every=every, ended=True, rng=rng)
        _notice(s, now, kind="everyone", ref=None, every=5, ended=False, rng=rng)
        for every in [15] * 20 + [60] * 10 + [None] * 20:
            _notice(s, now, kind="team", ref=rng.choice(teams), every=every, ended=False, rng=rng)
    with store.session() as s:  # states, set-based (a hash of the id decides)
        s.execute(text("UPDATE notice_receipts SET delivered_at = :at WHERE id % 10 <> 0"),
                  {"at": now - 20 * MIN})
        s.execute(text("UPDATE notice_receipts SET acknowledged_at = :at "
                       "WHERE (id * 7) % 10 < 4 AND delivered_at IS NOT NULL"),
                  {"at": now - 10 * MIN})
    with store.session() as s:
        terminals = list(s.execute(select(Terminal.id)).scalars())
        active = [e for e in org.employee_ids if e not in org.inactive]
        people = rng.sample(active, min(len(terminals), len(active)))
        s.execute(insert(BadgeSession), [
            {"id": str(uuid.uuid4()), "employee_id": e, "terminal_id": t, "started_at": now - MIN,
             "last_active_at": now - MIN, "notify_end": False}
            for e, t in zip(people, terminals, strict=False)])
        # The badge-ins of the last weeks, ended: three per person.
        for day in (1, 8, 15):
            s.execute(insert(BadgeSession), [
                {"id": str(uuid.uuid4()), "employee_id": e, "terminal_id": terminals[k % len(terminals)],
                 "started_at": now - dt.timedelta(days=day), "ended_at": now - dt.timedelta(days=day)
                 + 480 * MIN, "end_reason": "logout", "notify_end": False}
                for k, e in enumerate(active)])
        counts = {"notices": s.scalar(select(func.count()).select_from(Notice)),
                  "receipts": s.scalar(select(func.count()).select_from(NoticeReceipt)),
                  "badged_in": len(people),
                  "sessions": s.scalar(select(func.count()).select_from(BadgeSession))}
        s.execute(text("ANALYZE"))
    return counts


def _median_ms(store: Store, at: dt.datetime, runs: int) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(runs):
        with store.session() as s:
            t0 = time.perf_counter()
            found = len(reminders.due(s, at, limit=1_000_000))
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), found


def _expected(store: Store, at: dt.datetime) -> set[tuple[int, int]]:
    """Every receipt of the home checked by the domain's rule, in Python."""
    with store.session() as s:
        badged = set(s.execute(select(BadgeSession.employee_id)
                               .where(BadgeSession.ended_at.is_(None))).scalars())
        out = set()
        for n, r in s.execute(select(Notice, NoticeReceipt)
                              .join(NoticeReceipt, NoticeReceipt.notice_id == Notice.id)
                              .execution_options(yield_per=20_000)):
            if rules.due(notices.standing(n, r, badged_in=r.employee_id in badged), at):
                out.add((n.id, r.employee_id))
        return out


def _plans(store: Store, at: dt.datetime) -> list[str]:
    """SQLite's plan of every statement ``reminders.due`` runs."""
    from sqlalchemy import event

    captured: list[tuple[str, tuple]] = []

    def grab(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", grab)
    try:
        with store.session() as s:
            reminders.due(s, at)
    finally:
        event.remove(store.engine, "before_cursor_execute", grab)
    assert len(captured) >= 3, captured
    plans = []
    with store.engine.connect() as conn:
        for statement, parameters in captured:
            plans += [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                              parameters).all()]
    return plans


@pytest.mark.parametrize("employees,team_size", SIZES)
def test_reminder_round_costs_what_is_due(tmp_path: Path, db_url: str, employees: int,
                                          team_size: int) -> None:
    cfg, _demo = prepared_home(tmp_path, db_url)
    store = Store(cfg.database_url)
    try:
        now = utcnow()
        with store.session() as s:
            org = gendata.organisation(s, employees=employees, team_size=team_size,
                                       pepper="bench", seed=16)
        t0 = time.perf_counter()
        counts = _history(store, org, now)
        built_s = time.perf_counter() - t0
        due_ms, due_n = _median_ms(store, now, 21)
        quiet_ms, quiet_n = _median_ms(store, now - 16 * MIN, 21)  # 4 min after: none due yet
        expected = _expected(store, now)
        with store.session() as s:
            assert {(d.notice_id, d.employee_id)
                    for d in reminders.due(s, now, limit=10**6)} == expected
        assert due_n > 0 and quiet_n == 0
        plan = _plans(store, now) if store.is_sqlite else []
        if store.is_sqlite:  # no table read whole: every step an index search
            assert not [p for p in plan if p.startswith("SCAN ")
                        and "USING INDEX ix_notices_reminding" not in p], plan
        with store.session() as s:
            t0 = time.perf_counter()
            sent = reminders.send_due(s, now, limit=10**6)
        send_ms = (time.perf_counter() - t0) * 1000
        assert sent == due_n
        with store.session() as s:
            assert reminders.due(s, now, limit=10**6) == []
        kind = "SQLite" if store.is_sqlite else "PostgreSQL"
        print(f"\nreminders {kind} {employees:,} employees, {counts['notices']:,} notices, "
              f"{counts['receipts']:,} receipts, {counts['badged_in']:,} badged in "
              f"({counts['sessions']:,} badge sessions) "
              f"(built in {built_s:.1f} s): due query {due_ms:.1f} ms median finding {due_n:,} "
              f"due; {quiet_ms:.1f} ms when none is due; sending them {send_ms:.0f} ms"
              + (f"; plan: {' | '.join(plan)}" if plan else ""))
    finally:
        store.dispose()
