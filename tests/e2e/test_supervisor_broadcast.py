"""A team lead's broadcast from a terminal, end to end (issue 16): terminal link -> real
Mosquitto -> relay -> the notice service -> the team's terminal links; acknowledgements come
back and show in the lead's tracking over the kiosk API (the console served for real) and on
the console's tracking page. A worker who leads nothing and a lead aiming at another team
are refused with a reason and nothing is stored; a resend stores once; the one-tap reminder
reaches those who have not acknowledged.

Runs on SQLite and, when RELAIS_TEST_PG_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from hr_console.services import notices
from hr_console.store.models import AuditEntry, Media, Notice, NoticeReceipt, Shift, Team
from hr_console.web import create_app
from kiosk_app.link import events as ev
from kiosk_app.link.api import KioskApi, KioskApiError
from kiosk_app.link.client import TerminalLink
from relais_wire import topics
from relais_wire.envelope import b64, encode, envelope
from tests.e2e.test_groups import _links
from tests.served import served
from tests.system_fixture import DEMO_PASSWORD, System, expect, expect_none


def jpeg(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (96, 64), colour).save(buf, "JPEG")
    return buf.getvalue()


def team_id(system: System, name: str) -> int:
    with system.store.session() as s:
        return s.execute(select(Team.id).where(Team.name == name)).scalar_one()


def add_shift(system: System, team: str, name: str) -> int:
    import datetime as dt

    with system.store.session() as s:
        row = Shift(name=name, team_id=team_id(system, team), start_time=dt.time(6),
                    end_time=dt.time(14))
        s.add(row)
        s.flush()
        return row.id


def stored(system: System) -> tuple[int, int]:
    """Notices and their ``notice.create`` audit entries."""
    with system.store.session() as s:
        return (s.scalar(select(func.count()).select_from(Notice)) or 0,
                s.scalar(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == "notice.create")) or 0)


def accepted(link: TerminalLink, item: str) -> ev.StateChanged:
    return expect(link, ev.StateChanged, lambda e: e.msg == item and e.state != "outbox")


def refused(link: TerminalLink, item: str) -> ev.ErrorReceived:
    return expect(link, ev.ErrorReceived, lambda e: e.ref == item)


def until(what: str, cond: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def api_url(system: System) -> Iterator[str]:
    """The console's kiosk API, served for real on the system's database."""
    app = create_app(system.cfg, {"TESTING": True, "RATELIMIT_ENABLED": False})
    with served(app) as url:
        yield url


def kiosk_api(system: System, url: str, terminal: str) -> KioskApi:
    return KioskApi(url, terminal, system.demo.terminals[terminal]["password"], timeout=10)


def test_lead_broadcast_reaches_the_team_and_tracks_acknowledgements(system: System,
                                                                      api_url: str) -> None:
    morning = add_shift(system, "Atelier", "Matin")
    k1, k2, k3, k4 = _links(system, 4)
    lead = system.badge_in(k1, "Sophie Martin")
    worker = system.badge_in(k2, "Karim Benali")
    system.badge_in(k3, "Julie Moreau", "4321")
    system.badge_in(k4, "Thomas Petit")
    atelier = team_id(system, "Atelier")
    # The sync tells the kiosk who leads what: Sophie her team and its shift, Karim nothing.
    assert lead.me["leads"] == [{"id": atelier, "name": "Atelier",
                                 "shifts": [{"id": morning, "name": "Matin"}]}]
    assert worker.me["leads"] == []

    photo = jpeg()
    item = k1.send_broadcast(atelier, "Réunion sécurité", "14 h, salle 2", image=photo, ack=True)
    state = accepted(k1, item)
    assert state.state == "accepted" and state.members == 2  # Karim and Julie, not Sophie
    got = [expect(k, ev.NoticeArrived, lambda e: e.notice.get("notice") == item).notice
           for k in (k2, k3)]
    for n in got:
        assert (n["title"], n["body"], n["ack_required"], n["urgent"], n["photo"]) == (
            "Réunion sécurité", "14 h, salle 2", True, False, True)
    expect_none(k4, ev.NoticeArrived, lambda e: e.notice.get("notice") == item, wait=1.0)
    expect_none(k1, ev.NoticeArrived, lambda e: e.notice.get("notice") == item, wait=0.5)

    sophie = system.employee("Sophie Martin")
    with system.store.session() as s:
        row = s.execute(select(Notice).where(Notice.uid == item)).scalar_one()
        assert (row.author_employee_id, row.created_by, row.target_kind, row.target_ref) == (
            sophie, None, "team", atelier)
        media = s.get(Media, row.media_id)
        assert media is not None and media.data[:3] == b"\xff\xd8\xff"  # normalised, kept
        [entry] = s.execute(select(AuditEntry)
                            .where(AuditEntry.action == "notice.create")).scalars()
        assert entry.actor == f"employee:{sophie}@kiosk-1"
        assert entry.detail["author_employee"] == sophie and entry.detail["photo"] is True

    # Karim acknowledges, Julie only opens it.
    k2.acknowledge(item)
    k3.mark_seen(item)
    api = kiosk_api(system, api_url, "kiosk-1")
    mine = until("both receipts in the lead's list", lambda: next(
        (n for n in api.my_notices(k1.sid) if n["uid"] == item
         and n["counts"]["acknowledged"] == 1 and n["counts"]["seen"] == 2), None))
    assert mine["mine"] is True and mine["target"]["name"] == "Atelier"
    assert mine["author"] == "Sophie Martin" and mine["counts"]["audience"] == 2
    detail = api.my_notice(k1.sid, item)
    states = {p["name"]: (p["state"], p["done"]) for p in detail["people"]}
    assert states == {"Karim Benali": ("acknowledged", True), "Julie Moreau": ("seen", False)}
    assert detail["people"][0]["name"] == "Julie Moreau"  # who is still to act comes first
    assert (detail["pending"], detail["done"], detail["may_remind"]) == (1, 1, True)

    # The console's tracking page says the same, and who wrote it.
    app = create_app(system.cfg, {"TESTING": True, "WTF_CSRF_ENABLED": False,
                                  "RATELIMIT_ENABLED": False})
    web = app.test_client()
    assert web.post("/auth/login", data={"username": "hr", "password": DEMO_PASSWORD}
                    ).status_code == 302
    page = web.get(f"/notices/{row.id}").get_data(as_text=True)
    assert "Sophie Martin" in page and 'data-count="acknowledged">1<' in page
    assert page.count('data-state="acknowledged"') == 1 and page.count('data-state="seen"') == 1
    app.extensions["relais_store"].dispose()

    # The outbox's resend of the same uplink: the same answer, nothing stored or sent twice.
    k1.client.publish(topics.uplink("kiosk-1"), encode(envelope(
        "broadcast", id=item, sid=k1.sid, team=atelier, title="Réunion sécurité",
        text="14 h, salle 2", image=b64(photo), ack=True)), qos=1).wait_for_publish(5)
    again = accepted(k1, item)
    assert (again.state, again.members) == ("accepted", 2)
    expect_none(k2, ev.NoticeArrived, lambda e: e.notice.get("notice") == item, wait=1.5)
    assert stored(system) == (1, 1)

    # One tap reminds Julie, who has not acknowledged; Karim, who has, is left alone.
    reminder = k1.send_remind(item)
    state = accepted(k1, reminder)
    assert (state.state, state.members) == ("accepted", 1)
    again_julie = expect(k3, ev.NoticeArrived, lambda e: e.notice.get("notice") == item
                         and e.notice.get("reminder") is True)
    assert again_julie.notice["title"] == "Réunion sécurité"
    expect_none(k2, ev.NoticeArrived, lambda e: e.notice.get("notice") == item, wait=1.0)
    with system.store.session() as s:
        [entry] = s.execute(select(AuditEntry)
                            .where(AuditEntry.action == "notice.remind")).scalars()
        assert entry.actor == f"employee:{sophie}@kiosk-1"
        assert entry.detail["employees"] == [system.employee("Julie Moreau")]
    # A second tap (or a resend whose answer was lost) within two minutes: refused, nobody
    # gets the notice full screen again.
    too_soon = refused(k1, k1.send_remind(item))
    assert too_soon.code == "too_soon"
    expect_none(k3, ev.NoticeArrived, lambda e: e.notice.get("notice") == item, wait=1.0)


def test_a_shift_of_ones_team_is_a_target_of_its_own(system: System) -> None:
    morning = add_shift(system, "Atelier", "Matin")
    k1, k2 = _links(system, 2)
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    item = k1.send_broadcast(team_id(system, "Atelier"), "Relève 6 h", shift=morning,
                             urgent=True, remind_every=30)
    assert accepted(k1, item).state == "accepted"
    got = expect(k2, ev.NoticeArrived, lambda e: e.notice.get("notice") == item).notice
    assert got["urgent"] is True and got["ack_required"] is True  # urgent implies it
    with system.store.session() as s:
        row = s.execute(select(Notice).where(Notice.uid == item)).scalar_one()
        assert (row.target_kind, row.target_ref, row.remind_every_min) == ("shift", morning, 30)


def test_a_worker_and_a_lead_aiming_elsewhere_are_refused_and_nothing_is_stored(
        system: System) -> None:
    logistics_shift = add_shift(system, "Logistique", "Nuit")
    k1, k2, k3 = _links(system, 3)
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    system.badge_in(k3, "Thomas Petit")
    atelier, logistique = team_id(system, "Atelier"), team_id(system, "Logistique")

    err = refused(k2, k2.send_broadcast(atelier, "Pot de départ"))
    assert err.code == "not_a_lead" and "lead" in err.message
    err = refused(k1, k1.send_broadcast(logistique, "Rangez le quai"))
    assert err.code == "out_of_scope" and "teams you lead" in err.message
    err = refused(k1, k1.send_broadcast(atelier, "Rangez le quai", shift=logistics_shift))
    assert err.code == "out_of_scope"
    err = refused(k1, k1.send_broadcast(atelier, " \n "))  # the notice service's own check
    assert err.code in ("empty", "bad_text")
    expect_none(k3, ev.NoticeArrived, wait=1.0)
    assert stored(system) == (0, 0)

    # Positive control: the same lead to her own team goes through at once.
    ok = k1.send_broadcast(atelier, "Rangez l'atelier")
    assert accepted(k1, ok).state == "accepted"
    expect(k2, ev.NoticeArrived, lambda e: e.notice.get("notice") == ok)
    assert stored(system) == (1, 1)

    # Reminders: the worker and the other team's lead may not; the lead of the team may
    # remind HR's notice to it too.
    for link in (k2, k3):
        assert refused(link, link.send_remind(ok)).code == "not_found"
    with system.store.session() as s:
        hr = notices.create(s, title="Visite médicale", body="", target_kind="team",
                            target_ref=atelier, ack_required=True, actor="hr")
        hr_uid = hr.uid
    expect(k2, ev.NoticeArrived, lambda e: e.notice.get("notice") == hr_uid)
    done = k1.send_remind(hr_uid)
    state = accepted(k1, done)
    assert (state.state, state.members) == ("accepted", 3)  # HR's reaches Sophie too
    with system.store.session() as s:
        receipts = s.scalar(select(func.count()).select_from(NoticeReceipt)) or 0
    assert receipts == 5  # 2 + 3 people: a reminder adds no receipt


def test_the_kiosk_api_shows_a_lead_only_their_teams_notices(system: System, api_url: str
                                                             ) -> None:
    k1, k2 = _links(system, 2)
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Thomas Petit")
    atelier = team_id(system, "Atelier")
    mine = k1.send_broadcast(atelier, "Atelier fermé vendredi")
    theirs = k2.send_broadcast(team_id(system, "Logistique"), "Inventaire samedi")
    assert accepted(k1, mine).state == accepted(k2, theirs).state == "accepted"
    sophie, thomas = kiosk_api(system, api_url, "kiosk-1"), kiosk_api(system, api_url, "kiosk-2")
    assert [n["uid"] for n in sophie.my_notices(k1.sid)] == [mine]
    assert [n["uid"] for n in thomas.my_notices(k2.sid)] == [theirs]
    with pytest.raises(KioskApiError) as err:
        sophie.my_notice(k1.sid, theirs)
    assert (err.value.status, err.value.code) == (404, "not_found")
    # A worker badged in on the same terminal gets nothing, though the notice is to him.
    system.badge_in(k1, "Karim Benali")
    assert sophie.my_notices(k1.sid) == []
    with pytest.raises(KioskApiError) as err:
        sophie.my_notice(k1.sid, mine)
    assert err.value.status == 404


def test_an_urgent_broadcast_repeats_as_the_consoles_does(system: System) -> None:
    """The terminal's form asks no interval: an urgent notice is reminded every few minutes
    (domain.reminders.default_every), an ordinary one only at badge-in."""
    from hr_console.domain.reminders import URGENT_EVERY_MIN
    from hr_console.services.floor_notices import BROADCAST_VALID

    (k1,) = _links(system, 1)
    system.badge_in(k1, "Sophie Martin")
    urgent = k1.send_broadcast(team_id(system, "Atelier"), "Fuite d'huile", urgent=True)
    plain = k1.send_broadcast(team_id(system, "Atelier"), "Pot de départ", ack=True)
    assert accepted(k1, urgent).state == "accepted" and accepted(k1, plain).state == "accepted"
    with system.store.session() as s:
        every = {n.uid: n.remind_every_min for n in s.execute(
            select(Notice).where(Notice.uid.in_([urgent, plain]))).scalars()}
    assert every == {urgent: URGENT_EVERY_MIN, plain: None}
    # Shown for a day: what a lead sends from the floor does not remind for ever.
    with system.store.session() as s:
        for n in s.execute(select(Notice).where(Notice.uid.in_([urgent, plain]))).scalars():
            assert n.valid_until is not None
            assert abs((n.valid_until - n.created_at) - BROADCAST_VALID).total_seconds() < 60
