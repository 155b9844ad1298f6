"""Attacks on a team lead's broadcasts and reminders (issue 16), with a real paho client
holding a terminal's real password, through the real broker and relay; and on the kiosk API's
"my notices". Every refusal changes nothing (no notice, no audit entry, no copy sent), and
each test ends with a legitimate broadcast that does get through, so "nothing stored" is not
a relay that was idle."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import func, select, update

from hr_console.services import notices
from hr_console.store.models import AuditEntry, Downlink, Notice
from hr_console.web import create_app
from kiosk_app.link import events as ev
from kiosk_app.link.api import API_PREFIX, SESSION_HEADER
from relais_wire import topics
from relais_wire.envelope import encode, envelope
from relais_wire.limits import MAX_LEAD_NOTICES_PER_HOUR
from tests.e2e.test_groups import _links, _terminals
from tests.e2e.test_supervisor_broadcast import jpeg, stored, team_id
from tests.security.test_bad_input_corpus import RawTerminal
from tests.served import served
from tests.system_fixture import System, expect, expect_none


def _notice_copies(system: System) -> int:
    with system.store.session() as s:
        return s.scalar(select(func.count()).select_from(Downlink)
                        .where(Downlink.kind == "notice")) or 0


def _control(system: System, link, team: int) -> None:  # noqa: ANN001
    """The legitimate broadcast after the attacks: stored and answered."""
    before = stored(system)
    ok = link.send_broadcast(team, "Consigne du jour")
    expect(link, ev.StateChanged, lambda e: e.msg == ok and e.state == "accepted")
    assert stored(system) == (before[0] + 1, before[1] + 1)


def test_another_terminals_password_cannot_broadcast_in_a_leads_name(system: System) -> None:
    _terminals(system, "kiosk-3")  # no link on kiosk-2: its password is the thief's alone
    k1, k3 = system.link("kiosk-1"), system.link("kiosk-3")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k3, "Karim Benali")
    atelier = team_id(system, "Atelier")
    thief = RawTerminal(system, "kiosk-2")  # kiosk-2's real password; Sophie is on kiosk-1
    try:
        forged = envelope("broadcast", sid=k1.sid, team=atelier, title="Prime annulée",
                          urgent=True)
        reply = thief.ask(encode(forged))
        assert (reply["type"], reply["code"], reply["ref"]) == ("error", "no_session", forged["id"])
        reply = thief.ask(encode(envelope("remind", sid=k1.sid, ref=forged["id"])))
        assert reply["code"] == "no_session"
        # On kiosk-1's own uplink the broker's ACL drops it before any relay hears it.
        thief.client.publish(topics.uplink("kiosk-1"), encode(forged), qos=1).wait_for_publish(5)
        # kiosk-2 badged in as nobody: no session id at all is refused by the wire.
        reply = thief.ask(encode(envelope("broadcast", team=atelier, title="Sans badge")))
        assert reply["type"] == "error" and reply["code"] == "missing_field"
    finally:
        thief.close()
    expect_none(k3, ev.NoticeArrived, wait=1.0)
    assert stored(system) == (0, 0) and _notice_copies(system) == 0
    _control(system, k1, atelier)


def test_forged_fields_are_refused_with_the_field_and_store_nothing(system: System) -> None:
    [k1] = _links(system, 1)
    system.badge_in(k1, "Sophie Martin")
    atelier = team_id(system, "Atelier")
    not_jpeg = base64.b64encode(b"GIF89a" + b"\0" * 64).decode()
    broken_jpeg = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 200).decode()
    cases = [
        ({"team": str(atelier), "title": "x"}, "bad_field", "team"),
        ({"team": 0, "title": "x"}, "bad_field", "team"),
        ({"team": -3, "title": "x"}, "bad_field", "team"),
        ({"team": True, "title": "x"}, "bad_field", "team"),
        ({"title": "x"}, "missing_field", "team"),
        ({"team": atelier}, "missing_field", "title"),
        ({"team": atelier, "title": "t" * 121}, "too_long", "title"),
        ({"team": atelier, "title": "ok", "text": "b" * 4001}, "too_long", "text"),
        ({"team": atelier, "title": "gr\u200beve"}, "bad_text", "title"),
        ({"team": atelier, "title": "abc\u202edcba"}, "bad_text", "title"),
        ({"team": atelier, "title": "ok", "urgent": "yes"}, "bad_field", "urgent"),
        ({"team": atelier, "title": "ok", "ack": 1}, "bad_field", "ack"),
        ({"team": atelier, "title": "ok", "shift": -1}, "bad_field", "shift"),
        ({"team": atelier, "title": "ok", "remind_every": 1}, "bad_field", "remind_every"),
        ({"team": atelier, "title": "ok", "image": not_jpeg}, "bad_image", "image"),
        ({"team": atelier, "title": "ok", "image": "not base64!"}, "bad_field", "image"),
    ]
    for fields, code, field in cases:
        env = envelope("broadcast", sid=k1.sid, **fields)
        k1.client.publish(topics.uplink("kiosk-1"), json.dumps(env).encode(), qos=1)
        err = expect(k1, ev.ErrorReceived, lambda e, ref=env["id"]: e.ref == ref)
        assert (err.code, err.field) == (code, field), (fields, err)
    # A JPEG the wire lets through but that is no picture: the server's photo check.
    env = envelope("broadcast", sid=k1.sid, team=atelier, title="ok", image=broken_jpeg)
    k1.client.publish(topics.uplink("kiosk-1"), json.dumps(env).encode(), qos=1)
    err = expect(k1, ev.ErrorReceived, lambda e: e.ref == env["id"])
    assert err.code == "bad_image"
    assert stored(system) == (0, 0) and _notice_copies(system) == 0
    _control(system, k1, atelier)


def test_a_known_notice_id_cannot_be_taken_over_or_reminded_by_others(system: System) -> None:
    k1, k2 = _links(system, 2)
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Thomas Petit")
    atelier, logistique = team_id(system, "Atelier"), team_id(system, "Logistique")
    with system.store.session() as s:  # HR's notice to Logistique: its uid reaches kiosks
        hr = notices.create(s, title="Inventaire", body="", target_kind="team",
                            target_ref=logistique, ack_required=True, actor="hr")
        uid = hr.uid
    # Sophie's terminal replays that uid as a broadcast of her own: refused, HR's kept.
    k1.client.publish(topics.uplink("kiosk-1"), encode(envelope(
        "broadcast", id=uid, sid=k1.sid, team=atelier, title="Détourné")), qos=1)
    err = expect(k1, ev.ErrorReceived, lambda e: e.ref == uid)
    assert err.code == "duplicate_id"
    with system.store.session() as s:
        row = s.execute(select(Notice).where(Notice.uid == uid)).scalar_one()
        assert (row.title, row.author_employee_id, row.target_ref) == ("Inventaire", None,
                                                                       logistique)
    # Nor may she remind it (another team's), nor a made-up or a safety alert's id.
    for ref in (uid, "7b0c2a5e-8a3c-4f0e-9d55-3f7c1c9e2a10"):
        item = k1.send_remind(ref)
        assert expect(k1, ev.ErrorReceived, lambda e, i=item: e.ref == i).code == "not_found"
    with system.store.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == "notice.remind")) == 0
    # Thomas, who leads Logistique, may.
    item = k2.send_remind(uid)
    expect(k2, ev.StateChanged, lambda e: e.msg == item and e.state == "accepted")
    _control(system, k1, atelier)


@pytest.fixture
def api_url(system: System) -> Iterator[str]:
    app = create_app(system.cfg, {"TESTING": True, "RATELIMIT_ENABLED": False})
    with served(app) as url:
        yield url


def test_my_notices_answer_no_one_else(system: System, api_url: str) -> None:
    k1, k2 = _links(system, 2)
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    item = k1.send_broadcast(team_id(system, "Atelier"), "Photo du rangement", image=jpeg())
    expect(k1, ev.StateChanged, lambda e: e.msg == item and e.state == "accepted")
    pw1 = system.demo.terminals["kiosk-1"]["password"]
    pw2 = system.demo.terminals["kiosk-2"]["password"]

    def get(path: str, auth: tuple[str, str] | None, sid: str | None) -> requests.Response:
        headers = {SESSION_HEADER: sid} if sid else {}
        return requests.get(api_url + API_PREFIX + path, auth=auth, headers=headers, timeout=10)

    ok = get("/my-notices", ("kiosk-1", pw1), k1.sid)
    assert ok.status_code == 200 and [n["uid"] for n in ok.json()["notices"]] == [item]
    assert get(f"/my-notices/{item}", ("kiosk-1", pw1), k1.sid).status_code == 200
    for path in ("/my-notices", f"/my-notices/{item}"):
        # kiosk-2's real password with Sophie's session (hosted on kiosk-1), none, a wrong one.
        for auth, sid in ((("kiosk-2", pw2), k1.sid), (None, k1.sid), (("kiosk-1", "nope"), k1.sid),
                          (("kiosk-1", pw1), None), (("kiosk-1", pw1), "' OR 1=1 --")):
            resp = get(path, auth, sid)
            assert resp.status_code == 401 and resp.json()["code"] == "unauthorised", (path, auth)
            assert item not in resp.text
    # Karim, badged in on kiosk-2, receives the notice but tracks nothing of it.
    assert get("/my-notices", ("kiosk-2", pw2), k2.sid).json() == {"notices": []}
    resp = get(f"/my-notices/{item}", ("kiosk-2", pw2), k2.sid)
    assert resp.status_code == 404 and "Photo du rangement" not in resp.text
    for junk in ("..%2F..%2Fnotices", "x" * 500, "%00"):
        assert get(f"/my-notices/{junk}", ("kiosk-1", pw1), k1.sid).status_code == 404


def test_a_safety_alerts_id_cannot_be_taken_for_a_broadcast(system: System) -> None:
    """A lead's terminal receives every safety alert of the site, with the alert's uid,
    under which its copies to the other supervisors wait. Replayed as the id of a broadcast
    (which ends in a day), that notice would have taken the copies still owed with it when
    it ended: refused, and the copies stay owed."""
    from hr_console.store.models import SafetyAlert

    k1, k2 = _links(system, 2)
    system.badge_in(k1, "Sophie Martin")  # a lead: she receives the alert
    system.badge_in(k2, "Karim Benali")
    k2.send_alert("fall", "Chute quai 2")
    got = expect(k1, ev.NoticeArrived, lambda e: "alert" in e.notice)
    uid = got.notice["notice"]
    others = (Downlink.ref == uid) & (Downlink.employee_id != system.employee("Sophie Martin"))
    with system.store.session() as s:
        assert s.scalar(select(SafetyAlert.id).where(SafetyAlert.uid == uid)) is not None
        owed = s.scalar(select(func.count()).select_from(Downlink).where(others))
    assert owed >= 1  # the other supervisors and the HR desk, not badged in
    k1.client.publish(topics.uplink("kiosk-1"), encode(envelope(
        "broadcast", id=uid, sid=k1.sid, team=team_id(system, "Atelier"), title="Détourné")),
        qos=1)
    err = expect(k1, ev.ErrorReceived, lambda e: e.ref == uid)
    assert err.code == "duplicate_id"
    with system.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Notice).where(Notice.uid == uid)) == 0
        assert s.scalar(select(func.count()).select_from(Downlink).where(others)) == owed


def test_a_leads_notices_from_terminals_are_bounded_per_hour(system: System) -> None:
    """A stolen terminal and a lead's badge cannot fill the team's notices (each current for a
    day, each up to 16 KB): past MAX_LEAD_NOTICES_PER_HOUR in an hour, from any terminal, the
    next is refused with its code and nothing is stored; a resend of one already taken is
    still answered; once the hour has passed the lead may post again."""
    raw = RawTerminal(system, "kiosk-2")
    try:
        login = envelope("login", badge=system.demo.badges["Thomas Petit"])
        sid = raw.ask(encode(login))["sid"]
        team = team_id(system, "Logistique")
        sent = [envelope("broadcast", sid=sid, team=team, title=f"Note {i}")
                for i in range(MAX_LEAD_NOTICES_PER_HOUR)]
        for env in sent:
            raw.client.publish(topics.uplink("kiosk-2"), encode(env), qos=1)
            time.sleep(0.06)  # under the terminal's 20 uplinks a second
        assert set(raw.answers({e["id"] for e in sent}, timeout=60).values()) == {"accepted"}
        before = stored(system)
        one_more = envelope("broadcast", sid=sid, team=team, title="Note de trop")
        assert _answer(raw, one_more) == "too_many_notices"
        assert stored(system) == before
        assert _answer(raw, sent[-1]) == "accepted"  # a resend whose answer was lost
        with system.store.session() as s:  # an hour and a minute later
            s.execute(update(Notice).values(created_at=Notice.created_at - dt.timedelta(minutes=61)))
        assert _answer(raw, one_more) == "accepted"
        assert stored(system) == (before[0] + 1, before[1] + 1)
    finally:
        raw.close()


def _answer(raw: RawTerminal, env: dict) -> str:
    """The state, or the error's code, the relay answers to ``env``."""
    raw.client.publish(topics.uplink(raw.name), encode(env), qos=1)
    return raw.answers({env["id"]}).get(env["id"], "no answer")
