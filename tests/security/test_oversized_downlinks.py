"""No downlink the broker would refuse. A packet over the broker's limit makes it drop the
connection that sent it, the relay's, and paho sends it again on every reconnect: every
terminal cut off for as long as the cause lasts, a relay restart included. Two causes were
found by an attacker's review, both in the badge-in sync, which had a budget for its history
only: many long notices (a team lead's from a stolen terminal, bounded per hour since, and
HR's), and the HR desk's contact list past about 11,000 employees (everyone may write to
the HR desk, who may answer).

Each test drives the real broker and relay with a terminal's real password and asserts what
came back (one packet, the rest counted), that the relay never lost its connection, and that
an unrelated message is still answered afterwards."""

from __future__ import annotations

import contextlib
import json
import queue
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select

from hr_console.relay.handlers import Publish
from hr_console.services import notices
from hr_console.services.people import SYNC_CONTACTS_MOST
from hr_console.store.models import Employee, Team
from kiosk_app.link import events as ev
from relais_wire import topics
from relais_wire.envelope import encode, envelope
from relais_wire.limits import (
    MAX_DOWNLINK_BYTES,
    MAX_LEAD_NOTICES_PER_HOUR,
    MAX_NOTICE_BODY_CHARS,
)
from tests.e2e.test_supervisor_broadcast import team_id
from tests.security.test_bad_input_corpus import RawTerminal
from tests.system_fixture import System, expect


def _next(raw: RawTerminal, pred: Callable[[dict[str, Any]], bool],
          timeout: float = 30.0) -> tuple[dict[str, Any], int]:
    """The first downlink matching ``pred`` and its size in bytes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            data = raw.inbox.get(timeout=0.5)
            reply = json.loads(data)
            if pred(reply):
                return reply, len(data)
    raise AssertionError("no such downlink")


def _watch_disconnects(system: System) -> list[float]:
    """The relay's lost connections from now on."""
    relay = system.relays[0]
    lost: list[float] = []
    before = relay.client.on_disconnect
    relay.client.on_disconnect = lambda *a: (lost.append(time.monotonic()), before(*a))
    return lost


def _badge_in(raw: RawTerminal, system: System, name: str) -> tuple[dict[str, Any], int]:
    login = envelope("login", badge=system.demo.badges[name])
    raw.client.publish(topics.uplink(raw.name), encode(login), qos=1).wait_for_publish(10)
    answer, _ = _next(raw, lambda r: r.get("ref") == login["id"] and r["type"] == "login")
    assert answer["ok"], answer
    return _next(raw, lambda r: r["type"] == "sync")


def _still_answered(system: System) -> None:
    """An unrelated pair's message is answered after it all: the relay is connected."""
    k2 = system.link("kiosk-2")
    system.badge_in(k2, "Sophie Martin")
    msg = k2.send_text(system.employee("Karim Benali"), "toujours là ?")
    expect(k2, ev.StateChanged, lambda e: e.msg == msg and e.state in ("accepted", "held"))


def test_long_notices_leave_a_team_mates_sync_one_packet(system: System) -> None:
    """A lead posts all a terminal allows in an hour, the longest notices there are, and HR
    posts more from the console (no bound there): 1.1 MB of current notices for Lucas."""
    body = "\U0001F600" * MAX_NOTICE_BODY_CHARS  # 16 KB: four bytes a character
    team = team_id(system, "Logistique")
    raw = RawTerminal(system, "kiosk-1")  # kiosk-1's password, a lead's badge
    try:
        lead = _badge_in(raw, system, "Thomas Petit")[0]
        posted = [envelope("broadcast", sid=lead["sid"], team=team, title=f"Note {i}", text=body)
                  for i in range(MAX_LEAD_NOTICES_PER_HOUR)]
        for env in posted:
            raw.client.publish(topics.uplink("kiosk-1"), encode(env), qos=1)
            time.sleep(0.06)  # under the terminal's 20 uplinks a second
        got = raw.answers({e["id"] for e in posted}, timeout=60)
        assert set(got.values()) == {"accepted"} and len(got) == len(posted)
        titles = [f"Note {i}" for i in range(len(posted))]
        with system.store.session() as s:
            for i in range(len(posted), 70):
                notices.create(s, title=f"Note {i}", body=body, target_kind="team",
                               target_ref=team, actor="hr")
                titles.append(f"Note {i}")
        lost = _watch_disconnects(system)
        sync, size = _badge_in(raw, system, "Lucas Bernard")  # a team mate, same terminal
    finally:
        raw.close()
    assert size <= MAX_DOWNLINK_BYTES
    shown = [n["title"] for n in sync["notices"]]
    assert 0 < len(shown) < len(titles) and sync["notices_more"] == len(titles) - len(shown)
    assert shown == titles[::-1][:len(shown)], "the newest notices are kept"
    assert sync["contacts"] and "contacts_more" not in sync
    _still_answered(system)
    assert lost == []
    log = system.broker.settings.log_path.read_text(errors="replace")
    assert "oversize packet" not in log


def test_the_hr_desks_sync_at_16000_employees_is_one_packet(system: System) -> None:
    with system.store.session() as s:
        atelier = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        s.execute(insert(Employee), [{"name": f"Employée {i:05d} Lefèvre-Dupont", "team_id": atelier,
                                      "language": "fr", "active": True} for i in range(16_000)])
    # Her own kiosk takes the cut sync as any other, and she writes to someone, who must
    # stay reachable from her kiosk afterwards.
    k2 = system.link("kiosk-2")
    synced = system.badge_in(k2, "Claire Dubois (RH)")
    # The sync lists the first SYNC_CONTACTS_MOST by name (the rest are found by name).
    assert len(synced.contacts) == SYNC_CONTACTS_MOST and synced.contacts_more > 16_000 - 2000
    thomas = system.employee("Thomas Petit")
    note = k2.send_text(thomas, "Pouvez-vous passer au bureau RH ?")
    expect(k2, ev.StateChanged, lambda e: e.msg == note and e.state in ("accepted", "held"))
    k2.logout()
    expect(k2, ev.LoggedOut)
    k2.stop()
    lost = _watch_disconnects(system)
    raw = RawTerminal(system, "kiosk-1")
    try:
        sync, size = _badge_in(raw, system, "Claire Dubois (RH)")
    finally:
        raw.close()
    assert size <= MAX_DOWNLINK_BYTES
    listed = {c["id"] for c in sync["contacts"]}
    assert len(listed) == SYNC_CONTACTS_MOST + 1 and sync["contacts_more"] > 0
    assert thomas in listed, "whom she wrote to stays listed, past the head by name"
    assert len(listed) + sync["contacts_more"] > 16_000
    _still_answered(system)
    assert lost == []


def test_a_downlink_over_the_limit_becomes_an_error_and_the_relay_stays(system: System) -> None:
    raw = RawTerminal(system, "kiosk-1")
    lost = _watch_disconnects(system)
    try:
        huge = envelope("state", ref="d5c3b0f8-8a0e-4c1e-9c55-6f4f3c1b2a10", state="accepted",
                        pad="x" * MAX_DOWNLINK_BYTES)
        system.relays[0]._publish([Publish("kiosk-1", huge)], direct=True)
        error, size = _next(raw, lambda r: r["type"] == "error")
    finally:
        raw.close()
    assert (error["code"], error["ref"]) == ("too_large", huge["ref"]) and size < 1024
    _still_answered(system)
    assert lost == []
