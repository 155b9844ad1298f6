"""GET /api/kiosk/v1/site-notices: the idle screen's board. A terminal with its own
credentials (no badge session) gets the current notices for its site or for everyone,
newest first, at most five, as uid / title / urgent / excerpt; never team- or
shift-targeted notices, nor scheduled, expired or withdrawn ones."""

from __future__ import annotations

import base64
import datetime as dt

from sqlalchemy import select

from hr_console.services import directory, notices
from hr_console.store.models import Notice, Shift, Team, Terminal, utcnow

API = "/api/kiosk/v1/site-notices"


def _basic(name: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _creds(console, terminal: str = "kiosk-1") -> dict[str, str]:  # noqa: ANN001
    c = console.demo.terminals[terminal]
    return _basic(c["username"], c["password"])


def _titles(resp) -> list[str]:  # noqa: ANN001
    assert resp.status_code == 200, resp.get_json()
    return [n["title"] for n in resp.get_json()["notices"]]


def _board(console):  # noqa: ANN001, ANN202
    """Notices of every kind of reach and state; returns the other site's terminal creds."""
    with console.session() as s:
        demo = directory.site_by_name(s, "demo")
        other = directory.site(s, "Lyon")
        _, lyon_creds = directory.terminal(s, "kiosk-lyon", other)
        team = s.execute(select(Team).where(Team.name == "Atelier")).scalar_one()
        shift = Shift(name="Matin", team_id=team.id, start_time=dt.time(6), end_time=dt.time(14))
        s.add(shift)
        s.flush()
        now = utcnow()

        def make(title: str, kind: str, ref: int | None, **kw) -> Notice:  # noqa: ANN003
            n = notices.create(s, title=title, body=kw.pop("body", ""), target_kind=kind,
                               target_ref=ref, actor="hr", **kw)
            return n

        make("Tous", "everyone", None, body="Pour   tout le\nmonde.")
        site_n = make("Site demo", "site", demo.id, urgent=True)
        site_n.created_at = now + dt.timedelta(seconds=1)  # the newest
        make("Site Lyon", "site", other.id)
        make("Équipe", "team", team.id)
        make("Poste", "shift", shift.id)
        make("Plus tard", "site", demo.id, valid_from=now + dt.timedelta(hours=1))
        expired = make("Expirée", "everyone", None)
        expired.valid_until = now - dt.timedelta(minutes=1)
        withdrawn = make("Retirée", "site", demo.id)
        notices.withdraw(s, notices.EVERYTHING, withdrawn.id, "hr")
        for n in s.execute(select(Notice).where(Notice.title.in_(["Tous", "Site Lyon"]))).scalars():
            n.created_at = now - dt.timedelta(minutes=5 if n.title == "Tous" else 4)
    return _basic(lyon_creds.username, lyon_creds.password)


def test_the_board_shows_site_and_everyone_notices_only(console) -> None:  # noqa: ANN001
    lyon = _board(console)
    resp = console.client().get(API, headers=_creds(console))
    assert _titles(resp) == ["Site demo", "Tous"]
    first, second = resp.get_json()["notices"]
    assert set(first) == {"uid", "title", "urgent", "excerpt"}
    assert first["urgent"] is True and second["urgent"] is False
    assert second["excerpt"] == "Pour tout le monde."
    assert "Set-Cookie" not in resp.headers
    # The same answer on the other demo terminal; the Lyon terminal sees its own site.
    assert _titles(console.client().get(API, headers=_creds(console, "kiosk-2"))) == [
        "Site demo", "Tous"]
    assert _titles(console.client().get(API, headers=lyon)) == ["Site Lyon", "Tous"]


def test_a_terminal_without_a_site_sees_notices_to_everyone(console) -> None:  # noqa: ANN001
    _board(console)
    with console.session() as s:
        _, creds = directory.terminal(s, "kiosk-nowhere", None)
    assert _titles(console.client().get(API, headers=_basic(creds.username, creds.password))) == [
        "Tous"]


def test_at_most_five_newest_first_with_a_short_excerpt(console) -> None:  # noqa: ANN001
    with console.session() as s:
        now = utcnow()
        for i in range(8):
            n = notices.create(s, title=f"N{i}", body="mot " * 200, target_kind="everyone",
                               actor="hr")
            n.created_at = now + dt.timedelta(seconds=i)
    body = console.client().get(API, headers=_creds(console)).get_json()["notices"]
    assert [n["title"] for n in body] == ["N7", "N6", "N5", "N4", "N3"]
    assert all(len(n["excerpt"]) <= notices.EXCERPT_CHARS and n["excerpt"].endswith("…")
               for n in body)


def test_a_scheduled_notice_appears_once_its_time_has_come(console) -> None:  # noqa: ANN001
    _board(console)
    with console.session() as s:
        later = s.execute(select(Notice).where(Notice.title == "Plus tard")).scalar_one()
        later.valid_from = utcnow() - dt.timedelta(seconds=1)
        assert notices.publish_due(s) >= 1
    assert "Plus tard" in _titles(console.client().get(API, headers=_creds(console)))


def test_credentials_are_required_and_checked(console) -> None:  # noqa: ANN001
    _board(console)
    right = console.demo.terminals["kiosk-1"]["password"]
    for headers in ({}, _basic("kiosk-1", "wrong-password"), _basic("kiosk-1", ""),
                    _basic("no-such-terminal", right), _basic("kiosk-2", right),
                    {"Authorization": "Bearer " + right}):
        resp = console.client().get(API, headers=headers)
        assert resp.status_code == 401
        assert resp.get_json()["code"] == "unauthorised"
        assert "notices" not in resp.get_json()
    with console.session() as s:
        s.execute(select(Terminal).where(Terminal.name == "kiosk-1")).scalar_one().active = False
    assert console.client().get(API, headers=_creds(console)).status_code == 401
    # A console login is nobody to the kiosk API.
    assert console.client("hr").get(API).status_code == 401


def test_the_board_says_whether_the_idle_screen_may_raise_an_alert(console) -> None:  # noqa: ANN001
    """``alert_on_idle`` beside the notices follows the setting for every terminal (with or
    without a site); a refused terminal learns nothing of it."""
    from hr_console.services import safety, settings

    lyon = _board(console)
    with console.session() as s:
        _, nowhere = directory.terminal(s, "kiosk-nowhere", None)
    terminals = [_creds(console), _creds(console, "kiosk-2"), lyon,
                 _basic(nowhere.username, nowhere.password)]
    for on in (False, True, False):
        with console.session() as s:
            settings.put(s, safety.ON_IDLE_SETTING, on)
        for headers in terminals:
            body = console.client().get(API, headers=headers).get_json()
            assert set(body) == {"notices", "alert_on_idle"}
            assert body["alert_on_idle"] is on and body["notices"]
    with console.session() as s:
        settings.put(s, safety.ON_IDLE_SETTING, True)
    resp = console.client().get(API, headers=_basic("kiosk-1", "wrong-password"))
    assert resp.status_code == 401 and "alert_on_idle" not in resp.get_json()
