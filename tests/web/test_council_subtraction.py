"""The works council report against an auditor holding every report of a month (issue 17),
on SQLite and PostgreSQL: the company's and each site's, at every threshold they may ask
for. Adding and subtracting them must single out no group of fewer than the threshold's
people (the leak left open before: a site with a team of 5 and a team of 1, the company
naming the 5, the site's total minus them giving the 1). And the charter's acceptance rate,
checked against the database, per site on the same terms."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import distinct, func, select

from hr_console.domain.charter import starting_text
from hr_console.domain.council import MIN_PEOPLE, month_bounds
from hr_console.services import charter, directory, messaging
from hr_console.services import council_report as cr
from hr_console.store.models import (
    CharterAcceptance,
    Employee,
    Message,
    Site,
    Team,
    utcnow,
)
from tests.web import console_data as cd

# site -> team -> people; each person writes one message (pre-moderated: held).
ORG = {"Brest": {"Quai": 5, "Solo": 1},  # the worked example
       "Nantes": {"Forge": 6, "Fonderie": 5, "Duo": 2},
       "Vannes": {"Phare": 3}}  # a site under the threshold
DEMO_PAIRS = [("Karim Benali", "Julie Moreau"), ("Amina Diallo", "Lucas Bernard")]
THRESHOLDS = range(MIN_PEOPLE, 10)


def _name(team: str, i: int) -> str:
    return f"{team} Personne{i}"


@pytest.fixture
def month(console: Any) -> tuple[int, int]:
    """The org above plus four demo people, one held message each; Quai's rejected with a
    common reason, Solo's with its own, half of Forge approved."""
    with console.session() as s:
        for site_name, teams in ORG.items():
            site = directory.site(s, site_name)
            rows = {}
            for team_name, size in teams.items():
                rows[team_name] = team = directory.team(s, team_name, site)
                s.flush()
                for i in range(size):
                    console.demo.employees[_name(team_name, i)] = directory.employee(
                        s, _name(team_name, i), pepper=console.cfg.badge_pepper,
                        team_row=team).id
                directory.contact_rule(s, "team", team.id, "team", team.id)
            if "Solo" in rows:
                directory.contact_rule(s, "team", rows["Solo"].id, "team", rows["Quai"].id)
    sent: dict[str, list[int]] = {}
    for teams in ORG.values():
        for team_name, size in teams.items():
            to = "Quai" if team_name == "Solo" else team_name
            sent[team_name] = [cd.send(console, _name(team_name, i),
                                       _name(to, (i + 1) % max(2, size) % ORG_SIZE[to]),
                                       "Bonjour").id for i in range(size)]
    for a, b in DEMO_PAIRS:
        cd.send(console, a, b, "Bonjour")
    with console.session() as s:
        for mid in sent["Quai"]:
            messaging.reject(s, mid, "Propos hors charte", "hr")
        messaging.reject(s, sent["Solo"][0], "Hors sujet", "hr")
        for mid in sent["Forge"][:3]:
            messaging.approve(s, mid, "hr")
    now = dt.datetime.now(ZoneInfo(console.cfg.timezone))
    return now.year, now.month


ORG_SIZE = {team: size for teams in ORG.values() for team, size in teams.items()}


def _gathered(console: Any, year: int, mon: int) -> dict[int | None, cr.Gathered]:
    """Every scope an auditor can ask for: the company and each site (no site has a zone
    of its own here: every report covers the same hours)."""
    start, end = month_bounds(year, mon, ZoneInfo(console.cfg.timezone))
    with console.session() as s:
        sites = s.execute(select(Site.id)).scalars().all()
        return {sid: cr.gather(s, year=year, month=mon, start=start, end=end, site_id=sid)
                for sid in [None, *sites]}


