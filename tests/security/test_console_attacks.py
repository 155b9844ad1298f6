"""Attacks on the web console through the Flask test client: session fixation, brute force,
script injection in every field a person types and the console shows back, SQL injection
strings in every search and filter, CSV formula injection on import and export.

Route x role access and CSRF are covered by tests/web/test_route_matrix.py; the basic
waits after failed sign-ins by tests/web/test_auth.py and, behind a proxy, by
tests/security/test_edge_behind_proxy.py (only the gaps are probed here).
"""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from hr_console.services import messaging
from hr_console.store.models import (
    BadgeSession,
    ConsoleUser,
    ContactRule,
    Employee,
    Message,
    Notice,
    Shift,
    Site,
    Team,
    Terminal,
)
from relais_wire.envelope import Text
from tests.security import reporting
from tests.web_fixture import PASSWORD, Console

COOKIE = "relais_session"
# One string that breaks out of text, of an attribute and of a template, and would run.
XSS = '"><script>alert(1)</script><img src=x onerror=alert(2)>{{7*7}}'
XSS_RUNS = ("<script>alert(1)", "<img src=x")  # present raw only if not escaped
XSS_SHOWN = "&lt;script&gt;alert(1)&lt;/script&gt;"  # present when shown escaped
INJECTIONS = [
    "' OR '1'='1", "' OR 1=1 --", "\" OR \"\"=\"", "1; DROP TABLE employees; --",
    "') UNION SELECT username, password_hash FROM console_users --", "%' OR '%'='",
    "1 OR 1=1", "-1", "0x1F", "99999999999999999999999", "NULL", "\\", "%", "_", "'; --",
    "1' AND SLEEP(5) --", "$(id)", "{{7*7}}", "é%_'\"\x00", "a" * 5000,
]
REPORT: dict[str, Any] = {}


def _body(resp: Any) -> str:
    # Some routes answer binary (the safety alert's sound): read leniently, a traceback or
    # a leaked hash would still be text.
    return resp.get_data().decode("utf-8", errors="replace")


def _cookie(client: Any) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


# --- sessions and sign-in ---------------------------------------------------------------------


def test_session_is_new_at_sign_in_and_nothing_from_before_survives(console: Console) -> None:
    c = console.app.test_client()
    c.get("/auth/login")
    with c.session_transaction() as sess:  # what an attacker could plant before sign-in
        sess["planted"] = "attacker"
        sess["_user_id"] = "1:forged"
    planted = _cookie(c)
    assert c.get("/employees/").status_code == 302, "a forged _user_id signed in"
    resp = c.post("/auth/login", data={"username": "hr", "password": PASSWORD})
    assert resp.status_code == 302
    after = _cookie(c)
    assert after and after != planted
    with c.session_transaction() as sess:
        assert "planted" not in sess and sess.get("_user_id", "").split(":")[0] != "1"
    # The attacker's copy of the pre-sign-in cookie is still nobody's.
    attacker = console.app.test_client()
    attacker.set_cookie(COOKIE, planted)
    resp = attacker.get("/employees/")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    # Two sign-ins of the same user get two different sessions.
    other = console.app.test_client()
    other.post("/auth/login", data={"username": "hr", "password": PASSWORD})
    assert _cookie(other) != after
    REPORT["session fixation: cookie changes at sign-in, planted keys dropped"] = "yes"


def test_a_cookie_copied_before_sign_out_is_dead_after_it(console: Console) -> None:
    c = console.client("hr")
    stolen = _cookie(c)
    assert c.post("/auth/logout").status_code == 302
    thief = console.app.test_client()
    thief.set_cookie(COOKIE, stolen)
    assert thief.get("/employees/").status_code == 302
    REPORT["a cookie copied before sign-out, replayed after it"] = "refused"


