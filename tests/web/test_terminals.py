"""Terminals area (admin only): enrolment with credentials shown once, site, rename (new
credentials), rotation, revocation; the broker's files follow, and a revoked terminal is
dropped by the real broker."""

from __future__ import annotations

import datetime as dt
import re
import time

from sqlalchemy import select, update

from broker_config.passwords import verify_password
from hr_console.services import terminals
from hr_console.services.secrets import code_hash
from hr_console.store.models import BadgeSession, ConsoleUser, Site, Terminal
from hr_console.web import create_app
from kiosk_app.link import events as ev
from tests.system_fixture import DEMO_PASSWORD, expect
from tests.web.people_support import (
    SCRIPT,
    SCRIPT_ESCAPED,
    Route,
    audit_actions,
    audit_count,
    check_roles,
    strict_client,
    text,
)
from tests.web_fixture import make_console


def _terminal(console, name: str) -> Terminal | None:  # noqa: ANN001
    with console.session() as s:
        row = s.execute(select(Terminal).where(Terminal.name == name)).scalar_one_or_none()
        if row is not None:
            s.expunge(row)
        return row


def _site_id(console, name: str = "demo") -> int:  # noqa: ANN001
    with console.session() as s:
        return s.execute(select(Site.id).where(Site.name == name)).scalar_one()


def _speaks(console, username: str, language: str) -> None:  # noqa: ANN001
    with console.session() as s:
        s.execute(update(ConsoleUser).where(ConsoleUser.username == username).values(language=language))


def _passwd(console) -> dict[str, str]:  # noqa: ANN001
    lines = (console.cfg.broker_dir / "passwd").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line)


def _creds(html: str) -> tuple[str, str]:
    password = re.search(r'<code id="password">([^<]+)</code>', html).group(1)
    code = re.search(r'<p class="enrol-code" id="enrol-code">([^<]+)</p>', html).group(1)
    return password, code


def test_every_route_by_role(console) -> None:  # noqa: ANN001
    t1 = _terminal(console, "kiosk-1")
    site = _site_id(console)
    routes = [
        Route("GET", "/terminals/"),
        Route("POST", "/terminals/new", {"name": "kiosk-roles", "site": str(site)}),
        Route("GET", f"/terminals/{t1.id}"),
        Route("POST", f"/terminals/{t1.id}/site", {"site": str(site)}),
        Route("POST", f"/terminals/{t1.id}/rename", {"name": "kiosk-1"}),
        Route("POST", f"/terminals/{t1.id}/rotate"),
        Route("POST", f"/terminals/{t1.id}/revoke"),
    ]
    check_roles(console, routes, allowed=("admin",))


