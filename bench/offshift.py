"""What on-shift-only contact rules cost a badge-in (issue 16).

``gendata``'s organisation of ``employees`` people (each team talks within itself, to its
supervisor and to the HR desk, plus person rules and team pairs; every team has a shift),
where half of the teams' own rule (team <-> itself) is made on-shift-only, and the relay's
clock (``services.shifts.now``: the login desk runs in this process) set to a Sunday at
03:00 in Paris, when no generated shift runs: the members of those teams are off shift, so
their sync reads their shifts and marks their team mates greyed. Their badge-in -> sync
server time through the login desk (no PIN) is taken turn by turn with the same badge-in of
people of teams whose rules have no flag (same organisation, same load): the ratio is what
the flag costs.

    python -m bench.offshift [--employees 10000] [--db POSTGRESQL_URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update

from broker_config.ports import free_port
from hr_console import config as config_mod
from hr_console.store.db import Store

SUNDAY_0300 = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)  # 03:00 in Paris, no shift runs


def badge_in_figures(db_url: str | None, *, employees: int = 10_000, logins: int = 30
                     ) -> dict[str, Any]:
    """See the module's docstring. ``db_url`` None: SQLite in a temporary home."""
    from bench.shift_change import _ms, _populate, badge_ins_through
    from hr_console.cli.home import initialise
    from hr_console.relay.logins import LoginDesk
    from hr_console.services import shifts
    from hr_console.store.models import ContactRule, Employee

    tmp = Path(tempfile.mkdtemp(prefix="relais-offshift-"))
    clock = shifts.now
    try:
        cfg = initialise(config_mod.load(tmp / "home", db_url=db_url, mqtt_port=free_port(),
                                         console_port=free_port()))
        store = Store(cfg.database_url)
        org = _populate(store, cfg.badge_pepper, employees)
        with store.session() as s:
            selfish = list(s.execute(select(ContactRule.sender_ref).where(
                ContactRule.sender_kind == "team", ContactRule.recipient_kind == "team",
                ContactRule.recipient_ref == ContactRule.sender_ref)).scalars())
            flagged = set(selfish[::2])
            s.execute(update(ContactRule).where(
                ContactRule.sender_kind == "team", ContactRule.recipient_kind == "team",
                ContactRule.recipient_ref == ContactRule.sender_ref,
                ContactRule.sender_ref.in_(sorted(flagged))).values(on_shift_only=True))
            team_of = dict(s.execute(select(Employee.id, Employee.team_id)).tuples().all())
            if not (db_url or "").startswith("postgresql"):
                s.execute(text("ANALYZE"))
        with store.session() as s:
            terminals = list(s.execute(text("SELECT name FROM terminals ORDER BY id")).scalars())
        plain = [p for p in org["people"] if not p[2]]
        on_flag = [p for p in plain if team_of.get(p[1]) in flagged][::7][:logins]
        no_flag = [p for p in plain if team_of.get(p[1]) in set(selfish) - flagged][::7][:logins]
        shifts.now = lambda: SUNDAY_0300
        published: list[Any] = []
        desk = LoginDesk(cfg, store, publish=published.extend, ack=lambda _i: None,
                         db_lock=threading.Lock())
        try:
            badge_ins_through(desk, terminals, on_flag[:3] + no_flag[:3])  # warm pools, caches
            flag_t: list[Any] = []
            plain_t: list[Any] = []
            t0 = time.monotonic()
            for k, person in enumerate(on_flag):
                pair = badge_ins_through(desk, terminals, [person, *no_flag[k:k + 1]])
                flag_t += [t for t in pair[:1] if t.outcome == "ok"]
                plain_t += [t for t in pair[1:] if t.outcome == "ok"]
            took = time.monotonic() - t0
        finally:
            desk.stop()
            store.dispose()
        flagged_ids = {p[1] for p in on_flag}
        syncs = [p.payload for p in published if p.payload["type"] == "sync"]
        greyed = [sum(1 for c in p["contacts"] if c.get("off_shift")) for p in syncs
                  if p["me"]["id"] in flagged_ids]
        off = [bool(p["me"].get("off_shift")) for p in syncs if p["me"]["id"] in flagged_ids]
        flag_ms, plain_ms = _ms([t.server for t in flag_t]), _ms([t.server for t in plain_t])
        ratio = (round(flag_ms["p50"] / plain_ms["p50"], 2)
                 if flag_ms["p50"] and plain_ms["p50"] else None)
        return {
            "database": "postgresql" if db_url else "sqlite", "employees": employees,
            "rules": org["rules"], "teams_on_shift_only": len(flagged),
            # Off shift, their team rule on shift only: the sync reads their shifts and greys.
            "on_shift_only_badge_in_ms": flag_ms,
            # The same badge-in for people whose rules have no flag, turn by turn with them.
            "no_flag_badge_in_ms": plain_ms,
            "ratio_p50": ratio,
            "off_shift_in_sync": all(off) and bool(off),
            "greyed_per_sync": [min(greyed, default=0), max(greyed, default=0)],
            "seconds": round(took, 1),
        }
    finally:
        shifts.now = clock
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=None, help="a PostgreSQL URL of an empty database")
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--logins", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(badge_in_figures(args.db, employees=args.employees, logins=args.logins)))


if __name__ == "__main__":
    main()
