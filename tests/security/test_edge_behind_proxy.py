"""The console's edge, attacked as an attacker does it: real HTTP clients against the console
served by waitress, reached as through the documented nginx (every connection comes from
127.0.0.1, the client's address is in X-Forwarded-For), and as a client forging those
headers when no proxy is trusted.

What is asserted is what the attacker got: no kiosk API refused to other terminals, no
console account locked for its owner, no word of which names exist, nothing they typed in
the audit log or the throttle table, and no enrolment over plain HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select, update

from hr_console.cli import main
from hr_console.services import directory
from hr_console.store.models import AuditEntry, ConsoleUser, Throttle, utcnow
from hr_console.web.extensions import limiter
from tests.served import served
from tests.web_fixture import PASSWORD, Console, make_console

API = "/api/kiosk/v1"
ATTACKER = "203.0.113.7"  # documentation addresses (RFC 5737)
ADMIN_DESK = "198.51.100.9"
KIOSK_1_ADDRESS, KIOSK_2_ADDRESS = "198.51.100.21", "198.51.100.22"


class Proxied:
    """A console under waitress; ``get``/``post`` go through "the proxy" as ``client``."""

    def __init__(self, console: Console, url: str) -> None:
        self.console, self.url = console, url

    def call(self, method: str, path: str, client: str | None, *, http: Any = None,
             proto: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Accept-Language": "en", **kwargs.pop("headers", {})}
        if client is not None:
            headers["X-Forwarded-For"] = client
        if proto is not None:
            headers["X-Forwarded-Proto"] = proto
        return (http or requests).request(method, self.url + path, headers=headers,
                                          allow_redirects=False, timeout=30, **kwargs)

    def sign_in(self, username: str, password: str, client: str | None,
                http: Any = None, proto: str | None = None) -> requests.Response:
        return self.call("POST", "/auth/login", client, http=http, proto=proto,
                         data={"username": username, "password": password})

    def audit_since(self, since: int) -> list[AuditEntry]:
        with self.console.session() as s:
            return list(s.execute(select(AuditEntry).where(AuditEntry.id > since)
                                  .order_by(AuditEntry.id)).scalars())

    def audit_last(self) -> int:
        with self.console.session() as s:
            return s.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)
                             ).scalar() or 0


@pytest.fixture
def make_proxied(tmp_path: Path, db_url: str) -> Iterator[Any]:
    """Start the console with ``trusted_proxies`` = n and its real rate limits."""
    stack: list[Any] = []

    def start(trusted: int) -> Proxied:
        console = make_console(tmp_path / f"p{len(stack)}", db_url,
                               settings={"trusted_proxies": trusted}, RATELIMIT_ENABLED=True)
        limiter.reset()  # counts are per process: none left from another test
        serving = served(console.app)
        url = serving.__enter__()
        stack.append(serving)
        return Proxied(console, url)

    try:
        yield start
    finally:
        for serving in reversed(stack):
            serving.__exit__(None, None, None)
        limiter.reset()


def _basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def _terminal(console: Console, name: str) -> dict[str, str]:
    creds = console.demo.terminals[name]
    return _basic(creds["username"], creds["password"])


def _flashes(resp: requests.Response) -> list[str]:
    return [f.strip() for f in re.findall(r'class="flash[^"]*"[^>]*>(.*?)<', resp.text, re.S)]


# --- kiosk API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("trusted", [1, 0])
def test_one_terminals_bad_logins_never_refuse_the_other_kiosks(make_proxied: Any,
                                                                trusted: int) -> None:
    """Behind nginx every kiosk is 127.0.0.1 to the console: 31 bad HTTP Basic logins
    claiming kiosk-1 made every kiosk's API answer 429. With the proxy trusted or not, the
    other terminal is never counted with them."""
    p = make_proxied(trusted)
    kiosk_2 = _terminal(p.console, "kiosk-2")
    assert p.call("GET", f"{API}/site-notices", KIOSK_2_ADDRESS, headers=kiosk_2).status_code == 200
    answers = [p.call("GET", f"{API}/site-notices", ATTACKER,
                      headers=_basic("kiosk-1", f"guess-{i}")).status_code for i in range(35)]
    assert answers[:30] == [401] * 30 and set(answers[30:]) == {429}
    for _ in range(3):
        resp = p.call("GET", f"{API}/site-notices", KIOSK_2_ADDRESS, headers=kiosk_2)
        assert resp.status_code == 200, resp.text
    if trusted:  # the real kiosk-1, from its own address, is not slowed either
        resp = p.call("GET", f"{API}/site-notices", KIOSK_1_ADDRESS,
                      headers=_terminal(p.console, "kiosk-1"))
        assert resp.status_code == 200


# --- console sign-in ---------------------------------------------------------------------------


def test_guesses_for_admin_do_not_block_the_real_admin_elsewhere(make_proxied: Any) -> None:
    p = make_proxied(1)
    since = p.audit_last()
    answers = [p.sign_in("admin", f"guess-{i}", ATTACKER) for i in range(12)]
    assert [r.status_code for r in answers[:3]] == [200] * 3
    assert all(r.status_code == 429 for r in answers[3:])  # waits, then the flood guard
    # The attacker guessing right while a wait runs gets nothing: the guess is not checked.
    lucky = p.sign_in("admin", PASSWORD, ATTACKER)
    assert lucky.status_code == 429 and "Location" not in lucky.headers
    admin = requests.Session()
    resp = p.sign_in("admin", PASSWORD, ADMIN_DESK, http=admin)
    assert resp.status_code == 302, _flashes(resp)
    assert p.call("GET", "/users/", ADMIN_DESK, http=admin).status_code == 200
    entries = p.audit_since(since)
    failures = [e for e in entries if e.action == "login.failure"]
    assert len(failures) == 3 and {e.detail["ip"] for e in failures} == {ATTACKER}
    assert [e.detail["ip"] for e in entries if e.action == "login.success"] == [ADMIN_DESK]
    assert not [e for e in entries if e.action in ("login.locked", "login.refused_locked")]


def test_nobody_can_lock_admin_out(make_proxied: Any) -> None:
    """Five wrong passwords locked an account for 15 minutes, whoever typed them; now a
    botnet of ten addresses, five guesses each, leaves admin's own sign-in untouched."""
    p = make_proxied(1)
    for bot in range(10):
        for guess in range(5):
            assert p.sign_in("admin", f"bot{bot}-{guess}", f"203.0.113.{bot + 10}"
                             ).status_code in (200, 429)
    assert p.sign_in("admin", PASSWORD, ADMIN_DESK).status_code == 302
    with p.console.session() as s:
        row = s.execute(select(ConsoleUser).where(ConsoleUser.username == "admin")).scalar_one()
        assert row.locked_until is None


