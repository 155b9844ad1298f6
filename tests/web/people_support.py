"""Helpers shared by the tests of the people areas (employees, teams, contacts, terminals)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask.testing import FlaskClient
from sqlalchemy import func, select

from hr_console.store.models import AuditEntry
from tests.web_fixture import PASSWORD, ROLES, Console

SCRIPT = '<script>alert("x")</script><b>bold</b>'
SCRIPT_ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;"

# Strings that would break a query built by string concatenation.
INJECTIONS = [
    "' OR 1=1 --", "\" OR \"\"=\"", "1; DROP TABLE employees; --", "%", "_", "%' --",
    "') UNION SELECT badge_hash, pin_hash FROM employees --", "\\", "1 OR 1=1", "-1", "0x1F",
    "*", "[a-z]", "NULL", "é%_'\"",
]


@dataclass
class Route:
    method: str
    path: str
    data: dict = field(default_factory=dict)


def check_roles(console: Console, routes: Iterable[Route], allowed: tuple[str, ...]) -> None:
    """Every route x every role: 403 for a signed-in wrong role, the sign-in page for
    anonymous, and through the role check (anything but 403 / sign-in) for allowed roles."""
    routes = list(routes)
    for role in ROLES:  # sign everyone in first: sign-ins are audited
        console.client(role)
    before = audit_count(console)
    for route in routes:
        resp = _call(console.client(), route)
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"], \
            f"anonymous {route.method} {route.path}: {resp.status_code}"
    for role in ROLES:
        if role in allowed:
            continue
        for route in routes:
            resp = _call(console.client(role), route)
            assert resp.status_code == 403, f"{role} {route.method} {route.path}: {resp.status_code}"
    assert audit_count(console) == before, "a refused request changed something"
    for role in allowed:
        for route in routes:
            resp = _call(console.client(role), route)
            assert resp.status_code != 403, f"{role} {route.method} {route.path}: 403"
            assert resp.status_code < 500, f"{role} {route.method} {route.path}: {resp.status_code}"
            if resp.status_code == 302:
                assert "/auth/login" not in resp.headers["Location"], f"{role} {route.path}"


def _call(client: FlaskClient, route: Route):  # noqa: ANN202
    if route.method == "GET":
        return client.get(route.path, query_string=route.data)
    return client.post(route.path, data=route.data)


def csrf_from(html: bytes) -> str:
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(rb'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1).decode()


def strict_client(console: Console, role: str) -> FlaskClient:
    """A client signed in (with the CSRF token, as a browser would) on a console that
    enforces CSRF."""
    c = console.app.test_client()
    token = csrf_from(c.get("/auth/login").data)
    resp = c.post("/auth/login", data={"username": role, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, "strict sign-in failed"
    return c


def audit_count(console: Console) -> int:
    with console.session() as s:
        return s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def audit_actions(console: Console, since: int = 0) -> list[tuple[str, str, str | None, dict | None]]:
    with console.session() as s:
        return [(e.actor, e.action, e.target, e.detail) for e in s.execute(
            select(AuditEntry).where(AuditEntry.id > since).order_by(AuditEntry.id)).scalars()]


def text(resp) -> str:  # noqa: ANN001
    return resp.data.decode()
