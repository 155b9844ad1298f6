"""Attacks on safety alerts (issue 16), through the real broker and relay: a terminal's
password cannot raise an alert in the name of someone badged in elsewhere, nor publish on
another terminal's uplink; a forged, oversized or unknown pictogram is refused with an
error naming the field, and stores, audits and sends nothing. Each refusal is followed by a
legitimate alert that does get through, so "nothing stored" is not a relay that was idle.
An alert's photo goes to its recipients alone: another worker badged in at their own
terminal, with its real credentials and the real kiosk API client, gets nothing, nor with a
recipient's badge session from the wrong terminal; a photo that is none refuses the alert."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from collections.abc import Iterator

import pytest
import requests
from PIL import Image
from sqlalchemy import func, select

from hr_console.store.models import AuditEntry, Media, SafetyAlert
from hr_console.web import create_app
from kiosk_app.link import events as ev
from kiosk_app.link.api import KioskApi, KioskApiError
from relais_wire import topics
from relais_wire.envelope import b64, encode, envelope
from tests.e2e.test_groups import _links
from tests.security.test_bad_input_corpus import RawTerminal, ended_long_ago
from tests.served import served
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
    k1, k2, k3 = _links(system, 3)
    system.badge_in(k1, "Karim Benali")
    system.badge_in(k3, "Sophie Martin")
    # Its broker identity is taken by the raw client below: a running kiosk-2 would take it
    # back on reconnecting, and the refusal could reach the kiosk instead of the thief.
    k2.stop()
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


@pytest.fixture
def api_url(system: System) -> Iterator[str]:
    app = create_app(system.cfg, {"TESTING": True, "RATELIMIT_ENABLED": False})
    with served(app) as url:
        yield url


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (120, 90), (250, 200, 0)).save(buf, "JPEG")
    return buf.getvalue()


def _media(system: System) -> int:
    with system.store.session() as s:
        return s.scalar(select(func.count()).select_from(Media)) or 0


def test_an_alert_photo_is_only_for_its_recipients(system: System, api_url: str) -> None:
    k1, k2, k3 = _links(system, 3)
    system.badge_in(k2, "Sophie Martin")  # a supervisor: a recipient
    system.badge_in(k3, "Julie Moreau", "4321")  # a worker badged in elsewhere: not one
    system.badge_in(k1, "Karim Benali")
    item = k1.send_alert("injury", image=_jpeg())
    expect(k1, ev.StateChanged, lambda e: e.msg == item and e.state == "accepted")
    with system.store.session() as s:
        uid = s.execute(select(SafetyAlert.uid)).scalar_one()
    creds = system.demo.terminals

    with KioskApi(api_url, "kiosk-3", creds["kiosk-3"]["password"], timeout=10) as julie:
        for guess in (uid, item, uid.upper(), uid + "\x00", "../" + uid):
            with pytest.raises(KioskApiError) as err:
                julie.notice_photo(k3.sid, guess)
            assert err.value.status == 404, guess
        with pytest.raises(KioskApiError) as err:  # nor as a message's photo
            julie.media(k3.sid, uid)
        assert err.value.status == 404
        # Sophie's badge session, replayed from Julie's terminal: not a session of it.
        with pytest.raises(KioskApiError) as err:
            julie.notice_photo(k2.sid, uid)
        assert err.value.status == 401
    # The terminal's password alone, no badge session: nothing either.
    resp = requests.get(f"{api_url}/api/kiosk/v1/notices/{uid}/photo",
                        auth=("kiosk-3", creds["kiosk-3"]["password"]), timeout=10)
    assert resp.status_code == 401 and resp.headers["Content-Type"].startswith(
        "application/json")
    # The recipient does get it: the refusals above are not a route that serves nobody.
    with KioskApi(api_url, "kiosk-2", creds["kiosk-2"]["password"], timeout=10) as sophie:
        assert sophie.notice_photo(k2.sid, uid)[:3] == b"\xff\xd8\xff"


def test_a_forged_photo_refuses_the_alert_and_stores_nothing(system: System) -> None:
    [k1] = _links(system, 1)
    system.badge_in(k1, "Karim Benali")
    bomb = bytearray(_jpeg())  # a small photo whose header claims 30000 x 30000 pixels
    sof = bomb.index(b"\xff\xc0")
    bomb[sof + 5:sof + 9] = (30_000).to_bytes(2, "big") * 2
    cases = [
        (b"\xff\xd8\xff" + b"\x00" * 500, "bad_image"),  # the magic, then nothing
        (_jpeg()[:200], "bad_image"),  # truncated
        (bytes(bomb), "image_too_big_pixels"),
    ]
    for data, code in cases:
        env = envelope("alert", sid=k1.sid, pictogram="fire", image=b64(data))
        k1.client.publish(topics.uplink("kiosk-1"), encode(env), qos=1)
        err = expect(k1, ev.ErrorReceived, lambda e, ref=env["id"]: e.ref == ref)
        assert err.code == code and err.message, err
    assert _counts(system) == (0, 0) and _media(system) == 0
    ok = k1.send_alert("fire", image=_jpeg())
    expect(k1, ev.StateChanged, lambda e: e.msg == ok and e.state == "accepted")
    assert _counts(system) == (1, 1) and _media(system) == 1


def test_a_photo_needs_someone_badged_in_or_just_gone(system: System) -> None:
    """The review's attack: with the terminal's password, an alert from the idle screen or
    from a session long over would put any picture full screen on every supervisor's
    terminal in nobody's name. The alert still goes (never lost), without the photo, and the
    audit says it was dropped; a session that ended a moment ago keeps its photo (the
    outbox catching up after a logout)."""
    from hr_console.services import safety, settings
    from hr_console.store.models import BadgeSession, utcnow

    with system.store.session() as s:
        settings.put(s, safety.ON_IDLE_SETTING, True)
    [k1] = _links(system, 1)
    system.badge_in(k1, "Karim Benali")
    old_sid = k1.sid
    k1.logout()
    system.badge_in(k1, "Julie Moreau", "4321")
    recent_sid = k1.sid
    k1.logout()
    with system.store.session() as s:
        s.get(BadgeSession, old_sid).ended_at = utcnow() - dt.timedelta(hours=1)
    for n, sid in enumerate((None, old_sid, recent_sid), start=1):
        fields = {"sid": sid} if sid else {}
        env = envelope("alert", pictogram="injury", image=b64(_jpeg()), **fields)
        k1.client.publish(topics.uplink("kiosk-1"), encode(env), qos=1).wait_for_publish(5)
        _wait_stored(system, n)
    with system.store.session() as s:
        alerts = s.execute(select(SafetyAlert).order_by(SafetyAlert.id)).scalars().all()
        entries = s.execute(select(AuditEntry).where(AuditEntry.action == "safety.alert")
                            .order_by(AuditEntry.id)).scalars().all()
        assert [a.media_id is not None for a in alerts] == [False, False, True]
        assert [e.detail.get("photo_dropped", False) for e in entries] == [True, True, False]
        assert [a.employee_id for a in alerts] == [None, None, None]  # ended: not believed
    assert _media(system) == 1


def test_a_terminals_password_cannot_flood_everyone_with_alerts(system: System) -> None:
    """The review's attack: with a terminal's password and a session it hosted a month ago,
    alerts went through at 20 a second, each an urgent notice to acknowledge on every
    supervisor's and the HR desk's terminals. A terminal's alerts now come a few at once,
    then one a minute; the rest are answered ``rate_limited`` and stored nowhere, while
    another terminal's alert goes at once."""
    from hr_console.relay import alerts

    k1, k2 = _links(system, 2)
    old_sid = ended_long_ago(system, k1, "Karim Benali")
    thief = RawTerminal(system, "kiosk-1")
    try:
        answers = _forge(thief, old_sid, 30, "fausse alerte")
        assert sorted(answers) == \
            ["accepted"] * alerts.ALERT_BURST + ["rate_limited"] * (30 - alerts.ALERT_BURST)
        _wait_stored(system, alerts.ALERT_BURST)
        time.sleep(1.0)  # nothing more comes
        assert _counts(system)[0] == alerts.ALERT_BURST
    finally:
        thief.close()
    system.badge_in(k2, "Sophie Martin")
    k2.send_alert("injury")  # another terminal's alert: its own budget
    _wait_stored(system, alerts.ALERT_BURST + 1)
    # The thief keeps kiosk-1's budget spent, yet cannot silence it: someone badged in there
    # raises an alert at once.
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Julie Moreau", "4321")
    k1.send_alert("fire")
    _wait_stored(system, alerts.ALERT_BURST + 2)


