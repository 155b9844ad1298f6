"""Teams and sites area: sites, teams, supervisor, moderation mode and shifts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select

from hr_console.store.models import Employee, Shift, Site, Team
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


def _team(console, name: str) -> Team:  # noqa: ANN001
    with console.session() as s:
        row = s.execute(select(Team).where(Team.name == name)).scalar_one()
        s.expunge(row)
        return row


def _site_id(console, name: str = "demo") -> int:  # noqa: ANN001
    with console.session() as s:
        return s.execute(select(Site.id).where(Site.name == name)).scalar_one()


def _shifts(console, team_id: int) -> list[Shift]:  # noqa: ANN001
    with console.session() as s:
        rows = list(s.execute(select(Shift).where(Shift.team_id == team_id).order_by(Shift.id)).scalars())
        s.expunge_all()
        return rows


def _team_form(team: Team, **changes) -> dict:  # noqa: ANN003
    data = {"name": team.name, "site": str(team.site_id), "supervisor": str(team.supervisor_id or 0),
            "supervisor_other": "", "moderation_mode": team.moderation_mode or ""}
    data.update(changes)
    return data


def _shift_form(prefix: str, name: str, days: list[str], start: str, end: str) -> dict:
    return {f"{prefix}-name": name, f"{prefix}-days": days, f"{prefix}-start": start,
            f"{prefix}-end": end}


def test_every_route_by_role(console) -> None:  # noqa: ANN001
    atelier = _team(console, "Atelier")
    site = _site_id(console)
    with console.session() as s:
        shift = Shift(name="Matin", team_id=atelier.id, days="mon,tue", start_time=dt.time(6),
                      end_time=dt.time(14))
        s.add(shift)
        s.flush()
        shift_id = shift.id
    routes = [
        Route("GET", "/teams/"),
        Route("POST", "/teams/sites", {"name": "Site des rôles"}),
        Route("POST", f"/teams/sites/{site}", {f"site{site}-name": "demo"}),
        Route("POST", "/teams/new", {"name": "Équipe des rôles", "site": str(site)}),
        Route("GET", f"/teams/{atelier.id}"),
        Route("POST", f"/teams/{atelier.id}", _team_form(atelier)),
        Route("POST", f"/teams/{atelier.id}/shifts", _shift_form("new", "Nuit", ["mon"], "22:00", "06:00")),
        Route("POST", f"/teams/{atelier.id}/shifts/{shift_id}",
              _shift_form(f"shift{shift_id}", "Matin", ["mon", "tue"], "06:00", "14:00")),
        Route("POST", f"/teams/{atelier.id}/shifts/{shift_id}/delete"),
    ]
    check_roles(console, routes, allowed=("admin", "hr"))


def test_posts_without_csrf_token_are_refused(tmp_path, db_url) -> None:  # noqa: ANN001
    strict = make_console(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    try:
        c = strict_client(strict, "admin")
        atelier, site = _team(strict, "Atelier"), _site_id(strict)
        before = audit_count(strict)
        posts = [
            ("/teams/sites", {"name": "X"}),
            (f"/teams/sites/{site}", {f"site{site}-name": "Y"}),
            ("/teams/new", {"name": "Z", "site": str(site)}),
            (f"/teams/{atelier.id}", _team_form(atelier, name="Renamed")),
            (f"/teams/{atelier.id}/shifts", _shift_form("new", "N", ["mon"], "08:00", "09:00")),
            (f"/teams/{atelier.id}/shifts/1", {}),
            (f"/teams/{atelier.id}/shifts/1/delete", {}),
        ]
        for path, data in posts:
            assert c.post(path, data=data).status_code == 400, path
        assert audit_count(strict) == before and _team(strict, "Atelier").name == "Atelier"
    finally:
        strict.app.extensions["relais_store"].dispose()


def test_sites_create_rename_and_refuse_duplicates(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    since = audit_count(console)
    assert c.post("/teams/sites", data={"name": "Usine Nord"}).status_code == 302
    nord = _site_id(console, "Usine Nord")
    resp = c.post("/teams/sites", data={"name": "Usine Nord"}, follow_redirects=True)
    assert "existe déjà" in text(resp) or "already exists" in text(resp)
    resp = c.post(f"/teams/sites/{nord}", data={f"site{nord}-name": "demo"}, follow_redirects=True)
    assert "existe déjà" in text(resp) or "already exists" in text(resp)
    assert c.post(f"/teams/sites/{nord}", data={f"site{nord}-name": "Usine Nord-Est"}).status_code == 302
    assert _site_id(console, "Usine Nord-Est") == nord
    assert c.post("/teams/sites", data={"name": ""}).status_code == 302
    assert c.post("/teams/sites/999999", data={"site999999-name": "Ghost"}).status_code == 404
    actions = [(a, t) for _x, a, t, _d in audit_actions(console, since)]
    assert actions == [("site.create", f"site:{nord}"), ("site.rename", f"site:{nord}")]


def test_team_create_supervisor_and_moderation(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    site = _site_id(console)
    since = audit_count(console)
    resp = c.post("/teams/new", data={"name": "Expédition", "site": str(site)})
    assert resp.status_code == 302
    team = _team(console, "Expédition")
    assert resp.headers["Location"].endswith(f"/teams/{team.id}")
    dup = c.post("/teams/new", data={"name": "Expédition", "site": str(site)}, follow_redirects=True)
    assert "a déjà une équipe" in text(dup) or "already has a team" in text(dup)

    karim = console.demo.employees["Karim Benali"]  # not a member: chosen by ID
    assert c.post(f"/teams/{team.id}", data=_team_form(team, supervisor_other=str(karim),
                                                       moderation_mode="post")).status_code == 302
    team = _team(console, "Expédition")
    assert (team.supervisor_id, team.moderation_mode) == (karim, "post")
    page = text(c.get(f"/teams/{team.id}"))
    assert f'<option selected value="{karim}">Karim Benali</option>' in page

    # A deactivated employee cannot be made supervisor; an unknown id is refused.
    with console.session() as s:
        s.get(Employee, console.demo.employees["Lucas Bernard"]).active = False
    for other in (str(console.demo.employees["Lucas Bernard"]), "999999"):
        resp = c.post(f"/teams/{team.id}", data=_team_form(team, supervisor_other=other))
        assert resp.status_code == 400
    assert _team(console, "Expédition").supervisor_id == karim
    # Back to no supervisor, inherited moderation.
    resp = c.post(f"/teams/{team.id}", data=_team_form(team, supervisor="0", moderation_mode=""))
    assert resp.status_code == 302
    team = _team(console, "Expédition")
    assert (team.supervisor_id, team.moderation_mode) == (None, None)
    entries = [(a, t, d) for _x, a, t, d in audit_actions(console, since)]
    assert [a for a, _t, _d in entries] == ["team.create", "team.update", "team.update"]
    assert entries[1][2]["changes"]["supervisor_id"] == [None, karim]


def test_shifts_add_edit_delete(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    atelier = _team(console, "Atelier")
    since = audit_count(console)
    resp = c.post(f"/teams/{atelier.id}/shifts",
                  data=_shift_form("new", "Nuit", ["sun", "mon", "tue"], "22:00", "06:00"))
    assert resp.status_code == 302
    [night] = _shifts(console, atelier.id)
    assert (night.name, night.days, night.start_time, night.end_time) == \
        ("Nuit", "mon,tue,sun", dt.time(22), dt.time(6))
    page = text(c.get(f"/teams/{atelier.id}"))
    assert "22:00–06:00" in page and ("nuit</span>" in page or "night</span>" in page)

    for bad in (_shift_form("new", "Vide", [], "08:00", "12:00"),
                _shift_form("new", "Même", ["mon"], "08:00", "08:00"),
                _shift_form("new", "Jour", ["funday"], "08:00", "12:00"),
                _shift_form("new", "", ["mon"], "08:00", "12:00"),
                _shift_form("new", "Heure", ["mon"], "25:00", "12:00")):
        assert c.post(f"/teams/{atelier.id}/shifts", data=bad).status_code == 400, bad
    assert len(_shifts(console, atelier.id)) == 1

    resp = c.post(f"/teams/{atelier.id}/shifts/{night.id}",
                  data=_shift_form(f"shift{night.id}", "Nuit longue", ["fri", "sat"], "21:30", "07:00"))
    assert resp.status_code == 302
    [night] = _shifts(console, atelier.id)
    assert (night.name, night.days, night.start_time) == ("Nuit longue", "fri,sat", dt.time(21, 30))
    # A shift is reached only through its own team.
    logistique = _team(console, "Logistique")
    assert c.post(f"/teams/{logistique.id}/shifts/{night.id}/delete").status_code == 404
    assert c.post(f"/teams/{atelier.id}/shifts/{night.id}/delete").status_code == 302
    assert _shifts(console, atelier.id) == []
    assert [a for _x, a, _t, _d in audit_actions(console, since)] == \
        ["shift.create", "shift.update", "shift.delete"]


def test_a_shift_with_notices_still_to_go_out_is_not_deleted(console) -> None:  # noqa: ANN001
    """They would reach nobody, and HR would not know: the deletion is refused, says why in
    the user's language and changes nothing; once they are withdrawn it goes through."""
    from hr_console.services import notices
    from hr_console.store.models import Notice, utcnow

    c = console.client("hr")
    atelier = _team(console, "Atelier")
    with console.session() as s:
        shift = Shift(name="Nuit", team_id=atelier.id, start_time=dt.time(22),
                      end_time=dt.time(6))
        s.add(shift)
        s.flush()
        later = utcnow() + dt.timedelta(days=1)
        ids = [notices.create(s, title=f"Inventaire {i}", body="", target_kind="shift",
                              target_ref=shift.id, valid_from=later).id for i in range(2)]
    since = audit_count(console)
    resp = c.post(f"/teams/{atelier.id}/shifts/{shift.id}/delete", follow_redirects=True)
    assert "2 annonces programmées s&#39;adressent à ce poste" in resp.get_data(as_text=True)
    assert [x.id for x in _shifts(console, atelier.id)] == [shift.id]
    assert audit_count(console) == since
    with console.session() as s:  # one withdrawn (its end set to now), one left
        s.get(Notice, ids[0]).valid_until = utcnow()
    c.post("/auth/language", data={"language": "en"})
    english = c.post(f"/teams/{atelier.id}/shifts/{shift.id}/delete", follow_redirects=True)
    assert "1 scheduled notice is addressed to this shift: withdraw it first" \
        in english.get_data(as_text=True)
    with console.session() as s:
        s.get(Notice, ids[1]).valid_until = utcnow()
    assert c.post(f"/teams/{atelier.id}/shifts/{shift.id}/delete").status_code == 302
    assert _shifts(console, atelier.id) == []


