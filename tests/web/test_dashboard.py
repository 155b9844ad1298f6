"""The dashboard: figures from services.stats and charts drawn as SVG pictures, per role."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from hr_console.services import notices, stats
from hr_console.store.models import Message, ModerationDecision, Team, Terminal, utcnow
from tests.web import console_data as cd
from tests.web_fixture import ROLES

CHARTS = ["/dashboard/charts/messages.svg", "/dashboard/charts/wait.svg",
          "/dashboard/charts/teams.svg", "/dashboard/charts/matrix.svg"]
VIEWERS = {"admin", "hr"}


@pytest.mark.parametrize("role", ROLES)
def test_routes_by_role(console, role) -> None:  # noqa: ANN001
    c = console.client(role)
    for url in ["/dashboard/", *CHARTS]:
        assert c.get(url).status_code == (200 if role in VIEWERS else 403), (role, url)


def test_anonymous_is_sent_to_sign_in(console) -> None:  # noqa: ANN001
    for url in ["/dashboard/", *CHARTS]:
        resp = console.client().get(url)
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_home_of_hr_is_the_dashboard(console) -> None:  # noqa: ANN001
    resp = console.client("hr").get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/dashboard/")


def test_overview_counts(console) -> None:  # noqa: ANN001
    held = cd.send(console, "Karim Benali", "Sophie Martin", "en attente")
    cd.send(console, "Julie Moreau", "Sophie Martin", "aussi")
    cd.send(console, "Sophie Martin", "Karim Benali", "livré")
    with console.session() as s:
        s.execute(update(Message).where(Message.id == held.id)
                  .values(created_at=utcnow() - dt.timedelta(minutes=42)))
        s.execute(update(Terminal).where(Terminal.name == "kiosk-1")
                  .values(online=True, last_seen=utcnow()))
        s.execute(update(Terminal).where(Terminal.name == "kiosk-2")
                  .values(online=True, last_seen=utcnow() - dt.timedelta(hours=2)))
        team = s.execute(select(Team).where(Team.name == "Atelier")).scalar_one()
        notices.create(s, title="Évacuation", body="", target_kind="team", target_ref=team.id,
                       urgent=True, actor="hr")
        notices.create(s, title="Info", body="", target_kind="team", target_ref=team.id, actor="hr")
    with console.session() as s:
        ov = stats.overview(s)
    assert ov.held == 2 and ov.messages_today == 3
    assert 41 * 60 <= (utcnow() - ov.oldest_held).total_seconds() < 44 * 60
    assert ov.urgent_notices == 1 and ov.urgent_unacknowledged == 3  # Atelier has three people
    assert [t.name for t in ov.offline] == ["kiosk-2"] and ov.terminals == 2
    page = console.client("hr").get("/dashboard/").get_data(as_text=True)
    assert "kiosk-2" in page and "42 min" in page
    for url in CHARTS:
        assert f'src="{url}"' in page


def test_messages_per_day_and_wait(console) -> None:  # noqa: ANN001
    now = utcnow()
    a = cd.send(console, "Karim Benali", "Sophie Martin", "un")
    b = cd.send(console, "Karim Benali", "Sophie Martin", "deux")
    cd.send(console, "Sophie Martin", "Karim Benali", "trois")
    with console.session() as s:
        s.execute(update(Message).where(Message.id == a.id)
                  .values(created_at=now - dt.timedelta(days=3)))
        s.execute(update(Message).where(Message.id == b.id)
                  .values(created_at=now - dt.timedelta(minutes=30)))
        s.add_all([ModerationDecision(message_id=a.id, decision="approve", created_at=now),
                   ModerationDecision(message_id=b.id, decision="reject", created_at=now)])
    with console.session() as s:
        per_day = dict(stats.messages_per_day(s, 14, now))
        waits = stats.moderation_wait(s, 14, now)
    assert len(per_day) == 14 and per_day[now.date()] == 2
    assert per_day[(now - dt.timedelta(days=3)).date()] == 1
    today = waits[-1]
    assert today.day == now.date() and today.decided == 2
    assert 29 * 60 <= today.median_s <= 31 * 60  # nearest rank: the smaller of two
    assert today.p90_s >= 3 * 86400 - 60
    assert waits[0].decided == 0 and waits[0].median_s is None


def test_team_flows_and_matrix(console) -> None:  # noqa: ANN001
    cd.send(console, "Sophie Martin", "Karim Benali", "équipe")
    cd.send(console, "Sophie Martin", "Julie Moreau", "équipe")
    cd.send(console, "Thomas Petit", "Claire Dubois (RH)", "vers RH")
    with console.session() as s:
        flows = stats.team_flows(s, 7)
    names = {v: k for k, v in flows.teams.items()}
    atelier, logistique, rh = (names["Atelier (demo)"], names["Logistique (demo)"],
                               names["Ressources humaines (demo)"])
    assert flows.matrix[(atelier, atelier)] == 2 and flows.matrix[(logistique, rh)] == 1
    assert flows.sent()[atelier] == 2 and flows.received()[rh] == 1
    assert flows.busiest(1) == [atelier]
    c = console.client("admin")
    matrix = c.get("/dashboard/charts/matrix.svg")
    assert matrix.mimetype == "image/svg+xml"
    assert matrix.headers["Content-Security-Policy"] == "default-src 'none'"
    body = matrix.get_data(as_text=True)
    assert "Atelier (demo)" in body and "Logistique (demo)" in body
    assert "Atelier (demo)" in c.get("/dashboard/charts/teams.svg").get_data(as_text=True)


def test_team_names_are_escaped_in_charts(console) -> None:  # noqa: ANN001
    with console.session() as s:
        s.execute(update(Team).where(Team.name == "Atelier")
                  .values(name='<script>alert(1)</script>"&'))
    cd.send(console, "Sophie Martin", "Karim Benali", "x")
    c = console.client("hr")
    for url in ["/dashboard/charts/teams.svg", "/dashboard/charts/matrix.svg"]:
        body = c.get(url).get_data(as_text=True)
        assert "<script" not in body and "&lt;script&gt;" in body, url
    assert "<script>alert" not in c.get("/dashboard/").get_data(as_text=True)


def test_charts_draw_with_no_data(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    for url in CHARTS:
        body = c.get(url).get_data(as_text=True)
        assert body.startswith("<svg") and body.endswith("</svg>")
