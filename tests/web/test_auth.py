"""Sign-in, waits after failures, CSRF, idle timeout, headers: the console's front door."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select, update

from hr_console.store.models import AuditEntry, Throttle, utcnow
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


def test_failures_earn_a_growing_wait_not_a_lock(console) -> None:  # noqa: ANN001
    """Three wrong passwords are free; then each attempt from there waits, unchecked (the
    right password too), instead of locking the account for everyone."""
    c = console.client()
    for _ in range(3):
        resp = c.post("/auth/login", data={"username": "hr", "password": "wrong"})
        assert resp.status_code == 200
    resp = c.post("/auth/login", data={"username": "hr", "password": PASSWORD},
                  headers={"Accept-Language": "en"})
    assert resp.status_code == 429 and b"Too many attempts: try again in 2 s." in resp.data
    fr = c.post("/auth/login", data={"username": "hr", "password": PASSWORD},
                headers={"Accept-Language": "fr"})
    assert "Trop de tentatives : réessayez dans" in fr.get_data(as_text=True)
    with console.session() as s:
        actions = [e.action for e in s.execute(select(AuditEntry)).scalars()]
        assert actions.count("login.failure") == 3 and actions.count("login.throttled") == 2
        assert "login.locked" not in actions and "login.success" not in actions
        # Once the wait has run out (as if two seconds had passed), the password is checked.
        s.execute(update(Throttle).values(wait_until=utcnow() - dt.timedelta(seconds=1)))
        s.commit()
    resp = c.post("/auth/login", data={"username": "hr", "password": PASSWORD})
    assert resp.status_code == 302


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
