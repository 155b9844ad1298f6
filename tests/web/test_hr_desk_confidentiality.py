"""Issue 12, item 2, attacked as a supervisor would, with ``requests`` against the console
served by waitress: with ``supervisors_moderate_own_teams`` on, Sophie (the demo supervisor,
who leads Atelier) tries to read and decide her team's messages to the HR desk and to
herself (a complaint about her), text, photo and drawing, and to withdraw or remind a
notice HR wrote for her team. She must get nothing: not in the queue page, not in its JSON,
not in the recent or history tabs, not counted, 403/404 on every media view and action,
and nothing changed. HR sees the same messages and decides them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from hr_console.services import notices as notices_svc
from hr_console.services import settings
from hr_console.store.models import (
    AuditEntry,
    ConsoleUser,
    Downlink,
    ModerationDecision,
    Notice,
    Team,
)
from hr_console.web import create_app
from tests.served import served
from tests.web import console_data as cd
from tests.web_fixture import PASSWORD, Console, make_console

HR_DESK = "Claire Dubois (RH)"
SUPERVISOR = "Sophie Martin"  # the employee the demo "supervisor" login is
KARIM = "Karim Benali"  # in Atelier, which Sophie supervises


@dataclass
class Scene:
    console: Console
    url: str
    hidden: dict[str, int] = field(default_factory=dict)  # what the supervisor must not get
    visible: int = 0  # a held message between two team members: hers to moderate
    markers: tuple[str, ...] = ()


def _seed(console: Console) -> Scene:
    with console.session() as s:
        settings.put(s, "supervisors_moderate_own_teams", True)
    scene = Scene(console, "")
    for key, to in (("desk", HR_DESK), ("self", SUPERVISOR)):
        text = cd.send(console, KARIM, to, f"PLAINTE-{key.upper()} ma cheffe me harcèle")
        photo = cd.send(console, KARIM, to, f"PREUVE-{key.upper()}", kind="photo")
        drawing = cd.send(console, KARIM, to, kind="drawing")
        for msg in (text, photo, drawing):
            assert msg.state == "held"
        scene.hidden.update({f"{key}_text": text.id, f"{key}_photo": photo.id,
                             f"{key}_drawing": drawing.id})
    # Delivered without waiting (post-moderation): what "retract" would act on.
    cd.set_mode(console, KARIM, "post")
    for key, to in (("desk", HR_DESK), ("self", SUPERVISOR)):
        sent = cd.send(console, KARIM, to, f"ENVOYE-{key.upper()}")
        assert sent.state == "accepted"
        scene.hidden[f"{key}_sent"] = sent.id
    cd.set_mode(console, KARIM, None)
    scene.visible = cd.send(console, KARIM, "Julie Moreau", "ENTRE-COLLEGUES").id
    scene.markers = ("PLAINTE-", "PREUVE-", "ENVOYE-", "RAISON-RH", "harcèle", "harc&egrave;le")
    return scene


@pytest.fixture
def scene(tmp_path: Path, db_url: str) -> Iterator[Scene]:
    console = make_console(tmp_path, db_url)
    seeded = _seed(console)
    try:
        with served(create_app(console.cfg)) as url:
            seeded.url = url
            yield seeded
    finally:
        console.app.extensions["relais_store"].dispose()


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def _sign_in(url: str, username: str) -> tuple[requests.Session, str]:
    """A browser-like session signed in through the form; returns it and a CSRF token."""
    web = requests.Session()
    token = _token(web.get(f"{url}/auth/login", timeout=30).text)
    resp = web.post(f"{url}/auth/login", timeout=30, allow_redirects=False,
                    data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302 and "/auth/login" not in resp.headers["Location"]
    return web, _token(web.get(f"{url}/notices/", timeout=30).text)


def _states(console: Console, ids: list[int]) -> dict[int, str]:
    return {i: cd.message(console, i).state for i in ids}


def _decisions(console: Console) -> int:
    with console.session() as s:
        return s.scalar(select(func.count()).select_from(ModerationDecision)) or 0


def test_supervisor_gets_nothing_of_messages_to_the_hr_desk_or_to_herself(scene: Scene) -> None:
    url, hidden = scene.url, scene.hidden
    ids = list(hidden.values())
    before = _states(scene.console, ids)
    sup, token = _sign_in(url, "supervisor")

    # Lists: the queue, the recent deliveries, the decisions; none shows them.
    pages = {path: sup.get(f"{url}{path}", timeout=30) for path in (
        "/moderation/", "/moderation/recent", "/moderation/recent?show=all",
        "/moderation/history")}
    for path, resp in pages.items():
        assert resp.status_code == 200, path
        for marker in scene.markers:
            assert marker not in resp.text, (path, marker)
        for i in ids:
            assert f"/moderation/messages/{i}/" not in resp.text, (path, i)
    assert "ENTRE-COLLEGUES" in pages["/moderation/"].text  # her team's own traffic is hers
    assert "sauf ceux échangés" in pages["/moderation/"].text  # and she is told why
    held = re.search(r'id="held-count">\s*(\d+)<', pages["/moderation/"].text)
    assert held and held.group(1) == "1", "the queue counts messages she may not see"

    # The live endpoint: not listed, not counted, not reported as still held.
    live = sup.get(f"{url}/moderation/queue.json", timeout=30,
                   params={"since": 0, "ids": ",".join(map(str, ids))},
                   headers={"X-Relais-Poll": "1"}).json()
    assert [item["id"] for item in live["items"]] == [scene.visible]
    assert live["count"] == 1
    assert sorted(live["gone"]) == sorted(ids)
    assert not any(m in str(live) for m in scene.markers)

    # The pictures, by guessing their ids.
    for key in ("desk_photo", "self_photo", "desk_drawing", "self_drawing"):
        for view in ("photo", "drawing.svg"):
            resp = sup.get(f"{url}/moderation/messages/{hidden[key]}/{view}", timeout=30)
            assert resp.status_code in (403, 404), (key, view, resp.status_code)
            assert not resp.headers.get("Content-Type", "").startswith("image/"), (key, view)

    # Every action, one by one and in bulk.
    for i in ids:
        for action, reason in (("approve", ""), ("reject", "RAISON-RH inventée"),
                               ("retract", "RAISON-RH"), ("review", "")):
            resp = sup.post(f"{url}/moderation/messages/{i}/{action}", timeout=30,
                            allow_redirects=False, data={"csrf_token": token, "reason": reason})
            assert resp.status_code in (403, 404), (i, action, resp.status_code)
    for action in ("approve", "reject", "retract", "review"):
        sup.post(f"{url}/moderation/bulk", timeout=30, allow_redirects=False,
                 data={"csrf_token": token, "action": action, "reason": "RAISON-RH",
                       "ids": [str(i) for i in ids]})
    assert _states(scene.console, ids) == before, "the supervisor changed a message"
    assert _decisions(scene.console) == 0

    # HR sees every one of them and decides them.
    hr, hr_token = _sign_in(url, "hr")
    page = hr.get(f"{url}/moderation/", timeout=30).text
    assert "PLAINTE-DESK" in page and "PLAINTE-SELF" in page
    live = hr.get(f"{url}/moderation/queue.json", params={"since": 0}, timeout=30).json()
    assert {hidden[k] for k in hidden if not k.endswith("_sent")} <= {i["id"] for i in live["items"]}
    assert live["count"] == 7
    for key in ("desk_photo", "self_photo"):
        resp = hr.get(f"{url}/moderation/messages/{hidden[key]}/photo", timeout=30)
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/jpeg"
    for key in ("desk_drawing", "self_drawing"):
        resp = hr.get(f"{url}/moderation/messages/{hidden[key]}/drawing.svg", timeout=30)
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("image/svg+xml")
    decide = {"desk_text": ("approve", ""), "self_text": ("reject", "RAISON-RH hors sujet"),
              "desk_sent": ("retract", "RAISON-RH"), "self_sent": ("review", "")}
    for key, (action, reason) in decide.items():
        resp = hr.post(f"{url}/moderation/messages/{hidden[key]}/{action}", timeout=30,
                       allow_redirects=False, data={"csrf_token": hr_token, "reason": reason})
        assert resp.status_code == 302, (key, action)
    after = _states(scene.console, [hidden[k] for k in decide])
    assert after == {hidden["desk_text"]: "approved", hidden["self_text"]: "rejected",
                     hidden["desk_sent"]: "retracted", hidden["self_sent"]: "accepted"}

    # HR's decisions stay with HR: the supervisor's history does not list them.
    history = sup.get(f"{url}/moderation/history", timeout=30).text
    for marker in scene.markers:
        assert marker not in history, marker
    for i in ids:
        assert f"#{i}<" not in history and f"#{i} " not in history


def _notice(console: Console, author: str, title: str) -> int:
    with console.session() as s:
        atelier = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        user = s.execute(select(ConsoleUser).where(ConsoleUser.username == author)).scalar_one()
        return notices_svc.create(s, title=title, body="", target_kind="team", target_ref=atelier,
                                  ack_required=True, actor=author, user_id=user.id).id


def _notice_trace(console: Console, notice_id: int) -> tuple[Any, ...]:
    with console.session() as s:
        n = s.get(Notice, notice_id)
        downlinks = s.scalar(select(func.count()).select_from(Downlink)
                             .where(Downlink.ref == n.uid))
        audited = s.scalar(select(func.count()).select_from(AuditEntry)
                           .where(AuditEntry.target == f"notice:{notice_id}"))
        return n.valid_until, n.published_at, downlinks, audited


def test_supervisor_cannot_withdraw_or_remind_a_notice_hr_wrote(scene: Scene) -> None:
    hr_notice = _notice(scene.console, "hr", "Consigne RH")
    own = _notice(scene.console, "supervisor", "Consigne de Sophie")
    before = _notice_trace(scene.console, hr_notice)
    sup, token = _sign_in(scene.url, "supervisor")

    # Tracking of her team's notices stays hers to see, without the buttons she may not use.
    page = sup.get(f"{scene.url}/notices/{hr_notice}", timeout=30)
    assert page.status_code == 200
    assert f"/notices/{hr_notice}/withdraw" not in page.text
    assert f"/notices/{hr_notice}/remind" not in page.text
    for action in ("remind", "withdraw", "remind"):
        resp = sup.post(f"{scene.url}/notices/{hr_notice}/{action}", timeout=30,
                        allow_redirects=False, data={"csrf_token": token})
        assert resp.status_code == 403, (action, resp.status_code)
    assert _notice_trace(scene.console, hr_notice) == before, "the HR notice changed"

    # Her own notice: she reminds and withdraws it.
    assert f"/notices/{own}/withdraw" in sup.get(f"{scene.url}/notices/{own}", timeout=30).text
    for action in ("remind", "withdraw"):
        resp = sup.post(f"{scene.url}/notices/{own}/{action}", timeout=30,
                        allow_redirects=False, data={"csrf_token": token})
        assert resp.status_code == 302, action
    assert _notice_trace(scene.console, own)[0] is not None

    # HR still acts on its own notice.
    hr, hr_token = _sign_in(scene.url, "hr")
    resp = hr.post(f"{scene.url}/notices/{hr_notice}/withdraw", timeout=30,
                   allow_redirects=False, data={"csrf_token": hr_token})
    assert resp.status_code == 302
    assert _notice_trace(scene.console, hr_notice)[0] is not None