def test_a_shift_a_workgroup_takes_members_from_is_not_deleted(console) -> None:  # noqa: ANN001
    """The group would silently lose those members: refused until HR takes the shift out of
    the group's rules (a deleted group does not hold it)."""
    from hr_console.store.models import Group, GroupRule

    c = console.client("hr")
    atelier = _team(console, "Atelier")
    with console.session() as s:
        shift = Shift(name="Matin", team_id=atelier.id, start_time=dt.time(6),
                      end_time=dt.time(14))
        gone = Group(name="Ancien", state="deleted")
        live = Group(name="Équipe du matin")
        s.add_all([shift, gone, live])
        s.flush()
        s.add_all([GroupRule(group_id=g.id, kind="shift", ref_id=shift.id) for g in (gone, live)])
    since = audit_count(console)
    resp = c.post(f"/teams/{atelier.id}/shifts/{shift.id}/delete", follow_redirects=True)
    assert "1 groupe prend des membres dans ce poste" in resp.get_data(as_text=True)
    assert [x.id for x in _shifts(console, atelier.id)] == [shift.id]
    assert audit_count(console) == since
    with console.session() as s:
        s.execute(delete(GroupRule).where(GroupRule.group_id == live.id))
    assert c.post(f"/teams/{atelier.id}/shifts/{shift.id}/delete").status_code == 302
    assert _shifts(console, atelier.id) == []


