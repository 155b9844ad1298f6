"""The outbox resends in order: found by the chaos test, where one message lost with a relay
kill made every later one bounce off the relay (held back as out of order) on its own
timer, spending the terminal's rate budget until the lost one was refused too."""

from __future__ import annotations

from pathlib import Path

from kiosk_app.link.outbox import Outbox
from relais_wire.envelope import envelope


def _outbox(tmp_path: Path) -> tuple[Outbox, list[str]]:
    box = Outbox(tmp_path / "o.db", resend_after=1.0)
    ids = [box.add(envelope("text", sid="s", to=2, text=f"m{i}"), ordered=True).id for i in range(4)]
    return box, ids


def test_later_items_wait_for_the_oldest_ones_timer(tmp_path: Path) -> None:
    box, ids = _outbox(tmp_path)
    box.sent(ids[0], now=100.0)  # attempt 1: due at 101
    box.sent(ids[0], now=101.0)  # attempt 2: due at 103
    for item in ids[1:]:
        box.sent(item, now=101.0)  # attempt 1: due at 102
    assert box.due(now=102.5) == []  # the oldest is not due: nothing goes ahead of it
    assert [i.id for i in box.due(now=103.0)] == ids  # then all of them, in order


def test_never_sent_items_go_at_once(tmp_path: Path) -> None:
    box, ids = _outbox(tmp_path)
    box.sent(ids[0], now=100.0)
    assert [i.id for i in box.due(now=100.5)] == ids[1:]


def test_a_reconnect_sends_everything_in_order(tmp_path: Path) -> None:
    box, ids = _outbox(tmp_path)
    for item in ids:
        box.sent(item, now=100.0)
    assert [i.id for i in box.due(now=100.0, all_pending=True)] == ids
    box.confirm(ids[0])
    assert [i.id for i in box.due(now=101.0)] == ids[1:]


def test_a_long_queue_goes_a_window_at_a_time(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", resend_after=1.0)
    ids = [box.add(envelope("text", sid="s", to=2, text=f"m{i}"), ordered=True).id for i in range(30)]
    first = box.due(now=100.0, limit=8)
    assert [i.id for i in first] == ids[:8]
    for item in first:
        box.sent(item.id, now=100.0)
    assert [i.id for i in box.due(now=100.5, limit=8)] == ids[8:16]  # never sent: they go on
    for item in ids[:8]:
        box.confirm(item)
    box.make_all_due()
    assert [i.id for i in box.due(now=100.5, limit=8)] == ids[8:16]