def _truth(console: Any, year: int, mon: int) -> tuple[dict[Any, int], dict[Any, int],
                                                       dict[Any, int | None]]:
    """From the database, not from the report: moderated people and held messages per team
    (every message of the month is held here), and each team's site."""
    start, end = month_bounds(year, mon, ZoneInfo(console.cfg.timezone))
    with console.session() as s:
        rows = s.execute(select(Employee.team_id, func.count(distinct(Message.sender_id)),
                                func.count())
                         .join(Employee, Employee.id == Message.sender_id)
                         .where(Message.created_at >= start, Message.created_at < end)
                         .group_by(Employee.team_id)).all()
        site_of = dict(s.execute(select(Team.id, Team.site_id)).tuples().all())
    people = {t: int(p) for t, p, _n in rows}
    held = {t: int(n) for t, _p, n in rows}
    return people, held, {t: site_of.get(t) for t in people}


def _team_ids(console: Any) -> dict[tuple[int | None, str], int]:
    """A named row's team: the company's rows say "Team (Site)", a site's "Team"."""
    with console.session() as s:
        rows = s.execute(select(Team.id, Team.name, Site.id, Site.name)
                         .join(Site, Site.id == Team.site_id)).all()
    out: dict[tuple[int | None, str], int] = {}
    for tid, name, sid, site in rows:
        out[(sid, name)] = tid
        out[(None, f"{name} ({site})")] = tid
    return out


def _published(report: cr.Report, scope: int | None, ids: dict, people: dict,
               held: dict, site_of: dict) -> list[frozenset]:
    """The sums over teams this report publishes, each checked against the database (so
    the attack works on the report's true meaning): its scope's total and every named
    team, the named teams of its reasons' splits too."""
    if report.withheld:
        assert report.totals == cr.Counts() and report.teams == [] and report.reasons == []
        return []
    teams = frozenset(t for t in people if scope is None or site_of[t] == scope)
    assert report.totals.held == sum(held[t] for t in teams)
    assert report.people == sum(people[t] for t in teams)
    sums = [teams]
    named: set[Any] = set()
    for row in report.teams:
        if row.kind == cr.OTHER:
            continue
        team = None if row.kind == "no_team" else ids[(scope, row.name)]
        assert row.counts.held == held[team] and people[team] >= report.minimum
        named.add(team)
        sums.append(frozenset([team]))
    for reason in report.reasons:
        for cell in reason.teams:
            if cell.kind != cr.OTHER:
                team = None if cell.kind == "no_team" else ids[(scope, cell.name)]
                assert team in named  # a reason's split names only the table's teams
    return sums


def _groups(sums: list[frozenset], people: dict) -> list[int]:
    """The finest groups the sums cut the teams into (teams in exactly the same sums): by
    adding and subtracting published figures nothing finer can be worked out."""
    classes: dict[tuple[bool, ...], int] = {}
    for team, n in people.items():
        key = tuple(team in s for s in sums)
        classes[key] = classes.get(key, 0) + n
    return list(classes.values())


