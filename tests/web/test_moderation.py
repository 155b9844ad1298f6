"""The moderation area: the queue, recent deliveries and review, decisions, live JSON,
media routes; every route for every role, CSRF, escaping, supervisor scoping, stale
actions, and the effects of each decision in the database and in the queued downlinks."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from hr_console.services import settings
from hr_console.store.models import AuditEntry, ModerationDecision
from kiosk_app.link import events as ev
from tests.system_fixture import expect
from tests.web import console_data as cd
from tests.web_fixture import PASSWORD, ROLES, make_console

GET_ROUTES = ["/moderation/", "/moderation/recent", "/moderation/recent?show=all",
              "/moderation/history", "/moderation/queue.json?since=0"]
MODERATORS = {"admin", "hr"}


def _enable_supervisors(console, on: bool = True) -> None:  # noqa: ANN001
    with console.session() as s:
        settings.put(s, "supervisors_moderate_own_teams", on)


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(console, role) -> None:  # noqa: ANN001
    held = cd.send(console, "Karim Benali", "Sophie Martin", "Photo", kind="photo")
    drawing = cd.send(console, "Karim Benali", "Sophie Martin", kind="drawing")
    c = console.client(role)
    media = [f"/moderation/messages/{held.id}/photo", f"/moderation/messages/{drawing.id}/drawing.svg"]
    for url in GET_ROUTES + media:
        resp = c.get(url)
        assert resp.status_code == (200 if role in MODERATORS else 403), (role, url)
    posts = [f"/moderation/messages/{held.id}/approve", f"/moderation/messages/{held.id}/reject",
             f"/moderation/messages/{held.id}/retract", f"/moderation/messages/{held.id}/review",
             "/moderation/bulk"]
    if role not in MODERATORS:
        for url in posts:
            assert c.post(url, data={"reason": "x", "ids": [held.id], "action": "approve"}
                          ).status_code == 403, (role, url)
        assert cd.message(console, held.id).state == "held"


def test_anonymous_is_sent_to_sign_in(console) -> None:  # noqa: ANN001
    msg = cd.send(console, "Karim Benali", "Sophie Martin")
    c = console.client()
    for url in GET_ROUTES + [f"/moderation/messages/{msg.id}/photo"]:
        resp = c.get(url)
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"], url
    resp = c.post(f"/moderation/messages/{msg.id}/approve")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert cd.message(console, msg.id).state == "held"


def test_supervisor_allowed_only_with_setting(console) -> None:  # noqa: ANN001
    c = console.client("supervisor")
    assert c.get("/moderation/").status_code == 403
    _enable_supervisors(console)
    for url in GET_ROUTES:
        assert c.get(url).status_code == 200, url


def test_queue_lists_held_oldest_first_with_content(console) -> None:  # noqa: ANN001
    first = cd.send(console, "Karim Benali", "Sophie Martin", "Premier message")
    second = cd.send(console, "Julie Moreau", "Sophie Martin", "Deuxième message")
    photo = cd.send(console, "Karim Benali", "Sophie Martin", "Regarde", kind="photo")
    drawing = cd.send(console, "Karim Benali", "Sophie Martin", kind="drawing")
    accepted = cd.send(console, "Sophie Martin", "Karim Benali", "Pas modéré")
    assert accepted.state == "accepted"
    page = console.client("hr").get("/moderation/").get_data(as_text=True)
    assert page.index("Premier message") < page.index("Deuxième message")
    assert "Pas modéré" not in page
    assert "Karim Benali" in page and "Atelier" in page
    assert f"/moderation/messages/{photo.id}/photo" in page
    assert f"/moderation/messages/{drawing.id}/drawing.svg" in page
    assert f'data-id="{first.id}"' in page and f'data-id="{second.id}"' in page
    assert "moderation.js" in page


def test_photo_is_streamed_as_jpeg_with_nosniff(console) -> None:  # noqa: ANN001
    msg = cd.send(console, "Karim Benali", "Sophie Martin", "Fuite", kind="photo")
    resp = console.client("hr").get(f"/moderation/messages/{msg.id}/photo")
    assert resp.status_code == 200
    assert resp.mimetype == "image/jpeg"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.data[:3] == b"\xff\xd8\xff"
    text = cd.send(console, "Karim Benali", "Sophie Martin", "pas de photo")
    assert console.client("hr").get(f"/moderation/messages/{text.id}/photo").status_code == 404
    assert console.client("hr").get("/moderation/messages/999999/photo").status_code == 404


def test_voice_is_streamed_as_ogg_for_the_player_and_only_to_moderators(console) -> None:  # noqa: ANN001
    msg = cd.send(console, "Karim Benali", "Sophie Martin", kind="voice")
    assert cd.message(console, msg.id).state == "held"  # voice always held, by default
    url = f"/moderation/messages/{msg.id}/voice.ogg"
    resp = console.client("hr").get(url)
    assert resp.status_code == 200 and resp.mimetype == "audio/ogg"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.data[:4] == b"OggS"
    page = console.client("hr").get("/moderation/").get_data(as_text=True)
    assert f'src="{url}"' in page and "0:02" in page  # 1.5 s, as the player reads it
    for role in ("supervisor", "auditor"):
        assert console.client(role).get(url).status_code == 403, role
    # Each route serves its own kind only.
    assert console.client("hr").get(f"/moderation/messages/{msg.id}/photo").status_code == 404
    photo = cd.send(console, "Karim Benali", "Sophie Martin", "Fuite", kind="photo")
    assert console.client("hr").get(
        f"/moderation/messages/{photo.id}/voice.ogg").status_code == 404


def test_drawing_is_rendered_as_svg(console) -> None:  # noqa: ANN001
    msg = cd.send(console, "Karim Benali", "Sophie Martin", kind="drawing")
    resp = console.client("hr").get(f"/moderation/messages/{msg.id}/drawing.svg")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
    body = resp.get_data(as_text=True)
    assert 'viewBox="0 0 200 100"' in body
    assert 'stroke="#d62728"' in body and 'stroke-width="6"' in body
    assert 'points="10,10 100,50 190,90"' in body
    assert "<circle" in body  # the one-point stroke is a dot
    assert "<script" not in body


def test_drawing_svg_survives_a_hostile_row(console) -> None:  # noqa: ANN001
    from hr_console.store.models import Message
    from hr_console.web.moderation import drawing_svg

    msg = cd.send(console, "Karim Benali", "Sophie Martin", kind="drawing")
    with console.session() as s:
        s.get(Message, msg.id).drawing = {"w": 10, "h": 10, "strokes": [
            {"c": '"/><script>alert(1)</script>', "w": 3, "p": [1, 1, 2, 2]}]}
    body = console.client("hr").get(f"/moderation/messages/{msg.id}/drawing.svg").get_data(as_text=True)
    assert "<script" not in body and body == drawing_svg.EMPTY


def test_text_names_and_reasons_are_escaped(console) -> None:  # noqa: ANN001
    from hr_console.store.models import Employee

    with console.session() as s:
        s.get(Employee, console.demo.employees["Karim Benali"]).name = "<script>alert('n')</script>"
    held = cd.send(console, "Karim Benali", "Sophie Martin", "<script>alert(1)</script> <b>grève</b>")
    c = console.client("hr")
    page = c.get("/moderation/").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<mark>grève</mark>" in page  # the keyword is marked after escaping
    data = c.get("/moderation/queue.json?since=0").get_json()
    item = next(i for i in data["items"] if i["id"] == held.id)
    assert ["grève", True] in item["segments"]
    c.post(f"/moderation/messages/{held.id}/reject", data={"reason": "<img src=x onerror=alert(2)>"})
    history = c.get("/moderation/history").get_data(as_text=True)
    assert "<img src=x" not in history and "&lt;img src=x onerror=alert(2)&gt;" in history
    assert "<script>alert" not in history


def test_keyword_highlight_is_accent_and_case_blind() -> None:
    from hr_console.services.moderation_queue import highlight

    assert highlight("Une GREVE demain, grèves non", ["grève"]) == [
        ("Une ", False), ("GREVE", True), (" demain, grèves non", False)]
    assert highlight("<b>syndicat</b>", ["syndicat"]) == [("<b>", False), ("syndicat", True),
                                                          ("</b>", False)]
    assert highlight("rien", []) == [("rien", False)]


def test_approve_delivers_through_messaging(console) -> None:  # noqa: ANN001
    msg = cd.send(console, "Karim Benali", "Sophie Martin", "Je peux partir plus tôt ?")
    resp = console.client("hr").post(f"/moderation/messages/{msg.id}/approve", follow_redirects=True)
    assert resp.status_code == 200
    assert cd.message(console, msg.id).state == "approved"
    deliveries = cd.downlinks(console, "Sophie Martin", "text")
    assert [d["msg"] for d in deliveries] == [msg.client_id]
    assert deliveries[0]["text"] == "Je peux partir plus tôt ?"
    states = cd.downlinks(console, "Karim Benali", "state")
    assert states[-1]["msg"] == msg.client_id and states[-1]["state"] == "approved"
    with console.session() as s:
        decision = s.execute(select(ModerationDecision)).scalar_one()
        assert decision.decision == "approve" and decision.message_id == msg.id
        actions = [(e.actor, e.action) for e in s.execute(select(AuditEntry)).scalars()]
    assert ("hr", "message.approve") in actions


def test_reject_requires_a_reason_and_tells_the_sender(console) -> None:  # noqa: ANN001
    msg = cd.send(console, "Karim Benali", "Sophie Martin", "Message à refuser")
    c = console.client("hr")
    resp = c.post(f"/moderation/messages/{msg.id}/reject", data={"reason": "   "}, follow_redirects=True)
    assert cd.message(console, msg.id).state == "held"
    assert "raison" in resp.get_data(as_text=True).lower() or "reason" in resp.get_data(as_text=True)
    resp = c.post(f"/moderation/messages/{msg.id}/reject", data={"reason": "bad\u202echar"},
                  follow_redirects=True)
    assert cd.message(console, msg.id).state == "held"
    c.post(f"/moderation/messages/{msg.id}/reject", data={"reason": "Ton inapproprié"})
    row = cd.message(console, msg.id)
    assert row.state == "rejected" and row.reason == "Ton inapproprié"
    state = cd.downlinks(console, "Karim Benali", "state")[-1]
    assert state["state"] == "rejected" and state["reason"] == "Ton inapproprié"
    assert cd.downlinks(console, "Sophie Martin", "text") == []


def test_stale_action_changes_nothing(console) -> None:  # noqa: ANN001
    msg = cd.send(console, "Karim Benali", "Sophie Martin", "Deux RH en même temps")
    c1, c2 = console.client("hr"), console.client("admin")
    c1.post(f"/moderation/messages/{msg.id}/approve")
    resp = c2.post(f"/moderation/messages/{msg.id}/reject", data={"reason": "trop tard"},
                   follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert f"n°{msg.id} était déjà approuvé" in page or f"#{msg.id} was already approved" in page
    row = cd.message(console, msg.id)
    assert row.state == "approved" and row.reason is None
    with console.session() as s:
        assert len(s.execute(select(ModerationDecision)).scalars().all()) == 1
    assert len(cd.downlinks(console, "Sophie Martin", "text")) == 1


def test_bulk_approve_and_reject(console) -> None:  # noqa: ANN001
    ids = [cd.send(console, "Karim Benali", "Sophie Martin", f"Message {i}").id for i in range(4)]
    c = console.client("hr")
    c.post("/moderation/bulk", data={"action": "approve", "ids": ids[:2], "back": "queue"})
    assert [cd.message(console, i).state for i in ids] == ["approved", "approved", "held", "held"]
    resp = c.post("/moderation/bulk", data={"action": "reject", "ids": ids[2:], "reason": ""},
                  follow_redirects=True)
    assert [cd.message(console, i).state for i in ids[2:]] == ["held", "held"]  # no reason
    c.post("/moderation/bulk", data={"action": "reject", "ids": ids, "reason": "Hors sujet"})
    assert [cd.message(console, i).state for i in ids] == ["approved", "approved", "rejected", "rejected"]
    assert resp.status_code == 200
    assert len(cd.downlinks(console, "Sophie Martin", "text")) == 2


def test_retract_and_review_from_recent_tab(console) -> None:  # noqa: ANN001
    cd.set_mode(console, "Julie Moreau", "post")
    posted = cd.send(console, "Julie Moreau", "Sophie Martin", "Post-modéré")
    assert posted.state == "accepted" and posted.moderation == "post" and not posted.reviewed
    other = cd.send(console, "Julie Moreau", "Sophie Martin", "À retirer")
    c = console.client("hr")
    review = c.get("/moderation/recent").get_data(as_text=True)
    assert "Post-modéré" in review and "À retirer" in review
    c.post(f"/moderation/messages/{posted.id}/review")
    assert cd.message(console, posted.id).reviewed
    assert "Post-modéré" not in c.get("/moderation/recent").get_data(as_text=True)
    assert "Post-modéré" in c.get("/moderation/recent?show=all").get_data(as_text=True)
    resp = c.post(f"/moderation/messages/{posted.id}/review", follow_redirects=True)
    assert resp.status_code == 200 and cd.message(console, posted.id).reviewed  # stale, unchanged

    c.post(f"/moderation/messages/{other.id}/retract", data={"reason": "Erreur de destinataire"})
    row = cd.message(console, other.id)
    assert row.state == "retracted" and row.reason == "Erreur de destinataire"
    retracts = cd.downlinks(console, "Sophie Martin", "retract")
    assert [r["msg"] for r in retracts] == [other.client_id]
    # The undelivered copy was withdrawn: only the first message is still owed to Sophie.
    assert [d["msg"] for d in cd.downlinks(console, "Sophie Martin", "text")] == [posted.client_id]
    assert cd.downlinks(console, "Julie Moreau", "state")[-1]["state"] == "retracted"
    # Retracting a held message is refused and changes nothing.
    held = cd.send(console, "Karim Benali", "Sophie Martin", "Encore en attente")
    c.post(f"/moderation/messages/{held.id}/retract", data={"reason": "x"})
    assert cd.message(console, held.id).state == "held"
    history = c.get("/moderation/history").get_data(as_text=True)
    assert "Erreur de destinataire" in history


def test_supervisor_scope_in_lists_and_actions(console) -> None:  # noqa: ANN001
    _enable_supervisors(console)
    mine = cd.send(console, "Karim Benali", "Julie Moreau", "Atelier: pour ma collègue")
    theirs = cd.send(console, "Lucas Bernard", "Thomas Petit", "Logistique: pas pour Sophie")
    assert theirs.state == "held"
    c = console.client("supervisor")  # Sophie supervises Atelier only
    page = c.get("/moderation/").get_data(as_text=True)
    assert "pour ma collègue" in page and "pas pour Sophie" not in page
    data = c.get(f"/moderation/queue.json?since=0&ids={theirs.id}").get_json()
    assert [i["id"] for i in data["items"]] == [mine.id] and data["count"] == 1
    assert data["gone"] == [theirs.id]
    assert c.get(f"/moderation/messages/{theirs.id}/photo").status_code == 403
    assert c.post(f"/moderation/messages/{theirs.id}/approve").status_code == 403
    assert c.post(f"/moderation/messages/{theirs.id}/reject", data={"reason": "non"}).status_code == 403
    c.post("/moderation/bulk", data={"action": "approve", "ids": [mine.id, theirs.id]})
    assert cd.message(console, theirs.id).state == "held"
    assert cd.message(console, mine.id).state == "approved"
    with console.session() as s:
        decision = s.execute(select(ModerationDecision)).scalar_one()
    assert decision.message_id == mine.id
    assert str(theirs.id) not in c.get("/moderation/history").get_data(as_text=True).split("#")[-1]
    _enable_supervisors(console, False)  # switched off: no more access at all
    assert c.get("/moderation/").status_code == 403
    assert c.post(f"/moderation/messages/{mine.id}/retract", data={"reason": ""}).status_code == 403


def test_live_json_reports_new_and_gone(console) -> None:  # noqa: ANN001
    a = cd.send(console, "Karim Benali", "Sophie Martin", "A")
    c = console.client("hr")
    data = c.get("/moderation/queue.json?since=0", headers={"X-Relais-Poll": "1"}).get_json()
    assert [i["id"] for i in data["items"]] == [a.id] and data["latest"] == a.id
    b = cd.send(console, "Karim Benali", "Sophie Martin", "B <i>x</i>")
    c.post(f"/moderation/messages/{a.id}/approve")
    data = c.get(f"/moderation/queue.json?since={a.id}&ids={a.id}").get_json()
    assert [i["id"] for i in data["items"]] == [b.id]
    assert data["gone"] == [a.id] and data["count"] == 1
    assert data["items"][0]["segments"] == [["B <i>x</i>", False]]  # plain text, the JS uses textContent
    assert c.get("/moderation/queue.json?since=abc").status_code == 400


def test_polling_does_not_keep_the_session_alive(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    with c.session_transaction() as sess:
        before = sess["last_seen"] = time.time() - 60
    c.get("/moderation/queue.json?since=0", headers={"X-Relais-Poll": "1"})
    with c.session_transaction() as sess:
        assert sess["last_seen"] == before


def test_csrf_is_required_on_every_post(tmp_path, db_url) -> None:  # noqa: ANN001
    strict = make_console(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    try:
        msg = cd.send(strict, "Karim Benali", "Sophie Martin", "CSRF")
        c = strict.app.test_client()
        page = c.get("/auth/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        assert c.post("/auth/login", data={"username": "hr", "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
        for url, data in [(f"/moderation/messages/{msg.id}/approve", {}),
                          (f"/moderation/messages/{msg.id}/reject", {"reason": "x"}),
                          (f"/moderation/messages/{msg.id}/retract", {"reason": "x"}),
                          (f"/moderation/messages/{msg.id}/review", {}),
                          ("/moderation/bulk", {"action": "approve", "ids": [msg.id]})]:
            assert c.post(url, data=data).status_code == 400, url
        assert cd.message(strict, msg.id).state == "held"
        # With the page's token the same request works.
        page = c.get("/moderation/").get_data(as_text=True)
        token = page.split('name="csrf-token" content="')[1].split('"')[0]
        c.post(f"/moderation/messages/{msg.id}/approve", data={"csrf_token": token})
        assert cd.message(strict, msg.id).state == "approved"
    finally:
        strict.app.extensions["relais_store"].dispose()


def test_console_approval_reaches_kiosk_through_the_relay(system) -> None:  # noqa: ANN001
    from hr_console.web import create_app

    app = create_app(system.cfg, {"TESTING": True, "WTF_CSRF_ENABLED": False,
                                  "RATELIMIT_ENABLED": False})
    c = app.test_client()
    assert c.post("/auth/login", data={"username": "hr", "password": PASSWORD}).status_code == 302
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Karim Benali")
    system.badge_in(k2, "Sophie Martin")
    sophie = system.employee("Sophie Martin")
    good = k1.send_text(sophie, "Je peux partir plus tôt ?")
    bad = k1.send_text(sophie, "Message à refuser")
    expect(k1, ev.StateChanged, lambda e: e.msg == good and e.state == "held")
    expect(k1, ev.StateChanged, lambda e: e.msg == bad and e.state == "held")
    queue = c.get("/moderation/queue.json?since=0").get_json()["items"]
    ids = {i["segments"][0][0]: i["id"] for i in queue}
    assert c.post(f"/moderation/messages/{ids['Je peux partir plus tôt ?']}/approve").status_code == 302
    assert c.post(f"/moderation/messages/{ids['Message à refuser']}/reject",
                  data={"reason": "Pas sur ce canal"}).status_code == 302
    arrived = expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == good)
    assert arrived.message["text"] == "Je peux partir plus tôt ?"
    rejected = expect(k1, ev.StateChanged, lambda e: e.msg == bad and e.state == "rejected")
    assert rejected.reason == "Pas sur ce canal"
    expect(k1, ev.StateChanged, lambda e: e.msg == good and e.state == "delivered")
    app.extensions["relais_store"].dispose()