def test_posts_without_csrf_token_are_refused(tmp_path, db_url) -> None:  # noqa: ANN001
    strict = make_console(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    try:
        c = strict_client(strict, "admin")
        t1 = _terminal(strict, "kiosk-1")
        before, passwd = audit_count(strict), _passwd(strict)
        for path, data in [("/terminals/new", {"name": "kiosk-x", "site": "0"}),
                           (f"/terminals/{t1.id}/site", {"site": "0"}),
                           (f"/terminals/{t1.id}/rename", {"name": "kiosk-y"}),
                           (f"/terminals/{t1.id}/rotate", {}), (f"/terminals/{t1.id}/revoke", {})]:
            assert c.post(path, data=data).status_code == 400, path
        assert audit_count(strict) == before and _passwd(strict) == passwd
        assert _terminal(strict, "kiosk-1").active and _terminal(strict, "kiosk-x") is None
    finally:
        strict.app.extensions["relais_store"].dispose()


def test_enrol_shows_credentials_once(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    since = audit_count(console)
    resp = c.post("/terminals/new", data={"name": "quai-3", "site": str(_site_id(console))})
    assert resp.status_code == 200
    page = text(resp)
    password, code = _creds(page)
    assert resp.headers["Cache-Control"] == "no-store"
    row = _terminal(console, "quai-3")
    assert verify_password(password, row.password_hash) and row.enrol_code_hash == code_hash(code)
    assert password not in repr(row.__dict__) and code not in repr(row.__dict__)
    assert verify_password(password, _passwd(console)["quai-3"])
    # Never shown again.
    for later in (c.get("/terminals/"), c.get(f"/terminals/{row.id}")):
        assert password not in text(later) and code not in text(later)
        assert "quai-3" in text(later)
    entries = audit_actions(console, since)
    # Created, and its audit chain opened (what the relays audit for it goes there).
    assert [(a, t) for _x, a, t, _d in entries] == [("terminal.create", f"terminal:{row.id}"),
                                                     ("audit.chain_opened", f"terminal:{row.id}")]
    assert password not in str(entries) and code not in str(entries)
    # The list shows the pending enrolment code, site and state.
    listing = text(c.get("/terminals/"))
    assert "held" in listing.split("quai-3")[1].split("</tr>")[0]


def test_enrol_refuses_bad_or_taken_names(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    before, passwd = audit_count(console), _passwd(console)
    for name in ("Kiosk-9", "kiosk 9", "", "k" * 33, "kiosk/9", "kiosk-1", SCRIPT, "+kiosk", "kiosk-9\nx"):
        resp = c.post("/terminals/new", data={"name": name, "site": "0"})
        assert resp.status_code == 400, name
        assert "<script>alert" not in text(resp)
    assert audit_count(console) == before and _passwd(console) == passwd
    resp = c.post("/terminals/new", data={"name": "kiosk-9", "site": "999999"})
    assert resp.status_code == 400 and _terminal(console, "kiosk-9") is None
    # Spaces around a pasted name are trimmed.
    assert c.post("/terminals/new", data={"name": " kiosk-9 \n", "site": "0"}).status_code == 200
    assert _terminal(console, "kiosk-9") is not None


def test_site_change_keeps_credentials(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    c.post("/teams/sites", data={"name": "Entrepôt"})
    t1 = _terminal(console, "kiosk-1")
    since = audit_count(console)
    resp = c.post(f"/terminals/{t1.id}/site", data={"site": str(_site_id(console, "Entrepôt"))})
    assert resp.status_code == 302
    after = _terminal(console, "kiosk-1")
    assert after.site_id == _site_id(console, "Entrepôt") and after.password_hash == t1.password_hash
    assert c.post(f"/terminals/{t1.id}/site", data={"site": "0"}).status_code == 302
    assert _terminal(console, "kiosk-1").site_id is None
    assert [a for _x, a, _t, _d in audit_actions(console, since)] == ["terminal.site", "terminal.site"]


def test_rename_issues_new_credentials(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    t1 = _terminal(console, "kiosk-1")
    old_password = console.demo.terminals["kiosk-1"]["password"]
    since = audit_count(console)
    resp = c.post(f"/terminals/{t1.id}/rename", data={"name": "accueil-1"})
    assert resp.status_code == 200
    password, code = _creds(text(resp))
    assert _terminal(console, "kiosk-1") is None
    renamed = _terminal(console, "accueil-1")
    assert renamed.id == t1.id and verify_password(password, renamed.password_hash)
    accounts = _passwd(console)
    assert "kiosk-1" not in accounts and verify_password(password, accounts["accueil-1"])
    assert not verify_password(old_password, accounts["accueil-1"])
    assert renamed.enrol_code_hash == code_hash(code)
    # Same name, a taken name, a bad name: refused, nothing changed.
    for name in ("accueil-1", "kiosk-2", "Accueil 2"):
        assert c.post(f"/terminals/{t1.id}/rename", data={"name": name}).status_code == 400
    assert _passwd(console) == accounts
    entries = audit_actions(console, since)
    assert [(a, d.get("old"), d.get("new")) for _x, a, _t, d in entries] == \
        [("terminal.rename", "kiosk-1", "accueil-1")]


def test_rotate_revoke_reinstate(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    t2 = _terminal(console, "kiosk-2")
    with console.session() as s:  # someone is badged in on kiosk-2
        s.add(BadgeSession(id="s-1", employee_id=console.demo.employees["Karim Benali"], terminal_id=t2.id))
    since = audit_count(console)
    resp = c.post(f"/terminals/{t2.id}/rotate")
    assert resp.status_code == 200
    password, _code = _creds(text(resp))
    assert verify_password(password, _passwd(console)["kiosk-2"])
    assert not verify_password(console.demo.terminals["kiosk-2"]["password"], _passwd(console)["kiosk-2"])

    resp = c.post(f"/terminals/{t2.id}/revoke", follow_redirects=True)
    assert resp.status_code == 200
    row = _terminal(console, "kiosk-2")
    assert not row.active and row.password_hash is None and row.enrol_code_hash is None
    assert "kiosk-2" not in _passwd(console)
    with console.session() as s:
        session = s.get(BadgeSession, "s-1")
        assert session.ended_at is not None and session.end_reason == "terminal_revoked"
    assert "révoquée" in text(resp) or "revoked" in text(resp)

    resp = c.post(f"/terminals/{t2.id}/rotate")  # reinstate
    assert resp.status_code == 200
    password, _code = _creds(text(resp))
    assert _terminal(console, "kiosk-2").active and verify_password(password, _passwd(console)["kiosk-2"])
    assert [a for _x, a, _t, _d in audit_actions(console, since)] == \
        ["terminal.rotate", "terminal.revoke", "terminal.rotate"]
    assert c.post("/terminals/999999/revoke").status_code == 404


def test_site_names_are_escaped(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    c.post("/teams/sites", data={"name": SCRIPT})
    site = _site_id(console, SCRIPT)
    c.post(f"/terminals/{_terminal(console, 'kiosk-1').id}/site", data={"site": str(site)})
    for page in (c.get("/terminals/"), c.get(f"/terminals/{_terminal(console, 'kiosk-1').id}")):
        assert "<script>alert" not in text(page) and SCRIPT_ESCAPED in text(page)


# --- with the real broker ----------------------------------------------------------------------


def test_revoked_terminal_is_dropped_and_cannot_reconnect(system) -> None:  # noqa: ANN001
    app = create_app(system.cfg, {"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    try:
        admin = app.test_client()
        assert admin.post("/auth/login", data={"username": "admin", "password": DEMO_PASSWORD}
                          ).status_code == 302
        k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
        with system.store.session() as s:
            t1 = s.execute(select(Terminal.id).where(Terminal.name == "kiosk-1")).scalar_one()
        resp = admin.post(f"/terminals/{t1}/revoke")
        assert resp.status_code == 302
        expect(k1, ev.LinkDown)
        # It keeps trying (paho reconnects with back-off) and is refused every time.
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            assert not k1.connected
            time.sleep(0.2)
        assert k2.connected  # the other terminal is untouched
        with system.store.session() as s:
            assert not s.execute(select(Terminal.active).where(Terminal.id == t1)).scalar_one()
    finally:
        app.extensions["relais_store"].dispose()


def test_a_change_the_broker_refuses_is_said_and_kept_nowhere(system) -> None:  # noqa: ANN001
    """Mosquitto drops a password entry it cannot read (a salt of 16 bytes, which our format
    check lets through) and logs why: adding a terminal then must not answer a bare 500 nor
    keep a terminal the broker never took, and a kiosk enrolling gets a JSON 503."""
    from sqlalchemy import update

    from broker_config.passwords import hash_password
    from hr_console.services import directory

    app = create_app(system.cfg, {"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    try:
        with system.store.session() as s:
            _, creds = directory.terminal(s, "quai-9", directory.site_by_name(s, "demo"))
            s.execute(update(Terminal).where(Terminal.name == "kiosk-1")
                      .values(password_hash=hash_password("x", salt=b"s" * 16)))
        admin = app.test_client()
        assert admin.post("/auth/login", data={"username": "admin", "password": DEMO_PASSWORD}
                          ).status_code == 302
        with system.store.session() as s:
            site = s.execute(select(Site.id).where(Site.name == "demo")).scalar_one()
        resp = admin.post("/terminals/new", data={"name": "quai-4", "site": str(site)})
        assert resp.status_code == 503
        assert "nothing was changed" in text(resp) or "rien n&#39;a été changé" in text(resp)
        enrol = app.test_client().post("/api/kiosk/v1/enrol", json={"code": creds.enrol_code})
        assert enrol.status_code == 503 and enrol.get_json()["code"] == "broker_unavailable"
        with system.store.session() as s:
            names = set(s.execute(select(Terminal.name)).scalars())
            quai9 = s.execute(select(Terminal).where(Terminal.name == "quai-9")).scalar_one()
            assert "quai-4" not in names and quai9.enrol_code_hash == code_hash(creds.enrol_code)
    finally:
        app.extensions["relais_store"].dispose()


def test_a_fleet_is_read_by_page_site_state_and_name(console) -> None:  # noqa: ANN001
    """Hundreds of terminals over two sites: the IT person sees the fleet's counts per state,
    each a link to those terminals, and narrows the list by name, site and state, a page at
    a time."""
    with console.session() as s:  # the demo's enrolment codes have expired
        s.execute(update(Terminal).values(enrol_expires=None, enrol_code_hash=None))
        before = terminals.find(s, terminals.TerminalFilter())
        nord, sud = Site(name="Nord"), Site(name="Sud")
        s.add_all([nord, sud])
        s.flush()
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        for i in range(150):
            s.add(Terminal(name=f"nord-{i:03d}", site_id=nord.id, online=True,
                           password_hash="x", last_seen=now))
        for i in range(80):
            s.add(Terminal(name=f"sud-{i:03d}", site_id=sud.id, online=False,
                           password_hash="x", logins_suspended_at=now if i < 3 else None,
                           enrol_code_hash="c" if i == 79 else None,
                           enrol_expires=now + dt.timedelta(hours=1) if i == 79 else None))
        for i in range(4):
            s.add(Terminal(name=f"ancien-{i}", active=False, online=True))
        nord_id, sud_id = nord.id, sud.id
    c = console.client("admin")
    _speaks(console, "admin", "en")

    def names(resp) -> list[str]:  # noqa: ANN001
        assert resp.status_code == 200
        return re.findall(r'href="/terminals/\d+">([^<]+)</a>', text(resp))

    first = c.get("/terminals/")
    listed = names(first)
    assert len(listed) == terminals.PER_PAGE and "Page 1 of 3" in text(first)
    assert listed == sorted(listed)  # active ones by name
    fleet = re.search(r'<p class="result-count" id="fleet">(.*?)</p>', text(first), re.S).group(1)
    total = before.fleet + 234
    added = {"online": 150, "offline": 80, "suspended": 3, "enrolling": 1, "revoked": 4}
    counts = {st: before.counts[st] + n for st, n in added.items()}
    assert f"{total} terminals:" in fleet
    assert f'state=online" class="fleet-online">{counts["online"]} online<' in fleet
    assert f'>{counts["offline"]} offline<' in fleet
    assert f'>{counts["suspended"]} with badge-ins suspended<' in fleet
    assert counts["enrolling"] == 1 and '>1 waiting for its enrolment<' in fleet
    assert f'>{counts["revoked"]} revoked<' in fleet
    last = c.get("/terminals/?page=3")
    assert names(last)[-4:] == [f"ancien-{i}" for i in range(4)]  # revoked last

    sud_page = c.get(f"/terminals/?site={sud_id}")
    assert names(sud_page) == [f"sud-{i:03d}" for i in range(80)]
    suspended = c.get("/terminals/?state=suspended")
    assert names(suspended) == ["sud-000", "sud-001", "sud-002"]
    waiting = c.get(f"/terminals/?state=enrolling&site={sud_id}")
    assert names(waiting) == ["sud-079"]
    found = c.get("/terminals/?q=NORD-14")
    assert names(found) == [f"nord-14{i}" for i in range(10)]
    # The pager keeps the filter.
    online = c.get(f"/terminals/?state=online&site={nord_id}")
    assert "Page 1 of 2" in text(online) and f"site={nord_id}" in text(online) \
        and "state=online" in text(online)
    assert names(c.get(f"/terminals/?q=%25&site={nord_id}")) == []
    assert "No terminal matches." in text(c.get("/terminals/?q=zzz"))
    _speaks(console, "admin", "fr")
    french = text(c.get("/terminals/?q=zzz"))
    assert "Aucun terminal ne correspond." in french and f"{total} terminaux" in french