def test_html_in_team_and_site_names_is_escaped(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    assert c.post("/teams/sites", data={"name": SCRIPT}).status_code == 302
    site = _site_id(console, SCRIPT)
    assert c.post("/teams/new", data={"name": SCRIPT, "site": str(site)}).status_code == 302
    team = _team(console, SCRIPT)
    c.post(f"/teams/{team.id}/shifts", data=_shift_form("new", SCRIPT, ["mon"], "08:00", "12:00"))
    pages = [c.get("/teams/"), c.get(f"/teams/{team.id}"), c.get("/employees/"),
             c.get("/employees/new")]
    if "contacts.index" in console.app.view_functions:
        pages.append(c.get("/contacts/"))
    if "terminals.index" in console.app.view_functions:
        pages.append(console.client("admin").get("/terminals/"))
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in text(page) and "<b>bold</b>" not in text(page)
    assert SCRIPT_ESCAPED in text(c.get(f"/teams/{team.id}"))


def test_hostile_ids_and_values(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    atelier = _team(console, "Atelier")
    for value in INJECTIONS:
        resp = c.post(f"/teams/{atelier.id}", data=_team_form(atelier, site=value, supervisor=value,
                                                              supervisor_other=value, moderation_mode=value))
        assert resp.status_code == 400
    assert _team(console, "Atelier").name == "Atelier"
    assert c.get("/teams/0").status_code == 404
    assert c.get("/teams/abc").status_code == 404
