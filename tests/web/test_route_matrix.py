"""Every console route x every role (admin, hr, supervisor, auditor, anonymous), read from
``app.url_map``: a route added without an entry in ``ACCESS`` fails here.

GETs must answer the expected status for the roles that may use them and 403 (or the
sign-in page, for anonymous) for the others. Every POST is sent twice: without a CSRF
token it must be refused for everyone; with a valid token a forbidden role gets 403 and
an allowed one gets through the role check (the form may still be refused as invalid).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf.csrf import CSRFError
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from hr_console.services import charter, legal_holds, notices, safety
from hr_console.services import settings as settings_svc
from hr_console.store.models import (
    ConsoleUser,
    ContactRule,
    Group,
    GroupRule,
    Notice,
    Shift,
    Site,
    Team,
    Terminal,
)
from hr_console.web import create_app
from tests.web import console_data as cd
from tests.web_fixture import PASSWORD, ROLES, make_console

ANON = "anonymous"
EVERYONE = (*ROLES, ANON)
HR_DESK = "Claire Dubois (RH)"
A, H, S, U = "admin", "hr", "supervisor", "auditor"
SIGNED_IN = frozenset(ROLES)
CSRF_REFUSED = b"csrf-refused-by-test"


@dataclass(frozen=True)
class Access:
    """Who may use one (endpoint, method), and what an allowed GET answers.

    ``roles``: the console roles that get through; anonymous is sent to sign in unless
    ``public``. ``kiosk``: the terminal API, which no console login opens."""

    roles: frozenset[str] = frozenset()
    status: int = 200
    public: bool = False
    kiosk: bool = False


def _r(*roles: str, status: int = 200) -> Access:
    return Access(frozenset(roles), status)


PUBLIC = Access(frozenset(SIGNED_IN), public=True)
KIOSK = Access(kiosk=True)
MODERATORS = (A, H)  # supervisors too, only with the setting on: see the test below
NOTICES = (A, H, S)

ACCESS: dict[tuple[str, str], Access] = {
    ("home", "GET"): _r(*ROLES, status=302),
    ("healthz", "GET"): PUBLIC,
    ("static", "GET"): PUBLIC,
    ("auth.login", "GET"): PUBLIC,
    ("auth.login", "POST"): PUBLIC,
    ("auth.logout", "POST"): _r(*ROLES),
    ("auth.language", "POST"): _r(*ROLES),
    # kiosk API: HTTP Basic as a terminal, never a console session
    ("kiosk_api.enrol", "POST"): KIOSK,
    ("kiosk_api.ca_certificate", "GET"): KIOSK,  # public: the CA checked by its fingerprint
    ("kiosk_api.history", "GET"): KIOSK,
    ("kiosk_api.find_contacts", "GET"): KIOSK,  # by name, when the sync cut the list
    ("kiosk_api.media", "GET"): KIOSK,
    ("kiosk_api.notice_list", "GET"): KIOSK,
    ("kiosk_api.notice_photo", "GET"): KIOSK,
    ("kiosk_api.my_notices", "GET"): KIOSK,  # a team lead's own notices (issue 16)
    ("kiosk_api.my_notice", "GET"): KIOSK,
    ("kiosk_api.site_notices", "GET"): KIOSK,
    **{("kiosk_api.anything_else", m): KIOSK for m in ("GET", "POST", "PUT", "PATCH", "DELETE")},
    # dashboard
    ("dashboard.index", "GET"): _r(A, H),
    ("dashboard.chart_messages", "GET"): _r(A, H),
    ("dashboard.chart_wait", "GET"): _r(A, H),
    ("dashboard.chart_teams", "GET"): _r(A, H),
    ("dashboard.chart_matrix", "GET"): _r(A, H),
    # moderation
    ("moderation.index", "GET"): _r(*MODERATORS),
    ("moderation.recent", "GET"): _r(*MODERATORS),
    ("moderation.history", "GET"): _r(*MODERATORS),
    ("moderation.queue_json", "GET"): _r(*MODERATORS),
    ("moderation.photo", "GET"): _r(*MODERATORS),
    ("moderation.drawing", "GET"): _r(*MODERATORS),
    ("moderation.audio", "GET"): _r(*MODERATORS),
    ("moderation.approve", "POST"): _r(*MODERATORS),
    ("moderation.reject", "POST"): _r(*MODERATORS),
    ("moderation.retract", "POST"): _r(*MODERATORS),
    ("moderation.review", "POST"): _r(*MODERATORS),
    ("moderation.bulk", "POST"): _r(*MODERATORS),
    # employees
    ("employees.index", "GET"): _r(A, H),
    ("employees.new", "GET"): _r(A, H),
    ("employees.new", "POST"): _r(A, H),
    ("employees.detail", "GET"): _r(A, H),
    ("employees.save", "POST"): _r(A, H),
    ("employees.badge", "POST"): _r(A, H),
    ("employees.badge_remove", "POST"): _r(A, H),
    ("employees.pin", "POST"): _r(A, H),
    ("employees.pin_remove", "POST"): _r(A, H),
    ("employees.deactivate", "POST"): _r(A, H),
    ("employees.reactivate", "POST"): _r(A, H),
    ("employees.export", "GET"): _r(A, H),
    ("employees.import_upload", "GET"): _r(A, H),
    ("employees.import_upload", "POST"): _r(A, H),
    ("employees.import_preview", "GET"): _r(A, H, status=302),  # no such import: back to upload
    ("employees.import_cancel", "POST"): _r(A, H),
    ("employees.import_confirm", "POST"): _r(A, H),
    ("employees.import_job", "GET"): _r(A, H, status=404),
    ("employees.import_status", "GET"): _r(A, H, status=404),
    # access requests (GDPR art. 15): HR, admins and auditors, never a supervisor
    ("employees.export_start", "POST"): _r(A, H, U),
    ("employees.export_job", "GET"): _r(A, H, U, status=404),  # no such export
    ("employees.export_status", "GET"): _r(A, H, U, status=404),
    ("employees.export_download", "GET"): _r(A, H, U, status=404),
    # legal holds: HR, admins and auditors place and release them, never a supervisor
    ("holds.index", "GET"): _r(A, H, U),
    ("holds.place", "POST"): _r(A, H, U),
    ("holds.release", "POST"): _r(A, H, U),
    # the messaging charter: HR and admins publish, auditors read, never a supervisor
    ("charter.index", "GET"): _r(A, H, U),
    ("charter.show", "GET"): _r(A, H, U),
    ("charter.new", "GET"): _r(A, H),
    ("charter.new", "POST"): _r(A, H),
    # teams and sites
    ("teams.index", "GET"): _r(A, H),
    ("teams.detail", "GET"): _r(A, H),
    ("teams.save", "POST"): _r(A, H),
    ("teams.create", "POST"): _r(A, H),
    ("teams.shift_create", "POST"): _r(A, H),
    ("teams.shift_save", "POST"): _r(A, H),
    ("teams.shift_delete", "POST"): _r(A, H),
    ("teams.site_create", "POST"): _r(A, H),
    ("teams.site_rename", "POST"): _r(A, H),
    ("teams.site_timezone", "POST"): _r(A, H),
    # contact policy
    ("contacts.index", "GET"): _r(A, H),
    ("contacts.employee", "GET"): _r(A, H),
    ("contacts.add_person_rule", "POST"): _r(A, H),
    ("contacts.add_group_rule", "POST"): _r(A, H),
    ("contacts.delete_rule", "POST"): _r(A, H),
    ("contacts.toggle_reply", "POST"): _r(A, H),
    ("contacts.toggle_shift", "POST"): _r(A, H),
    # workgroups: auditors read; supervisors only with a setting (off here: see test_groups)
    ("groups.index", "GET"): _r(A, H, U),
    ("groups.detail", "GET"): _r(A, H, U),
    ("groups.new", "GET"): _r(A, H),
    ("groups.create", "POST"): _r(A, H),
    ("groups.edit", "GET"): _r(A, H),
    ("groups.save", "POST"): _r(A, H),
    ("groups.person_add", "POST"): _r(A, H),
    ("groups.person_remove", "POST"): _r(A, H),
    ("groups.archive", "POST"): _r(A, H),
    ("groups.reopen", "POST"): _r(A, H),
    ("groups.delete", "POST"): _r(A, H),
    # notices (a supervisor: their own teams, checked by the service)
    ("notices.index", "GET"): _r(*NOTICES),
    ("notices.new", "GET"): _r(*NOTICES),
    ("notices.new", "POST"): _r(*NOTICES),
    ("notices.show", "GET"): _r(*NOTICES),
    ("notices.photo", "GET"): _r(*NOTICES, status=404),  # this notice has no photo
    ("notices.remind", "POST"): _r(*NOTICES),
    ("notices.withdraw", "POST"): _r(*NOTICES),
    # safety alerts: whoever may act on one (supervisors receive them on their terminals too)
    ("safety.index", "GET"): _r(*NOTICES),
    ("safety.handled", "POST"): _r(*NOTICES),
    ("safety.sound", "GET"): _r(*NOTICES),
    ("safety.photo", "GET"): _r(*NOTICES, status=404),  # this alert has no photo
    # terminals: admin only
    ("terminals.index", "GET"): _r(A),
    ("terminals.detail", "GET"): _r(A),
    ("terminals.enrol", "POST"): _r(A),
    ("terminals.rename", "POST"): _r(A),
    ("terminals.site", "POST"): _r(A),
    ("terminals.revoke", "POST"): _r(A),
    ("terminals.rotate", "POST"): _r(A),
    ("terminals.resume", "POST"): _r(A, H),  # a terminal suspended for guessing: HR decides
    # console users: admin only
    ("users.index", "GET"): _r(A),
    ("users.create", "POST"): _r(A),
    ("users.detail", "GET"): _r(A),
    ("users.save", "POST"): _r(A),
    ("users.password", "POST"): _r(A),
    ("users.unlock", "POST"): _r(A),
    ("users.deactivate", "POST"): _r(A),
    ("users.reactivate", "POST"): _r(A),
    # audit: read and export, never change
    ("audit.index", "GET"): _r(A, H, U),
    ("audit.export", "POST"): _r(A, H, U),
    # the works council's report: figures with no content or name; HR and auditors, no supervisor
    ("council.index", "GET"): _r(A, H, U),
    ("council.printable", "GET"): _r(A, H, U),
    ("council.download", "GET"): _r(A, H, U),
    # settings: HR reads them (keywords, retention), only admin changes them
    ("settings.index", "GET"): _r(A, H),
    ("settings.save", "POST"): _r(A),
    ("settings.save_replies", "POST"): _r(A),
}

# Endpoints whose path arguments need a particular object (a photo, a drawing, a clip).
ARG_OVERRIDES = {"moderation.photo": "photo_message_id",
                 "moderation.drawing": "drawing_message_id",
                 "moderation.audio": "voice_message_id"}


# --- the console under test -------------------------------------------------------------------


@dataclass
class Matrix:
    app: Flask
    args: dict[str, Any]

    def session(self):  # noqa: ANN201
        return self.app.extensions["relais_store"].session()


def _protected(console: Any) -> dict[str, int]:
    """Messages from Atelier that its supervisor (Sophie) must never get, whatever the
    setting: to the HR desk and to Sophie herself, held (text, photo, drawing, voice) and
    delivered under post-moderation (what retract and review act on)."""
    out = {}
    for key, to in (("desk", HR_DESK), ("self", "Sophie Martin")):
        out[f"{key}_text"] = cd.send(console, "Karim Benali", to, "plainte").id
        out[f"{key}_photo"] = cd.send(console, "Karim Benali", to, "preuve", kind="photo").id
        out[f"{key}_drawing"] = cd.send(console, "Karim Benali", to, kind="drawing").id
        out[f"{key}_audio"] = cd.send(console, "Karim Benali", to, kind="voice").id
    cd.set_mode(console, "Karim Benali", "post")
    for key, to in (("desk", HR_DESK), ("self", "Sophie Martin")):
        out[f"{key}_sent"] = cd.send(console, "Karim Benali", to, "déjà parti").id
    cd.set_mode(console, "Karim Benali", None)
    return out


def _seed(console: Any) -> dict[str, Any]:
    """One object of every kind a route names: messages held from Atelier (supervised by
    the demo supervisor) between two of its members and from Logistique, a notice the
    supervisor wrote and one HR wrote for Atelier, a shift; and the messages no supervisor
    may get (``_protected``)."""
    held = cd.send(console, "Karim Benali", "Julie Moreau", "à modérer")
    photo = cd.send(console, "Karim Benali", "Julie Moreau", "photo", kind="photo")
    drawing = cd.send(console, "Karim Benali", "Julie Moreau", kind="drawing")
    voice = cd.send(console, "Karim Benali", "Julie Moreau", kind="voice")
    other = cd.send(console, "Amina Diallo", "Thomas Petit", "autre équipe")
    protected = _protected(console)
    with console.session() as s:
        team = s.execute(select(Team).where(Team.name == "Atelier")).scalar_one()
        other_team = s.execute(select(Team).where(Team.name == "Logistique")).scalar_one()
        shift = Shift(name="Matin", team_id=team.id, start_time=dt.time(6), end_time=dt.time(14))
        group = Group(name="Atelier", created_by="hr")
        s.add_all([shift, group])
        s.flush()
        s.add(GroupRule(group_id=group.id, kind="team", ref_id=team.id))
        users = dict(s.execute(select(ConsoleUser.username, ConsoleUser.id)).all())
        notice = notices.create(s, title="Sécurité", body="", target_kind="team",
                                target_ref=team.id, actor=S, user_id=users[S])
        hr_notice = notices.create(s, title="Consigne RH", body="", target_kind="team",
                                   target_ref=team.id, actor=H, user_id=users[H])
        other_notice = notices.create(s, title="Quai", body="", target_kind="team",
                                      target_ref=other_team.id, actor="hr")
        kiosk2 = s.execute(select(Terminal).where(Terminal.name == "kiosk-2")).scalar_one()
        alert = safety.raise_alert(s, kiosk2, notice.uid, "fall").alert
        hold = legal_holds.place(s, "person", console.demo.employees["Karim Benali"],
                                 "Litige", actor=H)
        version = charter.publish(s, charter.draft(s), actor=H).version
        return {
            "protected": protected, "hr_notice_id": hr_notice.id,
            "employee_id": console.demo.employees["Karim Benali"], "team_id": team.id,
            "shift_id": shift.id, "group_id": group.id,
            "site_id": s.execute(select(Site.id).where(Site.name == "demo")).scalar_one(),
            "terminal_id": s.execute(select(Terminal.id).where(Terminal.name == "kiosk-2")).scalar_one(),
            "notice_id": notice.id, "other_notice_id": other_notice.id, "alert_id": alert.id,
            "hold_id": hold.id, "version": version,
            "message_id": held.id, "photo_message_id": photo.id,
            "drawing_message_id": drawing.id, "voice_message_id": voice.id,
            "other_message_id": other.id,
            "rule_id": s.execute(select(ContactRule.id).order_by(ContactRule.id)).scalars().first(),
            "user_id": s.execute(select(ConsoleUser.id)
                                 .where(ConsoleUser.username == "auditor")).scalar_one(),
            "token": "no-such-import", "job_id": "no-such-job", "filename": "console.css",
            "_anything": "nothing/here", "msg": held.client_id, "uid": notice.uid,
        }


def _strict_app(console: Any) -> Flask:
    """The same database behind an app with CSRF on; a refused token answers a marker we
    can tell from any other 400."""
    app = create_app(console.cfg, {"TESTING": True, "WTF_CSRF_ENABLED": True,
                                   "RATELIMIT_ENABLED": False})
    app.register_error_handler(CSRFError, lambda _e: (CSRF_REFUSED, 400))
    return app


@pytest.fixture
def matrix(tmp_path: Path, db_url: str):  # noqa: ANN201
    console = make_console(tmp_path, db_url)
    args = _seed(console)
    app = _strict_app(console)
    yield Matrix(app, args)
    app.extensions["relais_store"].dispose()
    console.app.extensions["relais_store"].dispose()


def csrf_token(app: Flask, client: FlaskClient) -> str:
    """A valid token for this client's session, made as flask-wtf makes it."""
    with client.session_transaction() as sess:
        raw = sess.setdefault("csrf_token", secrets.token_hex(20))
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


