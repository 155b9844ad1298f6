"""Kiosk API routes. Views only translate HTTP to service calls (hr_console.services) and
service errors to ``{"code", "message"}`` JSON; every failure of authentication is the same
401 whatever its cause, so nobody learns which terminals or sessions exist."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_limiter.util import get_remote_address
from sqlalchemy.orm import Session

from broker_config.render import ReloadError
from hr_console.services import (
    conversations,
    enrolment,
    floor_notices,
    notices,
    people,
    safety,
)
from hr_console.services import settings as settings_svc
from hr_console.services.errors import NotFound, ServiceError
from hr_console.store.models import BadgeSession, Terminal, search_key
from hr_console.web.db import settings, uow
from hr_console.web.extensions import limiter
from relais_wire import limits

bp = Blueprint("kiosk_api", __name__, url_prefix="/api/kiosk/v1")

SESSION_HEADER = "X-Relais-Session"
REALM = 'Basic realm="relais-kiosk", charset="UTF-8"'
ENROL_LIMIT = "10 per minute"
# Failed authentications per claimed terminal name and client address: one terminal's
# failures (a stale badge session, someone guessing its password) never make the other
# kiosks answer 429, even when they all reach the console through one proxy.
AUTH_FAILURE_LIMIT = "30 per minute"
# Every call, per claimed terminal name and client address. A kiosk makes them one at a time
# (a page of history, its photos, the notices, the idle board once a minute) and opens a
# photo-heavy conversation in a burst; whoever holds its password and loops on them would
# otherwise keep the console's few server threads, which HR works in, busy for ever.
CALL_LIMIT = "60 per 10 seconds;600 per 10 minutes"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    resp = jsonify({"code": code, "message": message, **extra})
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = REALM
    return resp


@bp.errorhandler(ApiError)
def _api_error(err: ApiError) -> Response:
    return _error(err.status, err.code, err.message, **err.extra)


@bp.errorhandler(ServiceError)
def _service_error(err: ServiceError) -> Response:
    out = {"field": err.detail["field"]} if err.detail.get("field") else {}
    return _error(400, err.code, err.message, **out)


@bp.errorhandler(ReloadError)
def _broker_refused(_err: ReloadError) -> Response:
    """The broker did not take the enrolment's new password: nothing was kept (the code is
    still valid), and the terminal is told to try again rather than given a bare 500."""
    return _error(503, "broker_unavailable", "The server could not apply the new credentials: "
                  "nothing changed, try again in a moment; if it persists, ask IT.")


@bp.errorhandler(429)
def _too_many(_err: Exception) -> Response:
    return _error(429, "rate_limited", "Too many attempts: wait a minute and try again.")


@bp.errorhandler(404)
@bp.errorhandler(405)  # a wrong method says no more about the API than a wrong path
def _not_found(_err: Exception) -> Response:
    return _error(404, "not_found", "Nothing here.")


@bp.errorhandler(400)
def _bad_request(_err: Exception) -> Response:
    return _error(400, "bad_request", "The request could not be understood.")


@bp.errorhandler(413)
def _too_large(_err: Exception) -> Response:
    return _error(413, "too_large", "The request is too large.")


UNAUTHORISED = ApiError(401, "unauthorised", "The terminal credentials or the badge session "
                        "are not valid.")


def _auth_failed(resp: Response) -> bool:
    return resp.status_code == 401


def claimed_terminal_key() -> str:
    """The rate-limit key of a kiosk API call: the terminal its HTTP Basic credentials name
    (the authenticated terminal when they are right) and the client address (the real one
    behind a trusted proxy), so an attacker claiming a name only slows that name from where
    they are."""
    auth = request.authorization
    name = auth.username if auth is not None and auth.type == "basic" and auth.username else "-"
    return f"{name[:64]}@{get_remote_address()}"


_auth_failures = limiter.shared_limit(AUTH_FAILURE_LIMIT, scope="kiosk_api_auth",
                                      key_func=claimed_terminal_key, deduct_when=_auth_failed)
_calls = limiter.shared_limit(CALL_LIMIT, scope="kiosk_api_calls", key_func=claimed_terminal_key)
# Name searches, within those calls: the HR desk's walks all her contacts (about 0.1 s on
# SQLite at 50,000 employees, where any other call is 5 ms). The kiosk asks when the typing
# pauses (a gloved finger pauses at most letters) and narrows a whole answer itself as more
# letters come, then waits 3 s after a 429.
SEARCH_LIMIT = "20 per 10 seconds;240 per 10 minutes"
_searches = limiter.shared_limit(SEARCH_LIMIT, scope="kiosk_api_search",
                                 key_func=claimed_terminal_key)


def auth_limit(view: Callable) -> Callable:
    """The meters of an authenticated call (checked before the credentials are)."""
    return _auth_failures(_calls(view))


def terminal_required(*, badge: bool) -> Callable:
    """HTTP Basic as an active terminal; with ``badge``, the X-Relais-Session header must
    name a badge session open on that very terminal. The view gets (session, terminal,
    badge session or None) inside one unit of work."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            auth = request.authorization
            name = auth.username if auth is not None and auth.type == "basic" else None
            password = auth.password if auth is not None and auth.type == "basic" else None
            with uow() as s:
                term = enrolment.authenticate(s, name, password)
                if term is None:
                    raise UNAUTHORISED
                sess: BadgeSession | None = None
                if badge:
                    sess = enrolment.badge_session(s, term, request.headers.get(SESSION_HEADER))
                    if sess is None:
                        raise UNAUTHORISED
                return view(s, term, sess, *args, **kwargs)

        return wrapped

    return decorate


