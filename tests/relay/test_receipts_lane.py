"""Receipts committed beside the worker (``relay.lane``, PostgreSQL).

Driven on a relay that is not started, through ``Relay._handle`` (what the worker does with
each batch it takes off its inbox), with a lane whose commits are held at a gate: what the
worker commits meanwhile, and what waits for the lane, is read off a record of commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hr_console import config as config_mod
from hr_console.relay import mqtt
from hr_console.relay.lane import ReceiptLane
from hr_console.relay.mqtt import Inbound, Relay
from hr_console.store.db import Store
from relais_wire import topics
from relais_wire.envelope import encode, envelope

GONE_S = 0.3  # long enough for a thread that could go on to have done so


class Commits:
    """The relay's ``_commit``, recorded: the lane's wait at ``gate`` until it opens."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.done: list[tuple[str, list[int]]] = []
        self._lock = threading.Lock()

    def __call__(self, batch: list[Inbound], *, beside: bool = False) -> None:
        if beside:
            self.gate.wait(10)
        with self._lock:
            self.done.append(("lane" if beside else "worker", [item.mid for item in batch]))


@pytest.fixture
def relay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Relay, Commits]]:
    r = Relay(config_mod.load(tmp_path / "home"), Store("sqlite://"), purge_every=None,
              pin_hashers=0)
    commits = Commits()
    monkeypatch.setattr(r, "_commit", commits)
    # Logins are the desk's business: here a login is routed there and goes no further.
    monkeypatch.setattr(r.logins, "route", lambda _t, item: b'"login"' in item.payload)
    monkeypatch.setattr(r.logins, "dispatch", lambda: None)
    r._lane = ReceiptLane(lambda batch: r._commit(batch, beside=True), mqtt._terminal)
    r._lane.start()
    yield r, commits
    commits.gate.set()
    r._lane.stop()
    r.logins.stop()
    r.voices.stop()


def _up(terminal: str, n: int, kind: str) -> Inbound:
    fields = {"receipt": {"ref": f"r{n}", "status": "received"},
              "text": {"seq": n, "to": 7, "text": f"hello {n}"},
              "login": {"badge": "0042", "last_seq": 0}}[kind]
    return Inbound(n, 1, topics.uplink(terminal),
                   encode(envelope(kind, sid=None if kind == "login" else "s", **fields)))


def _handle_soon(relay: Relay, items: list[Inbound]) -> threading.Thread:
    thread = threading.Thread(target=relay._handle, args=(items,), daemon=True)
    thread.start()
    return thread


def _wait_for(commits: Commits, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(commits.done) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def _then_the_lane_commits(commits: Commits, mids: list[int]) -> None:
    """Opens the gate: the lane's batch is committed next, after what the worker did."""
    commits.gate.set()
    _wait_for(commits, 2)
    assert commits.done[1] == ("lane", mids)


def test_a_text_is_committed_while_receipts_are_being_committed_beside(relay) -> None:
    r, commits = relay
    r._handle([_up("t-a", 1, "receipt"), _up("t-b", 2, "receipt")])
    r._handle([_up("t-c", 3, "text")])  # returns although the lane has not committed yet
    assert commits.done == [("worker", [3])]
    commits.gate.set()
    _wait_for(commits, 2)
    assert commits.done == [("worker", [3]), ("lane", [1, 2])]


def test_a_terminals_text_waits_for_its_own_receipts_beside(relay) -> None:
    r, commits = relay
    r._handle([_up("t-a", 1, "receipt")])
    behind = _handle_soon(r, [_up("t-a", 2, "text")])
    behind.join(GONE_S)
    assert behind.is_alive() and commits.done == []  # order within t-a: the receipt first
    commits.gate.set()
    behind.join(5)
    assert commits.done == [("lane", [1]), ("worker", [2])]


def test_a_mixed_batch_sends_only_terminals_with_nothing_but_receipts_beside(relay) -> None:
    r, commits = relay
    r._handle([_up("t-a", 1, "receipt"), _up("t-c", 2, "text"), _up("t-c", 3, "receipt"),
               _up("t-b", 4, "receipt")])
    assert commits.done == [("worker", [2, 3])]  # t-c's text and receipt stay together
    _then_the_lane_commits(commits, [1, 4])


def test_while_the_lane_is_busy_the_worker_commits_receipts_itself(relay) -> None:
    r, commits = relay
    r._handle([_up("t-a", 1, "receipt")])
    r._handle([_up("t-b", 2, "receipt")])  # never queued behind the lane
    assert commits.done == [("worker", [2])]
    _then_the_lane_commits(commits, [1])


def test_a_receipt_before_its_terminals_login_stays_with_the_worker(relay) -> None:
    # The desk starts a login once the worker's batch is committed; a receipt of the same
    # terminal committed beside might land after the login had ended the session it names.
    r, commits = relay
    r._handle([_up("t-a", 1, "receipt"), _up("t-a", 2, "login"), _up("t-b", 3, "receipt")])
    assert commits.done == [("worker", [1])]
    _then_the_lane_commits(commits, [3])


def test_what_the_lane_holds_at_stop_is_committed(relay) -> None:
    r, commits = relay
    r._handle([_up("t-a", 1, "receipt")])
    stopper = threading.Thread(target=r._lane.stop, daemon=True)
    stopper.start()
    stopper.join(GONE_S)
    assert stopper.is_alive()  # waiting for the batch in hand, not dropping it
    commits.gate.set()
    stopper.join(5)
    assert commits.done == [("lane", [1])]
    assert not r._lane.offer([_up("t-b", 2, "receipt")])  # stopped: the worker's again


def test_only_receipts_and_presence_go_beside(relay) -> None:
    # The worker's cheap guess (the bytes "receipt" anywhere) is checked: a text saying
    # it, or a logout carrying an extra field that says it, stays with the worker.
    r, commits = relay
    text = Inbound(1, 1, topics.uplink("t-a"), encode(envelope(
        "text", sid="s", seq=1, to=7, text="receipt")))
    logout = Inbound(2, 1, topics.uplink("t-b"), encode({
        **envelope("logout", sid="s", last_seq=3), "x": "receipt"}))
    presence = Inbound(3, 1, topics.status("t-c"), topics.ONLINE)
    assert all(map(mqtt._can_wait, (text, logout, presence)))
    r._handle([text, logout, presence])
    assert commits.done == [("worker", [1, 2])]
    _then_the_lane_commits(commits, [3])


def test_a_lane_that_is_not_running_takes_nothing(tmp_path: Path) -> None:
    committed: list[list[int]] = []
    lane = ReceiptLane(lambda batch: committed.append([i.mid for i in batch]),
                       mqtt._terminal)
    assert not lane.offer([_up("t-a", 1, "receipt")])  # never started: the worker's job
    lane.wait_for(["t-a"])  # returns at once: nothing held
    lane.stop()
    assert committed == []


def test_only_postgresql_has_a_lane(tmp_path: Path, pg_url: str) -> None:
    cfg = config_mod.load(tmp_path / "home")
    for url, lane in (("sqlite://", False), (pg_url, True)):
        store = Store(url)
        r = Relay(cfg, store, purge_every=None, pin_hashers=0)
        try:
            assert (r._lane is not None) is lane
        finally:
            r.logins.stop()
            r.voices.stop()
            store.dispose()
