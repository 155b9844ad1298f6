"""Partition leases (services.leases, relay.partitions) on SQLite and PostgreSQL: one owner
per partition, fair shares that follow relays joining and leaving, expired leases taken
over, and the terminal topics a relay listens to following enrolment and renaming.

The keepers here are the relay's own class on a real database; their subscribe and
unsubscribe calls are recorded instead of sent to a broker (tests/chaos runs them against
a real one, with relays killed)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from hr_console.domain.partitions import PARTITIONS, fair_share, partition_of
from hr_console.relay.partitions import PartitionKeeper, topics_of
from hr_console.services import directory, leases
from hr_console.store.db import Store
from hr_console.store.models import RelayLease, Terminal, utcnow
from relais_wire import topics
from tests.system_fixture import prepared_home

TTL = dt.timedelta(seconds=5)


@pytest.fixture
def store(tmp_path: Path, db_url: str):  # noqa: ANN201
    prepared_home(tmp_path, db_url)
    s = Store(db_url)
    yield s
    s.dispose()


class Listener:
    """What a relay would have subscribed to."""

    def __init__(self) -> None:
        self.topics: set[str] = set()

    def sub(self, names: list[str]) -> None:
        assert not self.topics & set(names), "subscribed twice"
        self.topics |= set(names)

    def unsub(self, names: list[str]) -> None:
        assert set(names) <= self.topics, "unsubscribed from what it never had"
        self.topics -= set(names)


def _keeper(store: Store, name: str) -> tuple[PartitionKeeper, Listener]:
    listener = Listener()
    return PartitionKeeper(store, name, subscribe=listener.sub, unsubscribe=listener.unsub,
                           refresh_s=0.0), listener


def _owners(store: Store) -> Counter[str | None]:
    with store.session() as s:
        return Counter(leases.owners(s).values())


def test_partition_of_is_stable_and_spread() -> None:
    assert partition_of("kiosk-1") == partition_of("kiosk-1")
    spread = Counter(partition_of(f"t-{i}") for i in range(6400))
    assert len(spread) == PARTITIONS and max(spread.values()) < 3 * 6400 / PARTITIONS
    assert [fair_share(64, n) for n in (1, 2, 3, 5)] == [64, 32, 22, 13]


def test_a_terminal_row_knows_its_partition(store: Store) -> None:
    with store.session() as s:
        for name, part in s.execute(select(Terminal.name, Terminal.partition)):
            assert part == partition_of(name)


def test_relays_joining_and_leaving_share_every_partition_once(store: Store) -> None:
    a, la = _keeper(store, "_relay/a")
    a.round()
    assert len(a.owned) == PARTITIONS and _owners(store) == {"_relay/a": PARTITIONS}
    with store.session() as s:
        names = list(leases.terminals_in(s, range(PARTITIONS)))
    assert names and la.topics == set(topics_of(names))  # every terminal: up and status

    b, lb = _keeper(store, "_relay/b")
    c, lc = _keeper(store, "_relay/c")
    for _ in range(3):  # a round each, a few times: shares settle
        for k in (b, c, a):
            k.round()
    held = [len(k.owned) for k in (a, b, c)]
    assert sum(held) == PARTITIONS and max(held) == fair_share(PARTITIONS, 3) and min(held) >= 20
    assert not (a.owned & b.owned or b.owned & c.owned or a.owned & c.owned)
    # Each terminal's topics are heard by exactly one relay.
    assert not (la.topics & lb.topics or lb.topics & lc.topics or la.topics & lc.topics)
    assert la.topics | lb.topics | lc.topics == set(topics_of(names))

    c.leave()  # stops cleanly: its partitions are free at once
    assert not lc.topics and c.owned == frozenset()
    for _ in range(2):
        for k in (a, b):
            k.round()
    assert len(a.owned) + len(b.owned) == PARTITIONS and not a.owned & b.owned


def test_a_silent_relays_leases_expire_and_are_taken_over(store: Store) -> None:
    now = utcnow()
    with store.session() as s:
        leases.ensure_rows(s)
        first = leases.keep(s, "_relay/dead", [], ttl=TTL, now=now)
    assert len(first.held) == PARTITIONS
    with store.session() as s:  # before expiry: nothing is free
        early = leases.keep(s, "_relay/b", [], ttl=TTL, now=now + dt.timedelta(seconds=4))
    assert early.held == frozenset()
    with store.session() as s:  # after: all of it, the epoch moved on
        late = leases.keep(s, "_relay/b", [], ttl=TTL, now=now + dt.timedelta(seconds=12))
        epochs = set(s.execute(select(RelayLease.epoch)).scalars())
    assert late.held == frozenset(range(PARTITIONS)) and epochs == {2}
    with store.session() as s:  # the frozen relay wakes up: it learns it lost everything
        back = leases.keep(s, "_relay/dead", first.held, ttl=TTL,
                           now=now + dt.timedelta(seconds=13))
    assert back.held == frozenset() and back.lost == first.held


def test_the_terminals_listened_to_follow_enrolment_rename_and_revocation(store: Store) -> None:
    k, listener = _keeper(store, "_relay/a")
    k.round()
    with store.session() as s:
        creds = directory.terminal(s, "quai-nord", None, actor="test")
    k.round()
    assert topics.uplink("quai-nord") in listener.topics
    with store.session() as s:
        row = s.execute(select(Terminal).where(Terminal.name == "quai-nord")).scalar_one()
        directory.rename_terminal(s, row, "quai-sud", actor="test")
        assert row.partition == partition_of("quai-sud")
    k.round()
    assert topics.uplink("quai-sud") in listener.topics
    assert topics.uplink("quai-nord") not in listener.topics
    assert creds is not None