def test_waits_hold_across_clients_and_do_not_tell_who_exists(console: Console) -> None:
    for attempt in range(5):  # five clients from one address, as a script would
        resp = console.app.test_client().post("/auth/login", data={"username": "auditor",
                                                                   "password": f"guess{attempt}"})
        assert resp.status_code == (200 if attempt < 3 else 429)
    fresh = console.app.test_client()
    resp = fresh.post("/auth/login", data={"username": "auditor", "password": PASSWORD})
    assert resp.status_code == 429 and fresh.get("/audit/").status_code == 302
    for name in (" auditor ", "auditor\t", "AUDITOR"):  # other spellings wait the same
        resp = console.app.test_client().post("/auth/login", data={"username": name,
                                                                   "password": PASSWORD})
        assert resp.status_code == 429
    unknown = _body(console.app.test_client().post(
        "/auth/login", data={"username": "nobody-here", "password": "x"}))
    known = _body(console.app.test_client().post(
        "/auth/login", data={"username": "hr", "password": "wrong"}))
    assert _flash(unknown) == _flash(known), "the answer tells which usernames exist"
    REPORT["brute force: waits across clients and padded usernames"] = "held"


def _flash(body: str) -> str:
    found = re.findall(r'class="flash[^"]*"[^>]*>(.*?)<', body, re.S)
    return " ".join(f.strip() for f in found)


# --- script injection ---------------------------------------------------------------------------


