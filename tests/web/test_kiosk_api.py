"""The kiosk HTTP API (/api/kiosk/v1): enrolment with a one-time code, HTTP Basic terminal
authentication, badge sessions bound to their terminal, history pages, media, notices.
Failures say "unauthorised" and nothing more; bad input changes nothing."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import io
import time
import uuid

import pytest
from PIL import Image
from sqlalchemy import select

from broker_config.passwords import verify_password
from hr_console.services import broker, directory, notices, sessions
from hr_console.store.models import AuditEntry, Media, Message, Team, Terminal, utcnow
from hr_console.web import create_app
from hr_console.web.extensions import limiter
from relais_wire import topics
from tests.mosquitto_clients import pub
from tests.web_fixture import make_console

API = "/api/kiosk/v1"


def _basic(name: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _creds(console, terminal: str = "kiosk-1") -> dict[str, str]:  # noqa: ANN001
    c = console.demo.terminals[terminal]
    return _basic(c["username"], c["password"])


def _auth(console, terminal: str, sid: str | None) -> dict[str, str]:  # noqa: ANN001
    headers = _creds(console, terminal)
    if sid is not None:
        headers["X-Relais-Session"] = sid
    return headers


def _badge_in(console, terminal: str, name: str) -> str:  # noqa: ANN001
    pin = "4321" if name == "Julie Moreau" else None
    with console.session() as s:
        term = sessions.terminal_by_name(s, terminal)
        return sessions.badge_in(s, term, console.demo.badges[name], pin,
                                 console.cfg.badge_pepper).session_id


def _new_terminal(console, name: str = "kiosk-9"):  # noqa: ANN001, ANN202
    with console.session() as s:
        _, creds = directory.terminal(s, name, directory.site_by_name(s, "demo"))
        broker.apply(s, console.cfg)
    return creds


def _actions(console) -> list[str]:  # noqa: ANN001
    with console.session() as s:
        return [e.action for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]


def _jpeg(colour: tuple[int, int, int] = (10, 20, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buf, "JPEG")
    return buf.getvalue()


def _message(console, sender: str, recipient: str, state: str, *, kind: str = "text",  # noqa: ANN001
             photo: bytes | None = None) -> str:
    ids = {n: console.demo.employees[n] for n in (sender, recipient)}
    client_id = str(uuid.uuid4())
    with console.session() as s:
        media_id = None
        if photo is not None:
            media = Media(sha256=hashlib.sha256(photo).hexdigest(), mime="image/jpeg", data=photo)
            s.add(media)
            s.flush()
            media_id = media.id
        s.add(Message(client_id=client_id, sender_id=ids[sender], recipient_id=ids[recipient],
                      kind=kind, body=f"{state} {client_id[:4]}", state=state, media_id=media_id,
                      created_at=utcnow()))
    return client_id


def _assert_unauthorised(resp) -> None:  # noqa: ANN001
    assert resp.status_code == 401
    assert resp.get_json() == {"code": "unauthorised", "message": resp.get_json()["message"]}
    assert "Basic" in resp.headers["WWW-Authenticate"]
    assert "Set-Cookie" not in resp.headers


# --- enrolment -----------------------------------------------------------------------------


def test_enrolment_exchanges_the_code_for_fresh_credentials(console) -> None:  # noqa: ANN001
    creds = _new_terminal(console)
    resp = console.client().post(f"{API}/enrol", json={"code": creds.enrol_code.lower()})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["terminal"] == body["username"] == "kiosk-9"
    assert body["mqtt_port"] == console.cfg.mqtt_port and body["mqtt_host"]
    assert "tls_ca_pem" not in body  # no TLS in this home
    assert body["password"] and body["password"] != creds.password
    assert "Set-Cookie" not in resp.headers
    with console.session() as s:
        row = sessions.terminal_by_name(s, "kiosk-9")
        assert verify_password(body["password"], row.password_hash)
        assert not verify_password(creds.password, row.password_hash)
        assert row.enrol_code_hash is None and row.enrol_expires is None
    # The broker's password file now holds the new hash (rendered from the database).
    passwd = (console.cfg.broker_dir / "passwd").read_text()
    line = next(x for x in passwd.splitlines() if x.startswith("kiosk-9:"))
    assert verify_password(body["password"], line.split(":", 1)[1])
    assert "terminal.enrol" in _actions(console)
    # The new password authenticates API calls; the one printed at `terminal add` no longer.
    sid = _badge_in(console, "kiosk-9", "Karim Benali")
    new = console.client().get(f"{API}/notices",
                               headers={**_basic("kiosk-9", body["password"]), "X-Relais-Session": sid})
    assert new.status_code == 200
    old = console.client().get(f"{API}/notices",
                               headers={**_basic("kiosk-9", creds.password), "X-Relais-Session": sid})
    _assert_unauthorised(old)


def test_enrolment_code_is_single_use(console) -> None:  # noqa: ANN001
    creds = _new_terminal(console)
    first = console.client().post(f"{API}/enrol", json={"code": creds.enrol_code})
    assert first.status_code == 200
    again = console.client().post(f"{API}/enrol", json={"code": creds.enrol_code})
    assert again.status_code == 403 and again.get_json()["code"] == "bad_code"
    with console.session() as s:
        row = sessions.terminal_by_name(s, "kiosk-9")
        assert verify_password(first.get_json()["password"], row.password_hash)
    assert _actions(console).count("terminal.enrol") == 1
    assert "terminal.enrol_refused" in _actions(console)


def test_expired_code_is_refused_and_changes_nothing(console) -> None:  # noqa: ANN001
    creds = _new_terminal(console)
    with console.session() as s:
        row = sessions.terminal_by_name(s, "kiosk-9")
        row.enrol_expires = utcnow() - dt.timedelta(seconds=1)
        before = row.password_hash
    resp = console.client().post(f"{API}/enrol", json={"code": creds.enrol_code})
    assert resp.status_code == 403 and resp.get_json()["code"] == "code_expired"
    with console.session() as s:
        assert sessions.terminal_by_name(s, "kiosk-9").password_hash == before
    assert "terminal.enrol" not in _actions(console)


@pytest.mark.parametrize("payload, status, code", [
    ({"code": "AAAA-BBBB-CCCC"}, 403, "bad_code"),
    ({"code": ""}, 400, "bad_request"),
    ({"code": 123456}, 400, "bad_request"),
    ({"code": "x" * 65}, 400, "bad_request"),
    ({}, 400, "bad_request"),
    (["not", "an", "object"], 400, "bad_request"),
])
def test_wrong_or_malformed_codes_are_refused(console, payload, status, code) -> None:  # noqa: ANN001
    creds = _new_terminal(console)
    resp = console.client().post(f"{API}/enrol", json=payload)
    assert resp.status_code == status and resp.get_json()["code"] == code
    assert resp.get_json()["message"]
    not_json = console.client().post(f"{API}/enrol", data="code=1", content_type="text/plain")
    assert not_json.status_code == 400 and not_json.get_json()["code"] == "bad_request"
    with console.session() as s:
        assert sessions.terminal_by_name(s, "kiosk-9").enrol_code_hash is not None
    assert creds.enrol_code  # still usable
    assert console.client().post(f"{API}/enrol", json={"code": creds.enrol_code}).status_code == 200


def test_code_given_with_another_terminals_name_is_refused(console) -> None:  # noqa: ANN001
    creds = _new_terminal(console)
    resp = console.client().post(f"{API}/enrol", json={"code": creds.enrol_code, "name": "kiosk-1"})
    assert resp.status_code == 403 and resp.get_json()["code"] == "bad_code"
    resp = console.client().post(f"{API}/enrol", json={"code": creds.enrol_code, "name": "kiosk-9"})
    assert resp.status_code == 200


def test_revoked_terminal_cannot_enrol(console) -> None:  # noqa: ANN001
    creds = _new_terminal(console)
    with console.session() as s:
        directory.revoke_terminal(s, sessions.terminal_by_name(s, "kiosk-9"), actor="admin")
    resp = console.client().post(f"{API}/enrol", json={"code": creds.enrol_code})
    assert resp.status_code == 403 and resp.get_json()["code"] == "bad_code"


def test_enrolment_is_rate_limited(tmp_path, db_url) -> None:  # noqa: ANN001
    limited = make_console(tmp_path, db_url, RATELIMIT_ENABLED=True)
    try:
        limiter.reset()
        client = limited.app.test_client()
        for _ in range(10):
            assert client.post(f"{API}/enrol", json={"code": "WRONG-CODE"}).status_code == 403
        resp = client.post(f"{API}/enrol", json={"code": "WRONG-CODE"})
        assert resp.status_code == 429 and resp.get_json()["code"] == "rate_limited"
    finally:
        limiter.reset()
        limited.app.extensions["relais_store"].dispose()


def test_enrolment_needs_no_csrf_token(tmp_path, db_url) -> None:  # noqa: ANN001
    strict = make_console(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    try:
        creds = _new_terminal(strict)
        resp = strict.app.test_client().post(f"{API}/enrol", json={"code": creds.enrol_code})
        assert resp.status_code == 200
    finally:
        strict.app.extensions["relais_store"].dispose()


def test_enrolment_hands_over_the_brokers_ca_when_tls_is_on(console, tmp_path) -> None:  # noqa: ANN001
    pem = "-----BEGIN CERTIFICATE-----\nMIIBdemo\n-----END CERTIFICATE-----\n"
    for name in ("ca.pem", "server.pem", "server.key"):
        (tmp_path / name).write_text(pem)
    cfg = dataclasses.replace(console.cfg, tls_ca=str(tmp_path / "ca.pem"),
                              tls_cert=str(tmp_path / "server.pem"), tls_key=str(tmp_path / "server.key"))
    app = create_app(cfg, {"TESTING": True, "RATELIMIT_ENABLED": False})
    try:
        creds = _new_terminal(console)
        body = app.test_client().post(f"{API}/enrol", json={"code": creds.enrol_code}).get_json()
        assert body["tls"] is True and body["tls_ca_pem"] == pem
    finally:
        app.extensions["relais_store"].dispose()


def test_repeated_authentication_failures_are_rate_limited(tmp_path, db_url) -> None:  # noqa: ANN001
    limited = make_console(tmp_path, db_url, RATELIMIT_ENABLED=True)
    try:
        limiter.reset()
        client = limited.app.test_client()
        sid = _badge_in(limited, "kiosk-1", "Karim Benali")
        good = _auth(limited, "kiosk-1", sid)
        for _ in range(20):  # successes cost nothing of the failures' allowance
            assert client.get(f"{API}/notices", headers=good).status_code == 200
        for _ in range(30):
            _assert_unauthorised(client.get(f"{API}/notices", headers=_basic("kiosk-1", "guess")))
        resp = client.get(f"{API}/notices", headers=_basic("kiosk-1", "guess"))
        assert resp.status_code == 429 and resp.get_json()["code"] == "rate_limited"
    finally:
        limiter.reset()
        limited.app.extensions["relais_store"].dispose()


def test_enrolled_password_works_on_the_real_broker(system) -> None:  # noqa: ANN001
    with system.store.session() as s:
        _, creds = directory.terminal(s, "kiosk-9", directory.site_by_name(s, "demo"))
        s.flush()
        broker.apply(s, system.cfg)
    port, topic = system.cfg.mqtt_port, topics.status("kiosk-9")
    assert pub(port, "kiosk-9", creds.password, topic, "offline").returncode == 0  # control
    app = create_app(system.cfg, {"TESTING": True, "RATELIMIT_ENABLED": False})
    try:
        resp = app.test_client().post(f"{API}/enrol", json={"code": creds.enrol_code})
        assert resp.status_code == 200
        password = resp.get_json()["password"]
    finally:
        app.extensions["relais_store"].dispose()
    # The broker reloads on SIGHUP, asynchronously: wait (bounded) for the new password ...
    deadline = time.monotonic() + 15
    while pub(port, "kiosk-9", password, topic, "offline").returncode != 0:
        assert time.monotonic() < deadline, "the enrolled password never worked on the broker"
        time.sleep(0.2)
    # ... and from then on the printed one is refused.
    refused = pub(port, "kiosk-9", creds.password, topic, "offline")
    assert refused.returncode != 0, refused.stdout + refused.stderr


# --- authentication -------------------------------------------------------------------------


def test_wrong_credentials_are_unauthorised_and_alike(console) -> None:  # noqa: ANN001
    sid = _badge_in(console, "kiosk-1", "Karim Benali")
    right = console.demo.terminals["kiosk-1"]["password"]
    cases = [
        {},  # no credentials
        _basic("kiosk-1", "wrong-password"),
        _basic("kiosk-1", ""),
        _basic("no-such-terminal", right),
        _basic("kiosk-2", right),  # another terminal's password
        {"Authorization": "Bearer " + right},
        {"Authorization": "Basic !!!notbase64"},
    ]
    bodies = []
    for headers in cases:
        resp = console.client().get(f"{API}/notices", headers={**headers, "X-Relais-Session": sid})
        _assert_unauthorised(resp)
        bodies.append(resp.get_json())
    assert all(b == bodies[0] for b in bodies)
    # Positive control: the right credentials and session work.
    assert console.client().get(f"{API}/notices", headers=_auth(console, "kiosk-1", sid)).status_code == 200


def test_revoked_terminal_is_unauthorised(console) -> None:  # noqa: ANN001
    sid = _badge_in(console, "kiosk-1", "Karim Benali")
    headers = _auth(console, "kiosk-1", sid)
    assert console.client().get(f"{API}/notices", headers=headers).status_code == 200
    with console.session() as s:
        directory.revoke_terminal(s, sessions.terminal_by_name(s, "kiosk-1"), actor="admin")
    _assert_unauthorised(console.client().get(f"{API}/notices", headers=headers))


def test_inactive_terminal_with_a_hash_is_still_unauthorised(console) -> None:  # noqa: ANN001
    sid = _badge_in(console, "kiosk-1", "Karim Benali")
    with console.session() as s:
        s.execute(select(Terminal).where(Terminal.name == "kiosk-1")).scalar_one().active = False
    _assert_unauthorised(console.client().get(f"{API}/notices", headers=_auth(console, "kiosk-1", sid)))


def test_sessions_must_be_open_and_on_this_terminal(console) -> None:  # noqa: ANN001
    karim = _badge_in(console, "kiosk-1", "Karim Benali")
    sophie = _badge_in(console, "kiosk-2", "Sophie Martin")
    for path in ("/notices", "/contacts?q=a", f"/history?with={console.demo.employees['Sophie Martin']}",
                 f"/media/{uuid.uuid4()}"):
        # kiosk-1 cannot read with Sophie's session from kiosk-2 ...
        _assert_unauthorised(console.client().get(API + path, headers=_auth(console, "kiosk-1", sophie)))
        # ... nor without a session, nor with one that does not exist.
        _assert_unauthorised(console.client().get(API + path, headers=_auth(console, "kiosk-1", None)))
        _assert_unauthorised(console.client().get(
            API + path, headers=_auth(console, "kiosk-1", str(uuid.uuid4()))))
        _assert_unauthorised(console.client().get(API + path, headers=_auth(console, "kiosk-1", "x" * 500)))
    assert console.client().get(f"{API}/notices", headers=_auth(console, "kiosk-1", karim)).status_code == 200
    with console.session() as s:
        assert sessions.badge_out(s, sessions.terminal_by_name(s, "kiosk-1"), karim)
    _assert_unauthorised(console.client().get(f"{API}/notices", headers=_auth(console, "kiosk-1", karim)))


def test_anything_else_is_not_found(console) -> None:  # noqa: ANN001
    headers = _creds(console)
    for method, path in (("GET", "/nope"), ("POST", "/history"), ("GET", "/enrol"),
                         ("DELETE", "/notices"), ("PUT", "/media/x"), ("GET", "/notices/x/y/z")):
        resp = console.client().open(API + path, method=method, headers=headers)
        assert resp.status_code == 404, (method, path)
        assert resp.get_json()["code"] == "not_found"


# --- history, media, notices -------------------------------------------------------------------


def test_history_pages_show_only_what_the_person_may_see(console) -> None:  # noqa: ANN001
    sid = _badge_in(console, "kiosk-1", "Karim Benali")
    sophie = console.demo.employees["Sophie Martin"]
    visible = []
    for i in range(7):
        visible.append(_message(console, "Sophie Martin", "Karim Benali", "read" if i % 2 else "delivered"))
        visible.append(_message(console, "Karim Benali", "Sophie Martin",
                                ("accepted", "held", "refused", "delivered")[i % 4]))
    hidden = [
        _message(console, "Sophie Martin", "Karim Benali", "held"),  # not approved yet
        _message(console, "Sophie Martin", "Karim Benali", "rejected"),
        _message(console, "Sophie Martin", "Karim Benali", "retracted"),
        _message(console, "Sophie Martin", "Karim Benali", "accepted"),  # not yet delivered
        _message(console, "Karim Benali", "Sophie Martin", "error"),
        _message(console, "Sophie Martin", "Julie Moreau", "delivered"),  # another conversation
        _message(console, "Julie Moreau", "Karim Benali", "delivered"),
    ]
    headers = _auth(console, "kiosk-1", sid)
    seen: list[str] = []
    before = None
    pages = 0
    while True:
        query = f"{API}/history?with={sophie}&limit=4" + (f"&before={before}" if before else "")
        resp = console.client().get(query, headers=headers)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert len(body["messages"]) <= 4 and body["with"] == sophie
        seen = [m["msg"] for m in body["messages"]] + seen
        pages += 1
        if not body["more"]:
            assert body["before"] is None
            break
        before = body["before"]
        assert before == body["messages"][0]["msg"]
    assert pages == 4  # 14 visible messages, 4 per page
    assert seen == visible  # every visible one, once, oldest first, in order
    assert not set(hidden) & set(seen)
    # A message of the page carries what a kiosk shows.
    first = console.client().get(f"{API}/history?with={sophie}&limit=1", headers=headers).get_json()
    assert first["messages"][0]["msg"] == visible[-1]
    assert {"msg", "kind", "from", "to", "state", "text", "from_name"} <= first["messages"][0].keys()


def test_history_refuses_bad_parameters(console) -> None:  # noqa: ANN001
    sid = _badge_in(console, "kiosk-1", "Karim Benali")
    sophie = console.demo.employees["Sophie Martin"]
    other = _message(console, "Sophie Martin", "Julie Moreau", "delivered")
    headers = _auth(console, "kiosk-1", sid)
    for query, code in (("", "bad_request"), ("with=abc", "bad_request"),
                        (f"with={sophie}&limit=0", "bad_limit"), (f"with={sophie}&limit=1000", "bad_limit"),
                        (f"with={sophie}&limit=-1", "bad_request"),
                        (f"with={sophie}&before={other}", "bad_cursor"),  # not this conversation
                        (f"with={sophie}&before={'x' * 80}", "bad_cursor")):
        resp = console.client().get(f"{API}/history?{query}", headers=headers)
        assert resp.status_code == 400, query
        assert resp.get_json()["code"] == code, query


def test_media_only_for_the_sender_or_a_recipient_who_got_it(console) -> None:  # noqa: ANN001
    sid = _badge_in(console, "kiosk-1", "Karim Benali")
    headers = _auth(console, "kiosk-1", sid)
    received = _message(console, "Sophie Martin", "Karim Benali", "delivered", kind="photo",
                        photo=_jpeg((200, 0, 0)))
    sent = _message(console, "Karim Benali", "Sophie Martin", "held", kind="photo", photo=_jpeg((0, 200, 0)))
    someone_elses = _message(console, "Sophie Martin", "Julie Moreau", "delivered", kind="photo",
                             photo=_jpeg((0, 0, 200)))
    held_for_him = _message(console, "Sophie Martin", "Karim Benali", "held", kind="photo",
                            photo=_jpeg((9, 9, 9)))
    text = _message(console, "Sophie Martin", "Karim Benali", "delivered")
    for msg in (received, sent):
        resp = console.client().get(f"{API}/media/{msg}", headers=headers)
        assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
        assert resp.data.startswith(b"\xff\xd8\xff")
    for msg in (someone_elses, held_for_him, text, str(uuid.uuid4()), "not-a-uuid"):
        resp = console.client().get(f"{API}/media/{msg}", headers=headers)
        assert resp.status_code == 404 and resp.get_json()["code"] == "not_found"
    # History lists the photo without its bytes; the kiosk fetches it by id.
    page = console.client().get(
        f"{API}/history?with={console.demo.employees['Sophie Martin']}", headers=headers).get_json()
    photo = next(m for m in page["messages"] if m["msg"] == received)
    assert photo["has_image"] is True and "image" not in photo


def test_notices_are_the_session_employees_current_ones(console) -> None:  # noqa: ANN001
    with console.session() as s:
        atelier = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        media = Media(sha256="0" * 64, mime="image/jpeg", data=_jpeg())
        s.add(media)
        s.flush()
        n = notices.create(s, title="Fermeture vendredi", body="Usine fermée.", target_kind="team",
                           target_ref=atelier, urgent=True, actor="hr", media_id=media.id)
        gone = notices.create(s, title="Ancienne", body="", target_kind="team", target_ref=atelier,
                              actor="hr")
        notices.withdraw(s, notices.EVERYTHING, gone.id, "hr")
    karim = _badge_in(console, "kiosk-1", "Karim Benali")
    thomas = _badge_in(console, "kiosk-2", "Thomas Petit")
    body = console.client().get(f"{API}/notices", headers=_auth(console, "kiosk-1", karim)).get_json()
    assert [x["notice"] for x in body["notices"]] == [n.uid]
    assert body["notices"][0]["urgent"] is True and body["notices"][0]["ack_required"] is True
    assert body["notices"][0]["photo"] is True and body["notices"][0]["acknowledged"] is False
    other = console.client().get(f"{API}/notices", headers=_auth(console, "kiosk-2", thomas)).get_json()
    assert other["notices"] == []
    photo = console.client().get(f"{API}/notices/{n.uid}/photo", headers=_auth(console, "kiosk-1", karim))
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    for sid, term, uid in ((thomas, "kiosk-2", n.uid), (karim, "kiosk-1", gone.uid)):
        resp = console.client().get(f"{API}/notices/{uid}/photo", headers=_auth(console, term, sid))
        assert resp.status_code == 404


def test_api_sets_no_cookies_and_ignores_console_sessions(console) -> None:  # noqa: ANN001
    hr = console.client("hr")  # a signed-in console user is nobody to the kiosk API
    _assert_unauthorised(hr.get(f"{API}/notices"))
    sid = _badge_in(console, "kiosk-1", "Karim Benali")
    resp = console.client().get(f"{API}/notices", headers=_auth(console, "kiosk-1", sid))
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers
    assert resp.headers["Cache-Control"] == "no-store"