def test_forged_forwarded_for_changes_nothing_without_a_trusted_proxy(make_proxied: Any) -> None:
    p = make_proxied(0)
    since = p.audit_last()
    answers = [p.sign_in("hr", "wrong", f"10.0.{i}.1").status_code for i in range(5)]
    assert answers == [200, 200, 200, 429, 429]  # a new forged address every time: no help
    entries = p.audit_since(since)
    assert {e.detail["ip"] for e in entries} == {"127.0.0.1"}
    assert "10.0." not in str([(e.actor, e.target, e.detail) for e in entries])
    # Nor does a forged X-Forwarded-Proto make the cookie Secure on plain HTTP.
    resp = p.call("GET", "/auth/login", None, proto="https")
    assert "Secure" not in resp.headers.get("Set-Cookie", "")
    # Kiosk API guesses with a new forged address each: all counted against the connection.
    answers = [p.call("GET", f"{API}/site-notices", f"10.9.{i}.1",
                      headers=_basic("kiosk-1", "guess")).status_code for i in range(32)]
    assert answers[:30] == [401] * 30 and set(answers[30:]) == {429}


def test_unknown_names_inactive_users_and_wrong_passwords_get_one_answer(
        make_proxied: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same status, same page (the typed name aside), same flash, attempt after attempt
    (the old lock said "locked" for real accounts only), and one password check of the
    same kind each, so the time taken does not tell either."""
    from hr_console.services import secrets

    checked: list[str] = []
    real_check = secrets.check_password_hash

    def counting(stored: str, secret: str) -> bool:
        checked.append(stored.split("$", 1)[0])  # the method and its cost parameters
        return real_check(stored, secret)

    monkeypatch.setattr(secrets, "check_password_hash", counting)
    p = make_proxied(1)
    with p.console.session() as s:
        directory.console_user(s, "ancien", "an-old-password", "hr", actor="test")
        s.flush()
        s.execute(update(ConsoleUser).where(ConsoleUser.username == "ancien").values(active=False))
    pages: dict[str, list[tuple[int, str, list[str]]]] = {}
    kinds: dict[str, list[str]] = {}
    for i, (name, password) in enumerate([("hr", "wrong"), ("nobody-here", "wrong"),
                                          ("ancien", "an-old-password")]):
        pages[name], kinds[name] = [], []
        for _ in range(6):
            checked.clear()
            resp = p.sign_in(name, password, f"192.0.2.{i + 1}")
            # Aside from the typed name echoed back and the session's CSRF token.
            page = re.sub(r'\s(value|content)="[^"]*"', "", resp.text)
            pages[name].append((resp.status_code, page, _flashes(resp)))
            kinds[name].append(",".join(checked))
    assert pages["hr"] == pages["nobody-here"] == pages["ancien"]
    assert [status for status, _t, _f in pages["hr"]] == [200, 200, 200, 429, 429, 429]
    assert pages["hr"][0][2] == ["Wrong username or password."]
    assert kinds["hr"] == kinds["nobody-here"] == kinds["ancien"]
    assert kinds["hr"][0].startswith("scrypt") and kinds["hr"][3:] == ["", "", ""]


def test_audit_keeps_no_typed_unknown_name_and_records_the_client(make_proxied: Any) -> None:
    """A password typed into the name field must not land in the audit log (nor in the
    throttle table); the address recorded is the browser's, not the proxy's."""
    p = make_proxied(1)
    since = p.audit_last()
    typed = "Hunter2-Secret!"
    for _ in range(5):
        p.sign_in(typed, "whatever", ATTACKER)
    p.sign_in("hr", "wrong", ATTACKER)
    entries = p.audit_since(since)
    assert entries and typed not in str([(e.actor, e.target, e.detail) for e in entries])
    assert {e.actor for e in entries if e.target is None} == {"?"}
    assert {e.actor for e in entries if e.target is not None} == {"hr"}
    assert {e.detail["ip"] for e in entries} == {ATTACKER}
    with p.console.session() as s:
        keys = list(s.execute(select(Throttle.key)).scalars())
    assert keys and not [k for k in keys if typed.lower() in k.lower() or ATTACKER in k]


def test_unlock_clears_a_users_waits_from_every_address(make_proxied: Any) -> None:
    p = make_proxied(1)
    for address in ("192.0.2.50", "192.0.2.51"):
        for _ in range(4):
            p.sign_in("auditor", "wrong", address)
    assert p.sign_in("auditor", PASSWORD, "192.0.2.50").status_code == 429
    admin = requests.Session()
    assert p.sign_in("admin", PASSWORD, ADMIN_DESK, http=admin).status_code == 302
    with p.console.session() as s:
        uid = s.execute(select(ConsoleUser.id).where(ConsoleUser.username == "auditor")).scalar_one()
    page = p.call("GET", f"/users/{uid}", ADMIN_DESK, http=admin)
    assert f'action="/users/{uid}/unlock"' in page.text
    assert p.call("POST", f"/users/{uid}/unlock", ADMIN_DESK, http=admin).status_code == 302
    for address in ("192.0.2.50", "192.0.2.51"):
        assert p.sign_in("auditor", PASSWORD, address).status_code == 302


# --- the session cookie ------------------------------------------------------------------------


def test_secure_cookie_follows_the_scheme_the_browser_used(make_proxied: Any) -> None:
    p = make_proxied(1)
    over_https = p.sign_in("hr", PASSWORD, ADMIN_DESK, proto="https")
    assert over_https.status_code == 302
    cookie = over_https.headers["Set-Cookie"]
    assert "relais_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert "max-age" in over_https.headers.get("Strict-Transport-Security", "")
    over_http = p.sign_in("hr", PASSWORD, ADMIN_DESK)
    assert over_http.status_code == 302
    assert "relais_session=" in over_http.headers["Set-Cookie"]
    assert "Secure" not in over_http.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in over_http.headers


def test_the_session_cookie_expires_and_the_session_ends_after_its_lifetime(
        tmp_path: Path, db_url: str) -> None:
    console = make_console(tmp_path, db_url)
    try:
        c = console.app.test_client()
        resp = c.post("/auth/login", data={"username": "hr", "password": PASSWORD})
        assert resp.status_code == 302
        cookie = resp.headers["Set-Cookie"]
        expires = re.search(r"Expires=([^;]+)", cookie)
        assert expires, cookie
        when = dt.datetime.strptime(expires.group(1), "%a, %d %b %Y %H:%M:%S GMT")
        hours = (when - utcnow()).total_seconds() / 3600
        assert 11.5 < hours <= 12.1
        assert c.get("/notices/").status_code == 200
        # Kept busy all along, the session still ends 12 hours after sign-in.
        with c.session_transaction() as sess:
            sess["signed_in_at"] -= 12 * 3600 + 60
            sess["last_seen"] = sess["signed_in_at"] + 12 * 3600  # a minute ago
        resp = c.get("/notices/")
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    finally:
        console.app.extensions["relais_store"].dispose()


# --- enrolment ---------------------------------------------------------------------------------


def test_kiosk_enrol_refuses_plain_http_beyond_loopback(tmp_path: Path) -> None:
    out = tmp_path / "kiosk-etc"
    result = CliRunner().invoke(main, ["kiosk-enrol", "http://relais.usine.local",
                                       "1A2B-3C4D-5E6F", "--out", str(out)])
    assert result.exit_code != 0
    line = result.output.strip()
    assert "\n" not in line and "https://" in line and "--ca" in line, line
    assert not out.exists()
    from kiosk_app.link.api import KioskApiError, check_enrol_url, enrol

    for url in ("http://10.0.20.5:8470", "http://192.168.1.10", "ftp://relais.usine.local"):
        with pytest.raises(KioskApiError) as err:
            enrol(url, "1A2B-3C4D-5E6F", timeout=1)
        assert err.value.code == "insecure_url"
    for url in ("http://127.0.0.1:8470", "http://127.8.9.1", "http://localhost:8470",
                "http://[::1]:8470", "https://relais.usine.local"):
        check_enrol_url(url)  # the demo and tests, and HTTPS anywhere


def test_trusted_proxies_comes_from_flag_variable_or_relais_toml(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hr_console import config

    assert config.load(tmp_path).trusted_proxies == 0  # nobody trusted by default
    (tmp_path / config.CONFIG_FILE).write_text("trusted_proxies = 1\n")
    assert config.load(tmp_path).trusted_proxies == 1
    monkeypatch.setenv("RELAIS_TRUSTED_PROXIES", "2")
    assert config.load(tmp_path).trusted_proxies == 2
    assert config.load(tmp_path, trusted_proxies=0).trusted_proxies == 0
    monkeypatch.setenv("RELAIS_TRUSTED_PROXIES", "nginx")
    with pytest.raises(ValueError, match="trusted_proxies"):
        config.load(tmp_path)
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "--trusted-proxies", "-1",
                                       "status"])
    assert result.exit_code != 0 and "trusted-proxies" in result.output
