"""Attacks on safety alerts (issue 16), through the real broker and relay: a terminal's
password cannot raise an alert in the name of someone badged in elsewhere, nor publish on
another terminal's uplink; a forged, oversized or unknown pictogram is refused with an
error naming the field, and stores, audits and sends nothing. Each refusal is followed by a
legitimate alert that does get through, so "nothing stored" is not a relay that was idle."""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from hr_console.store.models import AuditEntry, SafetyAlert
from kiosk_app.link import events as ev
from relais_wire import topics
from relais_wire.envelope import encode, envelope
from tests.e2e.test_groups import _links
from tests.security.test_bad_input_corpus import RawTerminal
from tests.system_fixture import System, expect


def _counts(system: System) -> tuple[int, int]:
    with system.store.session() as s:
        return (s.scalar(select(func.count()).select_from(SafetyAlert)) or 0,
                s.scalar(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == "safety.alert")) or 0)


def _wait_stored(system: System, n: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while _counts(system)[0] < n:
        assert time.monotonic() < deadline, f"{n} alert(s) not stored"
        time.sleep(0.1)


def test_another_terminals_password_cannot_alert_in_someone_elses_name(system: System) -> None:
    k1, k3 = _links(system, 3)[0::2]
    system.badge_in(k1, "Karim Benali")
    system.badge_in(k3, "Sophie Martin")
    thief = RawTerminal(system, "kiosk-2")  # kiosk-2's real password, Karim is on kiosk-1
    try:
        reply = thief.ask(encode(envelope("alert", sid=k1.sid, pictogram="fire",
                                          text="Fausse alerte")))
        assert reply["type"] == "error" and reply["code"] == "no_session"
        # On kiosk-1's own uplink topic the broker's ACL drops it before any relay.
        thief.client.publish(topics.uplink("kiosk-1"),
                             encode(envelope("alert", sid=k1.sid, pictogram="fire")),
                             qos=1).wait_for_publish(5)
        time.sleep(1.0)
        assert _counts(system) == (0, 0)
    finally:
        thief.close()
    # Positive control: Karim's own terminal raises his alert.
    k1.send_alert("fire")
    expect(k3, ev.NoticeArrived, lambda e: "alert" in e.notice)
    _wait_stored(system, 1)
    with system.store.session() as s:
        row = s.execute(select(SafetyAlert)).scalar_one()
    assert row.employee_id == system.employee("Karim Benali") and row.text == ""


def test_forged_oversized_or_bad_pictograms_are_refused_and_store_nothing(system: System) -> None:
    [k1] = _links(system, 1)
    system.badge_in(k1, "Karim Benali")
    cases = [
        ({"pictogram": "explosion"}, "bad_field", "pictogram"),
        ({"pictogram": "<script>alert(1)</script>"}, "bad_field", "pictogram"),
        ({"pictogram": ["fire"]}, "bad_field", "pictogram"),
        ({"pictogram": "fire", "text": "a" * 201}, "too_long", "text"),
        ({"pictogram": "fire", "text": "gr\u200beve"}, "bad_text", "text"),
        ({"pictogram": "fire", "text": "a" * (600 * 1024)}, "too_large", None),
    ]
    for fields, code, field in cases:
        env = envelope("alert", sid=k1.sid, **fields)
        k1.client.publish(topics.uplink("kiosk-1"), json.dumps(env).encode(), qos=1)
        err = expect(k1, ev.ErrorReceived, lambda e, ref=env["id"]: e.ref == ref or e.ref is None)
        assert (err.code, err.field) == (code, field), err
        assert err.message and (field is None or field in err.message)
        if field == "pictogram":
            assert "fall, fire, injury, machine, chemical, other" in err.message
    assert _counts(system) == (0, 0)
    ok = k1.send_alert("machine", "Presse 4 bloquée, main coincée")
    expect(k1, ev.StateChanged, lambda e: e.msg == ok and e.state == "accepted")
    assert _counts(system) == (1, 1)