def test_every_report_of_a_month_together_singles_out_no_small_group(
        console: Any, month: tuple[int, int]) -> None:
    year, mon = month
    people, held, site_of = _truth(console, year, month[1])
    everyone = sum(people.values())
    ids = _team_ids(console)
    gathered = _gathered(console, year, mon)
    every_threshold: list[frozenset] = []
    for minimum in THRESHOLDS:
        reports = {sid: cr.assemble(g, minimum) for sid, g in gathered.items()}
        sums = [s for sid, r in reports.items()
                for s in _published(r, sid, ids, people, held, site_of)]
        small = [n for n in _groups(sums, people) if 0 < n < minimum and n != everyone]
        assert not small, f"at {minimum}: groups of {small} people by subtraction"
        every_threshold += sums
        if minimum == MIN_PEOPLE:
            brest = next(sid for sid, r in reports.items() if r.site == "Brest")
            vannes = next(sid for sid, r in reports.items() if r.site == "Vannes")
            nantes = next(sid for sid, r in reports.items() if r.site == "Nantes")
            company = {row.name for row in reports[None].teams if row.kind == "team"}
            # The worked example: Brest's "other teams" would be Solo's one person once
            # the company's "Quai (Brest)" is taken off; Quai is pooled everywhere.
            assert "Quai (Brest)" not in company
            assert not reports[brest].withheld
            assert [row.kind for row in reports[brest].teams] == [cr.OTHER]
            assert reports[brest].teams[0].counts.held == 6
            # Nantes' Duo (2) would be Nantes minus its named teams: Fonderie joins it,
            # Forge (6) stays named, in the company's report and Nantes' alike.
            assert "Forge (Nantes)" in company and "Fonderie (Nantes)" not in company
            assert [(r.kind, r.name) for r in reports[nantes].teams] == [
                ("team", "Forge"), (cr.OTHER, "")]
            # Vannes (3 people) is withheld, and the company minus the shown sites would
            # be its 3: another site is withheld with it.
            assert reports[vannes].withheld
            shown = [r for sid, r in reports.items() if sid is not None and not r.withheld]
            rest = reports[None].totals.held - sum(r.totals.held for r in shown)
            assert rest == 0 or rest >= MIN_PEOPLE
    small = [n for n in _groups(every_threshold, people) if 0 < n < MIN_PEOPLE
             and n != everyone]
    assert not small, f"every threshold together: groups of {small} people"


def test_a_site_report_names_no_reason_and_no_word(console: Any, month: tuple[int, int]) -> None:
    """The review's attack: the reason Quai's five (Brest) were given goes to one person of
    Forge (Nantes) too. Named per site, the company's report (6 people at threshold 6, not
    at 7) and Brest's (5) would leave one person of another site with it. Reasons and words
    are named in the report for every site only; a site's counts them together."""
    forge = console.demo.employees[_name("Forge", 3)]
    with console.session() as s:
        mid = s.execute(select(Message.id).where(Message.sender_id == forge)).scalar_one()
        messaging.reject(s, mid, "Propos hors charte", "hr")
    gathered = _gathered(console, *month)
    for minimum in THRESHOLDS:
        company = cr.assemble(gathered[None], minimum)
        named = {r.text for r in company.reasons if r.kind == "text"}
        assert ("Propos hors charte" in named) == (minimum <= 6)  # Quai's 5 and Forge's 1
        for sid, g in gathered.items():
            if sid is None:
                continue
            report = cr.assemble(g, minimum)
            assert all(r.kind == "site" and r.teams == [] for r in report.reasons), report.site
            assert all(w.kind == "site" for w in report.words)
            counted = {r.outcome: r.count for r in report.reasons}
            assert counted.get("rejected", 0) == report.totals.rejected
    brest = next(sid for sid, g in gathered.items() if g.site == "Brest")
    rows = _csv(console, f"month={month[0]:04d}-{month[1]:02d}&site={brest}")
    assert any(part == "reasons" and label.endswith(
        "every reason (named in the report for every site only)") for part, label in rows)
    assert not any("Propos hors charte" in label for _part, label in rows)


def test_the_threshold_has_a_floor(console: Any, month: tuple[int, int]) -> None:
    gathered = _gathered(console, *month)
    with pytest.raises(ValueError, match="bad_minimum"):
        cr.assemble(gathered[None], MIN_PEOPLE - 1)
    client = console.client("auditor")
    query = f"month={month[0]:04d}-{month[1]:02d}&min={MIN_PEOPLE - 1}"
    assert client.get(f"/council/report.csv?{query}").status_code == 400


def _accept(console: Any, names: list[str], version: int) -> None:
    with console.session() as s:
        found = charter.version(s, version)
        assert found is not None
        s.add_all([CharterAcceptance(charter_id=found.id, employee_id=console.demo.employees[n],
                                     terminal="kiosk-1", accepted_at=utcnow())
                   for n in names])


