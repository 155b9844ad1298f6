"""The messaging charter in the console (issue 17): HR publishes a version through the form
(a first one, a second one; the same text again and a missing section are refused with
nothing written, the errors next to the fields), the charter page counts who accepted the
version in force and lists, a page at a time, who has not; a version's own page; the
employee page; the dashboard's warning; the audit page's labels in French; every route by
role. Acceptances are recorded by the relay's own use case (services.charter.accept).
SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, update

from hr_console.domain.charter import LANGUAGES, SECTIONS
from hr_console.services import charter
from hr_console.store.models import (
    AuditEntry,
    BadgeSession,
    CharterAcceptance,
    CharterVersion,
    ConsoleUser,
    Employee,
    Terminal,
)
from tests.web_fixture import ROLES

READERS = {"admin", "hr", "auditor"}
PUBLISHERS = {"admin", "hr"}


@pytest.fixture(autouse=True)
def _in_english(console) -> None:  # noqa: ANN001, PT004
    """The demo's console users read French; these tests read the English (the French is
    checked on the audit page, and on every string by test_catalogues)."""
    with console.session() as s:
        s.execute(update(ConsoleUser).values(language="en"))


def _form(prefix: str = "Texte") -> dict[str, str]:
    return {f"{lang}_{section}": f"{prefix} {lang} {section}"
            for lang in LANGUAGES for section in SECTIONS}


def _count(console: Any, model: Any) -> int:  # noqa: ANN401
    with console.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _audit(console: Any, action: str) -> list[AuditEntry]:  # noqa: ANN401
    with console.session() as s:
        rows = list(s.execute(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)).scalars())
        s.expunge_all()
        return rows


def _accept(console: Any, name: str, version: int, terminal: str = "kiosk-1") -> bool:  # noqa: ANN401
    """``name`` accepts ``version`` at ``terminal``, as the relay records it."""
    with console.session() as s:
        term = s.execute(select(Terminal).where(Terminal.name == terminal)).scalar_one()
        row = BadgeSession(id=str(uuid.uuid4()), employee_id=console.demo.employees[name],
                           terminal_id=term.id)
        s.add(row)
        s.flush()
        return charter.accept(s, term, row, version, str(uuid.uuid4()))


def _publish(console: Any, prefix: str) -> int:  # noqa: ANN401
    resp = console.client("hr").post("/charter/new", data=_form(prefix))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/charter/")
    with console.session() as s:
        return s.scalar(select(func.max(CharterVersion.version))) or 0


def _expected(console: Any) -> int:  # noqa: ANN401
    with console.session() as s:
        return s.scalar(select(func.count()).select_from(Employee).where(
            Employee.active.is_(True), Employee.is_hr_desk.is_(False))) or 0


def test_no_charter_yet_says_so_and_invites_hr(console) -> None:  # noqa: ANN001
    page = console.client("hr").get("/charter/").get_data(as_text=True)
    assert 'id="no-charter"' in page and "/charter/new" in page
    auditor = console.client("auditor").get("/charter/").get_data(as_text=True)
    assert 'id="no-charter"' in auditor and 'href="/charter/new"' not in auditor
    dash = console.client("hr").get("/dashboard/").get_data(as_text=True)
    assert 'id="no-charter-warning"' in dash and 'href="/charter/new"' in dash
    # The form starts from a first text with this installation's retention filled in.
    form = console.client("hr").get("/charter/new").get_data(as_text=True)
    assert "Relais permet" in form and "Relais lets you" in form
    assert len(re.findall(r"<textarea\b", form)) == 8
    assert "next badge-in" in form and "data-confirm" in form


def test_publishing_versions_and_what_is_refused(console) -> None:  # noqa: ANN001
    hr = console.client("hr")
    assert _publish(console, "Première") == 1
    [first] = _audit(console, "charter.published")
    assert first.actor == "hr" and first.target == "charter:1"
    assert first.detail["version"] == 1 and first.detail["replaces"] is None
    page = hr.get("/charter/").get_data(as_text=True)
    for lang in LANGUAGES:
        for section in SECTIONS:
            assert f"Première {lang} {section}" in page
    assert 'id="charter-published"' in page and "hr" in page
    assert "no-charter-warning" not in hr.get("/dashboard/").get_data(as_text=True)

    # The form now starts from the version in force; the same text again is refused.
    form = hr.get("/charter/new").get_data(as_text=True)
    assert "Première fr purpose" in form and "replaces version 1" in form
    resp = hr.post("/charter/new", data=_form("Première"))
    assert resp.status_code == 400 and "version in force already" in resp.get_data(as_text=True)
    assert _count(console, CharterVersion) == 1

    # A missing section (and a blank one): refused whole, the errors beside the fields.
    data = _form("Deuxième")
    del data["en_retention"]
    data["fr_contact"] = "   "
    resp = hr.post("/charter/new", data=data)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Nothing was published" in body
    errors = re.findall(r'<div class="field has-error">.*?name="(\w+)".*?field-error', body, re.S)
    assert sorted(errors) == ["en_retention", "fr_contact"]
    assert "Deuxième fr purpose" in body  # what was typed is kept
    assert _count(console, CharterVersion) == 1
    assert len(_audit(console, "charter.published")) == 1
    too_long = {**_form("Deuxième"), "fr_purpose": "x" * 1501}
    resp = hr.post("/charter/new", data=too_long)
    assert resp.status_code == 400 and "at most 1500 characters" in resp.get_data(as_text=True)
    assert _count(console, CharterVersion) == 1

    # A second version, by the administrator, replaces the first.
    resp = console.client("admin").post("/charter/new", data=_form("Deuxième"))
    assert resp.status_code == 302
    second = _audit(console, "charter.published")[-1]
    assert (second.actor, second.target, second.detail["version"], second.detail["replaces"]) \
        == ("admin", "charter:2", 2, 1)
    page = hr.get("/charter/").get_data(as_text=True)
    assert "Deuxième en contact" in page and "Première en contact" not in page
    assert re.search(r'data-version="2">.*?in force', page, re.S)
    old = hr.get("/charter/1").get_data(as_text=True)
    assert "Première fr moderation" in old and "replaced" in old
    assert hr.get("/charter/3").status_code == 404


def test_counts_of_acceptances(console) -> None:  # noqa: ANN001
    _publish(console, "Un")
    for name in ("Karim Benali", "Julie Moreau"):
        assert _accept(console, name, 1)
    assert not _accept(console, "Karim Benali", 1)  # a resend counts once
    _publish(console, "Deux")
    assert _accept(console, "Karim Benali", 2, terminal="kiosk-2")
    expected = _expected(console)
    page = console.client("auditor").get("/charter/").get_data(as_text=True)
    assert f'id="charter-accepted">1</strong> of {expected} has accepted it' in page
    assert f'max="{expected}" value="1"' in page
    assert re.search(r'data-version="2">.*?data-accepted="1"', page, re.S)
    assert re.search(r'data-version="1">.*?data-accepted="2"', page, re.S)
    one = console.client("auditor").get("/charter/1").get_data(as_text=True)
    assert "Accepted by 2 people." in one
    two = console.client("hr").get("/charter/2").get_data(as_text=True)
    assert f'id="charter-accepted">1</strong> of {expected}' in two
    [entry] = [e for e in _audit(console, "charter.accepted") if e.target == "charter:2"]
    assert entry.detail["terminal"] == "kiosk-2" and entry.detail["version"] == 2
    # The audit page in French names both actions and their details.
    console.client("admin").post("/auth/language", data={"language": "fr", "next": "/audit/"})
    audit_fr = console.client("admin").get("/audit/").get_data(as_text=True)
    for french in ("Charte de la messagerie publiée",
                   "Charte de la messagerie acceptée sur un terminal",
                   "remplace la version", "demande du terminal"):
        assert french in audit_fr, french


def test_pending_people_a_page_at_a_time(console) -> None:  # noqa: ANN001
    with console.session() as s:
        team = s.get(Employee, console.demo.employees["Karim Benali"]).team_id
        s.add_all([Employee(name=f"Zz Personne {i:03d}", team_id=team) for i in range(60)])
        s.add(Employee(name="Zz Partie", team_id=team, active=False))
    _publish(console, "Un")
    _accept(console, "Karim Benali", 1)
    expected = _expected(console)
    assert expected > 60
    hr = console.client("hr")
    first = hr.get("/charter/").get_data(as_text=True)
    people = re.findall(r'<li data-employee="(\d+)"><a href="/employees/(\d+)">', first)
    assert len(people) == 50 and all(a == b for a, b in people)
    assert f"({expected - 1})" in first and 'rel="next"' in first
    karim = str(console.demo.employees["Karim Benali"])
    last_page = -(-(expected - 1) // 50)
    last = hr.get(f"/charter/?page={last_page}").get_data(as_text=True)
    shown = re.findall(r'<li data-employee="(\d+)">', last)
    assert len(shown) == (expected - 1) - 50 * (last_page - 1)
    beyond = hr.get(f"/charter/?page={last_page + 5}").get_data(as_text=True)
    assert re.findall(r'<li data-employee="(\d+)">', beyond) == shown  # the last page
    everyone = set()
    for page in range(1, last_page + 1):
        everyone |= set(re.findall(r'<li data-employee="(\d+)">',
                                   hr.get(f"/charter/?page={page}").get_data(as_text=True)))
    assert len(everyone) == expected - 1 and karim not in everyone
    assert "Zz Partie" not in "".join(hr.get(f"/charter/?page={p}").get_data(as_text=True)
                                      for p in range(1, last_page + 1))
    # An auditor reads the list without links to pages their role does not open.
    audit_page = console.client("auditor").get("/charter/").get_data(as_text=True)
    assert 'href="/employees/' not in audit_page
    assert len(re.findall(r'<li data-employee="', audit_page)) == 50


def test_the_employee_page_shows_acceptances(console) -> None:  # noqa: ANN001
    hr = console.client("hr")
    karim = console.demo.employees["Karim Benali"]
    assert "No charter is published yet." in hr.get(f"/employees/{karim}").get_data(as_text=True)
    _publish(console, "Un")
    page = hr.get(f"/employees/{karim}").get_data(as_text=True)
    assert 'id="charter-not-accepted"' in page and "version 1" in page
    _accept(console, "Karim Benali", 1, terminal="kiosk-2")
    page = hr.get(f"/employees/{karim}").get_data(as_text=True)
    assert 'id="charter-not-accepted"' not in page
    row = re.search(r'<tr data-version="1">(.*?)</tr>', page, re.S)
    assert row and "kiosk-2" in row.group(1) and "in force" in row.group(1)
    assert 'href="/charter/1"' in row.group(1)
    _publish(console, "Deux")
    page = hr.get(f"/employees/{karim}").get_data(as_text=True)
    assert 'id="charter-not-accepted"' in page and "version 2" in page
    assert '<tr data-version="1">' in page and "in force" not in page.split(
        'id="charter-acceptances"')[1].split("</section>")[0].split("</thead>")[1]


@pytest.mark.parametrize("role", [*ROLES, None])
def test_routes_by_role(console, role) -> None:  # noqa: ANN001
    _publish(console, "Un")
    c = console.client(role)
    versions_before = _count(console, CharterVersion)
    for url in ("/charter/", "/charter/?page=2", "/charter/new", "/charter/1"):
        resp = c.get(url)
        if role is None:
            assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"], url
        elif role in (PUBLISHERS if url == "/charter/new" else READERS):
            assert resp.status_code == 200, (role, url)
        else:
            assert resp.status_code == 403, (role, url)
    resp = c.post("/charter/new", data=_form(f"Par {role}"))
    if role is None:
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
        assert _count(console, CharterVersion) == versions_before
    elif role in PUBLISHERS:
        assert resp.status_code == 302
        assert _count(console, CharterVersion) == versions_before + 1
    else:
        assert resp.status_code == 403
        assert _count(console, CharterVersion) == versions_before
    menu = c.get("/").status_code  # the menu offers the charter only to those it opens for
    if role is not None and menu == 302:
        home = c.get(c.get("/").headers["Location"]).get_data(as_text=True)
        assert ('href="/charter/"' in home) == (role in READERS)
    assert _count(console, CharterAcceptance) == 0
