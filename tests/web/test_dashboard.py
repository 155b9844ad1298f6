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
    # "today" starts at midnight: a message moved 42 minutes back just after it is yesterday's
    moved_is_today = (utcnow() - dt.timedelta(minutes=42)).date() == utcnow().date()
    assert ov.held == 2 and ov.messages_today == (3 if moved_is_today else 2)
    assert 41 * 60 <= (utcnow() - ov.oldest_held).total_seconds() < 44 * 60
    assert ov.urgent_notices == 1 and ov.urgent_unacknowledged == 3  # Atelier has three people
    assert [t.name for t in ov.offline] == ["kiosk-2"] and ov.terminals == 2
    page = console.client("hr").get("/dashboard/").get_data(as_text=True)
    assert "kiosk-2" in page and "42 min" in page
    for url in CHARTS:
        assert f'src="{url}"' in page


def test_messages_per_day_and_wait(console) -> None:  # noqa: ANN001
    # read the charts an hour past midnight at the earliest, so "30 minutes ago" is today
    now = max(utcnow(), dt.datetime.combine(utcnow().date(), dt.time(1)))
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


def _held_and_decided(console, waits_min: list[int], now: dt.datetime) -> None:  # noqa: ANN001
    """One message per wait, decided ``now`` after waiting that many minutes."""
    sent = [cd.send(console, "Karim Benali", "Sophie Martin", f"m{i}") for i in range(len(waits_min))]
    with console.session() as s:
        for msg, minutes in zip(sent, waits_min, strict=True):
            s.execute(update(Message).where(Message.id == msg.id)
                      .values(created_at=now - dt.timedelta(minutes=minutes)))
            s.add(ModerationDecision(message_id=msg.id, decision="approve", created_at=now))