def _csv(console: Any, query: str) -> dict[tuple[str, str], str]:
    client = console.client("auditor")
    client.post("/auth/language", data={"language": "en", "next": "/council/"})
    body = client.get(f"/council/report.csv?{query}").get_data(as_text=True)
    return {(r[0], r[1]): r[3] for r in csv.reader(io.StringIO(body.lstrip("\ufeff")))}


def test_the_charter_acceptance_rate(console: Any, month: tuple[int, int]) -> None:
    year, mon = month
    console.app.config["COUNCIL_CACHE_S"] = 0  # each reading afresh (else kept a minute)
    query = f"month={year:04d}-{mon:02d}"
    assert _csv(console, query)[("charter", "Charter acceptance rate")] == "not applicable"
    with console.session() as s:
        charter.publish(s, starting_text(365, "pre"), actor="hr")
    accepting = [_name("Forge", i) for i in range(6)] + [_name("Quai", 0), _name("Quai", 1),
                                                         _name("Phare", 0)]
    _accept(console, accepting, 1)
    start, end = month_bounds(year, mon, ZoneInfo(console.cfg.timezone))
    with console.session() as s:
        speaks_to = (Employee.active.is_(True), Employee.is_hr_desk.is_(False))
        expected = s.scalar(select(func.count()).select_from(Employee).where(*speaks_to))
        accepted = s.scalar(select(func.count()).select_from(CharterAcceptance)
                            .join(Employee, Employee.id == CharterAcceptance.employee_id)
                            .where(*speaks_to))
        sites = dict(s.execute(select(Site.name, Site.id)).tuples().all())
        company = cr.build(s, year=year, month=mon, start=start, end=end, minimum=5)
        per_site = {name: cr.build(s, year=year, month=mon, start=start, end=end,
                                   minimum=5, site_id=sid).charter
                    for name, sid in sites.items()}
    assert accepted == 9 and company.charter == cr.CharterFigures(accepted, expected)
    assert per_site["Nantes"] == cr.CharterFigures(6, 13)  # Forge's six of 13 people
    assert per_site["Vannes"] == cr.CharterFigures(0, 0, withheld=True)  # 3 people
    assert per_site["Brest"] == cr.CharterFigures(2, 6)
    # The company minus Brest and Nantes would be Vannes' 3 with the demo site's few and
    # the people of no team: the demo site is withheld with Vannes.
    assert per_site["demo"] is not None and per_site["demo"].withheld
    shown = [c for c in per_site.values() if c is not None and not c.withheld]
    assert all(c.expected >= 5 for c in shown if c.expected)
    rest = expected - sum(c.expected for c in shown)
    assert rest == 0 or rest >= 5
    # The page, its CSV, in both languages; a month before any charter: not applicable.
    figures = _csv(console, f"{query}&site={sites['Nantes']}")
    assert figures[("charter", "Charter acceptance rate")] == "46 %"
    assert figures[("charter", "People who accepted the charter in force")] == "6"
    assert _csv(console, f"{query}&site={sites['Vannes']}")[
        ("charter", "Charter acceptance rate")] == "withheld"
    assert _csv(console, f"{query}&min=7&site={sites['Nantes']}")[
        ("charter", "Charter acceptance rate")] == "46 %"
    assert _csv(console, "month=2020-02")[("charter", "Charter acceptance rate")] == \
        "not applicable"
    client = console.client("hr")
    client.post("/auth/language", data={"language": "fr", "next": "/council/"})
    page = client.get(f"/council/?{query}&site={sites['Vannes']}").get_data(as_text=True)
    assert 'id="council-charter-withheld"' in page and "non communiqué" in page
    page = client.get(f"/council/print?{query}").get_data(as_text=True)
    assert f"{accepted} personnes sur {expected} ont accepté la charte en vigueur" in page
    earlier = client.get("/council/?month=2020-02").get_data(as_text=True)
    assert "non applicable" in earlier and "Aucune charte de la messagerie" in earlier
