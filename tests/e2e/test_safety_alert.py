"""A safety alert end to end (issue 16): terminal link -> real Mosquitto -> relay -> database
-> supervisors' terminals. A worker whom no contact rule lets write to anyone raises an
alert; the two supervisors of the site receive it at once as an urgent notice carrying the
alert, nothing is held for moderation, and the audit has it with the terminal and the
person. The time from publish to each arrival is printed (not asserted: a speed target
belongs in a benchmark). From the idle screen, only when the setting allows it. With a
photo: normalised on the server, its reference in the notice, fetched over the real kiosk
API by a recipient and by nobody else.

Runs on SQLite and, when RELAIS_TEST_PG_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import io
import json
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import delete, func, select

from hr_console.relay.meter import Meter
from hr_console.relay.mqtt import Relay
from hr_console.services import people, settings
from hr_console.store.models import AuditEntry, ContactRule, Media, Message, SafetyAlert
from hr_console.web import create_app
from kiosk_app.link import events as ev
from kiosk_app.link.api import KioskApi, KioskApiError
from kiosk_app.link.client import TerminalLink
from relais_wire import topics
from relais_wire.envelope import b64, encode, envelope
from tests.e2e.test_groups import _links
from tests.security.test_bad_input_corpus import RawTerminal
from tests.served import served
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


# --- an alert with its photo ------------------------------------------------------------


@pytest.fixture
def api_url(system: System) -> Iterator[str]:
    """The console's kiosk API, served for real on the system's database."""
    app = create_app(system.cfg, {"TESTING": True, "RATELIMIT_ENABLED": False})
    with served(app) as url:
        yield url


def camera_jpeg() -> bytes:
    """What a careless camera sends: too large, with EXIF (a GPS-like comment) and a note."""
    img = Image.new("RGB", (2000, 1500), (210, 40, 30))
    exif = Image.Exif()
    exif[0x010E] = "quai 2, 48.85N 2.35E"  # ImageDescription
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=exif.tobytes(), comment=b"secret note")
    return buf.getvalue()


def _media_count(system: System) -> int:
    with system.store.session() as s:
        return s.scalar(select(func.count()).select_from(Media)) or 0


def test_alert_photo_reaches_the_supervisors_normalised_and_no_one_else(
        system: System, api_url: str) -> None:
    k1, k2, k3, k4 = _links(system, 4)
    system.badge_in(k2, "Sophie Martin")
    system.badge_in(k3, "Thomas Petit")
    system.badge_in(k4, "Julie Moreau", "4321")  # badged in, not a recipient
    system.badge_in(k1, "Karim Benali")
    sent = camera_jpeg()
    item = k1.send_alert("machine", "Presse 4", image=sent)
    expect(k1, ev.StateChanged, lambda e: e.msg == item and e.state == "accepted")
    got2, got3 = _alert_notice(k2), _alert_notice(k3)
    [row] = _stored(system)
    for got in (got2, got3):  # the photo's reference: the notice's uid, photo true
        assert got["photo"] is True and got["notice"] == row.uid
    expect_none(k4, ev.NoticeArrived, lambda e: "alert" in e.notice, wait=1.0)
    with system.store.session() as s:
        kept = s.get(Media, row.media_id).data
    assert sorted(row.recipient_ids) == sorted(
        [system.employee("Sophie Martin"), system.employee("Thomas Petit"),
         system.employee("Claire Dubois (RH)")])
    [entry] = _audited(system, "safety.alert")
    assert entry.detail["photo"] is True

    pw = system.demo.terminals
    with KioskApi(api_url, "kiosk-2", pw["kiosk-2"]["password"], timeout=10) as api:
        fetched = api.notice_photo(k2.sid, row.uid)
    assert fetched == kept != sent
    with Image.open(io.BytesIO(fetched)) as img:  # re-encoded from its pixels only
        assert img.format == "JPEG" and max(img.size) <= 1280
        assert not img.getexif() and "comment" not in img.info and "exif" not in img.info
    with KioskApi(api_url, "kiosk-3", pw["kiosk-3"]["password"], timeout=10) as api:
        assert api.notice_photo(k3.sid, row.uid) == kept

    # Julie, badged in at her own terminal with its real credentials, gets nothing; nor
    # does Karim who raised it (it was not sent to him), nor a guessed uid.
    for link, term in ((k4, "kiosk-4"), (k1, "kiosk-1")):
        with KioskApi(api_url, term, pw[term]["password"], timeout=10) as api:
            for uid in (row.uid, row.client_id):
                with pytest.raises(KioskApiError) as err:
                    api.notice_photo(link.sid, uid)
                assert err.value.status == 404

    # The outbox's resend stores no second alert and no second photo.
    k1.client.publish(topics.uplink("kiosk-1"), encode(envelope(
        "alert", id=item, sid=k1.sid, pictogram="machine", text="Presse 4",
        image=b64(sent))), qos=1).wait_for_publish(5)
    expect_none(k2, ev.NoticeArrived, lambda e: "alert" in e.notice, wait=2.0)
    assert len(_stored(system)) == 1 and _media_count(system) == 1


def test_an_alert_whose_photo_is_no_photo_is_refused_and_stores_nothing(system: System) -> None:
    k1, k2 = _links(system, 2)
    system.badge_in(k2, "Sophie Martin")
    system.badge_in(k1, "Karim Benali")
    # It passes the wire's JPEG magic check but is no picture: the server's decoding says so.
    forged = b"\xff\xd8\xff\xe0" + b"not a picture at all" * 20
    item = k1.send_alert("fire", image=forged)
    err = expect(k1, ev.ErrorReceived, lambda e: e.ref == item)
    assert err.code == "bad_image" and "photo" in err.message.lower()
    expect_none(k2, ev.NoticeArrived, lambda e: "alert" in e.notice, wait=1.0)
    assert _stored(system) == [] and _media_count(system) == 0
    assert _audited(system, "safety.alert") == []

    # Without a photo the same person's alert goes as it always did: no photo, no media.
    again = k1.send_alert("fire")
    expect(k1, ev.StateChanged, lambda e: e.msg == again and e.state == "accepted")
    assert _alert_notice(k2)["photo"] is False
    [row] = _stored(system)
    assert row.media_id is None and _media_count(system) == 0
