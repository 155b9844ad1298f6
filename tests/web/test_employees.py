"""Employees area: list, search and filters (also at 10,000 people), profile, badge, PIN,
activation, CSV import (preview writes nothing; formulas neutralised) and export."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from sqlalchemy import func, insert, select

from hr_console.services import employees, employees_io
from hr_console.services.secrets import badge_hash, check_secret
from hr_console.store.models import AuditEntry, Employee, Team
from tests.web.people_support import (
    INJECTIONS,
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


def _id(console, name: str) -> int:  # noqa: ANN001
    return console.demo.employees[name]


def _employee(console, employee_id: int) -> Employee:  # noqa: ANN001
    with console.session() as s:
        row = s.get(Employee, employee_id)
        s.expunge(row)
        return row


def _count(console) -> int:  # noqa: ANN001
    with console.session() as s:
        return s.execute(select(func.count()).select_from(Employee)).scalar_one()


def _team_id(console, name: str) -> int:  # noqa: ANN001
    with console.session() as s:
        return s.execute(select(Team.id).where(Team.name == name)).scalar_one()


def _upload(client, data: bytes, filename: str = "people.csv"):  # noqa: ANN001, ANN202
    return client.post("/employees/import", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def _wait_job(client, location: str, timeout: float = 60.0) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(location + "/status", headers={"X-Relais-Poll": "1"}).get_json()
        if status["state"] != "running":
            return status
        assert time.monotonic() < deadline, f"import still running: {status}"
        time.sleep(0.05)


# --- roles and CSRF ------------------------------------------------------------------------


def test_every_route_by_role(console) -> None:  # noqa: ANN001
    karim = _id(console, "Karim Benali")
    routes = [
        Route("GET", "/employees/"),
        Route("GET", "/employees/", {"q": "Karim", "team": "1", "active": "all", "lang": "fr"}),
        Route("GET", "/employees/export.csv"),
        Route("GET", "/employees/new"),
        Route("POST", "/employees/new", {"name": "Role Test", "team": "0", "language": "fr",
                                         "moderation_mode": ""}),
        Route("GET", f"/employees/{karim}"),
        Route("POST", f"/employees/{karim}", {"name": "Karim Benali", "team": "0", "language": "fr",
                                              "moderation_mode": ""}),
        Route("POST", f"/employees/{karim}/badge", {"badge": "77001"}),
        Route("POST", f"/employees/{karim}/badge/remove"),
        Route("POST", f"/employees/{karim}/pin", {"pin": "2468", "confirm": "2468"}),
        Route("POST", f"/employees/{karim}/pin/remove"),
        Route("POST", f"/employees/{karim}/deactivate"),
        Route("POST", f"/employees/{karim}/reactivate"),
        Route("GET", "/employees/import"),
        Route("POST", "/employees/import", {}),
        Route("GET", "/employees/import/sometoken"),
        Route("POST", "/employees/import/sometoken/confirm"),
        Route("POST", "/employees/import/sometoken/cancel"),
        Route("GET", "/employees/import/jobs/somejob"),
        Route("GET", "/employees/import/jobs/somejob/status"),
    ]
    check_roles(console, routes, allowed=("admin", "hr"))


def test_menu_entry_follows_role(console) -> None:  # noqa: ANN001
    assert 'href="/employees/"' in text(console.client("hr").get("/employees/"))
    refused = console.client("auditor").get("/employees/")
    assert refused.status_code == 403 and 'href="/employees/"' not in text(refused)


def test_posts_without_csrf_token_are_refused(tmp_path, db_url) -> None:  # noqa: ANN001
    strict = make_console(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    try:
        c = strict_client(strict, "hr")
        karim = strict.demo.employees["Karim Benali"]
        before_audit, before_count = audit_count(strict), _count(strict)
        posts = [
            ("/employees/new", {"name": "No Token", "team": "0", "language": "fr", "moderation_mode": ""}),
            (f"/employees/{karim}", {"name": "Renamed", "team": "0", "language": "en",
                                     "moderation_mode": ""}),
            (f"/employees/{karim}/badge", {"badge": "5555"}),
            (f"/employees/{karim}/badge/remove", {}),
            (f"/employees/{karim}/pin", {"pin": "1234", "confirm": "1234"}),
            (f"/employees/{karim}/pin/remove", {}),
            (f"/employees/{karim}/deactivate", {}),
            (f"/employees/{karim}/reactivate", {}),
            ("/employees/import", {"file": (io.BytesIO(b"name\nX\n"), "x.csv")}),
            ("/employees/import/tok/confirm", {}),
            ("/employees/import/tok/cancel", {}),
        ]
        for path, data in posts:
            resp = c.post(path, data=data)
            assert resp.status_code == 400, f"{path} accepted without a CSRF token"
        assert audit_count(strict) == before_audit and _count(strict) == before_count
        row = _employee(strict, karim)
        assert row.name == "Karim Benali" and row.active and row.pin_hash is None
        # With the token (as the page's form sends it) the same request works.
        page = c.get(f"/employees/{karim}")
        token = re.search(rb'name="csrf-token" content="([^"]+)"', page.data).group(1).decode()
        resp = c.post(f"/employees/{karim}/deactivate", data={"csrf_token": token})
        assert resp.status_code == 302 and not _employee(strict, karim).active
    finally:
        strict.app.extensions["relais_store"].dispose()


# --- profile, activation, badge, PIN --------------------------------------------------------


def test_create_edit_deactivate_reactivate_are_audited(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    atelier = _team_id(console, "Atelier")
    since = audit_count(console)
    resp = c.post("/employees/new", data={"name": "  Nadia Haddad ", "team": str(atelier),
                                          "language": "en", "moderation_mode": "post",
                                          "is_hr_desk": "y", "badge": "A-4242", "pin": "9876"})
    assert resp.status_code == 302
    new_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    row = _employee(console, new_id)
    assert (row.name, row.team_id, row.language, row.moderation_mode, row.is_hr_desk) == \
        ("Nadia Haddad", atelier, "en", "post", True)
    assert row.badge_hash == badge_hash(console.cfg.badge_pepper, "A-4242")
    assert check_secret(row.pin_hash, "9876")

    resp = c.post(f"/employees/{new_id}", data={"name": "Nadia Haddad-Roy", "team": "0",
                                                "language": "fr", "moderation_mode": ""})
    assert resp.status_code == 302
    row = _employee(console, new_id)
    assert (row.name, row.team_id, row.language, row.moderation_mode, row.is_hr_desk) == \
        ("Nadia Haddad-Roy", None, "fr", None, False)

    assert c.post(f"/employees/{new_id}/deactivate").status_code == 302
    assert not _employee(console, new_id).active
    listing = text(c.get("/employees/", query_string={"q": "Nadia"}))
    assert "Nadia Haddad-Roy</a>" not in listing  # the default list shows active people
    inactive = text(c.get("/employees/", query_string={"q": "Nadia", "active": "inactive"}))
    assert "Nadia Haddad-Roy</a>" in inactive
    assert c.post(f"/employees/{new_id}/reactivate").status_code == 302
    assert _employee(console, new_id).active

    entries = audit_actions(console, since)
    actions = [(a, t) for _actor, a, t, _d in entries]
    target = f"employee:{new_id}"
    for action in ("employee.create", "employee.update", "employee.deactivate", "employee.reactivate"):
        assert (action, target) in actions, action
    assert all(actor == "hr" for actor, a, _t, _d in entries if a.startswith("employee."))
    update = next(d for _a, a, t, d in entries if a == "employee.update")
    assert update["changes"]["name"] == ["Nadia Haddad", "Nadia Haddad-Roy"]
    # No secret ever lands in the audit log.
    assert "A-4242" not in str(entries) and "9876" not in str(entries)


def test_invalid_profile_is_refused_with_a_clear_error(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    karim = _id(console, "Karim Benali")
    before = audit_count(console)
    for data in ({"name": "", "team": "0", "language": "fr", "moderation_mode": ""},
                 {"name": "x" * 121, "team": "0", "language": "fr", "moderation_mode": ""},
                 {"name": "Ok", "team": "999999", "language": "fr", "moderation_mode": ""},
                 {"name": "Ok", "team": "0", "language": "de", "moderation_mode": ""},
                 {"name": "Ok", "team": "0", "language": "fr", "moderation_mode": "always"},
                 {"name": "Bad\u202eName", "team": "0", "language": "fr", "moderation_mode": ""}):
        resp = c.post(f"/employees/{karim}", data=data)
        assert resp.status_code == 400, data
    assert _employee(console, karim).name == "Karim Benali"
    assert audit_count(console) == before


def test_badge_is_hashed_unique_and_searchable(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    karim, sophie = _id(console, "Karim Benali"), _id(console, "Sophie Martin")
    pepper = console.cfg.badge_pepper
    # Sophie's badge (1001) cannot be given to Karim: clear error, nothing changed.
    before = _employee(console, karim).badge_hash
    resp = c.post(f"/employees/{karim}/badge", data={"badge": "1001"})
    assert resp.status_code == 409
    assert "appartient déjà" in text(resp) or "already belongs" in text(resp)
    assert _employee(console, karim).badge_hash == before
    assert _employee(console, sophie).badge_hash == badge_hash(pepper, "1001")

    since = audit_count(console)
    assert c.post(f"/employees/{karim}/badge", data={"badge": " 0042-XY "}).status_code == 302
    assert _employee(console, karim).badge_hash == badge_hash(pepper, "0042-XY")
    with console.session() as s:  # the number itself is stored nowhere
        for row in s.execute(select(Employee)).scalars():
            assert "0042-XY" not in repr([row.badge_hash, row.pin_hash, row.name])
    page = text(c.get("/employees/", query_string={"q": "0042-XY"}))
    assert "Karim Benali" in page and "Sophie Martin" not in page
    assert "0042-XY" not in text(c.get(f"/employees/{karim}"))  # never shown back
    assert ("hr", "employee.badge_assign", f"employee:{karim}") in \
        [(a, b, t) for a, b, t, _d in audit_actions(console, since)]

    assert c.post(f"/employees/{karim}/badge/remove").status_code == 302
    assert _employee(console, karim).badge_hash is None
    assert "employee.badge_remove" in [a for _x, a, _t, _d in audit_actions(console, since)]
    # An empty badge is a form error, not a removal.
    assert c.post(f"/employees/{sophie}/badge", data={"badge": "  "}).status_code == 400
    assert _employee(console, sophie).badge_hash == badge_hash(pepper, "1001")


@pytest.mark.parametrize("pin,confirm", [
    ("123", "123"), ("123456789", "123456789"), ("12a4", "12a4"), ("１２３４", "１２３４"),
    ("1234", "1235"), ("", ""), (" 1234", " 1234"),
])
def test_bad_pins_are_refused(console, pin, confirm) -> None:  # noqa: ANN001
    karim = _id(console, "Karim Benali")
    resp = console.client("hr").post(f"/employees/{karim}/pin", data={"pin": pin, "confirm": confirm})
    assert resp.status_code == 400
    assert _employee(console, karim).pin_hash is None


def test_pin_set_reset_remove(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    julie = _id(console, "Julie Moreau")  # has the demo PIN 4321
    since = audit_count(console)
    resp = c.post(f"/employees/{julie}/pin", data={"pin": "00012345", "confirm": "00012345"})
    assert resp.status_code == 302
    row = _employee(console, julie)
    assert check_secret(row.pin_hash, "00012345") and not check_secret(row.pin_hash, "4321")
    assert c.post(f"/employees/{julie}/pin/remove").status_code == 302
    assert _employee(console, julie).pin_hash is None
    assert c.post(f"/employees/{julie}/pin", data={"pin": "2468", "confirm": "2468"}).status_code == 302
    actions = [a for _x, a, t, _d in audit_actions(console, since) if t == f"employee:{julie}"]
    assert actions == ["employee.pin_reset", "employee.pin_remove", "employee.pin_set"]
    assert "2468" not in text(c.get(f"/employees/{julie}"))


# --- escaping and hostile input --------------------------------------------------------------


def test_html_in_names_is_escaped_everywhere(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    resp = c.post("/employees/new", data={"name": SCRIPT, "team": str(_team_id(console, "Atelier")),
                                          "language": "fr", "moderation_mode": ""})
    assert resp.status_code == 302
    new_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    pages = [c.get("/employees/"), c.get("/employees/", query_string={"q": "script"}),
             c.get(f"/employees/{new_id}"), c.get("/employees/", query_string={"q": SCRIPT})]
    if "contacts.index" in console.app.view_functions:
        pages += [c.get("/contacts/", query_string={"q": "script"}), c.get(f"/contacts/{new_id}"),
                  c.get(f"/contacts/{_id(console, 'Karim Benali')}")]
    if "teams.index" in console.app.view_functions:
        pages += [c.get(f"/teams/{_team_id(console, 'Atelier')}")]
    for page in pages:
        body = text(page)
        assert page.status_code == 200
        assert "<script>alert" not in body and "<b>bold</b>" not in body
    assert SCRIPT_ESCAPED in text(c.get(f"/employees/{new_id}"))
    # The CSV import preview shows file content escaped too.
    resp = _upload(c, f"name,team\n{SCRIPT},Nowhere\n".encode())
    preview = c.get(resp.headers["Location"])
    assert "<script>alert" not in text(preview) and SCRIPT_ESCAPED in text(preview)


def test_injection_strings_in_search_and_filters(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    total = _count(console)
    for value in INJECTIONS:
        for params in ({"q": value}, {"team": value}, {"site": value}, {"active": value},
                       {"lang": value}, {"page": value}, {"per": value},
                       {"q": value, "team": value, "site": value, "lang": value, "active": value}):
            resp = c.get("/employees/", query_string=params)
            assert resp.status_code == 200, params
            body = text(resp)
            assert "Traceback" not in body and "pbkdf2" not in body and "scrypt" not in body
        resp = c.get("/employees/export.csv", query_string={"q": value, "team": value})
        assert resp.status_code == 200
    # Wildcards are literal: nobody's name contains % or _.
    for wildcard in ("%", "_", "%%", "_%_"):
        body = text(c.get("/employees/", query_string={"q": wildcard, "active": "all"}))
        assert "Sophie Martin" not in body
    # A malformed filter is ignored, not an error, and nothing leaked or changed.
    body = text(c.get("/employees/", query_string={"team": "1 OR 1=1", "active": "all"}))
    assert "Sophie Martin" in body and "Thomas Petit" in body
    assert _count(console) == total


def test_search_is_case_and_accent_blind(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    c.post("/employees/new", data={"name": "Élodie Lefèvre", "team": "0", "language": "fr",
                                   "moderation_mode": ""})
    for q in ("élodie", "ELODIE", "lefevre", "Lefèvre", "odie lef"):
        assert "Élodie Lefèvre" in text(c.get("/employees/", query_string={"q": q})), q
    assert "Élodie Lefèvre" not in text(c.get("/employees/", query_string={"q": "elodie x"}))


# --- CSV import and export ------------------------------------------------------------------


GOOD_AND_BAD = (
    "name;team;site;language;hr_desk;moderation;badge;pin\n"         # line 1
    "Inès Garcia;Atelier;demo;fr;no;;B-100;1234\n"                   # 2 ok
    "=HYPERLINK(\"http://evil.example\",\"click\");Logistique;;en;;post;;\n"  # 3 ok, neutralised
    ";Atelier;;fr;;;;\n"                                             # 4 no name
    "Paul Roux;Nowhere;;fr;;;;\n"                                    # 5 unknown team
    "Léa Petit;Atelier;;de;;;;\n"                                    # 6 bad language
    "Marc Blanc;;;fr;;;B-100;\n"                                     # 7 badge twice in the file
    "Zoé Noir;;;fr;;;1001;\n"                                        # 8 badge of Sophie
    "Hugo Vert;;;fr;;;;12\n"                                         # 9 bad PIN
    "@SUM(1+1);;;fr;maybe;;;\n"                                      # 10 bad yes/no
    "\"Anne\nMarie\";;;fr;;sometimes;;\n"                            # 11-12 bad mode (a cell on 2 lines)
    "+33 Jean;;;fr;;;;\n"                                            # 13 ok, neutralised
)


def test_import_preview_writes_nothing_and_reports_lines(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    before_count, before_audit = _count(console), audit_count(console)
    resp = _upload(c, GOOD_AND_BAD.encode("utf-8"))
    assert resp.status_code == 302
    preview = c.get(resp.headers["Location"])
    assert preview.status_code == 200
    body = text(preview)
    assert _count(console) == before_count and audit_count(console) == before_audit

    with console.session() as s:
        plan = employees_io.parse(s, GOOD_AND_BAD.encode(), console.cfg.badge_pepper)
    found = {(e.line, e.field, e.code) for e in plan.errors}
    assert found == {(4, "name", "required"), (5, "team", "unknown_team"),
                     (6, "language", "bad_language"), (7, "badge", "badge_duplicate"),
                     (8, "badge", "badge_taken"), (9, "pin", "bad_pin"), (10, "hr_desk", "bad_bool"),
                     (11, "moderation", "bad_moderation")}
    assert [r.line for r in plan.valid_rows] == [2, 3, 13]
    assert _count(console) == before_count  # parsing directly writes nothing either
    # The page lists each error with its line and column, in the user's language.
    errors_table = body[body.index('id="import-errors"'):]
    for line, column in ((4, "name"), (5, "team"), (8, "badge"), (11, "moderation")):
        assert re.search(rf"<td>{line}</td><td>{column}</td>", errors_table), (line, column)
    assert "appartient déjà" in errors_table or "already belongs" in errors_table
    # Confirming writes the three valid rows, then the job reports it.
    confirm = re.search(r'action="(/employees/import/[^"]+/confirm)"', body).group(1)
    resp = c.post(confirm)
    assert resp.status_code == 302
    status = _wait_job(c, resp.headers["Location"])
    assert status["state"] == "done" and status["percent"] == 100
    assert (status["created"], status["updated"], status["skipped"]) == (3, 0, 0)
    assert _count(console) == before_count + 3
    with console.session() as s:
        names = set(s.execute(select(Employee.name).where(Employee.id > max(console.demo.employees.values())))
                    .scalars())
        ines = s.execute(select(Employee).where(Employee.name == "Inès Garcia")).scalar_one()
        assert ines.badge_hash == badge_hash(console.cfg.badge_pepper, "B-100")
        assert check_secret(ines.pin_hash, "1234")
    assert names == {"Inès Garcia", "'=HYPERLINK(\"http://evil.example\",\"click\")", "'+33 Jean"}
    entries = audit_actions(console, before_audit)
    assert [a for _x, a, _t, _d in entries].count("employee.create") == 3
    summary = next(d for _x, a, _t, d in entries if a == "employee.import")
    assert summary["created"] == 3 and summary["file"] == "people.csv"
    assert "B-100" not in str(entries) and "1234" not in str(entries)
    # The preview is single-use.
    assert c.post(confirm).status_code == 302
    assert _count(console) == before_count + 3


def test_import_preview_and_job_belong_to_their_user(console) -> None:  # noqa: ANN001
    hr, admin = console.client("hr"), console.client("admin")
    location = _upload(hr, b"name\nSolo Person\n").headers["Location"]
    assert admin.get(location).status_code == 302  # someone else's preview: not found
    token = location.rstrip("/").split("/")[-1]
    admin.post(f"/employees/import/{token}/confirm")
    assert _count(console) == 7
    job = hr.post(f"/employees/import/{token}/confirm").headers["Location"]
    _wait_job(hr, job)
    assert admin.get(job).status_code == 404 and admin.get(job + "/status").status_code == 404


def test_cancel_import_writes_nothing(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    location = _upload(c, b"name\nNever Written\n").headers["Location"]
    token = location.rstrip("/").split("/")[-1]
    before = audit_count(console)
    assert c.post(f"/employees/import/{token}/cancel").status_code == 302
    assert c.post(f"/employees/import/{token}/confirm").status_code == 302
    assert _count(console) == 7 and audit_count(console) == before


@pytest.mark.parametrize("content,code", [
    (b"", "empty_file"), (b"team,language\nAtelier,fr\n", "no_name_column"),
    (b"name\n\"unterminated\n", None),
])
def test_unusable_files_are_explained(console, content, code) -> None:  # noqa: ANN001
    with console.session() as s:
        plan = employees_io.parse(s, content, console.cfg.badge_pepper)
    if code:
        assert [e.code for e in plan.file_errors] == [code] and not plan.valid_rows
    resp = _upload(console.client("hr"), content)
    assert resp.status_code in (302, 400)
    if resp.status_code == 302:
        assert console.client("hr").get(resp.headers["Location"]).status_code == 200
    assert _count(console) == 7


def test_import_windows_excel_file(console) -> None:  # noqa: ANN001
    data = "Nom;Équipe;Langue\r\nGaëlle Brûlé;Atelier;fr\r\n".encode("cp1252")
    with console.session() as s:
        plan = employees_io.parse(s, data, console.cfg.badge_pepper)
    assert plan.encoding == "windows-1252" and plan.delimiter == ";"
    assert [(r.name, r.ok) for r in plan.rows] == [("Gaëlle Brûlé", True)]


def test_import_progress_is_reported_per_pin_and_per_chunk(console) -> None:  # noqa: ANN001
    n = employees_io.CHUNK_ROWS * 2 + 5
    lines = ["name,pin"] + [f"Chunk {i:04d},{'1357' if i % 100 == 0 else ''}" for i in range(n)]
    with console.session() as s:
        plan = employees_io.parse(s, "\n".join(lines).encode(), console.cfg.badge_pepper)
    seen: list[tuple[int, int, float]] = []
    result = employees_io.run_import(
        console.app.extensions["relais_store"].session, plan, console.cfg.badge_pepper, "hr",
        on_progress=lambda r: seen.append((r.done, r.pins_hashed, r.progress)))
    assert result.created == n and result.finished and result.stopped_at is None
    assert [d for d, _p, _f in seen[:-1]] == sorted(d for d, _p, _f in seen[:-1])
    assert {d for d, _p, _f in seen} == {0, 100, 200, n}  # one step per chunk written
    assert max(p for _d, p, _f in seen) == 3  # one step per PIN hashed
    fractions = [f for _d, _p, f in seen]
    assert fractions == sorted(fractions) and 0 < fractions[0] < 1 and fractions[-1] == 1


def test_import_job_page_has_a_real_progress_bar(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    body = "name,pin\n" + "".join(f"Bar {i},24{i:02d}\n" for i in range(4))
    location = _upload(c, body.encode()).headers["Location"]
    token = location.rstrip("/").split("/")[-1]
    job = c.post(f"/employees/import/{token}/confirm").headers["Location"]
    page = text(c.get(job))
    assert '<progress id="import-progress"' in page
    assert f'data-status-url="{job}/status"' in page and "employees.js" in page
    status = _wait_job(c, job)
    assert status == {**status, "state": "done", "percent": 100, "done": 4, "total": 4,
                      "pins_total": 4, "pins_hashed": 4, "created": 4}
    assert 'data-state="done"' in text(c.get(job))


def test_import_updates_by_id_and_round_trips_an_export(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    export = c.get("/employees/export.csv", query_string={"active": "all"}).data
    location = _upload(c, export, "export.csv").headers["Location"]
    preview = text(c.get(location))
    token = location.rstrip("/").split("/")[-1]
    status = _wait_job(c, c.post(f"/employees/import/{token}/confirm").headers["Location"])
    assert (status["created"], status["updated"], status["unchanged"]) == (0, 0, 7), preview
    karim = _id(console, "Karim Benali")
    data = f"id,name,language,moderation\n{karim},Karim Benali,en,post\n".encode()
    location = _upload(c, data).headers["Location"]
    token = location.rstrip("/").split("/")[-1]
    status = _wait_job(c, c.post(f"/employees/import/{token}/confirm").headers["Location"])
    assert status["updated"] == 1
    row = _employee(console, karim)
    assert (row.language, row.moderation_mode, row.team_id) == ("en", "post", _team_id(console, "Atelier"))


def test_export_is_neutralised_and_holds_no_secret(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    hostile = ["=1+1", "+SUM(A1:A9)", "-2+3", "@cmd", "=HYPERLINK(\"http://x\")"]
    for i, name in enumerate(hostile):
        assert c.post("/employees/new", data={"name": name, "team": "0", "language": "fr",
                                              "moderation_mode": "", "badge": f"XB{i}"}).status_code == 302
    since = audit_count(console)
    for sep, delimiter in (("", ","), ("semicolon", ";")):
        resp = c.get("/employees/export.csv", query_string={"sep": sep, "active": "all"})
        assert resp.status_code == 200 and resp.mimetype == "text/csv"
        assert "attachment" in resp.headers["Content-Disposition"]
        content = resp.data.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(content), delimiter=delimiter))
        assert rows[0] == employees_io.EXPORT_COLUMNS
        assert "badge" not in rows[0] and "pin" not in rows[0]
        for row in rows[1:]:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
        names = {row[1] for row in rows[1:]}
        assert {"'" + h for h in hostile} <= names and "Sophie Martin" in names
        by_name = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
        assert by_name["Julie Moreau"]["pin_set"] == "yes" and by_name["Karim Benali"]["pin_set"] == "no"
        assert by_name["Sophie Martin"]["badge_set"] == "yes"
        for secret in ("1001", "1002", "1003", "9001", "4321", "XB0", "XB4"):
            assert secret not in content
    assert [a for _x, a, _t, _d in audit_actions(console, since)] == ["employee.export"] * 2


# --- 10,000 employees ------------------------------------------------------------------------


N = 10_000
ANY = object()


def _bulk(console) -> dict:  # noqa: ANN001
    """N employees in one bulk insert: team by i % 3 (none, Atelier, Logistique), English for
    i % 4 == 0, deactivated for i % 10 == 0, a badge for i % 1000 == 0."""
    atelier, logistique = _team_id(console, "Atelier"), _team_id(console, "Logistique")
    pepper = console.cfg.badge_pepper
    rows = [{"name": f"Worker {i:05d}", "team_id": (None, atelier, logistique)[i % 3],
             "language": "en" if i % 4 == 0 else "fr", "active": i % 10 != 0,
             "is_hr_desk": False, "failed_logins": 0,
             "badge_hash": badge_hash(pepper, f"W{i}") if i % 1000 == 0 else None}
            for i in range(1, N + 1)]
    with console.session() as s:
        s.execute(insert(Employee), rows)
    return {"atelier": atelier, "logistique": logistique}


def _count_text(body: str) -> str:
    return re.search(r'id="result-count">\s*(.*?)\s*(?:<span|</p>)', body, re.S).group(1)


def _numbers(s: str) -> list[int]:
    return [int(re.sub(r"\D", "", n)) for n in re.findall(r"\d[\d\s\u202f\u00a0,.]*\d|\d", s)]


def test_ten_thousand_employees_page_search_and_filter(console) -> None:  # noqa: ANN001
    teams = _bulk(console)
    c = console.client("hr")
    active_demo = 7
    active_workers = sum(1 for i in range(1, N + 1) if i % 10 != 0)

    page1 = text(c.get("/employees/"))
    assert _numbers(_count_text(page1)) == [1, 50, active_workers + active_demo]
    assert page1.count('<tr class="">') == 50

    # A deep page: the last one, and one in the middle, in name order.
    last = (active_workers + active_demo + 49) // 50
    deep = text(c.get("/employees/", query_string={"page": str(last)}))
    assert _numbers(_count_text(deep))[2] == active_workers + active_demo
    assert re.search(rf"Page {last} (of|sur) {last}", deep) and "Worker" in deep
    with console.session() as s:
        page = employees.find(s, employees.EmployeeFilter(), console.cfg.badge_pepper, page=120)
        names = [r.name for r in page.rows]
        expected = s.execute(select(Employee.name).where(Employee.active.is_(True))
                             .order_by(Employee.name, Employee.id).offset(119 * 50).limit(50)).scalars().all()
    assert names == expected and len(names) == 50

    # Search: 'Worker 0999' matches 09990..09999, of which 09990 is deactivated.
    body = text(c.get("/employees/", query_string={"q": "worker 0999"}))
    assert _numbers(_count_text(body)) == [1, 9, 9]
    body = text(c.get("/employees/", query_string={"q": "worker 0999", "active": "all"}))
    assert _numbers(_count_text(body)) == [1, 10, 10]
    # A badge number finds its owner (through the hash), and only them.
    body = text(c.get("/employees/", query_string={"q": "W5000", "active": "all"}))
    assert _numbers(_count_text(body)) == [1, 1, 1] and "Worker 05000" in body

    # Filters, alone and together.
    def expect(team=ANY, lang=None, active=True) -> int:  # noqa: ANN001
        return sum(1 for i in range(1, N + 1)
                   if (team is ANY or (None, "atelier", "logistique")[i % 3] == team)
                   and (lang is None or ("en" if i % 4 == 0 else "fr") == lang)
                   and (active is None or (i % 10 != 0) == active))

    demo_atelier = 3
    body = text(c.get("/employees/", query_string={"team": str(teams["atelier"])}))
    assert _numbers(_count_text(body))[2] == expect("atelier") + demo_atelier
    body = text(c.get("/employees/", query_string={"team": str(teams["logistique"]), "lang": "en",
                                                   "active": "inactive"}))
    assert _numbers(_count_text(body))[2] == expect("logistique", "en", False)
    body = text(c.get("/employees/", query_string={"team": "none", "active": "all", "per": "200"}))
    assert _numbers(_count_text(body)) == [1, 200, expect(None, None, None)]
    with console.session() as s:
        site_id = s.execute(select(Team.site_id).where(Team.id == teams["atelier"])).scalar_one()
    body = text(c.get("/employees/", query_string={"site": str(site_id), "active": "all"}))
    in_teams = expect("atelier", None, None) + expect("logistique", None, None)
    assert _numbers(_count_text(body))[2] == in_teams + 7

    # The count is bounded: past the cap it says so instead of counting everything.
    with console.session() as s:
        assert employees.count(s, employees.EmployeeFilter(active="all"), "p", cap=1000) == (1000, True)
        assert employees.count(s, employees.EmployeeFilter(active="all"), "p") == (N + 7, False)

    # The export streams them all, in batches, in name order.
    rows = list(csv.reader(io.StringIO(c.get("/employees/export.csv", query_string={"active": "all"})
                                       .data.decode("utf-8-sig"))))
    assert len(rows) == N + 7 + 1
    assert [r[1] for r in rows[1:]] == sorted(r[1] for r in rows[1:])


def test_audit_chain_still_verifies(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    karim = _id(console, "Karim Benali")
    c.post(f"/employees/{karim}/deactivate")
    c.post(f"/employees/{karim}/reactivate")
    from hr_console.services import audit

    with console.session() as s:
        assert audit.verify(s).ok
        assert s.execute(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action.like("employee.%"))).scalar_one() >= 9
