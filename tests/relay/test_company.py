"""Receipts keep company, messages do not wait for them (``Relay._next_batch``).

Receipts alone wait a few milliseconds for more uplinks to share their transaction; a
message that arrives meanwhile is committed on its own at once, and the receipts go on
waiting, unless its terminal has one of them waiting (order within a terminal). Driven on a
relay that is not started: the batches the worker would commit, read off its inbox.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hr_console import config as config_mod
from hr_console.relay import mqtt
from hr_console.relay.mqtt import Inbound, Relay
from hr_console.store.db import Store
from relais_wire import topics
from relais_wire.envelope import encode, envelope

WAIT_S = 0.5  # the receipts' wait in these tests: far longer than a thread takes to
# put an item even on a loaded machine, so what joins which batch does not depend on timing
SOON_S = 0.02


@pytest.fixture
def relay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Relay]:
    monkeypatch.setattr(mqtt, "COMPANY_WAIT_S", WAIT_S)
    cfg = config_mod.load(tmp_path / "home")
    r = Relay(cfg, Store("sqlite://"), purge_every=None, pin_hashers=0)
    yield r
    r.logins.stop()
    r.voices.stop()


def _receipt(terminal: str, n: int) -> Inbound:
    return Inbound(n, 1, topics.uplink(terminal),
                   encode(envelope("receipt", sid="s", ref=f"r{n}", status="received")))


def _text(terminal: str, n: int) -> Inbound:
    return Inbound(n, 1, topics.uplink(terminal),
                   encode(envelope("text", sid="s", seq=n, to=7, text=f"hello {n}")))


def _later(relay: Relay, item: Inbound, after_s: float) -> threading.Thread:
    def put() -> None:
        time.sleep(after_s)
        relay._inbox.put(item, key=topics.terminal_of(item.topic) or "")

    thread = threading.Thread(target=put)
    thread.start()
    return thread


def _mids(batch: list[Inbound]) -> list[int]:
    return [item.mid for item in batch]


def _after_receipts(relay: Relay, item: Inbound) -> tuple[list[Inbound], float]:
    """Receipts of t-a (1) and t-b (2) waiting, then ``item`` arriving soon after: the
    batch the worker gets, and when it started asking."""
    relay._inbox.put(_receipt("t-a", 1), key="t-a")
    relay._inbox.put(_receipt("t-b", 2), key="t-b")
    putter = _later(relay, item, SOON_S)
    started = time.monotonic()
    batch = relay._next_batch()
    putter.join()
    return batch, started


def test_a_message_goes_ahead_of_receipts_waiting_for_company(relay: Relay) -> None:
    first, started = _after_receipts(relay, _text("t-c", 3))
    assert _mids(first) == [3]  # the text alone, without waiting out the receipts' time
    assert _mids(relay._company) == [1, 2]
    # The receipts keep waiting for company until their own deadline, then go together.
    relay._inbox.put(_receipt("t-d", 4), key="t-d")
    second = relay._next_batch()
    assert _mids(second) == [1, 2, 4]
    assert time.monotonic() - started >= WAIT_S
    assert relay._company == []


def test_a_message_behind_its_own_terminals_receipt_goes_with_it(relay: Relay) -> None:
    batch, started = _after_receipts(relay, _text("t-a", 3))
    assert _mids(batch) == [1, 2, 3]  # order within t-a kept, and nobody waits
    assert time.monotonic() - started < WAIT_S
    assert relay._company == []


def test_receipts_alone_wait_for_company_then_go(relay: Relay) -> None:
    relay._inbox.put(_receipt("t-a", 1), key="t-a")
    putter = _later(relay, _receipt("t-b", 2), SOON_S)
    started = time.monotonic()
    batch = relay._next_batch()
    putter.join()
    assert _mids(batch) == [1, 2]
    assert time.monotonic() - started >= WAIT_S


def test_enough_receipts_do_not_wait(relay: Relay) -> None:
    for n in range(mqtt.COMPANY_MAX):
        relay._inbox.put(_receipt(f"t-{n}", n), key=f"t-{n}")
    started = time.monotonic()
    batch = relay._next_batch()
    assert len(batch) == mqtt.COMPANY_MAX
    assert time.monotonic() - started < WAIT_S


def test_messages_keep_going_ahead_while_the_receipts_wait(relay: Relay) -> None:
    assert _mids(_after_receipts(relay, _text("t-c", 3))[0]) == [3]
    # Another text came while the first one was being committed: it goes ahead too.
    relay._inbox.put(_text("t-e", 5), key="t-e")
    assert _mids(relay._next_batch()) == [5]
    assert _mids(relay._company) == [1, 2]
    # A text from a terminal whose receipt is waiting takes the receipts along, at once.
    relay._inbox.put(_text("t-a", 6), key="t-a")
    started = time.monotonic()
    assert _mids(relay._next_batch()) == [1, 2, 6]
    assert time.monotonic() - started < WAIT_S
    assert relay._company == []


def test_a_terminals_uplinks_keep_their_order_when_its_message_goes_ahead(relay: Relay) -> None:
    # t-c sends a text, a receipt, another text in one go while t-a and t-b's receipts
    # wait: all three go ahead, in their order (the receipt is not left behind the second text).
    relay._inbox.put(_receipt("t-a", 1), key="t-a")
    relay._inbox.put(_receipt("t-b", 2), key="t-b")
    relay._company_until = time.monotonic() + WAIT_S
    relay._company = [relay._inbox.get(), relay._inbox.get()]
    for item in (_text("t-c", 3), _receipt("t-c", 4), _text("t-c", 5)):
        relay._inbox.put(item, key="t-c")
    assert _mids(relay._next_batch()) == [3, 4, 5]
    assert _mids(relay._company) == [1, 2]


def test_a_message_behind_a_waiting_receipt_sends_all_in_arrival_order(relay: Relay) -> None:
    relay._inbox.put(_receipt("t-a", 1), key="t-a")
    relay._company_until = time.monotonic() + WAIT_S
    relay._company = [relay._inbox.get()]
    relay._inbox.put(_text("t-c", 2), key="t-c")
    relay._inbox.put(_receipt("t-a", 3), key="t-a")
    relay._inbox.put(_text("t-a", 4), key="t-a")
    batch = relay._next_batch()
    # t-a's text is behind its receipts: everything goes now, t-a's items in their order.
    assert sorted(_mids(batch)) == [1, 2, 3, 4]
    a_items = [m for m in _mids(batch) if m in (1, 3, 4)]
    assert a_items == [1, 3, 4]
    assert relay._company == []


def test_time_up_the_receipts_go_with_the_next_message(relay: Relay) -> None:
    relay._inbox.put(_receipt("t-a", 1), key="t-a")
    relay._company_until = time.monotonic() - 0.001  # their wait is over
    relay._company = [relay._inbox.get()]
    relay._inbox.put(_text("t-c", 2), key="t-c")
    assert _mids(relay._next_batch()) == [1, 2]  # not kept waiting past their time
    assert relay._company == []


def test_a_wake_up_ends_the_wait(relay: Relay) -> None:
    relay._inbox.put(_receipt("t-a", 1), key="t-a")
    relay._inbox.put(None, key="")  # a login done: the worker has its released uplinks to run
    started = time.monotonic()
    assert _mids(relay._next_batch()) == [1]
    assert time.monotonic() - started < WAIT_S


def test_receipts_still_waiting_at_stop_are_committed(relay: Relay,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    committed: list[list[int]] = []
    monkeypatch.setattr(relay, "_commit", lambda batch: committed.append(_mids(batch)))
    relay._company = [_receipt("t-a", 1), _receipt("t-b", 2)]
    relay._stop.set()
    relay._work()
    assert committed == [[1, 2]]
    assert relay._company == []
