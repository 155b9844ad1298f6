"""The scheduled retention purge: relays ask now and then, exactly one of them purges per
period (SQLite and PostgreSQL), and ``relais purge`` from cron counts as that purge."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from hr_console.relay.mqtt import PURGE_EVERY_H, Relay, purge_period
from hr_console.services import retention
from hr_console.store.db import Store
from hr_console.store.models import AuditEntry, Message, utcnow
from tests.web import console_data as cd
from tests.web_fixture import Console, make_console

DAY = dt.timedelta(days=1)


@pytest.fixture
def home(tmp_path: Path, db_url: str):  # noqa: ANN201
    console = make_console(tmp_path, db_url)
    yield console
    console.app.extensions["relais_store"].dispose()


def _old_messages(console: Console, n: int = 3, age_days: int = 400) -> list[int]:
    ids = [cd.send(console, "Sophie Martin", "Karim Benali", f"vieux {i}").id for i in range(n)]
    with console.session() as s:
        s.execute(update(Message).where(Message.id.in_(ids))
                  .values(created_at=utcnow() - dt.timedelta(days=age_days)))
    return ids


def _purges(console: Console) -> int:
    with console.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == retention.PURGE_ACTION)) or 0


def _left(console: Console, ids: list[int]) -> int:
    with console.session() as s:
        return s.scalar(select(func.count()).select_from(Message).where(Message.id.in_(ids))) or 0


def test_one_claim_per_period(home: Console) -> None:
    now = utcnow()
    claims = []
    for at in (now, now + dt.timedelta(hours=1), now + dt.timedelta(hours=23),
               now + dt.timedelta(hours=24, minutes=1), now + dt.timedelta(hours=25)):
        with home.session() as s:
            claims.append(retention.claim_purge(s, at, DAY))
    assert claims == [True, False, False, True, False]


def test_a_purge_from_cron_counts_as_the_periods_purge(home: Console) -> None:
    ids = _old_messages(home)
    retention.purge(home.session, actor="cli")  # `relais purge` at 03:15
    assert _left(home, ids) == 0 and _purges(home) == 1
    assert retention.purge_if_due(home.session, every=DAY) is None
    assert _purges(home) == 1
    later = utcnow() + DAY + dt.timedelta(minutes=1)
    assert retention.purge_if_due(home.session, every=DAY, now=later) is not None
    assert _purges(home) == 2


def test_relays_asking_at_once_purge_once(home: Console) -> None:
    ids = _old_messages(home)
    stores = [Store(home.cfg.database_url) for _ in range(4)]  # four relays, four pools
    results: list[object] = []
    start = threading.Barrier(len(stores))
    now = utcnow()

    def relay(store: Store) -> None:
        start.wait()
        results.append(retention.purge_if_due(store.session, actor="relay", every=DAY, now=now))

    threads = [threading.Thread(target=relay, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for s in stores:
        s.dispose()
    done = [r for r in results if r is not None]
    assert len(results) == 4 and len(done) == 1
    assert done[0].messages == len(ids) and _left(home, ids) == 0 and _purges(home) == 1


def test_relays_purge_on_their_timer_one_at_a_time(home: Console) -> None:
    """Two relays' housekeeping threads (no broker needed): the first check purges, the
    next checks of both find the period's purge done."""
    ids = _old_messages(home)
    stores = [Store(home.cfg.database_url) for _ in range(2)]
    relays = [Relay(home.cfg, store, instance=i + 1, purge_every=DAY, purge_check_s=0.05,
                    purge_first_check_s=0.0) for i, store in enumerate(stores)]
    threads = [threading.Thread(target=r._housekeep, daemon=True) for r in relays]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while _left(home, ids) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # several more checks by each relay
    finally:
        for r in relays:
            r._stop.set()
        for t in threads:
            t.join(10)
        for s in stores:
            s.dispose()
    assert _left(home, ids) == 0
    assert sum(r.purges for r in relays) == 1 and _purges(home) == 1
    with home.session() as s:
        actor = s.scalar(select(AuditEntry.actor).where(AuditEntry.action == retention.PURGE_ACTION))
    assert actor in ("relay:_relay-1", "relay:_relay-2")


def test_retention_setting_decides_what_goes(home: Console) -> None:
    from hr_console.services import settings

    keep = _old_messages(home, 1, age_days=20)
    drop = _old_messages(home, 1, age_days=40)
    with home.session() as s:
        settings.put(s, "retention_days", 30)
    relay = Relay(home.cfg, Store(home.cfg.database_url), purge_every=DAY)
    try:
        counts = relay.purge_if_due()
    finally:
        relay.store.dispose()
    assert counts is not None and counts.messages == 1
    assert _left(home, keep) == 1 and _left(home, drop) == 0


def test_purge_period_from_relais_toml(tmp_path: Path) -> None:
    from hr_console import config as config_mod

    cfg = config_mod.load(tmp_path / "home")
    assert purge_period(cfg) == dt.timedelta(hours=PURGE_EVERY_H)
    assert purge_period(dataclasses.replace(cfg, extra={"purge_every_hours": 6})) == dt.timedelta(hours=6)
    assert purge_period(dataclasses.replace(cfg, extra={"purge_every_hours": 0})) is None
    assert purge_period(dataclasses.replace(cfg, extra={"purge_every_hours": "often"})) == \
        dt.timedelta(hours=PURGE_EVERY_H)
    relay = Relay(dataclasses.replace(cfg, extra={"purge_every_hours": 0}), Store("sqlite://"))
    assert relay.purge_every is None and relay.purge_if_due() is None