def _id(console: Console, model: Any, **where: Any) -> int:
    with console.session() as s:
        stmt = select(model.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return s.execute(stmt.order_by(model.id.desc()).limit(1)).scalar_one()


def _held_message(console: Console, text: str) -> int:
    """A message from Julie (moderation 'pre') to Karim, as the relay makes it."""
    demo = console.demo
    with console.session() as s:
        terminal = s.execute(select(Terminal).where(Terminal.name == "kiosk-1")).scalar_one()
        speaker = BadgeSession(id=str(uuid.uuid4()), employee_id=demo.employees["Julie Moreau"],
                               terminal_id=terminal.id)
        s.add(speaker)
        s.flush()
        out = messaging.receive(s, speaker, str(uuid.uuid4()), "text",
                                Text(to=demo.employees["Karim Benali"], text=text), sent_ts=0,
                                seq=None)
        assert out.state == "held", out
        return out.message_id


def test_script_in_every_typed_field_is_shown_escaped(console: Console) -> None:
    hr, admin = console.client("hr"), console.client("admin")
    site = _id(console, Site, name="demo")
    atelier = _id(console, Team, name="Atelier")
    fields: dict[str, tuple[Any, list[str]]] = {}  # field -> (response of the write, pages)

    def typed(field: str, resp: Any, pages: list[str]) -> None:
        assert resp.status_code in (200, 302), (field, resp.status_code, _body(resp)[:500])
        fields[field] = (resp, pages)

    typed("employee name", hr.post("/employees/new", data={
        "name": XSS, "team": str(atelier), "language": "fr", "moderation_mode": ""}),
        ["/employees/", f"/employees/?q={XSS[:20]}"])
    emp = _id(console, Employee, name=XSS)
    fields["employee name"][1].extend([f"/employees/{emp}", f"/contacts/{emp}", "/contacts/",
                                       f"/teams/{atelier}", "/dashboard/"])
    typed("site name", admin.post("/teams/sites", data={"name": XSS[:80]}), ["/teams/"])
    typed("team name", hr.post("/teams/new", data={"name": XSS, "site": str(site)}),
          ["/teams/", "/employees/", "/notices/new", "/dashboard/", "/contacts/",
           "/dashboard/charts/teams.svg", "/dashboard/charts/matrix.svg"])
    team = _id(console, Team, name=XSS)
    fields["team name"][1].append(f"/teams/{team}")
    typed("shift name", hr.post(f"/teams/{atelier}/shifts", data={
        "new-name": XSS, "new-days": ["mon"], "new-start": "08:00", "new-end": "12:00"}),
        [f"/teams/{atelier}", "/notices/new"])
    typed("notice title and text", hr.post("/notices/new", data={
        "title": XSS, "body": XSS + "\n" + XSS, "target": f"team:{atelier}", "priority": "normal"},
        content_type="multipart/form-data"), ["/notices/", "/dashboard/"])
    notice = _id(console, Notice)
    fields["notice title and text"][1].append(f"/notices/{notice}")
    held = _held_message(console, XSS)
    fields["kiosk message text"] = (None, ["/moderation/", "/moderation/recent",
                                           f"/employees/{console.demo.employees['Julie Moreau']}"])
    typed("reject reason", hr.post(f"/moderation/messages/{held}/reject", data={"reason": XSS}),
          ["/moderation/history", "/moderation/recent", "/audit/"])
    typed("keyword list", admin.post("/settings/", data={
        "retention_days": "90", "keywords": "<script>alert(1)</script>\ngrève",
        "default_moderation": "pre"}),
        ["/settings/"])
    typed("quick replies", admin.post("/settings/quick-replies", data={
        "rows-0-icon": "ok", "rows-0-fr": XSS[:60], "rows-0-en": XSS[:60]}), ["/settings/"])
    typed("contact rule fields", hr.post("/contacts/rules", data={
        "sender": XSS[:40], "recipient": XSS[:40]}), ["/contacts/"])
    typed("failed sign-in username (shown in the audit log)",
          console.app.test_client().post("/auth/login", data={"username": XSS, "password": "x"}),
          ["/audit/", f"/audit/?actor={XSS}"])
    typed("CSV import", hr.post("/employees/import", data={"file": (io.BytesIO(
        f"name,team\n\"{XSS.replace(chr(34), chr(34) * 2)}\",\n".encode()), "p.csv")},
        content_type="multipart/form-data"), [])
    loc = fields["CSV import"][0].headers.get("Location")
    if loc:
        fields["CSV import"][1].append(loc)
    # Terminal names are restricted to [a-z0-9-]: refused with an error, never stored.
    with console.session() as s:
        terminals = s.scalar(select(func.count()).select_from(Terminal))
    resp = admin.post("/terminals/new", data={"name": XSS[:32], "site": str(site)})
    terminal_id = _id(console, Terminal, name="kiosk-1")
    resp2 = admin.post(f"/terminals/{terminal_id}/rename", data={"name": XSS[:32]})
    with console.session() as s:
        assert s.scalar(select(func.count()).select_from(Terminal)) == terminals
        assert s.scalar(select(Terminal.name).where(Terminal.id == terminal_id)) == "kiosk-1"
    fields["terminal name (refused)"] = (resp, ["/terminals/", f"/terminals/{terminal_id}"])
    for r in (resp, resp2):
        for marker in XSS_RUNS:
            assert marker not in _body(r)

    leaks, shown = [], {}
    readers = {"hr": hr, "admin": admin, "auditor": console.client("auditor")}
    for field, (write, pages) in fields.items():
        bodies = [_body(write)] if write is not None else []
        for page in pages:
            client = readers["auditor"] if page.startswith("/audit") else (
                admin if page.startswith(("/settings", "/terminals")) else hr)
            resp = client.get(page)
            assert resp.status_code < 500, (field, page, resp.status_code)
            bodies.append(_body(resp))
            if resp.status_code == 200:
                for marker in XSS_RUNS:
                    if marker in _body(resp):
                        leaks.append(f"{field}: raw {marker!r} on {page}")
        shown[field] = any(XSS_SHOWN in b or "&lt;script" in b for b in bodies)
    assert not leaks, "\n".join(leaks)
    not_shown = [f for f, ok in shown.items() if not ok and "refused" not in f
                 and f not in ("contact rule fields",)]
    assert not not_shown, f"never rendered, so not checked: {not_shown}"
    REPORT["script injection: fields typed with a script"] = len(fields)
    REPORT["script injection: pages read back"] = sum(len(p) for _w, p in fields.values())
    REPORT["script injection: shown unescaped"] = len(leaks)


# --- SQL injection -------------------------------------------------------------------------------

PARAMS = ["q", "find", "team", "site", "active", "lang", "page", "per", "sep", "show", "since",
          "ids", "actor", "action", "target", "date_from", "date_to", "period", "from", "to",
          "status", "state", "kind", "next", "month", "min"]


def _table_counts(console: Console) -> dict[str, int]:
    with console.session() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Employee, Team, Site, Message, Notice, Shift, ContactRule, ConsoleUser,
                          Terminal)}


