"""Reminders until acknowledged end to end (issue 16): terminal links -> real Mosquitto ->
relay -> database -> back. A notice asking for acknowledgement every 5 minutes reaches the
Atelier team; Sophie acknowledges at once, Karim does not. The relay reminds Karim at the
interval (and only him, once per interval), his next badge-in presents it again as a
reminder, each reminder is counted on his receipt, and after he acknowledges nothing more
comes, neither by the timer nor at badge-in.

The reminder clock (``services.reminders.clock``) is moved instead of sleeping minutes, and
the relay looks for reminders five times a second instead of every 15 s.

Runs on SQLite and, when RELAIS_TEST_PG_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hr_console.relay.mqtt import Relay
from hr_console.services import notices, reminders
from hr_console.store.models import Notice, NoticeReceipt, Team, utcnow
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from tests.system_fixture import System, expect, expect_none, make_system


class MovedClock:
    """``utcnow()`` plus whatever the test has moved it by."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def move(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> MovedClock:
    moved = MovedClock()
    monkeypatch.setattr(reminders, "clock", moved)
    return moved


@pytest.fixture
def quick(tmp_path: Path, db_url: str, clock: MovedClock) -> Iterator[System]:
    """A home whose relay looks for reminders due every 0.2 s."""
    system = make_system(tmp_path, db_url, relay=False)
    relay = Relay(system.cfg, system.store, pin_hashers=0, remind_check_s=0.2)
    relay.start()
    system.relays.append(relay)
    try:
        yield system
    finally:
        system.close()


def _receipt(system: System, uid: str, name: str) -> NoticeReceipt:
    with system.store.session() as s:
        return s.execute(
            select(NoticeReceipt).join(Notice, Notice.id == NoticeReceipt.notice_id)
            .where(Notice.uid == uid,
                   NoticeReceipt.employee_id == system.employee(name))).scalar_one()


def _until(what: str, check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def _arrival(link: TerminalLink, uid: str, *, reminder: bool) -> dict[str, Any]:
    return expect(link, ev.NoticeArrived, lambda e: e.notice.get("notice") == uid
                  and bool(e.notice.get("reminder")) == reminder).notice


def _no_more(link: TerminalLink, uid: str, wait: float = 1.5) -> None:
    expect_none(link, ev.NoticeArrived, lambda e: e.notice.get("notice") == uid, wait=wait)


def _in_sync(synced: ev.Synced, uid: str) -> dict[str, Any]:
    [view] = [v for v in synced.notices if v["notice"] == uid]
    return view


def test_reminded_at_its_interval_and_next_badge_in_until_acknowledged(
        quick: System, clock: MovedClock) -> None:
    system = quick
    karim_link, sophie_link = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(karim_link, "Karim Benali")
    system.badge_in(sophie_link, "Sophie Martin")
    with system.store.session() as s:
        team = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        uid = notices.create(s, title="Nouvelles consignes EPI", body="Lunettes obligatoires.",
                             target_kind="team", target_ref=team, ack_required=True,
                             remind_every_min=5, actor="hr").uid

    first = _arrival(karim_link, uid, reminder=False)
    assert first["ack_required"] is True
    _arrival(sophie_link, uid, reminder=False)
    sophie_link.acknowledge(uid)
    _until("both copies confirmed and Sophie's acknowledgement stored", lambda: (
        _receipt(system, uid, "Karim Benali").delivered_at is not None
        and _receipt(system, uid, "Sophie Martin").acknowledged_at is not None))
    _no_more(karim_link, uid, wait=1.0)  # the relay looks 5 times a second: nothing yet

    # Five minutes later: Karim, who has not acknowledged, is reminded; Sophie is not.
    clock.move(minutes=5, seconds=1)
    again = _arrival(karim_link, uid, reminder=True)
    assert again["title"] == "Nouvelles consignes EPI" and again["ack_required"] is True
    _no_more(sophie_link, uid, wait=1.0)
    assert _receipt(system, uid, "Karim Benali").reminders == 1
    _no_more(karim_link, uid)  # once per interval, not at every look

    clock.move(minutes=5)
    _arrival(karim_link, uid, reminder=True)
    assert _receipt(system, uid, "Karim Benali").reminders == 2
    # Julie never badged in: nothing was counted for her.
    assert _receipt(system, uid, "Julie Moreau").reminders == 0

    # His next badge-in presents it again, as a reminder, and counts one.
    karim_link.logout()
    synced = system.badge_in(karim_link, "Karim Benali")
    view = _in_sync(synced, uid)
    assert view["reminder"] is True and view["acknowledged"] is False
    assert _receipt(system, uid, "Karim Benali").reminders == 3
    sophie_link.logout()
    assert _in_sync(system.badge_in(sophie_link, "Sophie Martin"), uid)["reminder"] is False

    # He acknowledges: nothing more, by the timer or at badge-in.
    karim_link.acknowledge(uid)
    _until("Karim's acknowledgement stored",
           lambda: _receipt(system, uid, "Karim Benali").acknowledged_at is not None)
    clock.move(minutes=30)
    _no_more(karim_link, uid, wait=2.0)
    karim_link.logout()
    view = _in_sync(system.badge_in(karim_link, "Karim Benali"), uid)
    assert view["reminder"] is False and view["acknowledged"] is True
    _no_more(karim_link, uid)
    assert _receipt(system, uid, "Karim Benali").reminders == 3
    with system.store.session() as s:
        notice_id = s.execute(select(Notice.id).where(Notice.uid == uid)).scalar_one()
        tracked = notices.tracking(s, notices.EVERYTHING, notice_id)
    assert tracked.summary.counts.reminders == 3
    assert tracked.summary.counts.acknowledged == 2


def test_a_withdrawn_notice_reminds_nobody(quick: System, clock: MovedClock) -> None:
    system = quick
    link = system.link("kiosk-1")
    system.badge_in(link, "Karim Benali")
    with system.store.session() as s:
        team = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        n = notices.create(s, title="Exercice incendie", body="14 h", target_kind="team",
                           target_ref=team, urgent=True, remind_every_min=5, actor="hr")
        uid, notice_id = n.uid, n.id
    _arrival(link, uid, reminder=False)
    _until("his copy confirmed",
           lambda: _receipt(system, uid, "Karim Benali").delivered_at is not None)
    clock.move(minutes=6)
    _arrival(link, uid, reminder=True)  # the positive control: reminders do flow
    with system.store.session() as s:
        notices.withdraw(s, notices.EVERYTHING, notice_id, "hr")
    clock.move(minutes=30)
    _no_more(link, uid, wait=2.0)
    link.logout()
    synced = system.badge_in(link, "Karim Benali")
    assert all(v["notice"] != uid for v in synced.notices)
    assert _receipt(system, uid, "Karim Benali").reminders == 1