@pytest.mark.parametrize("n", [10, 11])
def test_wait_percentiles_are_nearest_rank(console, n) -> None:  # noqa: ANN001
    """Ranked by the database: the median is the ceil(n/2)-th wait, p90 the ceil(0.9n)-th."""
    now = utcnow().replace(hour=12)
    _held_and_decided(console, [m for m in range(n, 0, -1)], now)  # shuffled order
    with console.session() as s:
        today = stats.moderation_wait(s, 14, now)[-1]
    rank_median, rank_p90 = -(-n // 2), -(-9 * n // 10)
    assert today.decided == n
    assert round(today.median_s / 60) == rank_median and round(today.p90_s / 60) == rank_p90


def test_past_days_are_remembered_today_is_not(console) -> None:  # noqa: ANN001
    now = utcnow()
    three_days_ago = (now - dt.timedelta(days=3)).date()
    with console.session() as s:
        before = dict(stats.messages_per_day(s, 14, now))
        assert stats.team_flows(s, 7, now).matrix == {}
    assert before[now.date()] == 0 and before[three_days_ago] == 0
    late = cd.send(console, "Karim Benali", "Sophie Martin", "hier")
    cd.send(console, "Sophie Martin", "Karim Benali", "aujourd'hui")
    with console.session() as s:
        s.execute(update(Message).where(Message.id == late.id)
                  .values(created_at=now - dt.timedelta(days=3)))
    with console.session() as s:
        again = dict(stats.messages_per_day(s, 14, now))
        flows = stats.team_flows(s, 7, now)
    assert again[now.date()] == 1  # today: counted at every call
    assert again[three_days_ago] == 0  # a past day: remembered (CLOSED_DAYS_TTL_S)
    stats.forget()
    with console.session() as s:
        fresh = dict(stats.messages_per_day(s, 14, now))
        fresh_flows = stats.team_flows(s, 7, now)
    assert fresh[three_days_ago] == 1
    assert sum(flows.matrix.values()) == 1 and sum(fresh_flows.matrix.values()) == 2


def test_no_cache_means_fresh_figures(console, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(stats, "CLOSED_DAYS_TTL_S", 0)
    now = utcnow()
    with console.session() as s:
        stats.messages_per_day(s, 14, now)
    msg = cd.send(console, "Karim Benali", "Sophie Martin", "avant-hier")
    with console.session() as s:
        s.execute(update(Message).where(Message.id == msg.id)
                  .values(created_at=now - dt.timedelta(days=2)))
    with console.session() as s:
        assert dict(stats.messages_per_day(s, 14, now))[(now - dt.timedelta(days=2)).date()] == 1


def test_held_figures_on_a_busy_day(console) -> None:  # noqa: ANN001
    """The held count and the oldest held come from the (state, created_at) index, with
    'held' in the SQL text (no generic plan for a bound state on PostgreSQL)."""
    from hr_console.services import moderation_queue as mq

    sql = str(select(Message.id).where(mq.IS_HELD).compile(
        dialect=console.app.extensions["relais_store"].engine.dialect,
        compile_kwargs={"render_postcompile": True}))
    assert "'held'" in sql
    a = cd.send(console, "Karim Benali", "Sophie Martin", "un")
    cd.send(console, "Karim Benali", "Sophie Martin", "deux")
    with console.session() as s:
        s.execute(update(Message).where(Message.id == a.id)
                  .values(created_at=utcnow() - dt.timedelta(hours=5)))
    with console.session() as s:
        ov = stats.overview(s)
        scope = mq.scope_for(s, "hr", None)
        assert mq.held_count(s, scope) == ov.held == 2
        assert mq.oldest_held(s, scope) == ov.oldest_held
    assert 4.9 * 3600 < (utcnow() - ov.oldest_held).total_seconds() < 5.1 * 3600


def test_today_and_times_follow_the_site_clock(console) -> None:  # noqa: ANN001
    """"Messages today" starts at midnight in Paris, not in UTC, and the console shows
    times on the same clock (the timezone setting, Europe/Paris by default)."""
    from zoneinfo import ZoneInfo

    paris = ZoneInfo(console.cfg.timezone)
    assert console.cfg.timezone == "Europe/Paris"
    early = cd.send(console, "Karim Benali", "Sophie Martin", "à 00 h 30, heure de Paris")
    late = cd.send(console, "Julie Moreau", "Sophie Martin", "la veille, 23 h 30")
    with console.session() as s:
        s.execute(update(Message).where(Message.id == early.id)
                  .values(created_at=dt.datetime(2026, 1, 14, 23, 30)))  # 00:30 in Paris
        s.execute(update(Message).where(Message.id == late.id)
                  .values(created_at=dt.datetime(2026, 1, 14, 22, 30)))  # 23:30 in Paris
    now = dt.datetime(2026, 1, 15, 10, 0)
    with console.session() as s:
        on_utc = stats.overview(s, now=now).messages_today
        on_paris = stats.overview(s, now=now, tz=paris).messages_today
    assert on_paris == on_utc + 1, "the message at 00:30 Paris time is today's"
    cd.set_mode(console, "Karim Benali", "pre")
    held = cd.send(console, "Karim Benali", "Sophie Martin", "retenu à 09 h UTC")
    with console.session() as s:
        s.execute(update(Message).where(Message.id == held.id)
                  .values(created_at=dt.datetime(2026, 1, 15, 9, 0)))
    page = console.client("hr").get("/moderation/").get_data(as_text=True)
    assert held.state == "held" and "retenu à 09 h UTC" in page
    assert "2026-01-15 10:00" in page and "2026-01-15 09:00" not in page


def test_a_time_zone_that_does_not_exist_is_refused(tmp_path) -> None:  # noqa: ANN001
    from hr_console import config as config_mod

    with pytest.raises(ValueError, match="time zone name"):
        config_mod.load(tmp_path, timezone="Europe/Atlantis")
    assert config_mod.load(tmp_path, timezone="America/Montreal").timezone == "America/Montreal"
