"""A safety alert end to end (issue 16): terminal link -> real Mosquitto -> relay -> database
-> supervisors' terminals. A worker whom no contact rule lets write to anyone raises an
alert; the two supervisors of the site receive it at once as an urgent notice carrying the
alert, nothing is held for moderation, and the audit has it with the terminal and the
person. The time from publish to each arrival is printed (not asserted: a speed target
belongs in a benchmark). From the idle screen, only when the setting allows it.

Runs on SQLite and, when RELAIS_TEST_PG_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import queue
import time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from hr_console.relay.meter import Meter
from hr_console.relay.mqtt import Relay
from hr_console.services import people, settings
from hr_console.store.models import AuditEntry, ContactRule, Message, SafetyAlert
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from relais_wire import topics
from relais_wire.envelope import encode, envelope
from tests.e2e.test_groups import _links
from tests.security.test_bad_input_corpus import RawTerminal
from tests.system_fixture import System, expect, expect_none, make_system


class Arrivals:
    """When each notice reached a link's dispatch (monotonic), beside its body."""

    def __init__(self, link: TerminalLink) -> None:
        self.notices: list[tuple[float, dict[str, Any]]] = []
        inner = link._dispatch  # noqa: SLF001 - observing, not changing, what the link does

        def spy(kind: str, env_id: str, body: dict[str, Any]) -> None:
            if kind == "notice":
                self.notices.append((time.monotonic(), dict(body)))
            inner(kind, env_id, body)

        link._dispatch = spy  # type: ignore[method-assign]  # noqa: SLF001


def _no_rules(system: System) -> None:
    with system.store.session() as s:
        s.execute(delete(ContactRule))


def _alert_notice(link: TerminalLink, timeout: float = 15.0) -> dict[str, Any]:
    return expect(link, ev.NoticeArrived, lambda e: "alert" in e.notice, timeout).notice


def _stored(system: System) -> list[SafetyAlert]:
    with system.store.session() as s:
        return list(s.execute(select(SafetyAlert).order_by(SafetyAlert.id)).scalars())


def _audited(system: System, action: str) -> list[AuditEntry]:
    with system.store.session() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_worker_without_contacts_alerts_both_supervisors_at_once(system: System) -> None:
    _no_rules(system)
    k1, k2, k3 = _links(system, 3)
    system.badge_in(k2, "Sophie Martin")
    system.badge_in(k3, "Thomas Petit")
    system.badge_in(k1, "Karim Benali")
    karim = system.employee("Karim Benali")
    with system.store.session() as s:
        assert people.contact_list(s, karim) == []  # he may write to nobody
    seen2, seen3 = Arrivals(k2), Arrivals(k3)

    start = time.monotonic()
    alert_id = k1.send_alert("fall", "Chute quai 2")
    expect(k1, ev.StateChanged, lambda e: e.msg == alert_id and e.state == "accepted")
    got2, got3 = _alert_notice(k2), _alert_notice(k3)
    ms = {name: (seen.notices[0][0] - start) * 1000
          for name, seen in (("Sophie Martin", seen2), ("Thomas Petit", seen3))}
    print("\nsafety alert publish -> supervisor link arrival: "
          + ", ".join(f"{n} {v:.1f} ms" for n, v in ms.items()))

    for got in (got2, got3):
        assert got["urgent"] is True and got["ack_required"] is True
        assert got["alert"]["pictogram"] == "fall" and got["alert"]["from"] == "Karim Benali"
        assert got["alert"]["terminal"] == "kiosk-1" and "Chute quai 2" in got["body"]
    assert got2["title"] == "Alerte sécurité : chute"  # Sophie reads French
    [row] = _stored(system)
    assert (row.employee_id, row.pictogram, row.text) == (karim, "fall", "Chute quai 2")
    # The two supervisors and the HR desk (no one named by the setting), never Karim.
    assert row.recipients == 3
    [entry] = _audited(system, "safety.alert")
    assert entry.actor == f"employee:{karim}" and entry.detail["terminal"] == "kiosk-1"
    assert sorted(entry.detail["recipients"]) == sorted(
        [system.employee("Sophie Martin"), system.employee("Thomas Petit"),
         system.employee("Claire Dubois (RH)")])
    with system.store.session() as s:  # not a message: nothing for moderation
        assert s.execute(select(Message)).first() is None

    # The kiosk's resend of the same alert stores and sends nothing again.
    k1.client.publish(topics.uplink("kiosk-1"),
                      _resend_payload(k1, alert_id), qos=1).wait_for_publish(5)
    expect_none(k2, ev.NoticeArrived, lambda e: "alert" in e.notice, wait=2.0)
    assert len(_stored(system)) == 1


