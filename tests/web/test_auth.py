"""Sign-in, lock-out, CSRF, idle timeout, headers: the console's front door."""

from __future__ import annotations

import time

from sqlalchemy import select

from hr_console.store.models import AuditEntry
from tests.web_fixture import PASSWORD, make_console


def test_anonymous_is_sent_to_sign_in(console) -> None:  # noqa: ANN001
    resp = console.client().get("/")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_sign_in_and_out_are_audited(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    assert c.get("/").status_code in (200, 302)
    assert c.post("/auth/logout").status_code == 302
    assert c.get("/").status_code == 302
    with console.session() as s:
        actions = [e.action for e in s.execute(select(AuditEntry)).scalars()]
    assert "login.success" in actions and "logout" in actions


def test_lock_out_after_five_failures(console) -> None:  # noqa: ANN001
    c = console.client()
    for _ in range(5):
        resp = c.post("/auth/login", data={"username": "hr", "password": "wrong"})
        assert resp.status_code == 200
    resp = c.post("/auth/login", data={"username": "hr", "password": PASSWORD})
    assert resp.status_code == 200  # locked: the right password is refused too
    assert b"locked" in resp.data or b"verrouill" in resp.data
    with console.session() as s:
        actions = [e.action for e in s.execute(select(AuditEntry)).scalars()]
    assert actions.count("login.failure") == 5
    assert "login.locked" in actions and "login.refused_locked" in actions


def test_csrf_is_required(tmp_path, db_url) -> None:  # noqa: ANN001
    strict = make_console(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    c = strict.client()
    resp = c.post("/auth/login", data={"username": "hr", "password": PASSWORD})
    assert resp.status_code == 400  # no token: refused, nothing done
    with strict.session() as s:
        assert not [e for e in s.execute(select(AuditEntry)).scalars() if e.action == "login.success"]


def test_idle_timeout_signs_out(tmp_path, db_url) -> None:  # noqa: ANN001
    short = make_console(tmp_path, db_url, IDLE_TIMEOUT_S=1)
    c = short.client("hr")
    assert c.get("/").status_code in (200, 302)
    with c.session_transaction() as sess:
        sess["last_seen"] = time.time() - 5
    resp = c.get("/")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_security_headers(console) -> None:  # noqa: ANN001
    resp = console.client().get("/auth/login")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    cookie = resp.headers.get("Set-Cookie", "")
    if cookie:
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_next_cannot_leave_the_console(console) -> None:  # noqa: ANN001
    c = console.client()
    resp = c.post("/auth/login?next=//evil.example/x", data={"username": "hr", "password": PASSWORD})
    assert resp.headers["Location"] in ("/",)
