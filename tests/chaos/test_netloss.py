"""A terminal loses its network (tests/kiosk/netcut.py cuts its TCP path to the broker)
while its user keeps typing: everything typed arrives once the network is back, even when
the terminal's process is killed while offline and started again on the same outbox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos import report
from tests.chaos.cluster import Cluster, Member
from tests.kiosk.netcut import NetCut


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}", interval=0.4)
    try:
        yield c
    finally:
        c.close()


def _typed_offline(m: Member) -> int:
    return sum(1 for e in m.events() if e["ev"] == "typed" and e.get("online") is False)


def _link_up_since(m: Member, since: float) -> bool:
    return any(e["ev"] == "link" and e["up"] and e["t"] > since for e in m.events())


def run(cluster: Cluster, *, outage_s: float, cut_count: int, others: int, variant: str) -> None:
    began = time.monotonic()
    cut = NetCut(cluster.system.cfg.mqtt_port)
    try:
        k1 = cluster.member("kiosk-1")
        k1.port = cut.port  # only this terminal's path to the broker goes through the cut
        cluster.start_relay()
        for m in cluster.members:
            m.count = cut_count if m is k1 else others
            cluster.start_terminal(m)
        cluster.wait_until("kiosk-1 typing", lambda: cluster.typed(k1) >= 2, 30)

        # 1. The Wi-Fi drops for a while; the person keeps typing.
        cut.cut()
        cluster.wait_until("typing offline", lambda: _typed_offline(k1) >= 2, 30)
        time.sleep(outage_s)
        back = time.time()
        cut.restore()
        cluster.wait_until("kiosk-1 back", lambda: _link_up_since(k1, back), 60)
        offline_1 = _typed_offline(k1)

        # 2. It drops again, and the kiosk is killed with what was typed still unsent.
        cut.cut()
        cluster.wait_until("typing offline again", lambda: _typed_offline(k1) >= offline_1 + 2, 30)
        offline_2 = _typed_offline(k1) - offline_1
        cluster.kill_terminal(k1)
        cluster.start_terminal(k1)  # same outbox; offline, so nobody can badge in yet
        time.sleep(outage_s)
        cut.restore()
        cluster.wait_until("settled", cluster.settled, 120)
        cluster.stop_terminals()
    finally:
        cut.close()
    out = cluster.outcome()
    out["typed_offline_then_killed"] = offline_2
    report.record("netloss", variant, out, relays="1", seconds=time.monotonic() - began)
    print(out)
    total = cut_count + others * (len(cluster.members) - 1)
    assert offline_1 >= 2 and offline_2 >= 2
    assert out["sent"] == out["expected"] == total
    assert out["lost"] == 0
    assert out["duplicated"] == 0
    assert out["delivered"] == total
    assert out["out_of_order"] == 0
    assert out["sender_state_missing"] == 0


def test_network_loss_short(cluster: Cluster) -> None:
    run(cluster, outage_s=3, cut_count=50, others=8, variant="short (3 s cuts)")


@pytest.mark.long
def test_network_loss_30s(cluster: Cluster) -> None:
    cluster.interval = 0.5
    run(cluster, outage_s=30, cut_count=150, others=40, variant="long (30 s cuts)")