def signed_in(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    if role == ANON:
        return client
    resp = client.post("/auth/login", data={"username": role, "password": PASSWORD,
                                            "csrf_token": csrf_token(app, client)})
    assert resp.status_code == 302, f"sign-in as {role} failed"
    return client


def routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every route, the sign-out last (it ends the session)."""
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, rule.rule))
    return sorted(out, key=lambda r: (r[0] == "auth.logout", r[1] != "GET", r[2], r[1]))


def url_for_rule(app: Flask, endpoint: str, args: dict[str, Any]) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {}
    for name in rule.arguments:
        key = ARG_OVERRIDES.get(endpoint, name) if name == "message_id" else name
        values[name] = args[key]
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def _to_sign_in(resp: Any) -> bool:
    return resp.status_code == 302 and "/auth/login" in resp.headers.get("Location", "")


# --- the tests --------------------------------------------------------------------------------


def test_every_route_has_an_entry(tmp_path: Path) -> None:
    from hr_console import config as config_mod

    app = create_app(config_mod.load(tmp_path / "home"), {"TESTING": True})
    found = {(endpoint, method) for endpoint, method, _rule in routes(app)}
    assert found - set(ACCESS) == set(), "routes without an entry in ACCESS"
    assert set(ACCESS) - found == set(), "entries in ACCESS for routes that no longer exist"


def _check_get(m: Matrix, client: FlaskClient, role: str, endpoint: str, url: str) -> str | None:
    access = ACCESS[(endpoint, "GET")]
    resp = client.get(url)
    code = resp.status_code
    if access.kiosk:
        ok = code in (400, 401, 404)
    elif access.public:
        ok = code in (200, 302) and not (code == 302 and role == ANON and endpoint != "auth.login"
                                         and _to_sign_in(resp))
    elif role == ANON:
        ok = _to_sign_in(resp)
    elif role in access.roles:
        ok = code == access.status
    else:
        ok = code == 403
    return None if ok else f"GET {url} as {role}: {code}"


def _check_post(m: Matrix, client: FlaskClient, role: str, endpoint: str, method: str,
                url: str) -> list[str]:
    access = ACCESS[(endpoint, method)]
    errors = []
    send = getattr(client, method.lower())
    if access.kiosk:  # no cookies, no CSRF: the terminal's credentials are the gate
        code = send(url, json={}).status_code
        if code not in (400, 401, 403, 404):
            errors.append(f"{method} {url} as {role}: {code}")
        return errors
    bare = send(url, data={})
    if not (bare.status_code == 400 and bare.data == CSRF_REFUSED):
        errors.append(f"{method} {url} as {role} without CSRF token: {bare.status_code}")
    resp = send(url, data={"csrf_token": csrf_token(m.app, client)})
    code = resp.status_code
    if resp.data == CSRF_REFUSED:
        errors.append(f"{method} {url} as {role}: a valid CSRF token was refused")
    elif access.public:
        ok = code in (200, 302)
        if not ok:
            errors.append(f"{method} {url} as {role}: {code}")
    elif role == ANON:
        if not _to_sign_in(resp):
            errors.append(f"{method} {url} as {role}: {code}, not sent to sign in")
    elif role in access.roles:
        signed_out = endpoint == "auth.logout" and _to_sign_in(client.get("/"))
        if code in (401, 403) or code >= 500 or (_to_sign_in(resp) and not signed_out):
            errors.append(f"{method} {url} as {role} (allowed): {code}")
    elif code != 403:
        errors.append(f"{method} {url} as {role} (forbidden): {code}")
    return errors


@pytest.mark.parametrize("role", EVERYONE)
def test_route_matrix(matrix: Matrix, role: str) -> None:
    client = signed_in(matrix.app, role)
    errors: list[str] = []
    for endpoint, method, _rule in routes(matrix.app):
        url = url_for_rule(matrix.app, endpoint, matrix.args)
        if method == "GET":
            problem = _check_get(matrix, client, role, endpoint, url)
            if problem:
                errors.append(problem)
        else:
            errors += _check_post(matrix, client, role, endpoint, method, url)
    assert not errors, "\n".join(errors)


# --- supervisors moderate their own teams, and only when the setting allows it ---------------


def _set_supervisors_moderate(m: Matrix, value: bool) -> None:
    with m.session() as s:
        settings_svc.put(s, "supervisors_moderate_own_teams", value)


def _decide(m: Matrix, client: FlaskClient, message_id: int, action: str = "approve") -> Any:
    data = {"csrf_token": csrf_token(m.app, client), "reason": "Hors sujet"}
    return client.post(f"/moderation/messages/{message_id}/{action}", data=data)


def test_supervisor_moderates_only_with_the_setting(matrix: Matrix) -> None:
    sup = signed_in(matrix.app, S)
    own = matrix.args["message_id"]
    assert sup.get("/moderation/").status_code == 403
    assert _decide(matrix, sup, own).status_code == 403
    assert cd.message(_Shim(matrix), own).state == "held"

    _set_supervisors_moderate(matrix, True)
    for url in ("/moderation/", "/moderation/recent", "/moderation/history",
                "/moderation/queue.json?since=0",
                f"/moderation/messages/{matrix.args['photo_message_id']}/photo",
                f"/moderation/messages/{matrix.args['drawing_message_id']}/drawing.svg"):
        assert sup.get(url).status_code == 200, url
    queue = sup.get("/moderation/queue.json?since=0").get_json()
    ids = {item["id"] for item in queue["items"]}
    assert own in ids and matrix.args["other_message_id"] not in ids

    other = matrix.args["other_message_id"]  # Logistique: not the supervisor's team
    assert sup.get(f"/moderation/messages/{other}/photo").status_code in (403, 404)
    assert _decide(matrix, sup, other).status_code == 403
    assert cd.message(_Shim(matrix), other).state == "held"
    assert _decide(matrix, sup, own).status_code == 302
    assert cd.message(_Shim(matrix), own).state != "held"

    _set_supervisors_moderate(matrix, False)  # taken back: refused at once
    assert sup.get("/moderation/").status_code == 403
    assert _decide(matrix, sup, matrix.args["photo_message_id"], "reject").status_code == 403


def test_supervisor_sees_only_notices_of_own_teams(matrix: Matrix) -> None:
    sup = signed_in(matrix.app, S)
    assert sup.get(f"/notices/{matrix.args['notice_id']}").status_code == 200
    assert sup.get(f"/notices/{matrix.args['other_notice_id']}").status_code in (403, 404)
    token = csrf_token(matrix.app, sup)
    resp = sup.post(f"/notices/{matrix.args['other_notice_id']}/remind", data={"csrf_token": token})
    assert resp.status_code in (403, 404)


# --- what stays with HR: the HR desk's and the supervisor's own conversations, HR's notices ---


def _rules_with(app: Flask, argument: str) -> list[tuple[str, str]]:
    """(endpoint, method) of every route that names one ``argument`` (a message, a notice)."""
    return sorted({(r.endpoint, m) for r in app.url_map.iter_rules() if argument in r.arguments
                   for m in r.methods - {"HEAD", "OPTIONS"}})


def _call(m: Matrix, client: FlaskClient, endpoint: str, method: str, values: dict) -> Any:
    with m.app.test_request_context():
        from flask import url_for

        url = url_for(endpoint, **values)
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": csrf_token(m.app, client),
                                                 "reason": "Hors sujet"})


def _listed(m: Matrix, client: FlaskClient, message_ids: list[int]) -> list[tuple[str, int]]:
    """(url, id) for each of ``message_ids`` an argument-free moderation page or feed shows."""
    found = []
    for endpoint in sorted({r.endpoint for r in m.app.url_map.iter_rules()
                            if r.endpoint.startswith("moderation.")
                            and "GET" in r.methods and not r.arguments}):
        for query in ({}, {"show": "all"}, {"since": 0}):
            with m.app.test_request_context():
                from flask import url_for

                url = url_for(endpoint, **query)
            resp = client.get(url)
            assert resp.status_code == 200, url
            body = resp.get_data(as_text=True)
            if resp.is_json:
                data = resp.get_json()
                shown = {item["id"] for item in data.get("items", [])}
                found += [(url, i) for i in message_ids if i in shown]
            else:
                found += [(url, i) for i in message_ids if f"/messages/{i}/" in body
                          or f"#{i} " in body]
    return found


def test_no_supervisor_route_reaches_hr_desk_or_own_messages(matrix: Matrix) -> None:
    """Every route naming a message, for every protected message: 403/404 for the
    supervisor (setting on) and nothing changed; every list leaves them out; HR gets
    through on the same routes."""
    _set_supervisors_moderate(matrix, True)
    protected = matrix.args["protected"]
    ids = list(protected.values())
    sup, hr = signed_in(matrix.app, S), signed_in(matrix.app, H)
    before = {i: cd.message(_Shim(matrix), i).state for i in ids}
    routes_ = _rules_with(matrix.app, "message_id")
    assert len(routes_) >= 6, routes_  # photo, drawing, audio, approve, reject, retract, review
    errors = [f"{method} {endpoint} #{i} ({key}): {code}"
              for endpoint, method in routes_ for key, i in protected.items()
              if (code := _call(matrix, sup, endpoint, method, {"message_id": i}).status_code)
              not in (403, 404)]
    bulk = sup.post("/moderation/bulk", data={"csrf_token": csrf_token(matrix.app, sup),
                                              "action": "approve", "ids": ids})
    assert bulk.status_code == 302
    errors += [f"listed in {url}: #{i}" for url, i in _listed(matrix, sup, ids)]
    assert not errors, "\n".join(errors)
    assert {i: cd.message(_Shim(matrix), i).state for i in ids} == before
    assert matrix.args["message_id"] in {  # her team's own traffic is still hers
        i["id"] for i in sup.get("/moderation/queue.json?since=0").get_json()["items"]}

    assert {i for _url, i in _listed(matrix, hr, ids)} == set(ids), "HR does not see them all"
    for endpoint, method in routes_:
        for key, i in protected.items():
            if method == "GET" and not key.endswith(endpoint.rsplit(".", 1)[1]):
                continue  # a photo view on a photo, a clip's audio on a clip
            code = _call(matrix, hr, endpoint, method, {"message_id": i}).status_code
            assert code == (200 if method == "GET" else 302), (endpoint, key, code)


def test_supervisor_acts_only_on_notices_they_wrote(matrix: Matrix) -> None:
    """A notice HR wrote for the supervisor's team: tracking yes, every change 403."""
    sup, hr = signed_in(matrix.app, S), signed_in(matrix.app, H)
    hr_notice = matrix.args["hr_notice_id"]
    values = {"notice_id": hr_notice}
    routes_ = _rules_with(matrix.app, "notice_id")
    assert {e for e, m in routes_ if m == "POST"} >= {"notices.remind", "notices.withdraw"}

    def state() -> tuple[Any, ...]:
        with matrix.session() as s:
            n = s.get(Notice, hr_notice)
            return n.valid_until, n.published_at

    before = state()
    for endpoint, method in routes_:
        code = _call(matrix, sup, endpoint, method, values).status_code
        if method == "GET":
            assert code in (200, 404), (endpoint, code)  # 404: the notice has no photo
        else:
            assert code == 403, (endpoint, code)
    assert state() == before
    for endpoint, method in routes_:
        if method == "POST":
            assert _call(matrix, hr, endpoint, method, values).status_code == 302, endpoint
    assert state()[0] is not None  # HR withdrew it


class _Shim:
    """What ``console_data.message`` needs of a console: a session."""

    def __init__(self, m: Matrix) -> None:
        self.session = m.session