def _resend_payload(link: TerminalLink, item_id: str) -> bytes:
    """The same alert with the same id, as the outbox resends it."""
    return encode(envelope("alert", id=item_id, sid=link.sid, pictogram="fall",
                           text="Chute quai 2"))


def test_named_recipients_replace_the_hr_desk(system: System) -> None:
    k1, k2 = _links(system, 2)
    amina = system.employee("Amina Diallo")
    with system.store.session() as s:
        settings.put(s, "safety_alert_recipients", [amina])
    system.badge_in(k2, "Amina Diallo")
    system.badge_in(k1, "Karim Benali")
    k1.send_alert("chemical")
    got = _alert_notice(k2)
    assert got["title"] == "Safety alert: chemical"  # Amina reads English
    [entry] = _audited(system, "safety.alert")
    assert sorted(entry.detail["recipients"]) == sorted(
        [amina, system.employee("Sophie Martin"), system.employee("Thomas Petit")])


def test_idle_screen_alert_only_when_the_setting_allows_it(system: System) -> None:
    k1, k2 = _links(system, 2)
    system.badge_in(k2, "Sophie Martin")
    refused = k1.send_alert("fire")
    err = expect(k1, ev.ErrorReceived, lambda e: e.ref == refused)
    assert err.code == "badge_needed"
    assert _stored(system) == []

    with system.store.session() as s:
        settings.put(s, "safety_alert_on_idle", True)
    k1.send_alert("fire", "Fumée ligne 3")
    got = _alert_notice(k2)
    assert got["alert"]["from"] is None and got["alert"]["terminal"] == "kiosk-1"
    [row] = _stored(system)
    assert row.employee_id is None and row.pictogram == "fire"
    [entry] = _audited(system, "safety.alert")
    assert entry.actor == "terminal:kiosk-1" and entry.detail["employee"] is None


def test_a_terminal_over_its_meter_still_gets_its_alert_through(tmp_path: Path) -> None:
    """Sent once, on a raw client (no outbox to send it again): after ten uplinks have
    spent a tight meter's budget, the alert is still taken, by its own bucket."""
    system = make_system(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}", relay=False)
    relay = Relay(system.cfg, system.store, meter=Meter(rate=0.2, burst=3))
    relay.start()
    system.relays.append(relay)
    with system.store.session() as s:
        settings.put(s, "safety_alert_on_idle", True)
    raw = RawTerminal(system, "kiosk-2")
    try:
        for _ in range(10):
            raw.client.publish(topics.uplink("kiosk-2"), encode(envelope("sync")), qos=1)
        alert = envelope("alert", pictogram="injury")
        raw.client.publish(topics.uplink("kiosk-2"), encode(alert), qos=1).wait_for_publish(5)
        replies = []
        deadline = time.monotonic() + 15
        while not any(r.get("ref") == alert["id"] for r in replies):
            assert time.monotonic() < deadline, f"no answer to the alert; got {replies}"
            with contextlib.suppress(queue.Empty):
                replies.append(json.loads(raw.inbox.get(timeout=0.5)))
        assert any(r.get("code") == "rate_limited" for r in replies)  # the meter did bite
        [answer] = [r for r in replies if r.get("ref") == alert["id"]]
        assert answer["type"] == "state" and answer["state"] == "accepted"
        assert len(_stored(system)) == 1
    finally:
        raw.close()
        system.close()