def _get_routes(console: Console) -> list[str]:
    """Every GET page of the console, path ids filled with a real one."""
    ids = {"employee_id": console.demo.employees["Karim Benali"],
           "team_id": _id(console, Team, name="Atelier"), "notice_id": None,
           "terminal_id": _id(console, Terminal, name="kiosk-1"), "message_id": None}
    out = []
    for rule in console.app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/static", "/api/")) \
                or rule.endpoint in ("employees.import_preview", "employees.import_job",
                                     "employees.import_status"):
            continue
        path = rule.rule
        for arg in rule.arguments:
            if ids.get(arg) is None:
                path = None
                break
            path = path.replace(f"<int:{arg}>", str(ids[arg]))
        if path:
            out.append(path)
    return sorted(out)


def test_sql_injection_strings_in_every_search_and_filter(console: Console) -> None:
    admin = console.client("admin")
    routes = _get_routes(console)
    before = _table_counts(console)
    with console.session() as s:  # what a UNION would pull out: the real hashes
        secrets = [h for h in s.execute(select(ConsoleUser.password_hash)).scalars() if h]
        secrets += [h for h in s.execute(select(Employee.badge_hash)).scalars() if h]
    problems, requests = [], 0
    for path in routes:
        for n, value in enumerate(INJECTIONS):
            # Every parameter at once for every string; alone, for the first few (a parameter
            # that fails early could hide another's bug).
            alone = ({"q": value}, {"page": value}, {"team": value}) if n < 6 else ()
            for params in ({p: value for p in PARAMS}, *alone):
                resp = admin.get(path, query_string=params)
                requests += 1
                body = _body(resp)
                if resp.status_code >= 500 or "Traceback" in body:
                    problems.append(f"{path} {params if len(params) == 1 else value!r}: "
                                    f"{resp.status_code}")
                for secret in secrets:
                    if secret in body:
                        problems.append(f"{path} {value!r}: leaks {secret}")
    # No extra rows: searches with injection strings match nobody.
    for path, param in (("/employees/", "q"), ("/contacts/", "q"), ("/contacts/", "find")):
        for value in INJECTIONS[:8]:
            body = _body(admin.get(path, query_string={param: value, "active": "all"}))
            if "Sophie Martin" in body and "Thomas Petit" in body and param != "find":
                problems.append(f"{path}?{param}={value!r} listed everyone")
    auditor = console.client("auditor")
    for value in INJECTIONS[:8]:
        body = _body(auditor.get("/audit/", query_string={"target": value}))
        if "employee:2" in body:
            problems.append(f"/audit/?target={value!r} listed unrelated entries")
    assert not problems, "\n".join(problems[:40])
    assert _table_counts(console) == before
    REPORT["SQL injection: GET routes probed"] = len(routes)
    REPORT["SQL injection: requests (each string in every search and filter parameter)"] = requests
    REPORT["SQL injection: errors, leaks or extra rows"] = len(problems)


# --- CSV formula injection --------------------------------------------------------------------

FORMULAS = ["=1+1", "+SUM(A1:A9)", "-2+3", "@SUM(1)", "\t=1+1", "\r=1+1",
            "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://evil.example\",\"x\")",
            "＝1+1", "＋1+1", "－1+1", "＠SUM(1)"]  # full-width signs: Excel reads them as ASCII
