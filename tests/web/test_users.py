"""Console users area (admin only): list, create, role / language / supervisor's employee,
deactivate and reactivate (never oneself, never the last admin), password reset (typed or
generated and shown once) and unlock; every change audited, CSRF-protected and escaped."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hr_console.services import console_users as users
from hr_console.services import directory
from hr_console.services.errors import Conflict
from hr_console.store.models import ConsoleUser
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
from tests.web_fixture import PASSWORD, make_console

NEW_PW = "correct-horse-42"


def _admin(console):  # noqa: ANN001, ANN202
    """The demo admin, reading English (the demo logins read French)."""
    c = console.client("admin")
    c.post("/auth/language", data={"language": "en"})
    return c


def _user(console, username: str) -> ConsoleUser | None:  # noqa: ANN001
    with console.session() as s:
        row = s.execute(select(ConsoleUser).where(ConsoleUser.username == username)
                        ).scalar_one_or_none()
        if row is not None:
            s.expunge(row)
        return row


def _add(console, username: str, role: str = "hr", password: str = NEW_PW) -> int:  # noqa: ANN001
    with console.session() as s:
        return directory.console_user(s, username, password, role, language="en").id


def _sign_in(console, username: str, password: str):  # noqa: ANN001, ANN202
    c = console.app.test_client()
    resp = c.post("/auth/login", data={"username": username, "password": password})
    return c, resp.status_code == 302


def _signed_in(client) -> bool:  # noqa: ANN001
    resp = client.get("/")
    return not (resp.status_code == 302 and "/auth/login" in resp.headers["Location"])


def _shown_password(resp) -> str:  # noqa: ANN001
    return re.search(r'<code id="password">([^<]+)</code>', text(resp)).group(1)


def _flash_errors(resp) -> str:  # noqa: ANN001
    return " ".join(re.findall(r'<div class="flash error" role="status">([^<]*)</div>', text(resp)))


def _actions(console, since: int) -> list[tuple[str, str | None]]:  # noqa: ANN001
    return [(a, t) for _x, a, t, _d in audit_actions(console, since)]


def test_every_route_by_role(console) -> None:  # noqa: ANN001
    uid = _add(console, "target")
    routes = [
        Route("GET", "/users/"),
        Route("POST", "/users/new", {"username": "roles-new", "role": "hr", "language": "fr",
                                     "employee": "0", "password": NEW_PW}),
        Route("GET", f"/users/{uid}"),
        Route("POST", f"/users/{uid}", {"role": "auditor", "language": "fr", "employee": "0"}),
        Route("POST", f"/users/{uid}/password", {"password": NEW_PW}),
        Route("POST", f"/users/{uid}/unlock"),
        Route("POST", f"/users/{uid}/deactivate"),
        Route("POST", f"/users/{uid}/reactivate"),
    ]
    check_roles(console, routes, allowed=("admin",))


def test_menu_entry_for_admin_only(console) -> None:  # noqa: ANN001
    assert 'href="/users/"' in text(_admin(console).get("/users/"))
    for role in ("hr", "supervisor", "auditor"):
        assert 'href="/users/"' not in text(console.client(role).get("/", follow_redirects=True))


def test_posts_without_csrf_token_are_refused(tmp_path, db_url) -> None:  # noqa: ANN001
    strict = make_console(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    try:
        c = strict_client(strict, "admin")
        uid = _add(strict, "target")
        before = audit_count(strict)
        for path, data in [("/users/new", {"username": "x1", "role": "hr", "language": "fr",
                                           "employee": "0", "password": NEW_PW}),
                           (f"/users/{uid}", {"role": "admin", "language": "fr", "employee": "0"}),
                           (f"/users/{uid}/password", {"password": "another-pass-1"}),
                           (f"/users/{uid}/unlock", {}), (f"/users/{uid}/deactivate", {})]:
            assert c.post(path, data=data).status_code == 400, path
        row = _user(strict, "target")
        assert audit_count(strict) == before and row.role == "hr" and row.active
        assert _user(strict, "x1") is None
    finally:
        strict.app.extensions["relais_store"].dispose()


def test_list_shows_role_language_employee_state_and_last_sign_in(console) -> None:  # noqa: ANN001
    console.client("supervisor")  # signed in once: a last sign-in to show
    page = text(_admin(console).get("/users/"))
    rows = {m.group(1): m.group(0) for m in re.finditer(r'<a href="/users/\d+">([^<]+)</a>.*?</tr>',
                                                        page, re.S)}
    assert set(rows) >= {"admin", "hr", "supervisor", "auditor"}
    sup = rows["supervisor"]
    assert "Sophie Martin" in sup and "Atelier" in sup and "Supervisor" in sup
    assert "never" not in sup and "never" in rows["auditor"]
    assert "you" in rows["admin"]


def test_create_with_typed_password(console) -> None:  # noqa: ANN001
    c = _admin(console)
    since = audit_count(console)
    resp = c.post("/users/new", data={"username": " claire ", "role": "hr", "language": "en",
                                      "employee": "0", "password": NEW_PW})
    assert resp.status_code == 302
    row = _user(console, "claire")
    assert (row.role, row.language, row.employee_id, row.active) == ("hr", "en", None, True)
    assert NEW_PW not in text(c.get(resp.headers["Location"]))
    assert _actions(console, since) == [("console_user.create", f"console_user:{row.id}")]
    assert NEW_PW not in str(audit_actions(console, since))
    assert _sign_in(console, "claire", NEW_PW)[1]


def test_create_with_generated_password_shown_once(console) -> None:  # noqa: ANN001
    c = _admin(console)
    resp = c.post("/users/new", data={"username": "marc", "role": "auditor", "language": "fr",
                                      "employee": "0", "password": ""})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    password = _shown_password(resp)
    assert len(password) >= 8
    row = _user(console, "marc")
    assert password not in row.password_hash
    for later in (c.get("/users/"), c.get(f"/users/{row.id}")):
        assert password not in text(later)
    assert _sign_in(console, "marc", password)[1]


def test_create_refuses_bad_input(console) -> None:  # noqa: ANN001
    c = _admin(console)
    before = audit_count(console)
    bad = [
        {"username": "weak", "role": "hr", "language": "fr", "password": "short"},  # CLI rule
        {"username": "long", "role": "hr", "language": "fr", "password": "x" * 201},
        {"username": "", "role": "hr", "language": "fr", "password": NEW_PW},
        {"username": "hr", "role": "hr", "language": "fr", "password": NEW_PW},  # taken
        {"username": "boss", "role": "root", "language": "fr", "password": NEW_PW},
        {"username": "de", "role": "hr", "language": "de", "password": NEW_PW},
        {"username": "sup", "role": "supervisor", "language": "fr", "password": NEW_PW},
        {"username": "sup", "role": "supervisor", "language": "fr", "password": NEW_PW,
         "employee_other": "999999"},
        {"username": "a\x07b", "role": "hr", "language": "fr", "password": NEW_PW},
    ]
    for data in bad:
        resp = c.post("/users/new", data={"employee": "0", **data})
        assert resp.status_code == 400, data
    assert audit_count(console) == before
    assert all(_user(console, n) is None for n in ("weak", "long", "boss", "de", "sup"))
    assert "at least 8 characters" in text(c.post("/users/new", data={
        "username": "weak", "role": "hr", "language": "en", "employee": "0", "password": "1234567"}))


def test_create_supervisor_linked_to_an_employee(console) -> None:  # noqa: ANN001
    c = _admin(console)
    thomas = console.demo.employees["Thomas Petit"]  # supervises Logistique
    resp = c.post("/users/new", data={"username": "thomas", "role": "supervisor",
                                      "language": "fr", "employee": str(thomas),
                                      "password": NEW_PW})
    assert resp.status_code == 302
    assert _user(console, "thomas").employee_id == thomas
    page = text(c.get(resp.headers["Location"]))
    assert "Thomas Petit" in page and "Logistique" in page
    # Any employee by ID; a supervisor's notices are scoped to that employee's teams.
    karim = console.demo.employees["Karim Benali"]
    resp = c.post("/users/new", data={"username": "karim", "role": "supervisor", "language": "fr",
                                      "employee": "0", "employee_other": str(karim),
                                      "password": NEW_PW})
    assert resp.status_code == 302 and _user(console, "karim").employee_id == karim
    sup, ok = _sign_in(console, "thomas", NEW_PW)
    assert ok and sup.get("/notices/").status_code == 200 and sup.get("/users/").status_code == 403


def test_change_role_and_language_takes_effect_at_once(console) -> None:  # noqa: ANN001
    uid = _add(console, "claire", role="hr")
    claire, _ok = _sign_in(console, "claire", NEW_PW)
    assert claire.get("/employees/").status_code == 200
    c = _admin(console)
    since = audit_count(console)
    resp = c.post(f"/users/{uid}", data={"role": "auditor", "language": "fr", "employee": "0"})
    assert resp.status_code == 302
    assert claire.get("/employees/").status_code == 403  # the next request sees the new role
    assert claire.get("/audit/").status_code == 200 and 'lang="fr"' in text(claire.get("/audit/"))
    entries = audit_actions(console, since)
    assert [(a, t) for _x, a, t, _d in entries] == [("console_user.update", f"console_user:{uid}")]
    assert entries[0][3]["role"] == "hr → auditor" and entries[0][3]["language"] == "en → fr"
    # Same values again: nothing changes, nothing is audited.
    c.post(f"/users/{uid}", data={"role": "auditor", "language": "fr", "employee": "0"})
    assert len(audit_actions(console, since)) == 1
    # Supervisor without an employee: refused.
    resp = c.post(f"/users/{uid}", data={"role": "supervisor", "language": "fr", "employee": "0"})
    assert resp.status_code == 400 and _user(console, "claire").role == "auditor"


def test_admin_cannot_demote_or_deactivate_themselves(console) -> None:  # noqa: ANN001
    c = _admin(console)
    me = _user(console, "admin").id
    _add(console, "admin2", role="admin")  # even with another admin around
    before = audit_count(console)
    resp = c.post(f"/users/{me}", data={"role": "hr", "language": "en", "employee": "0"})
    assert resp.status_code == 400 and "away from yourself: ask" in _flash_errors(resp)
    resp = c.post(f"/users/{me}/deactivate")
    assert resp.status_code == 409 and "your own account" in _flash_errors(resp)
    row = _user(console, "admin")
    assert row.role == "admin" and row.active and audit_count(console) == before
    assert c.get("/users/").status_code == 200
    # The page does not offer what would be refused.
    assert f"/users/{me}/deactivate" not in text(c.get(f"/users/{me}"))


def test_last_active_admin_cannot_be_removed(console) -> None:  # noqa: ANN001
    with console.session() as s:
        admin = s.execute(select(ConsoleUser).where(ConsoleUser.username == "admin")).scalar_one()
        for call in (lambda: users.deactivate(s, admin, actor_id=0, actor="cli"),
                     lambda: users.update(s, admin, role="hr", language="fr", employee_id=None,
                                          actor_id=0, actor="cli")):
            with pytest.raises(Conflict) as err:
                call()
            assert err.value.code == "last_admin"
    assert _user(console, "admin").role == "admin" and _user(console, "admin").active
    # With a second admin, one may remove the other; then the survivor is the last one.
    a2 = _add(console, "admin2", role="admin")
    c2, _ok = _sign_in(console, "admin2", NEW_PW)
    me = _user(console, "admin").id
    assert _admin(console).post(f"/users/{a2}", data={
        "role": "hr", "language": "fr", "employee": "0"}).status_code == 302
    assert _user(console, "admin2").role == "hr"
    assert c2.get("/users/").status_code == 403  # demoted: at the next request
    with console.session() as s, pytest.raises(Conflict):
        users.deactivate(s, s.get_one(ConsoleUser, me), actor_id=a2, actor="admin2")


def test_deactivated_user_cannot_sign_in_and_their_session_ends(console) -> None:  # noqa: ANN001
    hr = console.client("hr")
    assert _signed_in(hr)
    uid = _user(console, "hr").id
    c = _admin(console)
    since = audit_count(console)
    assert c.post(f"/users/{uid}/deactivate").status_code == 302
    assert not _signed_in(hr)  # the open session ends at its next request
    assert not _sign_in(console, "hr", PASSWORD)[1]
    assert "deactivated" in text(c.get("/users/")).split(">hr</a>")[1].split("</tr>")[0]
    assert c.post(f"/users/{uid}/reactivate").status_code == 302
    assert not _signed_in(hr)  # reactivation does not revive an old session
    assert _sign_in(console, "hr", PASSWORD)[1]
    acts = _actions(console, since)
    assert ("console_user.deactivate", f"console_user:{uid}") in acts
    assert ("console_user.reactivate", f"console_user:{uid}") in acts


def test_password_reset_typed_and_generated(console) -> None:  # noqa: ANN001
    hr = console.client("hr")
    uid = _user(console, "hr").id
    c = _admin(console)
    since = audit_count(console)
    assert c.post(f"/users/{uid}/password", data={"password": "short"}).status_code == 400
    assert _sign_in(console, "hr", PASSWORD)[1] and _signed_in(hr)

    assert c.post(f"/users/{uid}/password", data={"password": NEW_PW}).status_code == 302
    assert not _signed_in(hr)  # whoever had the old password is signed out
    assert not _sign_in(console, "hr", PASSWORD)[1] and _sign_in(console, "hr", NEW_PW)[1]

    resp = c.post(f"/users/{uid}/password", data={"password": ""})
    assert resp.status_code == 200
    generated = _shown_password(resp)
    assert _sign_in(console, "hr", generated)[1] and not _sign_in(console, "hr", NEW_PW)[1]
    assert generated not in text(c.get(f"/users/{uid}"))
    entries = audit_actions(console, since)
    resets = [d for _x, a, _t, d in entries if a == "console_user.password_reset"]
    assert [d["generated"] for d in resets] == [False, True]
    assert NEW_PW not in str(entries) and generated not in str(entries)


def test_admin_resetting_own_password_stays_signed_in(console) -> None:  # noqa: ANN001
    c = _admin(console)
    me = _user(console, "admin").id
    assert c.post(f"/users/{me}/password", data={"password": NEW_PW}).status_code == 302
    assert c.get("/users/").status_code == 200
    assert _sign_in(console, "admin", NEW_PW)[1]


def test_unlock_clears_the_waits_after_wrong_passwords(console) -> None:  # noqa: ANN001
    anon = console.client()
    for _ in range(5):
        anon.post("/auth/login", data={"username": "auditor", "password": "wrong"})
    assert not _sign_in(console, "auditor", PASSWORD)[1]  # a wait runs: not even checked
    uid = _user(console, "auditor").id
    c = _admin(console)
    row_html = text(c.get("/users/")).split(">auditor</a>")[1].split("</tr>")[0]
    assert "slowed down until" in row_html
    assert "Unlock now" in text(c.get(f"/users/{uid}"))
    since = audit_count(console)
    assert c.post(f"/users/{uid}/unlock").status_code == 302
    assert _actions(console, since) == [("console_user.unlock", f"console_user:{uid}")]
    assert "Unlock now" not in text(c.get(f"/users/{uid}"))
    assert _sign_in(console, "auditor", PASSWORD)[1]
    # Nothing to unlock: nothing audited.
    since = audit_count(console)
    assert c.post(f"/users/{uid}/unlock").status_code == 302
    assert audit_count(console) == since


def test_html_in_usernames_is_escaped(console) -> None:  # noqa: ANN001
    c = _admin(console)
    resp = c.post("/users/new", data={"username": SCRIPT, "role": "hr", "language": "en",
                                      "employee": "0", "password": ""})
    assert resp.status_code == 200
    uid = _user(console, SCRIPT).id
    for page in (resp, c.get("/users/"), c.get(f"/users/{uid}"),
                 c.post(f"/users/{uid}/deactivate", follow_redirects=True)):
        body = text(page)
        assert "<script>alert" not in body and "<b>bold" not in body
        assert SCRIPT_ESCAPED in body


def test_unknown_user_is_404(console) -> None:  # noqa: ANN001
    c = _admin(console)
    assert c.get("/users/999999").status_code == 404
    assert c.post("/users/999999/deactivate").status_code == 404


def test_french_pages(console) -> None:  # noqa: ANN001
    c = _admin(console)
    c.post("/auth/language", data={"language": "fr"})
    page = text(c.get("/users/"))
    assert "Utilisateurs de la console" in page and "Ajouter un utilisateur de la console" in page
    assert "Dernière connexion" in page
