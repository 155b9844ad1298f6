"""The audit log page: filters, pages, chain status, audited CSV export with formulas
neutralised, per role, CSRF."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select, update

from hr_console.services import audit, audit_search
from hr_console.services.audit_search import neutralise
from hr_console.store.models import AuditEntry
from tests.security import forgery
from tests.web_fixture import PASSWORD, ROLES, make_console

READERS = {"admin", "hr", "auditor"}


def _csv(resp) -> list[list[str]]:  # noqa: ANN001
    text = resp.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("role", ROLES)
def test_routes_by_role(console, role) -> None:  # noqa: ANN001
    c = console.client(role)
    allowed = role in READERS
    assert c.get("/audit/").status_code == (200 if allowed else 403)
    resp = c.post("/audit/export.csv", data={})
    assert resp.status_code == (200 if allowed else 403)
    if allowed:
        assert resp.mimetype == "text/csv"
        assert "attachment" in resp.headers["Content-Disposition"]


def test_anonymous_is_sent_to_sign_in(console) -> None:  # noqa: ANN001
    for resp in (console.client().get("/audit/"), console.client().post("/audit/export.csv")):
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_filters_and_pagination(console) -> None:  # noqa: ANN001
    with console.session() as s:
        for i in range(60):
            audit.record(s, "robot", "test.thing", f"thing:{i}", n=i)
        audit.record(s, "someone", "test.other", "special:target_1%")
    c = console.client("auditor")
    page = c.get("/audit/?actor=robot").get_data(as_text=True)
    assert "thing:59" in page and "thing:9<" not in page and "special:" not in page
    assert "thing:9<" in c.get("/audit/?actor=robot&page=2").get_data(as_text=True)
    page = c.get("/audit/?target=target_1%25").get_data(as_text=True)
    assert "special:target_1%" in page and "thing:1<" not in page
    page = c.get("/audit/?action=test.other").get_data(as_text=True)
    assert "special:target_1%" in page and "thing:" not in page
    assert "thing:" not in c.get("/audit/?date_to=2000-01-01").get_data(as_text=True)
    assert "thing:5" in c.get("/audit/?date_from=2000-01-01&actor=robot").get_data(as_text=True)
    assert c.get("/audit/?date_from=garbage&page=x").status_code == 200


def test_the_menus_do_not_list_everyone_who_ever_acted(console) -> None:  # noqa: ANN001
    """Thousands of employees and terminals act in a large organisation: the "who" filter
    suggests the console's users and is typed or picked from a row (a link keeping the other
    filters); the action menu lists every action present, however many entries share it."""
    with console.session() as s:
        for i in range(700):
            audit.record(s, f"employee:{i}", "charter.accepted", f"charter:{i % 3}")
        audit.record(s, "terminal:kiosk-9", "badge.unknown", None)
        audit.record(s, "zz-late-user", "test.thing", "t:1")
        actors, actions = audit_search.choices(s)
        present = sorted(s.scalars(select(AuditEntry.action).distinct()))
    assert actions == present
    assert "employee:5" not in actors and "cli" in actors and "hr" in actors
    page = console.client("auditor").get("/audit/?action=charter.accepted&target=charter:1")
    html = page.get_data(as_text=True)
    assert '<datalist id="audit-actors">' in html and '<option value="auditor">' in html
    assert "employee:5" not in html.split('<table class="audit">')[0]  # not in the menus
    link = re.search(r'<a href="(/audit/\?[^"]*actor=employee:697[^"]*)"', html).group(1)
    narrowed = console.client("auditor").get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "charter:1<" in narrowed and narrowed.count('<td class="raw">charter:') == 1
    found = console.client("auditor").get("/audit/?actor=zz-late-user").get_data(as_text=True)
    assert "t:1<" in found


def test_chain_status_is_shown(console, monkeypatch) -> None:  # noqa: ANN001
    """Each view checks the entries since the last one and that the chain still ends where
    it did; the whole chain is walked again every ``full_every`` seconds, and the page says
    when: an old entry altered in place shows at the next whole walk."""
    monkeypatch.setattr(audit, "WATCH", audit.ChainWatch(full_every=3600))
    c = console.client("auditor")
    page = c.get("/audit/").get_data(as_text=True)
    assert 'class="card chain ok"' in page
    assert "Whole chain walked at" in page or "Chaîne parcourue en entier" in page
    with console.session() as s:
        audit.record(s, "robot", "test.thing", "thing:new")
    assert 'class="card chain ok"' in c.get("/audit/").get_data(as_text=True)
    with console.session() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == 2).values(actor="mallory"))
    assert 'class="card chain ok"' in c.get("/audit/").get_data(as_text=True)  # not walked yet
    audit.WATCH.full_every = 0  # the next view walks it all
    page = c.get("/audit/").get_data(as_text=True)
    assert 'class="card chain broken"' in page and "at entry 2" in page.replace("à l'entrée 2", "at entry 2")


@pytest.mark.parametrize("tamper", ["newest", "cut"])
def test_the_end_of_the_chain_is_checked_at_every_view(console, monkeypatch, tamper) -> None:  # noqa: ANN001
    """Between whole walks: the newest entry altered, or cut off the end, shows at the very
    next view."""
    monkeypatch.setattr(audit, "WATCH", audit.ChainWatch(full_every=3600))
    c = console.client("auditor")
    with console.session() as s:
        for i in range(3):
            audit.record(s, "robot", "test.thing", f"thing:{i}")
    assert 'class="card chain ok"' in c.get("/audit/").get_data(as_text=True)
    with console.session() as s:
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(2)).all()
        if tamper == "newest":
            last[0].actor = "mallory"
        else:  # the last entry deleted (the anchor still counts it)
            s.delete(last[0])
    assert 'class="card chain broken"' in c.get("/audit/").get_data(as_text=True)


def test_export_is_audited_and_neutralises_formulas(console) -> None:  # noqa: ANN001
    with console.session() as s:
        audit.record(s, "=cmd|' /C calc'!A0", "test.formula", "+SUM(A1)", note="@HYPERLINK(x)")
        audit.record(s, "\tTAB", "test.formula", "-2+3", note="\rCR")
    resp = console.client("hr").post("/audit/export.csv", data={"action": "test.formula"})
    rows = _csv(resp)
    assert rows[0] == ["id", "ts_utc", "actor", "action", "target", "detail", "hash"]
    body = rows[1:]
    assert len(body) == 2
    assert body[0][2] == "'=cmd|' /C calc'!A0" and body[0][4] == "'+SUM(A1)"
    assert body[1][2] == "'\tTAB" and body[1][4] == "'-2+3"
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    with console.session() as s:
        last = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
    assert last.action == "audit.export" and last.actor == "hr"
    assert last.detail["rows"] == 2 and last.detail["filters"] == {"action": "test.formula"}


def test_neutralise() -> None:
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("@x") == "'@x" and neutralise("\rx") == "'\rx"
    assert neutralise("plain") == "plain" and neutralise(None) == "" and neutralise(5) == "5"


def test_entries_are_escaped(console) -> None:  # noqa: ANN001
    with console.session() as s:
        audit.record(s, "<script>alert(1)</script>", "test.xss", "<img src=x onerror=alert(2)>",
                     why="<b>bold</b>")
    page = console.client("auditor").get("/audit/").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_export_needs_csrf(tmp_path, db_url) -> None:  # noqa: ANN001
    strict = make_console(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    try:
        c = strict.app.test_client()
        page = c.get("/auth/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        c.post("/auth/login", data={"username": "auditor", "password": PASSWORD, "csrf_token": token})
        assert c.post("/audit/export.csv", data={}).status_code == 400
        with strict.session() as s:
            assert not s.execute(select(AuditEntry).where(AuditEntry.action == "audit.export")).first()
    finally:
        strict.app.extensions["relais_store"].dispose()


def test_an_export_longer_than_a_chunk_holds_every_entry(console, monkeypatch) -> None:  # noqa: ANN001
    """The export is read a chunk at a time while it is sent (a large organisation's log
    does not fit in the console's memory, and was once cut at a fixed row count without a
    word): every matching entry is in it, in the log's order, and the audit says how many."""
    monkeypatch.setattr(audit_search, "EXPORT_CHUNK", 7)
    with console.session() as s:
        for i in range(30):
            audit.record(s, "robot", "test.many" if i % 3 else "test.few", f"thing:{i}")
    resp = console.client("auditor").post("/audit/export.csv", data={"action": "test.many"})
    assert resp.status_code == 200 and resp.is_streamed
    rows = _csv(resp)
    assert rows[0] == list(audit_search.CSV_HEADER)
    assert [r[4] for r in rows[1:]] == [f"thing:{i}" for i in range(30) if i % 3]
    assert [int(r[0]) for r in rows[1:]] == sorted(int(r[0]) for r in rows[1:])
    with console.session() as s:
        last = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
    assert last.action == "audit.export" and last.detail["rows"] == 20