def _json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "Send a JSON object.")
    return data


def _public_mqtt_host(cfg: Any) -> str:
    """Where a terminal reaches the broker: the ``public_mqtt_host`` setting, else the host
    it used to reach this API when the broker listens beyond loopback; ``mqtt_host`` (where
    the relays reach the broker themselves) only when it listens on loopback.
    (Homes that set ``public_mqtt_host`` in relais.toml before it was documented keep it:
    the same key now loads into the setting.)"""
    if cfg.public_mqtt_host:
        return cfg.public_mqtt_host
    try:
        loopback = ipaddress.ip_address(cfg.mqtt_bind).is_loopback
    except ValueError:
        loopback = cfg.mqtt_bind == "localhost"
    if loopback:
        return cfg.mqtt_host
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return host.strip("[]") or cfg.mqtt_host


@bp.post("/enrol")
@limiter.limit(ENROL_LIMIT)
def enrol() -> Response:
    data = _json_body()
    cfg = settings()
    ip = request.remote_addr or "?"
    try:
        with uow() as s:
            result = enrolment.enrol(s, cfg, data.get("code"), data.get("name"),
                                     actor=f"kiosk-api:{ip}")
    except enrolment.Refused as err:
        with uow() as s:
            name = data.get("name")
            enrolment.record_refusal(s, err, name[:64] if isinstance(name, str) else None,
                                     actor=f"kiosk-api:{ip}")
        raise ApiError(403, err.code, err.message) from None
    body: dict[str, Any] = {"terminal": result.terminal, "username": result.username,
                            "password": result.password, "mqtt_host": _public_mqtt_host(cfg),
                            "mqtt_port": cfg.mqtt_port, "tls": bool(cfg.tls),
                            "timezone": cfg.timezone}  # the kiosk's clock shows the site's time
    if cfg.tls_ca:
        pem = enrolment.ca_pem(cfg)
        if pem is None:
            raise ApiError(500, "server_error", "The broker's CA certificate cannot be read.")
        body["tls_ca_pem"] = pem
    return jsonify(body)


@bp.get("/ca.pem")
@limiter.limit(ENROL_LIMIT)
def ca_certificate() -> Response:
    """The CA terminals trust, for a terminal that is not yet enrolled: fetched over an
    unverified connection and checked against the fingerprint shown next to its code
    (``relais kiosk-enrol --ca-fingerprint``). A CA certificate is public; nothing else is
    said here."""
    pem = enrolment.ca_pem(settings())
    if pem is None:
        raise ApiError(404, "no_ca", "This console hands out no CA (`relais init --tls` makes one).")
    return Response(pem, mimetype="application/x-pem-file")


def _int_arg(name: str, *, required: bool = False, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise ApiError(400, "bad_request", f"The parameter {name!r} is required.", field=name)
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) < 10):
        raise ApiError(400, "bad_request", f"The parameter {name!r} must be a number.", field=name)
    return int(raw)


