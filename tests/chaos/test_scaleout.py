"""Scale-out (docs/deploy.md): two relays on PostgreSQL share the uplinks through the shared
subscription; every message is handled by one of them and delivered exactly once.

Runs only when RELAIS_TEST_PG_URL is set (a server URL; each test gets its own database).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hr_console.relay.mqtt import Relay
from hr_console.store.db import Store
from tests.chaos import report
from tests.chaos.cluster import Cluster
from tests.system_fixture import PG_ENV, PgDatabase, _pg_admin

pytestmark = pytest.mark.pg


@pytest.fixture
def pg_url() -> Iterator[str]:
    admin = os.environ.get(PG_ENV)
    if not admin:
        pytest.skip(f"{PG_ENV} is not set")
    db = PgDatabase(admin, f"relais_test_{uuid.uuid4().hex[:12]}")
    _pg_admin(admin, f'CREATE DATABASE "{db.name}"')
    try:
        yield db.url
    finally:
        _pg_admin(admin, f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')


def test_two_relays_share_the_work_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    began = time.monotonic()
    cluster = Cluster(tmp_path, pg_url, interval=0.1)
    # In this process, each with its own engine as if on its own machine, so that their
    # counters show who handled what.
    relays = [Relay(cluster.system.cfg, Store(pg_url), instance=i) for i in (1, 2)]
    try:
        for relay in relays:
            relay.start()
        total = 150
        cluster.start_terminals(total)
        cluster.wait_until("settled", cluster.settled, 90)
        cluster.stop_terminals()
        out = cluster.outcome()
        handled = [relay.counters.handled for relay in relays]
    finally:
        for relay in relays:
            relay.stop()
            relay.store.dispose()
        cluster.close()
    out["handled_per_relay"] = handled
    report.record("scale-out-pg", "short", out, relays="2 on PostgreSQL (handled "
                  + " / ".join(map(str, handled)) + ")", seconds=time.monotonic() - began)
    print(out)
    assert all(h >= total // 10 for h in handled), handled  # both took a real share
    assert out["sent"] == out["delivered"] == total
    assert out["lost"] == 0
    assert out["duplicated"] == 0
    assert out["out_of_order"] == 0
    assert out["sender_state_missing"] == 0
