"""Malformed uplinks get an error on that terminal's downlink, change nothing, and the relay
keeps serving everyone else."""

from __future__ import annotations

import json
import queue
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from hr_console.store.models import Message
from kiosk_app.link import events as ev
from relais_wire import topics
from relais_wire.limits import MAX_PAYLOAD_BYTES
from tests.system_fixture import expect

SID = str(uuid.uuid4())


def _envelope(**fields) -> dict:  # noqa: ANN003
    base = {"v": 1, "type": "text", "id": str(uuid.uuid4()), "ts": 1, "seq": 1, "sid": SID,
            "to": 1, "text": "x"}
    base.update(fields)
    return base


BAD = {
    "bad_json": (b"{not json", "bad_json", None),
    "not_object": (b"[1, 2]", "bad_json", None),
    "unknown_type": (json.dumps(_envelope(type="selfie")).encode(), "unknown_type", "type"),
    "oversized": (b'{"v":1,"pad":"' + b"a" * (MAX_PAYLOAD_BYTES + 10) + b'"}', "too_large", None),
    "wrong_type_to": (json.dumps(_envelope(to="Karim")).encode(), "bad_field", "to"),
    "wrong_type_text": (json.dumps(_envelope(text=42)).encode(), "bad_field", "text"),
    "invalid_utf8": (b'{"v":1,"type":"text","text":"\xff\xfe"}', "bad_utf8", None),
    "bidi_override": (json.dumps(_envelope(text="abc\u202edef")).encode(), "bad_text", "text"),
}


class RawTerminal:
    """A terminal speaking raw MQTT with its real credentials, as a rogue kiosk would."""

    def __init__(self, system, name: str) -> None:  # noqa: ANN001
        self.inbox: queue.Queue[dict] = queue.Queue()
        self.name = name
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(name, system.demo.terminals[name]["password"])
        self.client.on_message = lambda _c, _u, m: self.inbox.put(json.loads(m.payload))
        self.client.connect("127.0.0.1", system.cfg.mqtt_port)
        self.client.subscribe(topics.downlink(name), qos=1)
        self.client.loop_start()

    def publish(self, payload: bytes) -> None:
        self.client.publish(topics.uplink(self.name), payload, qos=1).wait_for_publish(5)

    def next(self, timeout: float = 10.0) -> dict:
        return self.inbox.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def raw(system):  # noqa: ANN001, ANN201
    term = RawTerminal(system, "kiosk-1")
    yield term
    term.close()


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_payload_gets_error_and_changes_nothing(system, raw, case, caplog) -> None:  # noqa: ANN001
    caplog.set_level("WARNING", logger="relais.relay")
    payload, code, field = BAD[case]
    with system.store.session() as s:
        before = s.scalar(select(func.count()).select_from(Message))
    raw.publish(payload)
    reply = raw.next()
    assert reply["type"] == "error"
    assert reply["code"] == code
    if field:
        assert reply["field"] == field
    assert reply["message"]
    assert any(code in r.getMessage() and "kiosk-1" in r.getMessage() for r in caplog.records)
    with system.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == before


def test_relay_keeps_serving_others_after_garbage(system, raw) -> None:  # noqa: ANN001
    for payload, _code, _field in BAD.values():
        raw.publish(payload)
    for _ in BAD:
        assert raw.next()["type"] == "error"
    k2 = system.link("kiosk-2")
    system.badge_in(k2, "Sophie Martin")
    msg = k2.send_text(system.employee("Karim Benali"), "Toujours là ?")
    expect(k2, ev.StateChanged, lambda e: e.msg == msg and e.state == "accepted")


def test_payload_cannot_choose_its_sender(system, raw) -> None:  # noqa: ANN001
    """A session id from another terminal is refused: identity is terminal + its session."""
    k2 = system.link("kiosk-2")
    system.badge_in(k2, "Sophie Martin")
    foreign_sid = k2.sid
    raw.publish(json.dumps(_envelope(sid=foreign_sid, to=system.employee("Karim Benali"),
                                     text="Je suis Sophie")).encode())
    reply = raw.next()
    assert reply["type"] == "error"
    assert reply["code"] == "no_session"
    with system.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0