@bp.get("/history")
@auth_limit
@terminal_required(badge=True)
def history(s: Session, _term: Terminal, sess: BadgeSession) -> Response:
    """A page of one conversation: ``with`` a person, or in a ``group`` (exactly one)."""
    group = _int_arg("group")
    other = _int_arg("with", required=group is None)
    if group is not None and other is not None:
        raise ApiError(400, "bad_request", "Give 'with' or 'group', not both.", field="with")
    limit = _int_arg("limit", default=conversations.DEFAULT_PAGE)
    before = request.args.get("before") or None
    if before is not None and len(before) > 36:
        raise ApiError(400, "bad_cursor", "before names no message of this conversation.",
                       field="before")
    assert limit is not None
    if group is not None:
        try:
            page = conversations.group_page(s, sess.employee_id, group, before=before,
                                            limit=limit)
        except NotFound as err:  # not (or no longer) a member: the group's pages are not theirs
            raise ApiError(404, err.code, err.message) from None
        return jsonify({"group": group, "messages": page.messages, "more": page.more,
                        "before": page.cursor})
    assert other is not None
    page = conversations.page(s, sess.employee_id, other, before=before, limit=limit)
    return jsonify({"with": other, "messages": page.messages, "more": page.more,
                    "before": page.cursor})


@bp.get("/contacts")
@auth_limit
@_searches
@terminal_required(badge=True)
def find_contacts(s: Session, _term: Terminal, sess: BadgeSession) -> Response:
    """People the badged-in person may write to whose name holds ``q``: the first
    ``people.FOUND_SHOWN`` by name, as the sync lists contacts, and how many match. For a
    list the sync had to cut (``contacts_more``); nobody else is ever named."""
    q = (request.args.get("q") or "").strip()
    if len(q) > limits.MAX_FIND_CHARS:
        raise ApiError(400, "bad_request",
                       f"Search for at most {limits.MAX_FIND_CHARS} characters.", field="q")
    if len(search_key(q)) < limits.MIN_FIND_CHARS:  # a lone accent folds to nothing
        raise ApiError(400, "bad_request",
                       f"Search for at least {limits.MIN_FIND_CHARS} letters.", field="q")
    found, total = people.find_contacts(s, sess.employee_id, q)
    return jsonify({"contacts": found, "total": total})


@bp.get("/media/<msg>")
@auth_limit
@terminal_required(badge=True)
def media(s: Session, _term: Terminal, sess: BadgeSession, msg: str) -> Response:
    row = conversations.media(s, sess.employee_id, msg[:36])
    if row is None:
        raise ApiError(404, "not_found", "No such photo.")
    return Response(row.data, mimetype=row.mime or "image/jpeg")


@bp.get("/notices")
@auth_limit
@terminal_required(badge=True)
def notice_list(s: Session, _term: Terminal, sess: BadgeSession) -> Response:
    return jsonify({"notices": notices.for_employee(s, sess.employee_id)})


@bp.get("/notices/<uid>/photo")
@auth_limit
@terminal_required(badge=True)
def notice_photo(s: Session, _term: Terminal, sess: BadgeSession, uid: str) -> Response:
    """A notice's photo, or a safety alert's (it reaches the kiosk as an urgent notice), for
    the badged-in person only if it was sent to them; 404 otherwise, whether it exists."""
    data = notices.photo_for_employee(s, sess.employee_id, uid[:36]) \
        or safety.photo_for_employee(s, sess.employee_id, uid[:36])
    if data is None:
        raise ApiError(404, "not_found", "No such photo.")
    return Response(data, mimetype="image/jpeg")


@bp.get("/my-notices")
@auth_limit
@terminal_required(badge=True)
def my_notices(s: Session, _term: Terminal, sess: BadgeSession) -> Response:
    """A team lead's notices (issue 16): those they broadcast from a terminal and those sent
    to the teams they lead, with their counts. Anyone else gets an empty list."""
    return jsonify({"notices": floor_notices.mine(s, sess.employee_id)})


@bp.get("/my-notices/<uid>")
@auth_limit
@terminal_required(badge=True)
def my_notice(s: Session, _term: Terminal, sess: BadgeSession, uid: str) -> Response:
    """Who has seen and acknowledged one of them, and who not; 404 for any notice that is
    not theirs to track, whether it exists or not."""
    try:
        return jsonify(floor_notices.tracking(s, sess.employee_id, uid[:36]))
    except NotFound as err:
        raise ApiError(404, err.code, err.message) from None


@bp.get("/site-notices")
@auth_limit
@terminal_required(badge=False)
def site_notices(s: Session, term: Terminal, _sess: None) -> Response:
    """The idle screen's board: current notices for the terminal's site or everyone, and
    whether HR lets the idle screen raise a safety alert without a badge-in (the relay
    checks the same setting again: the kiosk is only told whether to show the button)."""
    return jsonify({"notices": notices.for_site_board(s, term.site_id),
                    "alert_on_idle": bool(settings_svc.get(s, safety.ON_IDLE_SETTING))})


@bp.route("/<path:_anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def anything_else(_anything: str) -> Response:
    return _error(404, "not_found", "Nothing here.")