def test_an_entry_written_while_the_export_is_sent_is_not_in_it(console, monkeypatch) -> None:  # noqa: ANN001
    """What the audit entry says the export holds is what it holds, even when the log grows
    while it is being downloaded."""
    monkeypatch.setattr(audit_search, "EXPORT_CHUNK", 4)
    with console.session() as s:
        for i in range(10):
            audit.record(s, "robot", "test.growing", f"thing:{i}")
    resp = console.client("hr").post("/audit/export.csv", data={"action": "test.growing"},
                                     buffered=False)
    parts = iter(resp.response)
    head = [next(parts), next(parts)]  # the header, then the first chunk
    with console.session() as s:
        audit.record(s, "robot", "test.growing", "thing:late")
    text = b"".join(p if isinstance(p, bytes) else p.encode() for p in [*head, *parts])
    resp.close()
    rows = list(csv.reader(io.StringIO(text.decode("utf-8").lstrip("\ufeff"))))
    assert [r[4] for r in rows[1:]] == [f"thing:{i}" for i in range(10)]
    with console.session() as s:
        exported = s.execute(select(AuditEntry).where(AuditEntry.action == "audit.export")
                             ).scalar_one()
    assert exported.detail["rows"] == 10


def test_an_export_of_nothing_is_its_header(console) -> None:  # noqa: ANN001
    rows = _csv(console.client("auditor").post("/audit/export.csv",
                                               data={"action": "test.nothing.matches"}))
    assert rows == [list(audit_search.CSV_HEADER)]