def test_a_live_sessions_id_cannot_flood_everyone_with_alerts(system: System,
                                                             monkeypatch) -> None:  # noqa: ANN001
    """A review's attack: the terminal's password reads its downlinks, so a thief can learn
    the id of the session of someone badged in there, and alerts in that person's name were
    never counted: 20 a second, each an urgent notice on every supervisor's terminal, until
    the kiosk's logout. The person's alerts now come a few at once, then a few a minute;
    the rest are answered ``rate_limited`` (a kiosk's outbox sends them again), while the
    terminal's own budget, in nobody's name, stays whole."""
    from hr_console.relay import alerts

    k1, k2 = _links(system, 2)
    system.badge_in(k1, "Karim Benali")
    system.badge_in(k2, "Sophie Martin")
    live_sid = k1.sid
    k1.stop()  # a clean stop: Karim's session stays open, the thief takes the terminal's name
    thief = RawTerminal(system, "kiosk-1")
    try:
        per_minute = alerts.LIVE_ALERTS_PER_MINUTE
        with monkeypatch.context() as m:  # no refill while they come, however slowly
            m.setattr(alerts, "LIVE_ALERTS_PER_MINUTE", 1e-6)
            answers = _forge(thief, live_sid, 30, "fausse alerte")
        burst = alerts.LIVE_ALERT_BURST
        assert answers == ["accepted"] * burst + ["rate_limited"] * (30 - burst)
        _wait_stored(system, burst)
        with system.store.session() as s:
            assert {a.employee_id for a in s.scalars(select(SafetyAlert))} == \
                {system.employee("Karim Benali")}
            for row in s.scalars(select(SafetyAlert)):  # a third of a minute passes
                row.raised_at -= dt.timedelta(seconds=61 / per_minute)
        assert _forge(thief, live_sid, 3, "plus tard") == ["accepted"] + ["rate_limited"] * 2
    finally:
        thief.close()
    assert _counts(system)[0] == burst + 1
    k2.send_alert("injury")  # another person's alert, on another terminal: at once
    _wait_stored(system, burst + 2)


