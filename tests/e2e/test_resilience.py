"""Nothing typed is lost: link down, broker restarted, relay restarted, kiosk restarted."""

from __future__ import annotations

import time

from sqlalchemy import select

from hr_console.store.models import Message
from kiosk_app.link import events as ev
from tests.system_fixture import expect


def test_typed_while_broker_down_arrives_after_restart(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    system.broker.stop()
    expect(k1, ev.LinkDown)
    karim = system.employee("Karim Benali")
    ids = [k1.send_text(karim, f"hors ligne {i}") for i in range(5)]
    assert k1.outbox.pending_count() == 5
    system.broker.start()
    expect(k1, ev.LinkUp, timeout=30)
    got = [expect(k2, ev.MessageArrived, timeout=30).message["msg"] for _ in ids]
    assert got == ids  # all of them, once, in the order typed
    for msg in ids:
        expect(k1, ev.StateChanged, lambda e, m=msg: e.msg == m and e.state == "delivered")
    assert k1.outbox.pending_count() == 0


def test_sent_while_relay_down_arrives_when_it_returns(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1", resend_after=0.5), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    relay = system.relays.pop()
    relay.stop()
    msg = k1.send_text(system.employee("Karim Benali"), "Le relais dort")
    time.sleep(1.0)  # published to a broker with no relay: only the outbox still has it
    assert k1.outbox.pending_count() == 1
    system.start_relay()
    assert expect(k2, ev.MessageArrived, timeout=60).message["msg"] == msg


def test_kiosk_restart_resends_its_outbox(system, tmp_path) -> None:  # noqa: ANN001
    outbox = tmp_path / "k1-outbox.db"
    k1 = system.link("kiosk-1", outbox=outbox)
    k2 = system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    sid = k1.sid
    system.broker.stop()  # the link drops: typing continues into the outbox
    expect(k1, ev.LinkDown)
    msg = k1.send_text(system.employee("Karim Benali"), "Écrit avant le redémarrage")
    k1.stop()  # the kiosk process goes away with the message unsent
    system.links.remove(k1)
    system.broker.start()
    again = system.link("kiosk-1", outbox=outbox)  # same terminal, same outbox file
    assert expect(k2, ev.MessageArrived, timeout=30).message["msg"] == msg
    with system.store.session() as s:
        row = s.execute(select(Message).where(Message.client_id == msg)).scalar_one()
        assert row.sender_id == system.employee("Sophie Martin")  # the session that typed it
    # The recipient's copy and the sender's answer go out together: which link reads its
    # own first is the machine's business (the restarted kiosk, badged out, shows nothing).
    deadline = time.monotonic() + 15
    while again.outbox.pending_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert again.outbox.pending_count() == 0
    assert sid  # the ended session still speaks for what it typed