def test_an_export_that_fails_midway_is_a_failed_download(console, monkeypatch) -> None:  # noqa: ANN001
    """The database lost while the export is sent (its audit entry already committed): the
    console, served by waitress as in production, ends the transfer unfinished, so the
    browser reports a failed download instead of saving a file that looks complete."""
    import requests
    from sqlalchemy.exc import OperationalError

    from tests.served import served
    from tests.web.test_hr_desk_confidentiality import _sign_in

    monkeypatch.setattr(audit_search, "EXPORT_CHUNK", 4)
    with console.session() as s:
        for i in range(12):
            audit.record(s, "robot", "test.lost", f"thing:{i}")
    cells, calls = audit_search._cells, []

    def failing(row):  # noqa: ANN001, ANN202
        calls.append(row)
        if len(calls) > 6:  # in the second chunk
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return cells(row)

    monkeypatch.setattr(audit_search, "_cells", failing)
    with served(console.app) as url:
        web, token = _sign_in(url, "auditor")
        resp = web.post(f"{url}/audit/export.csv", stream=True, timeout=30,
                        data={"action": "test.lost", "csrf_token": token})
        assert resp.status_code == 200  # the headers left before the failure
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            b"".join(resp.iter_content(1024))



def _shown_anchor(page: str) -> str:
    found = re.search(r'<code id="audit-anchor">(\d+:[0-9a-f]{20})</code>', page)
    assert found, page
    return found.group(1)


def test_an_anchor_noted_from_the_page_catches_a_log_rewritten_with_its_hashes(console) -> None:  # noqa: ANN001
    """An auditor notes the anchor the page shows; someone who can write the database then
    rewrites an entry and recomputes every hash after it. The chain still reads intact (it
    is, by its own hashes); the noted anchor, checked on the page, does not hold."""
    c = console.client("auditor")
    c.post("/auth/language", data={"language": "en", "next": "/audit/"})
    noted = _shown_anchor(c.get("/audit/").get_data(as_text=True))
    with console.session() as s:
        audit.record(s, "robot", "test.thing", "thing:later")
    page = c.get(f"/audit/?anchor={noted}").get_data(as_text=True)
    assert f"Anchor {noted} holds" in page and 'class="card chain ok"' in page
    assert _shown_anchor(page) != noted
    with console.session() as s:
        forgery.rewrite_main(s.connection(), 2, "mallory")
    page = c.get(f"/audit/?anchor={noted}").get_data(as_text=True)
    assert 'class="card chain ok"' in page  # the forgery is a valid chain
    assert "Anchor NOT found:" in page and "the log was rewritten up to there" in page
    assert f"Anchor {noted} holds" not in page


def test_an_anchor_that_cannot_be_read_is_said_so_in_french_too(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    c.post("/auth/language", data={"language": "en", "next": "/audit/"})
    page = c.get("/audit/?anchor=12:nothex").get_data(as_text=True)
    assert "This is not an anchor" in page and 'value="12:nothex"' in page
    c.post("/auth/language", data={"language": "fr", "next": "/audit/"})
    page = c.get("/audit/?anchor=12:nothex").get_data(as_text=True)
    assert "Ce n&#39;est pas une ancre" in page and "Ancre actuelle" in page
    page = c.get("/audit/?anchor=99999:0123456789abcdef0123").get_data(as_text=True)
    assert "Ancre NON retrouvée" in page and "ses entrées suivantes ont été supprimées" in page


def test_an_anchor_is_checked_against_the_whole_log_not_the_pages_quick_look(console, monkeypatch) -> None:  # noqa: ANN001
    """The page's usual view checks only the newest entries between whole walks (an entry
    altered in place shows within ``full_every``); asked to check an anchor, it walks the
    whole log first, so an anchor never holds for a log that does not."""
    monkeypatch.setattr(audit, "WATCH", audit.ChainWatch(full_every=3600))
    c = console.client("auditor")
    c.post("/auth/language", data={"language": "en", "next": "/audit/"})
    noted = _shown_anchor(c.get("/audit/").get_data(as_text=True))
    with console.session() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == 2).values(actor="mallory"))
    assert 'class="card chain ok"' in c.get("/audit/").get_data(as_text=True)  # not walked yet
    page = c.get(f"/audit/?anchor={noted}").get_data(as_text=True)
    assert 'class="card chain broken"' in page and f"Anchor {noted} holds" not in page
    assert "The chain is broken: no anchor can vouch for it." in page
