"""Scale-out (docs/deploy.md): relays on PostgreSQL split the terminals between them through
partition leases; every message is handled by one of them and delivered exactly once, and
when one relay is killed for good the others take its partitions over within 10 s and
nothing is lost or duplicated.

Runs only when RELAIS_TEST_PG_URL is set (a server URL; each test gets its own database).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from pathlib import Path

import pytest

from hr_console.domain.partitions import PARTITIONS
from hr_console.relay.mqtt import Relay
from hr_console.services import leases
from hr_console.store.db import Store
from tests.chaos import report
from tests.chaos.cluster import Cluster

pytestmark = pytest.mark.pg




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
        try:
            # A message dropped while relay 2 took its share waits for its outbox's backoff
            # (at most 60 s), and this runs beside the rest of the suite on two cores.
            cluster.wait_until("settled", cluster.settled, 150)
        except AssertionError as exc:
            counters = [dataclasses.asdict(relay.counters) for relay in relays]
            raise AssertionError(f"{exc}; the relays' counters: {counters}") from None
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


def _owners(store: Store) -> dict[int, str | None]:
    with store.session() as s:
        return leases.owners(s)


def kill_one_of_three(cluster: Cluster, store: Store, total: int = 150) -> dict:
    """Three ``relais relay`` share the partitions fairly, ``total`` messages go through
    them, relay 3 is killed for good mid-run; the outcome once everything settled, with how
    long its partitions took to reach the others and how they were shared before."""
    for instance in (1, 2, 3):
        cluster.start_relay(instance)

    def shared() -> bool:  # every partition owned, each relay near its fair share
        counts = Counter(_owners(store).values())
        return None not in counts and len(counts) == 3 and min(counts.values()) >= 16

    cluster.wait_until("three relays share the partitions fairly", shared, 30)
    shares = sorted(Counter(_owners(store).values()).values())
    cluster.start_terminals(total)
    time.sleep(3)  # messages on their way through all three
    victim = cluster.system.cfg.relay_account(3) + "/"
    cluster.kill_relay(3)
    killed_at = time.monotonic()
    cluster.wait_until("the dead relay's partitions taken over", lambda: all(
        o is not None and not o.startswith(victim) for o in _owners(store).values()), 30)
    handover_s = time.monotonic() - killed_at
    cluster.wait_until("settled", cluster.settled, 120)
    cluster.stop_terminals()
    out = cluster.outcome()
    return {**out, "total": total, "handover_s": round(handover_s, 1),
            "partition_shares": shares}


def check_kill_one_of_three(out: dict) -> None:
    """A fair split, a hand-over within 10 s, every message once and in order."""
    shares = out["partition_shares"]
    assert sum(shares) == PARTITIONS and len(shares) == 3 and min(shares) >= PARTITIONS // 4
    assert out["handover_s"] <= 10
    assert out["sent"] == out["delivered"] == out["total"]
    assert out["lost"] == 0
    assert out["duplicated"] == 0
    assert out["out_of_order"] == 0
    assert out["sender_state_missing"] == 0


def test_three_relays_one_killed_for_good(tmp_path: Path, pg_url: str) -> None:
    began = time.monotonic()
    cluster = Cluster(tmp_path, pg_url, interval=0.1)
    store = Store(pg_url)
    try:
        out = kill_one_of_three(cluster, store)
    finally:
        store.dispose()
        cluster.close()
    report.record("scale-out-pg-kill", "short", out,
                  relays=f"3 on PostgreSQL, 1 killed for good (taken over in "
                         f"{out['handover_s']:.1f} s)",
                  seconds=time.monotonic() - began)
    print(out)
    check_kill_one_of_three(out)