def _forge(thief: RawTerminal, sid: str, n: int, tag: str) -> list[str]:
    """``n`` alerts in the name of session ``sid``; their answers, in the order sent."""
    sent = [envelope("alert", sid=sid, pictogram="fire", text=f"{tag} {i}") for i in range(n)]
    for env in sent:
        thief.client.publish(topics.uplink(thief.name), encode(env), qos=1)
    answers = thief.answers({env["id"] for env in sent})
    return [answers.get(env["id"], "") for env in sent]


def test_the_alert_budget_is_read_from_the_stored_alerts(system: System) -> None:
    """The budget is read from the alerts stored, not kept in a relay's memory, so that a
    relay restarted (or another taking the terminal over) gives the thief no new burst: here
    the relay is restarted in the same process, which the old meter survived too, so what
    shows it is the last step: once the stored alerts are a minute older, one more fits, and
    only one."""
    from hr_console.relay import alerts

    [k1] = _links(system, 1)
    old_sid = ended_long_ago(system, k1, "Karim Benali")
    thief = RawTerminal(system, "kiosk-1")
    try:
        first = _forge(thief, old_sid, alerts.ALERT_BURST + 2, "avant")
        assert first == ["accepted"] * alerts.ALERT_BURST + ["rate_limited"] * 2
        system.relays.pop().stop()
        system.start_relay()
        assert _forge(thief, old_sid, 3, "après") == ["rate_limited"] * 3
        with system.store.session() as s:  # a minute passes
            for row in s.scalars(select(SafetyAlert)):
                row.raised_at -= dt.timedelta(seconds=61)
        assert _forge(thief, old_sid, 3, "plus tard") == ["accepted"] + ["rate_limited"] * 2
    finally:
        thief.close()
    assert _counts(system)[0] == alerts.ALERT_BURST + 1


def test_an_alert_over_the_budget_waits_in_the_outbox(system: System) -> None:
    """A terminal past its budget of alerts in nobody's name (here from the idle screen)
    loses none: the ones over it stay in the kiosk's outbox, which sends them again until
    the budget lets them through."""
    from hr_console.relay import alerts
    from hr_console.services import safety, settings

    with system.store.session() as s:
        settings.put(s, safety.ON_IDLE_SETTING, True)
    [k1] = _links(system, 1)
    ids = [k1.send_alert("fire", f"alerte {i}") for i in range(alerts.ALERT_BURST + 2)]
    _wait_stored(system, alerts.ALERT_BURST)
    deadline = time.monotonic() + 10
    while k1.outbox.pending_count() > 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [item.id for item in k1.outbox.pending()] == ids[-2:]
    assert _counts(system)[0] == alerts.ALERT_BURST