SIGNS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def _import(client: Any, content: str) -> None:
    resp = client.post("/employees/import", data={"file": (io.BytesIO(content.encode()), "p.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, _body(resp)[:500]
    token = resp.headers["Location"].rstrip("/").split("/")[-1]
    resp = client.post(f"/employees/import/{token}/confirm")
    assert resp.status_code == 302, _body(resp)[:500]
    loc = resp.headers["Location"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(loc + "/status", headers={"X-Relais-Poll": "1"}).get_json()
        if status["state"] != "running":
            assert status["state"] == "done", status
            return
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def _cells(resp: Any) -> list[list[str]]:
    content = resp.data.decode("utf-8-sig")
    delimiter = ";" if content.splitlines()[0].count(";") > content.splitlines()[0].count(",") else ","
    return list(csv.reader(io.StringIO(content), delimiter=delimiter))


def test_csv_formulas_are_neutralised_on_import_and_export(console: Console) -> None:
    hr = console.client("hr")
    rows = "".join(f"\"{f.replace(chr(34), chr(34) * 2)} {i}\",\n" for i, f in enumerate(FORMULAS))
    _import(hr, "name,team\n" + rows)
    with console.session() as s:
        names = list(s.execute(select(Employee.name)).scalars())
    stored_raw = [n for n in names if n.startswith(SIGNS)]
    assert not stored_raw, f"imported as formulas: {stored_raw}"
    for f in FORMULAS[:3]:  # typed in the console too
        hr.post("/employees/new", data={"name": f"{f} typed", "team": "0", "language": "fr",
                                        "moderation_mode": ""})
    # Sign-in failures put attacker text in the audit log's actor column.
    for f in FORMULAS:
        console.app.test_client().post("/auth/login", data={"username": f, "password": "x"})
    bad = []
    for sep in ("", "semicolon"):
        for row in _cells(hr.get("/employees/export.csv", query_string={"sep": sep, "active": "all"})):
            bad += [c for c in row if c.startswith(SIGNS)]
    auditor = console.client("auditor")
    audit_rows = _cells(auditor.post("/audit/export.csv", data={}))
    bad += [c for row in audit_rows for c in row if c.startswith(SIGNS)]
    assert len(audit_rows) > len(FORMULAS)
    assert not bad, f"cells a spreadsheet would run: {bad}"
    REPORT["CSV formula injection: hostile cells tried (import, typed, sign-in names)"] = (
        len(FORMULAS) * 2 + 3)
    REPORT["CSV formula injection: cells left live in employee and audit exports"] = len(bad)


@pytest.fixture(scope="module", autouse=True)
def _write_report() -> Any:
    yield
    if REPORT:
        reporting.write("console-security/web", "Console attacks (Flask test client, demo data)",
                        list(REPORT.items()))



@pytest.mark.parametrize("content", [
    b"name,team\nJean\x00Nul,\n", b"name,team\n\xff\xfe\x00J\x00,\n", b"\x00" * 100,
    b"name,team\n" + b"A" * 100_000 + b",\n", b"name\n\"unterminated\n",
], ids=["nul-in-name", "utf16-bytes", "only-nul", "100k-name", "open-quote"])
def test_hostile_csv_files_are_explained_not_crashed(console: Console, content: bytes) -> None:
    hr = console.client("hr")
    before = _table_counts(console)
    resp = hr.post("/employees/import", data={"file": (io.BytesIO(content), "p.csv")},
                   content_type="multipart/form-data")
    assert resp.status_code in (200, 302, 400), resp.status_code
    if resp.status_code == 302:  # a preview: confirming it must not fail either
        preview = hr.get(resp.headers["Location"])
        assert preview.status_code == 200
        token = resp.headers["Location"].rstrip("/").split("/")[-1]
        done = hr.post(f"/employees/import/{token}/confirm")
        assert done.status_code in (200, 302, 400)
        if done.status_code == 302 and "/jobs/" in done.headers["Location"]:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status = hr.get(done.headers["Location"] + "/status",
                                headers={"X-Relais-Poll": "1"}).get_json()
                if status["state"] != "running":
                    break
                time.sleep(0.05)
            assert status["state"] == "done", status
    with console.session() as s:
        names = list(s.execute(select(Employee.name)).scalars())
    assert not [n for n in names if "\x00" in n]
    assert _table_counts(console)["ConsoleUser"] == before["ConsoleUser"]
