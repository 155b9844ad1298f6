"""Kill -9 the relay, the broker and a terminal at random moments while numbered messages
flow between three terminals; restart each. Every message must be delivered once, in
order, and every sender must see it delivered (docs/architecture.md, "Non-negotiables").

Set RELAIS_CHAOS_SEED to replay a run's random moments (the seed is printed).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.chaos import report
from tests.chaos.cluster import Cluster

# Each message costs its terminal about four uplinks (the message, receipts for the message
# it gets and for two states): 0.35 s between messages keeps three terminals typing 1,000
# messages within the relay's per-terminal rate (hr_console/relay/meter.py).
LONG_INTERVAL_S = 0.35


def _rng() -> random.Random:
    seed = int(os.environ.get("RELAIS_CHAOS_SEED") or time.time_ns() % 2**31)
    print(f"RELAIS_CHAOS_SEED={seed}")
    return random.Random(seed)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}", interval=0.35)
    try:
        yield c
    finally:
        c.close()


def _outage(rng: random.Random, kill: Callable[[], None], restart: Callable[[], None]) -> None:
    time.sleep(rng.uniform(0.5, 2.0))  # a random moment of the flow
    kill()
    time.sleep(rng.uniform(0.5, 1.5))
    restart()


def run(cluster: Cluster, *, total: int, rounds: int, relays: int, settle_s: float,
        scenario: str, variant: str) -> dict:
    """Start everything, kill and restart ``rounds`` times, wait, count, report, check."""
    rng = _rng()
    began = time.monotonic()
    for instance in range(1, relays + 1):
        cluster.start_relay(instance)
    cluster.start_terminals(total)
    if relays > 1:  # one relay dies for good: the shared subscription carries on without it
        time.sleep(rng.uniform(0.5, 2.0))
        cluster.kill_relay(relays)
    for _ in range(rounds):
        if relays == 1:
            _outage(rng, cluster.kill_relay, cluster.start_relay)
        _outage(rng, cluster.kill_broker, cluster.start_broker)
        victim = rng.choice(cluster.members)
        _outage(rng, lambda v=victim: cluster.kill_terminal(v),
                lambda v=victim: cluster.start_terminal(v))
    cluster.wait_until("settled", cluster.settled, settle_s)
    cluster.stop_terminals()
    out = cluster.outcome()
    seconds = time.monotonic() - began
    report.record(scenario, variant, out, relays=f"{relays}" + (" (1 killed for good)" if relays > 1 else ""),
                  seconds=seconds)
    print(out)
    assert out["sent"] == out["expected"] == total
    assert out["lost"] == 0
    assert out["duplicated"] == 0
    assert out["delivered"] == total
    assert out["out_of_order"] == 0
    assert out["sender_state_missing"] == 0
    assert out["wrong_id"] == 0 and out["strays"] == 0
    return out


def test_chaos_short(cluster: Cluster) -> None:
    run(cluster, total=100, rounds=1, relays=1, settle_s=60, scenario="chaos", variant="short")


def test_chaos_two_relays_short(cluster: Cluster) -> None:
    run(cluster, total=100, rounds=1, relays=2, settle_s=60, scenario="chaos-two-relays",
        variant="short")


@pytest.mark.long
def test_chaos_long(cluster: Cluster) -> None:
    cluster.interval = LONG_INTERVAL_S
    run(cluster, total=1000, rounds=3, relays=1, settle_s=240, scenario="chaos", variant="long")


@pytest.mark.long
def test_chaos_two_relays_long(cluster: Cluster) -> None:
    cluster.interval = LONG_INTERVAL_S
    run(cluster, total=1000, rounds=3, relays=2, settle_s=240, scenario="chaos-two-relays",
        variant="long")
