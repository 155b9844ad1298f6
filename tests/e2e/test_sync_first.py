"""A terminal gets its history (the sync after a login) before what is owed to the person.

Between a badge-in's commit and the sync it publishes there is a window in which the
deliverer's sweep, or a batch carrying a new message for that person, could claim and
publish a downlink: the kiosk then got the message before its history. The kiosk merges
both, so nothing was lost on screen, but the order the relay promises was broken and a test
waiting for the sync skipped the message (the CI saw it once, on PostgreSQL). The sync is
slowed here so that the window is wide open.

Runs on SQLite and, when RELAIS_TEST_PG_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from hr_console.relay import logins
from kiosk_app.link import events as ev
from tests.system_fixture import expect

SLOW_SYNC_S = 1.0  # four of the deliverer's rounds


@pytest.fixture()
def slow_sync(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The sync after a login is built SLOW_SYNC_S late; the event is set when it starts
    waiting (the new session is committed by then)."""
    started = threading.Event()
    build = logins.sync_reply

    def late(*args: Any, **kwargs: Any) -> Any:
        started.set()
        time.sleep(SLOW_SYNC_S)
        return build(*args, **kwargs)

    monkeypatch.setattr(logins, "sync_reply", late)
    return started


def _events_until_synced(link, timeout: float = 15.0) -> list[Any]:  # noqa: ANN001
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    while not any(isinstance(e, ev.Synced) for e in got):
        assert time.monotonic() < deadline, f"no sync; saw {got}"
        got.append(link.events.get(timeout=deadline - time.monotonic()))
    return got


def test_what_waited_comes_after_the_history(system, slow_sync) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    msg = k1.send_text(system.employee("Julie Moreau"), "Julie, passe au bureau.")
    expect(k1, ev.StateChanged, lambda e: e.msg == msg and e.state == "accepted")

    k2.login(system.demo.badges["Julie Moreau"], "4321")
    before = _events_until_synced(k2)
    assert not [e for e in before if isinstance(e, ev.MessageArrived)], before
    # Not in the history (a copy not yet received is owed, not history): it comes next.
    assert msg not in {m["msg"] for m in before[-1].history}
    arrived = expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)
    assert arrived.message["text"] == "Julie, passe au bureau."
    expect(k1, ev.StateChanged, lambda e: e.msg == msg and e.state == "delivered")


def test_a_message_sent_during_the_sync_follows_it(system, slow_sync) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    k2.login(system.demo.badges["Julie Moreau"], "4321")
    assert slow_sync.wait(15)  # Julie's session is committed; her sync is not out
    msg = k1.send_text(system.employee("Julie Moreau"), "Réunion à 14 h.")
    expect(k1, ev.StateChanged, lambda e: e.msg == msg and e.state == "accepted")

    before = _events_until_synced(k2)
    assert not [e for e in before if isinstance(e, ev.MessageArrived)], before
    arrived = expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)
    assert arrived.message["text"] == "Réunion à 14 h."
    expect(k1, ev.StateChanged, lambda e: e.msg == msg and e.state == "delivered")
