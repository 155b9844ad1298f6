"""The backbone end to end: terminal links -> real Mosquitto -> relay -> database -> back.

Runs on SQLite and, when RELAIS_TEST_PG_URL is set, on PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import func, select

from hr_console.services import messaging
from hr_console.store.models import Message
from kiosk_app.link import events as ev
from tests.system_fixture import expect, expect_none


def _state(link, msg_id, state, timeout=15.0):  # noqa: ANN001
    return expect(link, ev.StateChanged, lambda e: e.msg == msg_id and e.state == state, timeout)


def test_allowed_message_arrives_and_is_read(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    synced = system.badge_in(k1, "Sophie Martin")
    assert system.employee("Karim Benali") in {c["id"] for c in synced.contacts}
    system.badge_in(k2, "Karim Benali")

    msg = k1.send_text(system.employee("Karim Benali"), "Bonjour Karim, la ligne 3 redémarre.")
    _state(k1, msg, "accepted")
    arrived = expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)
    assert arrived.message["text"] == "Bonjour Karim, la ligne 3 redémarre."
    assert arrived.message["from"] == system.employee("Sophie Martin")
    assert arrived.message["from_name"] == "Sophie Martin"
    _state(k1, msg, "delivered")

    k2.mark_read(msg)
    _state(k1, msg, "read")
    assert k1.outbox.pending_count() == 0


def test_not_allowed_is_refused_with_reason(system) -> None:  # noqa: ANN001
    k1 = system.link("kiosk-1")
    synced = system.badge_in(k1, "Sophie Martin")
    thomas = system.employee("Thomas Petit")
    assert thomas not in {c["id"] for c in synced.contacts}
    msg = k1.send_text(thomas, "Salut")
    refused = _state(k1, msg, "refused")
    assert refused.reason == "not_allowed"
    with system.store.session() as s:
        row = s.execute(select(Message).where(Message.client_id == msg)).scalar_one()
        assert row.state == "refused"


def test_pre_moderation_holds_until_approved(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Karim Benali")  # Karim's messages are pre-moderated (the default)
    system.badge_in(k2, "Sophie Martin")
    msg = k1.send_text(system.employee("Sophie Martin"), "Je peux partir plus tôt ?")
    _state(k1, msg, "held")
    expect_none(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)

    with system.store.session() as s:
        row = messaging.find(s, system.employee("Karim Benali"), msg)
        messaging.approve(s, row.id, actor="hr")
    _state(k1, msg, "approved")
    expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)
    _state(k1, msg, "delivered")


def test_rejected_never_arrives_and_sender_sees_reason(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Karim Benali")
    system.badge_in(k2, "Sophie Martin")
    sophie = system.employee("Sophie Martin")
    bad = k1.send_text(sophie, "Message à refuser")
    good = k1.send_text(sophie, "Message à approuver")
    _state(k1, bad, "held")
    _state(k1, good, "held")
    with system.store.session() as s:
        karim = system.employee("Karim Benali")
        messaging.reject(s, messaging.find(s, karim, bad).id, "Ton inapproprié", actor="hr")
        messaging.approve(s, messaging.find(s, karim, good).id, actor="hr")
    rejected = _state(k1, bad, "rejected")
    assert rejected.reason == "Ton inapproprié"
    # The approved one, decided after the rejected one, arrives: the rejected one never does.
    arrivals = []
    arrivals.append(expect(k2, ev.MessageArrived).message["msg"])
    expect_none(k2, ev.MessageArrived)
    assert arrivals == [good]


def test_message_waits_for_recipient_to_badge_in(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    msg = k1.send_text(system.employee("Julie Moreau"), "Julie, passe au bureau.")
    _state(k1, msg, "accepted")
    expect_none(k1, ev.StateChanged, lambda e: e.msg == msg and e.state == "delivered", wait=1.0)

    synced = system.badge_in(k2, "Julie Moreau", pin="4321")
    assert synced.me["name"] == "Julie Moreau"
    arrived = expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)
    assert arrived.message["text"] == "Julie, passe au bureau."
    _state(k1, msg, "delivered")


def test_same_client_id_twice_is_delivered_once(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    msg = k1.send_text(system.employee("Karim Benali"), "Une seule fois")
    item = k1.outbox.get(msg)
    payload = item.payload if item else None
    _state(k1, msg, "accepted")
    assert payload is not None  # read before the relay's answer removed it from the outbox
    for _ in range(3):  # the same envelope again, as a resend after a lost answer would be
        k1._publish_item(msg, payload)  # noqa: SLF001 - exactly what a resend does
    expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)
    expect_none(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg, wait=2.0)
    with system.store.session() as s:
        count = s.scalar(select(func.count()).select_from(Message).where(Message.client_id == msg))
    assert count == 1
