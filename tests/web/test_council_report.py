"""The works council's report (issue 17) on SQLite and PostgreSQL, against a month built
through the real services: messages held by the relay's own use case (pre-moderation and
keywords), approved, rejected with reasons and retracted by HR, a notice and a safety alert.
Its counts are checked one by one; neither its page, its printable version nor its CSV holds
a word of any message (a unique word is planted in every one), a person's name (one is even
written into a rejection's reason) or the name of a team under the threshold."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hr_console.services import council_report as cr
from hr_console.services import directory, messaging, notices, safety
from hr_console.store.models import ConsoleUser, Site, Team, Terminal
from tests.web import console_data as cd

PLANTED = "quetzalcoatl42"
BIG = ["Bastien Roussel", "Céline Vidal", "Damien Fabre", "Elsa Marchand", "Farid Kaci",
       "Gaëlle Noël"]
SMALL = ["Hervé Lucas", "Inès Carpentier"]
WAITING = [("Karim Benali", "Julie Moreau"), ("Julie Moreau", "Karim Benali"),
           ("Amina Diallo", "Lucas Bernard"), ("Lucas Bernard", "Amina Diallo")]
CHARTER_REASON = "Propos hors charte"
NAMING_REASON = f"Mention de Gaëlle Noël {PLANTED}"


def _month(console: Any) -> str:
    now = dt.datetime.now(ZoneInfo(console.cfg.timezone))
    return f"{now.year:04d}-{now.month:02d}"


def _people(console: Any) -> None:
    """A team of six (Expédition) and one of two (Cellule Zeta) on the demo site, each
    allowed to write within itself; everyone is pre-moderated by default."""
    with console.session() as s:
        site = s.execute(select(Site).where(Site.name == "demo")).scalar_one()
        for team_name, names in (("Expédition", BIG), ("Cellule Zeta", SMALL)):
            team = directory.team(s, team_name, site)
            s.flush()
            for name in names:
                console.demo.employees[name] = directory.employee(
                    s, name, pepper=console.cfg.badge_pepper, team_row=team).id
            directory.contact_rule(s, "team", team.id, "team", team.id)


def _decide(console: Any, action: str, message_id: int, reason: str = "") -> None:
    with console.session() as s:
        if action == "approve":
            messaging.approve(s, message_id, "hr")
        elif action == "reject":
            messaging.reject(s, message_id, reason, "hr")
        else:
            messaging.retract(s, message_id, reason, "hr")


@pytest.fixture
def month(console: Any) -> dict[str, Any]:
    """The scenario; returns what it did."""
    _people(console)
    firsts, seconds = [], []
    for i, name in enumerate(BIG):
        to = BIG[(i + 1) % len(BIG)]
        word = "grève" if i < 5 else "syndicat"
        firsts.append(cd.send(console, name, to, f"On fait {word} {PLANTED} demain").id)
        seconds.append(cd.send(console, name, to, f"Palette prête {PLANTED}").id)
    small = [cd.send(console, a, b, f"Rien à signaler {PLANTED}").id
             for a, b in (SMALL, SMALL[::-1])]
    for a, b in WAITING:
        cd.send(console, a, b, f"En attente {PLANTED}")
    for mid in firsts[:5]:
        _decide(console, "reject", mid, CHARTER_REASON)
    _decide(console, "reject", firsts[5], NAMING_REASON)
    for mid in seconds:
        _decide(console, "approve", mid)
    for mid in small:
        _decide(console, "reject", mid, "Hors sujet")
    _decide(console, "retract", seconds[0])
    with console.session() as s:
        team = s.execute(select(Team).where(Team.name == "Expédition")
                         ).scalar_one()
        notice = notices.create(s, title=f"Inventaire {PLANTED}", body=PLANTED,
                                target_kind="team", target_ref=team.id, ack_required=True,
                                actor="hr")
        for name in BIG[:4]:
            notices.receipt(s, console.demo.employees[name], notice.uid, "seen")
        for name in BIG[:2]:
            notices.receipt(s, console.demo.employees[name], notice.uid, "acknowledged")
        kiosk = s.execute(select(Terminal).where(Terminal.name == "kiosk-1")).scalar_one()
        alert = safety.raise_alert(s, kiosk, "c0ffee00-0000-4000-8000-000000000001", "fire",
                                   text=f"Fumée {PLANTED}").alert
        alert_id = alert.id
    with console.session() as s:
        user = s.execute(select(ConsoleUser.id)
                         .where(ConsoleUser.username == "hr")).scalar_one()
        safety.mark_handled(s, alert_id, user, "hr")
    return {"month": _month(console)}


def _everything(console: Any, role: str, query: str) -> tuple[str, str, str]:
    client = console.client(role)
    page = client.get(f"/council/?{query}")
    printable = client.get(f"/council/print?{query}")
    table = client.get(f"/council/report.csv?{query}")
    assert (page.status_code, printable.status_code, table.status_code) == (200, 200, 200)
    assert table.mimetype == "text/csv"
    return page.get_data(as_text=True), printable.get_data(as_text=True), \
        table.get_data(as_text=True)


def test_the_counts_of_the_month(console: Any, month: dict[str, Any]) -> None:
    year, mon = (int(x) for x in month["month"].split("-"))
    from hr_console.domain.council import month_bounds

    start, end = month_bounds(year, mon, ZoneInfo(console.cfg.timezone))
    with console.session() as s:
        r = cr.build(s, year=year, month=mon, start=start, end=end, minimum=5)
    assert r.messages == 18
    assert r.totals == cr.Counts(held=18, approved=6, rejected=8, retracted=1)
    assert r.waiting == 4
    assert r.people == 12
    teams = {(t.kind, t.name): t.counts for t in r.teams}
    # Expédition (6 people) is named; the 6 others (two teams of two, one of two, pooled)
    # are "other teams", big enough as a pool not to be worked out by subtraction.
    assert teams == {("team", "Expédition (demo)"): cr.Counts(12, 6, 6, 1),
                     (cr.OTHER, ""): cr.Counts(6, 0, 2, 0)}
    assert r.pooled_teams == 3
    assert r.causes == {"keyword": 6, "pre": 12, "media": 0, "other": 0}
    reasons = {(x.outcome, x.kind, x.text): (x.count, [(c.kind, c.name, c.count) for c in x.teams])
               for x in r.reasons}
    assert reasons == {
        ("rejected", "text", CHARTER_REASON): (5, [("team", "Expédition (demo)", 5)]),
        # the reason naming someone (1 person) and "Hors sujet" (2): not named
        ("rejected", cr.OTHER, ""): (3, [(cr.OTHER, "", 3)]),
        ("retracted", "none", ""): (1, [(cr.OTHER, "", 1)]),
    }
    assert [(w.kind, w.word, w.count) for w in r.words] == [("word", "grève", 5),
                                                           (cr.OTHER, "", 1)]
    assert r.decision_time.decided == 14
    assert r.decision_time.median_s is not None and r.decision_time.median_s < 120
    assert sum(n for _k, n in r.decision_time.buckets) == 14
    assert r.notices == cr.NoticeFigures(published=1, urgent=0, ack_required=1,
                                         from_terminals=0, reached=6, seen=4, ack_expected=6,
                                         acknowledged=2)
    assert (r.safety.raised, r.safety.handled, r.safety.by_pictogram) == (1, 1, [("fire", 1, 1)])
    assert r.charter is None


def test_a_higher_threshold_names_fewer(console: Any, month: dict[str, Any]) -> None:
    year, mon = (int(x) for x in month["month"].split("-"))
    from hr_console.domain.council import month_bounds

    start, end = month_bounds(year, mon, ZoneInfo(console.cfg.timezone))
    with console.session() as s:
        r = cr.build(s, year=year, month=mon, start=start, end=end, minimum=7)
    assert [t.kind for t in r.teams] == [cr.OTHER]
    assert r.totals == cr.Counts(held=18, approved=6, rejected=8, retracted=1)
    assert all(w.kind == cr.OTHER for w in r.words)


def test_no_content_and_no_small_name_anywhere(console: Any, month: dict[str, Any]) -> None:
    for role in ("hr", "auditor", "admin"):
        for text in _everything(console, role, f"month={month['month']}"):
            assert PLANTED not in text
            for name in [*console.demo.employees, "Gaëlle", "Cellule Zeta", "Atelier",
                         "Logistique", "Ressources humaines"]:
                assert name not in text, f"{name} in the report ({role})"
            assert "Expédition" in text and CHARTER_REASON in text and "grève" in text


def test_the_page_in_french_and_its_csv(console: Any, month: dict[str, Any]) -> None:
    client = console.client("hr")
    client.post("/auth/language", data={"language": "fr", "next": "/council/"})
    page = client.get(f"/council/?month={month['month']}").get_data(as_text=True)
    assert "Rapport pour le CSE" in page and "autres équipes" in page
    assert "non applicable" in page
    body = client.get(f"/council/report.csv?month={month['month']}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0] == ["section", "élément", "équipe", "valeur"]
    figures = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert figures[("totals", "Messages écrits", "")] == "18"
    assert figures[("teams", "Rejetés", "Expédition (demo)")] == "6"
    assert figures[("teams", "Retenus pour modération", "autres équipes")] == "6"
    assert figures[("keywords", "grève", "")] == "5"
    assert figures[("charter", "Taux d'acceptation de la charte", "")] == "non applicable"


def test_who_may_open_it(console: Any, month: dict[str, Any]) -> None:
    query = f"month={month['month']}"
    for path in ("/council/", "/council/print", "/council/report.csv"):
        assert console.client("auditor").get(f"{path}?{query}").status_code == 200
        assert console.client("supervisor").get(f"{path}?{query}").status_code == 403
        assert console.client(None).get(f"{path}?{query}").status_code == 302


@pytest.mark.parametrize("query", ["month=2026-13", "month=novembre", "month=2999-01",
                                   "min=3", "min=abc", "site=99999", "site=x"])
def test_bad_questions_are_refused_clearly(console: Any, query: str) -> None:
    client = console.client("hr")
    page = client.get(f"/council/?{query}")
    assert page.status_code == 400
    assert 'id="council-error"' in page.get_data(as_text=True)
    assert client.get(f"/council/report.csv?{query}").status_code == 400
    assert client.get(f"/council/print?{query}").status_code == 400


def test_an_empty_month_and_one_site(console: Any, month: dict[str, Any]) -> None:
    client = console.client("hr")
    page = client.get("/council/?month=2020-02")
    assert page.status_code == 200
    assert "Aucune modération ce mois-ci." in page.get_data(as_text=True)  # the demo's French
    with console.session() as s:
        demo = s.execute(select(Site.id).where(Site.name == "demo")).scalar_one()
        other = directory.site(s, "Lille")
        s.flush()
        other_id = other.id
    here = client.get(f"/council/report.csv?month={month['month']}&site={demo}").get_data(
        as_text=True)
    assert "Expédition" in here and "(demo)" not in here  # one site: teams by their name
    there = client.get(f"/council/report.csv?month={month['month']}&site={other_id}").get_data(
        as_text=True)
    rows = {(r[0], r[1]): r[3] for r in csv.reader(io.StringIO(there.lstrip("\ufeff")))}
    assert rows[("totals", "Messages écrits")] == "0"
    assert rows[("totals", "Retenus pour modération")] == "0"


def test_a_site_with_fewer_people_than_the_threshold_is_withheld(console: Any) -> None:
    """A site's name would single out the few people moderated there: its moderation
    figures are not shown on their own (they still count within every site's)."""
    with console.session() as s:
        site = directory.site(s, "Quimper")
        team = directory.team(s, "Quai de Quimper", site)
        s.flush()
        for name in ("Yann Le Gall", "Maëlle Kerbrat"):
            console.demo.employees[name] = directory.employee(
                s, name, pepper=console.cfg.badge_pepper, team_row=team).id
        directory.contact_rule(s, "team", team.id, "team", team.id)
        site_id = site.id
    sent = cd.send(console, "Yann Le Gall", "Maëlle Kerbrat", f"Grue en panne {PLANTED}")
    _decide(console, "reject", sent.id, "Hors sujet")
    cd.send(console, "Maëlle Kerbrat", "Yann Le Gall", f"Vu {PLANTED}")
    client = console.client("hr")
    query = f"month={_month(console)}&site={site_id}"
    page = client.get(f"/council/?{query}").get_data(as_text=True)
    assert 'id="council-withheld"' in page and 'id="council-teams"' not in page
    table = client.get(f"/council/report.csv?{query}").get_data(as_text=True)
    sections = {r[0] for r in csv.reader(io.StringIO(table.lstrip("\ufeff")))}
    assert "withheld" in sections and not sections & {"totals", "teams", "reasons", "keywords"}
    for text in (page, table, client.get(f"/council/print?{query}").get_data(as_text=True)):
        assert PLANTED not in text and "Quai de Quimper" not in text and "Yann" not in text
    everywhere = client.get(f"/council/report.csv?month={_month(console)}").get_data(as_text=True)
    rows = {(r[0], r[1], r[2]): r[3] for r in csv.reader(io.StringIO(everywhere.lstrip("\ufeff")))}
    assert rows[("totals", "Rejetés", "")] == "1"


def test_its_queries_read_no_content_and_no_name(console: Any, month: dict[str, Any]) -> None:
    """What the database is asked, not only what the page shows: no statement of the
    report reads a message's words, drawing or photo, a notice's or alert's words, or a
    person's name."""
    from sqlalchemy import event

    from hr_console.domain.council import month_bounds

    year, mon = (int(x) for x in month["month"].split("-"))
    start, end = month_bounds(year, mon, ZoneInfo(console.cfg.timezone))
    engine = console.app.extensions["relais_store"].engine
    seen: list[str] = []

    def remember(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        seen.append(statement.lower())

    event.listen(engine, "before_cursor_execute", remember)
    try:
        with console.session() as s:
            cr.build(s, year=year, month=mon, start=start, end=end, minimum=5)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert len(seen) >= 4
    for forbidden in ("messages.body", "messages.drawing", "messages.media_id", "media.",
                      "employees.name", "employees.search_name", "notices.title",
                      "notices.body", "safety_alerts.text", "console_users.username"):
        assert not [q for q in seen if forbidden in q], forbidden


def test_a_reading_under_way_is_answered_503_at_once(console: Any, monkeypatch: Any) -> None:
    """While one reader's month is being read (made slow here), a second reader, for the same
    month or with another threshold, is answered 503 at once instead of holding a console
    thread; once the reading is done, every threshold is served from it."""
    import threading
    import time

    started, real = threading.Event(), cr.gather
    calls: list[int] = []

    def slow(*args: Any, **kwargs: Any) -> cr.Gathered:
        calls.append(1)
        started.set()
        time.sleep(3)
        return real(*args, **kwargs)

    monkeypatch.setattr(cr, "gather", slow)
    query = f"month={_month(console)}"
    first: dict[str, int] = {}
    worker = threading.Thread(target=lambda: first.setdefault(
        "status", console.client("auditor").get(f"/council/?{query}&min=5").status_code))
    worker.start()
    assert started.wait(10)
    client = console.client("hr")
    client.post("/auth/language", data={"language": "en", "next": "/council/"})
    for other in ("min=5", "min=7", "min=5&site=999999"):
        began = time.monotonic()
        resp = client.get(f"/council/report.csv?{query}&{other}")
        if "site=" in other:
            assert resp.status_code == 400  # a bad question is still refused as such
            continue
        assert resp.status_code == 503, other
        assert time.monotonic() - began < 1.0
        assert resp.headers["Retry-After"]
        assert "try again in a moment" in resp.get_data(as_text=True)
    other_month = client.get("/council/?month=2025-01&min=5")
    assert other_month.status_code == 503  # another month waits for no lock either
    fr = console.client("admin")
    fr.post("/auth/language", data={"language": "fr", "next": "/council/"})
    busy = fr.get(f"/council/print?{query}&min=9")
    assert busy.status_code == 503 and "réessayez" in busy.get_data(as_text=True)
    assert busy.mimetype == "text/html" and "Retour" in busy.get_data(as_text=True)  # a page
    worker.join(10)
    assert first["status"] == 200
    assert client.get(f"/council/report.csv?{query}&min=7").status_code == 200
    assert len(calls) == 1  # every threshold from the one reading


def test_the_report_carries_the_audit_logs_anchor(console: Any, month: dict[str, Any]) -> None:
    """What the council keeps (the printout, the CSV) holds where the audit log had come to,
    the same anchor the audit page and `relais audit verify` show, to check later."""
    client = console.client("hr")
    client.post("/auth/language", data={"language": "en", "next": "/council/"})
    page, printable, table = _everything(console, "hr", f"month={month['month']}")
    audit_page = client.get("/audit/").get_data(as_text=True)
    anchor = re.search(r'<code id="audit-anchor">(\d+:[0-9a-f]{20})</code>', audit_page).group(1)
    assert f"Audit log anchor at that time: {anchor}." in printable
    assert f"Audit log anchor now: {anchor} " in page
    rows = list(csv.reader(io.StringIO(table.lstrip("\ufeff"))))
    assert ["period", "Audit log anchor", "", anchor] in rows
