"""Workgroups in the console: the list, the form (rules, site, who posts, moderation), a
group's page with its live members, hand-picked people, archive / reopen / delete, who may
do what, and held group posts in the moderation queue and the dashboard's figures. On the
demo data (Atelier: Sophie (its supervisor), Karim, Julie; Logistique: Thomas (its
supervisor), Amina, Lucas), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from hr_console.services import settings, stats
from hr_console.store.models import Employee, Group, Message, Setting, Team
from tests.web import console_data as cd
from tests.web.people_support import (
    SCRIPT,
    SCRIPT_ESCAPED,
    Route,
    audit_actions,
    audit_count,
    check_roles,
    text,
)
from tests.web_fixture import Console

NAME = "Inventaire décembre"


# --- helpers -----------------------------------------------------------------------------------


def _team_id(console: Console, name: str) -> int:
    with console.session() as s:
        return s.execute(select(Team.id).where(Team.name == name)).scalar_one()


def _form(console: Console, name: str = NAME, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "description": "Comptage de fin d'année", "site": "0",
                            "teams": [str(_team_id(console, "Atelier"))],
                            "post_right": "everyone", "moderation_mode": ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _create(console: Console, name: str = NAME, role: str = "hr", **changes: Any) -> int:
    resp = console.client(role).post("/groups/new", data=_form(console, name, **changes))
    assert resp.status_code == 302, text(resp)[-2000:]
    match = re.search(r"/groups/(\d+)$", resp.headers["Location"])
    assert match, resp.headers["Location"]
    return int(match.group(1))


def _group(console: Console, group_id: int) -> Group:
    with console.session() as s:
        row = s.get(Group, group_id)
        s.expunge(row)
        return row


def _groups(console: Console) -> int:
    with console.session() as s:
        return s.execute(select(func.count()).select_from(Group)).scalar_one()


def _member_ids(html: str) -> set[int]:
    table = html.split('id="member-list"', 1)[1].split("</table>", 1)[0] if 'id="member-list"' in html else ""
    return {int(x) for x in re.findall(r'<tr data-id="(\d+)"', table)}


def _move(console: Console, name: str, team: str) -> None:
    with console.session() as s:
        s.get(Employee, console.demo.employees[name]).team_id = _team_id(console, team)


def _allow_supervisors(console: Console, value: bool = True) -> None:
    with console.session() as s:
        settings.put(s, "supervisors_manage_groups", value)


def _english(console: Console, role: str) -> None:
    resp = console.client(role).post("/auth/language", data={"language": "en", "next": "/"})
    assert resp.status_code == 302


def post_to_group(console: Console, sender: str, group_id: int, body: str) -> Message:
    return cd.post(console, sender, group_id, body)


# --- roles -----------------------------------------------------------------------------------------


def test_every_route_by_role(console: Console) -> None:
    group_id = _create(console)
    karim = console.demo.employees["Karim Benali"]
    reads = [Route("GET", "/groups/"), Route("GET", f"/groups/{group_id}"),
             Route("GET", f"/groups/{group_id}", {"q": "Kar", "page": "1"})]
    changes = [
        Route("GET", "/groups/new"),
        Route("POST", "/groups/new", _form(console, "Équipe des rôles")),
        Route("GET", f"/groups/{group_id}/edit"),
        Route("POST", f"/groups/{group_id}/edit", _form(console)),
        Route("POST", f"/groups/{group_id}/people", {"employee": str(karim)}),
        Route("POST", f"/groups/{group_id}/people/remove", {"employee": str(karim)}),
        Route("POST", f"/groups/{group_id}/archive"),
        Route("POST", f"/groups/{group_id}/reopen"),
    ]
    check_roles(console, reads, allowed=("admin", "hr", "auditor"))
    check_roles(console, changes, allowed=("admin", "hr"))
    check_roles(console, [Route("POST", f"/groups/{group_id}/delete")], allowed=("admin", "hr"))


def test_the_menu_shows_workgroups_to_hr_and_auditors_only(console: Console) -> None:
    for role, shown in (("hr", True), ("admin", True), ("auditor", True), ("supervisor", False)):
        home = console.client(role).get("/audit/" if role == "auditor" else
                                        "/notices/" if role == "supervisor" else "/dashboard/")
        assert ('href="/groups/"' in text(home)) is shown, role
    _allow_supervisors(console)
    assert 'href="/groups/"' in text(console.client("supervisor").get("/notices/"))


# --- create, edit, members -------------------------------------------------------------------------


def test_hr_creates_a_group_by_rule_and_membership_is_live(console: Console) -> None:
    before = audit_count(console)
    group_id = _create(console, moderation_mode="pre")
    row = _group(console, group_id)
    assert (row.name, row.state, row.moderation_mode, row.post_right) == (NAME, "open", "pre", "everyone")
    assert any(a[1].startswith("group.") and a[0] == "hr" for a in audit_actions(console))
    assert audit_count(console) > before

    hr = console.client("hr")
    page = text(hr.get(f"/groups/{group_id}"))
    atelier = {console.demo.employees[n] for n in ("Sophie Martin", "Karim Benali", "Julie Moreau")}
    assert _member_ids(page) == atelier
    assert "Atelier" in page.split('id="group-rules"', 1)[1]

    listing = text(hr.get("/groups/"))
    assert NAME in listing and f'data-group="{group_id}"' in listing
    assert re.search(rf'data-group="{group_id}".*?data-count="members">3<', listing, re.S)

    # Karim moves to Logistique: he leaves the group with no one touching it.
    _move(console, "Karim Benali", "Logistique")
    page = text(hr.get(f"/groups/{group_id}"))
    assert _member_ids(page) == atelier - {console.demo.employees["Karim Benali"]}
    assert console.demo.employees["Karim Benali"] not in _member_ids(
        text(hr.get(f"/groups/{group_id}", query_string={"q": "Karim"})))
    # A page past the end shows the last one.
    assert _member_ids(text(hr.get(f"/groups/{group_id}", query_string={"page": "9"}))) == \
        atelier - {console.demo.employees["Karim Benali"]}


def test_rules_of_every_kind_and_a_site(console: Console) -> None:
    with console.session() as s:
        site_id = s.execute(select(Team.site_id).where(Team.name == "Atelier")).scalar_one()
    group_id = _create(console, "Tout le site", teams=None, sites=[str(site_id)],
                       site=str(site_id), post_right="leads", members_reply="y")
    row = _group(console, group_id)
    assert (row.site_id, row.post_right, row.members_reply) == (site_id, "leads", True)
    page = text(console.client("hr").get(f"/groups/{group_id}"))
    assert len(_member_ids(page)) == 7  # every active employee of the demo site, HR desk included
    everyone = _create(console, "Tout le monde", teams=None, everyone="y")
    assert len(_member_ids(text(console.client("hr").get(f"/groups/{everyone}")))) == 7


def test_bad_input_is_refused_clearly_and_changes_nothing(console: Console) -> None:
    hr = console.client("hr")
    _create(console)
    groups_before, audit_before = _groups(console), audit_count(console)
    cases = [
        (_form(console, ""), "Un groupe doit avoir un nom."),
        (_form(console, "x" * 81), "80 caractères au plus"),
        (_form(console, NAME), "Un autre groupe porte déjà ce nom."),  # taken
        (_form(console, "Autre", members_reply="y"), "ne vaut que si"),
        (_form(console, "Autre", teams=["999999"]), ""),  # not a team one may choose
        (_form(console, "Autre", post_right="boss"), ""),
        (_form(console, "Autre", moderation_mode="later"), ""),
    ]
    for data, message in cases:
        resp = hr.post("/groups/new", data=data)
        assert resp.status_code == 400, (data, resp.status_code)
        assert message in text(resp), (data, message)
        assert 'class="flash error"' in text(resp)
    assert (_groups(console), audit_count(console)) == (groups_before, audit_before)

    _english(console, "admin")
    resp = console.client("admin").post("/groups/new", data=_form(console, ""))
    assert resp.status_code == 400 and "A group needs a name." in text(resp)


def test_names_and_descriptions_are_escaped(console: Console) -> None:
    group_id = _create(console, SCRIPT, description=SCRIPT)
    for path in ("/groups/", f"/groups/{group_id}", f"/groups/{group_id}/edit"):
        body = text(console.client("hr").get(path))
        assert SCRIPT not in body and SCRIPT_ESCAPED in body, path


def test_hr_edits_a_group_and_hand_picks_people(console: Console) -> None:
    group_id = _create(console)
    hr = console.client("hr")
    edit = text(hr.get(f"/groups/{group_id}/edit"))
    assert re.search(rf'<input checked[^>]*name="teams"[^>]*value="{_team_id(console, "Atelier")}"', edit)
    resp = hr.post(f"/groups/{group_id}/edit", data=_form(
        console, "Consignes sécurité ligne 3", post_right="leads", members_reply=None,
        moderation_mode="none"))
    assert resp.status_code == 302
    row = _group(console, group_id)
    assert (row.name, row.post_right, row.members_reply, row.moderation_mode) == \
        ("Consignes sécurité ligne 3", "leads", False, "none")

    thomas = console.demo.employees["Thomas Petit"]
    found = text(hr.get(f"/groups/{group_id}", query_string={"find": "Thomas"}))
    assert 'id="find-results"' in found and "Thomas Petit" in found
    before = audit_count(console)
    assert hr.post(f"/groups/{group_id}/people", data={"employee": str(thomas)}).status_code == 302
    page = text(hr.get(f"/groups/{group_id}"))
    assert thomas in _member_ids(page) and f'<li data-id="{thomas}">' in page
    assert audit_count(console) > before
    hr.post(f"/groups/{group_id}/people/remove", data={"employee": str(thomas)})
    assert thomas not in _member_ids(text(hr.get(f"/groups/{group_id}")))
    # A forged id: refused, nothing changed.
    before = audit_count(console)
    for bad in ("999999", "abc", ""):
        hr.post(f"/groups/{group_id}/people", data={"employee": bad})
    assert audit_count(console) == before


def test_archive_reopen_delete(console: Console) -> None:
    group_id = _create(console)
    hr = console.client("hr")
    page = text(hr.get(f"/groups/{group_id}"))
    assert 'id="archive-group"' in page and "data-confirm" in page
    assert hr.post(f"/groups/{group_id}/archive").status_code == 302
    row = _group(console, group_id)
    assert row.state == "archived" and row.archived_at is not None
    page = text(hr.get(f"/groups/{group_id}"))
    assert 'id="reopen-group"' in page and 'id="edit-group"' not in page
    # Read-only while archived: the form is refused and nothing changes.
    before = audit_count(console)
    resp = hr.post(f"/groups/{group_id}/edit", data=_form(console, "Changé"))
    assert resp.status_code == 302 and _group(console, group_id).name == NAME
    assert audit_count(console) == before
    assert NAME not in text(hr.get("/groups/"))  # the list shows open groups first...
    assert NAME in text(hr.get("/groups/", query_string={"state": "archived"}))  # ...and these

    assert hr.post(f"/groups/{group_id}/reopen").status_code == 302
    assert _group(console, group_id).state == "open"
    resp = hr.post(f"/groups/{group_id}/delete")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/groups/")
    assert _group(console, group_id).state == "deleted"
    assert hr.get(f"/groups/{group_id}").status_code == 404
    assert hr.post(f"/groups/{group_id}/reopen").status_code == 404
    assert NAME not in text(hr.get("/groups/", query_string={"state": "all"}))
    actions = [a[1] for a in audit_actions(console)]
    assert len([a for a in actions if a.startswith("group.")]) >= 4
    # The name is free again once the group is deleted.
    assert _create(console) != group_id


def test_auditor_reads_and_changes_nothing(console: Console) -> None:
    group_id = _create(console)
    auditor = console.client("auditor")
    for path in ("/groups/", f"/groups/{group_id}"):
        body = text(auditor.get(path))
        assert NAME in body
        posts = set(re.findall(r'<form method="post" action="([^"]+)"', body))
        assert posts <= {"/auth/language", "/auth/logout"}, posts
    assert 'id="new-group"' not in text(auditor.get("/groups/"))


def test_supervisor_manages_groups_of_own_team_only_with_the_setting(console: Console) -> None:
    own = _create(console)  # Atelier only: Sophie's team
    other = _create(console, "Quai", teams=[str(_team_id(console, "Logistique"))])
    sup = console.client("supervisor")
    assert sup.get("/groups/").status_code == 403
    assert sup.get(f"/groups/{own}").status_code == 403

    _allow_supervisors(console)
    listing = text(sup.get("/groups/"))
    assert NAME in listing and "Quai" not in listing
    assert sup.get(f"/groups/{own}").status_code == 200
    assert sup.get(f"/groups/{other}").status_code == 403
    assert sup.post(f"/groups/{other}/archive").status_code == 403
    form = text(sup.get("/groups/new"))
    assert f'value="{_team_id(console, "Logistique")}"' not in form.split('id="membership"')[1]
    assert 'name="everyone"' not in form

    before = _groups(console)
    for forged in (_form(console, "A", everyone="y"),
                   _form(console, "B", teams=[str(_team_id(console, "Logistique"))]),
                   _form(console, "C", teams=None)):
        assert sup.post("/groups/new", data=forged).status_code == 400
    assert _groups(console) == before
    # A group's mode replaces its authors' own: only HR sets it (no 'none' to lift theirs).
    form = text(sup.get("/groups/new"))
    assert 'id="moderation-set-by-hr"' in form and '<select id="moderation_mode"' not in form
    assert sup.post("/groups/new", data=_form(console, "D", moderation_mode="none")).status_code \
        == 400
    assert _groups(console) == before
    mine = _create(console, "Atelier matin", role="supervisor")
    assert _group(console, mine).name == "Atelier matin"
    resp = sup.post(f"/groups/{mine}/edit", data=_form(console, "Atelier matin",
                                                         moderation_mode="none"))
    assert resp.status_code == 400 and "Seules les RH" in text(resp)
    assert _group(console, mine).moderation_mode is None
    assert sup.post(f"/groups/{mine}/edit", data=_form(console, "Atelier soir")).status_code == 302
    thomas = console.demo.employees["Thomas Petit"]
    assert sup.post(f"/groups/{mine}/people", data={"employee": str(thomas)}).status_code == 403
    julie = console.demo.employees["Julie Moreau"]
    assert sup.post(f"/groups/{mine}/people", data={"employee": str(julie)}).status_code == 302

    _allow_supervisors(console, False)  # taken back: refused at once
    assert sup.get(f"/groups/{mine}").status_code == 403


# --- moderation and dashboard ----------------------------------------------------------------------


def test_a_held_group_post_is_labelled_with_its_group_and_approved(console: Console) -> None:
    group_id = _create(console, moderation_mode="pre")
    held = post_to_group(console, "Karim Benali", group_id, "Comptage du rayon 4 terminé")
    assert held.state == "held" and held.recipient_id is None and held.group_id == group_id
    one_to_one = cd.send(console, "Karim Benali", "Julie Moreau", "Bonjour Julie")

    hr = console.client("hr")
    queue = text(hr.get("/moderation/"))
    assert f"groupe : {NAME}" in queue and "Comptage du rayon 4 terminé" in queue
    feed = hr.get("/moderation/queue.json?since=0").get_json()
    item = next(i for i in feed["items"] if i["id"] == held.id)
    assert item["recipient"] == f"groupe : {NAME}" and item["group"] == group_id
    assert next(i for i in feed["items"] if i["id"] == one_to_one.id)["recipient"] == "Julie Moreau"
    _english(console, "admin")
    assert f"group: {NAME}" in text(console.client("admin").get("/moderation/"))

    resp = hr.post(f"/moderation/messages/{held.id}/approve", data={"back": "queue"})
    assert resp.status_code == 302
    assert cd.message(console, held.id).state != "held"
    history = text(hr.get("/moderation/history"))
    assert f"groupe : {NAME}" in history
    karim = console.demo.employees["Karim Benali"]
    for path in ("/moderation/recent?show=all", "/moderation/recent", "/dashboard/",
                 "/dashboard/charts/teams.svg", "/dashboard/charts/matrix.svg",
                 "/dashboard/charts/messages.svg", "/dashboard/charts/wait.svg",
                 "/audit/", "/audit/?action=message.approve", f"/employees/{karim}",
                 f"/contacts/{karim}"):
        assert hr.get(path).status_code == 200, path  # no page trips on a post without recipient


def test_a_held_post_of_a_group_archived_meanwhile_is_not_approved_and_hr_is_told_why(
        console: Console) -> None:
    group_id = _create(console, moderation_mode="pre")
    held = post_to_group(console, "Karim Benali", group_id, "Avant l'archivage")
    hr = console.client("hr")
    assert hr.post(f"/groups/{group_id}/archive").status_code == 302
    resp = hr.post(f"/moderation/messages/{held.id}/approve", data={"back": "queue"},
                   follow_redirects=True)
    page = text(resp)
    assert f"n°{held.id} ne peut plus être distribué (son groupe a été archivé)" in page
    assert cd.message(console, held.id).state == "held"  # nothing went out
    resp = hr.post(f"/moderation/messages/{held.id}/reject", data={"reason": "Groupe archivé"})
    assert resp.status_code == 302 and cd.message(console, held.id).state == "rejected"


def test_a_post_moderated_group_post_is_reviewed_or_retracted(console: Console) -> None:
    group_id = _create(console, moderation_mode="post")
    first = post_to_group(console, "Karim Benali", group_id, "Premier message")
    second = post_to_group(console, "Karim Benali", group_id, "Second message")
    assert first.state not in ("held", "refused") and first.moderation == "post"
    hr = console.client("hr")
    recent = text(hr.get("/moderation/recent"))
    assert f"groupe : {NAME}" in recent and "Premier message" in recent
    assert "de la borne de chaque membre du groupe" in recent
    assert hr.post(f"/moderation/messages/{first.id}/review", data={"back": "recent"}).status_code == 302
    assert cd.message(console, first.id).reviewed
    resp = hr.post(f"/moderation/messages/{second.id}/retract",
                   data={"reason": "Hors sujet", "back": "recent"})
    assert resp.status_code == 302
    assert cd.message(console, second.id).state == "retracted"
    assert f"groupe : {NAME}" in text(hr.get("/moderation/history"))


def test_a_rejected_group_post(console: Console) -> None:
    group_id = _create(console, moderation_mode="pre")
    held = post_to_group(console, "Karim Benali", group_id, "On parle de la grève ?")
    resp = console.client("hr").post(f"/moderation/messages/{held.id}/reject",
                                     data={"reason": "Pas ici", "back": "queue"})
    assert resp.status_code == 302
    assert cd.message(console, held.id).state == "rejected"
    assert f"groupe : {NAME}" in text(console.client("hr").get("/moderation/history"))


def test_supervisors_never_moderate_group_posts(console: Console) -> None:
    group_id = _create(console, moderation_mode="pre")
    held = post_to_group(console, "Karim Benali", group_id, "Pour le groupe")
    own = cd.send(console, "Karim Benali", "Julie Moreau", "Pour Julie")
    with console.session() as s:
        row = s.get(Setting, "supervisors_moderate_own_teams")
        if row is None:
            s.add(Setting(key="supervisors_moderate_own_teams", value=True))
        else:
            row.value = True
    sup = console.client("supervisor")
    ids = {i["id"] for i in sup.get("/moderation/queue.json?since=0").get_json()["items"]}
    assert own.id in ids and held.id not in ids
    assert sup.post(f"/moderation/messages/{held.id}/approve").status_code == 403
    assert cd.message(console, held.id).state == "held"


def test_dashboard_counts_group_posts(console: Console) -> None:
    stats.forget()
    group_id = _create(console, moderation_mode="none")
    post_to_group(console, "Karim Benali", group_id, "Un")
    post_to_group(console, "Julie Moreau", group_id, "Deux")
    cd.send(console, "Karim Benali", "Julie Moreau", "Trois")
    with console.session() as s:
        ov = stats.overview(s)
        assert ov.group_posts_today == 2 and ov.messages_today >= 3
        assert stats.group_posts_per_day(s, 3)[-1][1] == 2
        assert stats.messages_per_day(s, 3)[-1][1] >= 3
        flows = stats.team_flows(s, 1)
    atelier = _team_id(console, "Atelier")
    assert flows.matrix[(atelier, stats.GROUP_POSTS)] == 2
    assert flows.matrix[(atelier, atelier)] >= 1
    hr = console.client("hr")
    assert "dont 2 messages de groupe" in text(hr.get("/dashboard/"))
    chart = text(hr.get("/dashboard/charts/messages.svg"))
    assert "dont messages de groupe" in chart
    assert "(groupes)" in text(hr.get("/dashboard/charts/teams.svg"))
    assert "(groupes)" in text(hr.get("/dashboard/charts/matrix.svg"))


def test_the_member_list_is_paginated_and_searchable(console: Console) -> None:
    atelier = _team_id(console, "Atelier")
    with console.session() as s:
        s.add_all([Employee(name=f"Opérateur {i:03d}", team_id=atelier) for i in range(60)])
    group_id = _create(console)
    hr = console.client("hr")
    first = text(hr.get(f"/groups/{group_id}"))
    assert len(_member_ids(first)) == 50 and 'rel="next"' in first and "(63)" in first
    second = text(hr.get(f"/groups/{group_id}", query_string={"page": "2"}))
    assert len(_member_ids(second)) == 13 and 'rel="prev"' in second
    assert not _member_ids(first) & _member_ids(second)
    found = text(hr.get(f"/groups/{group_id}", query_string={"q": "opérateur 05"}))
    assert len(_member_ids(found)) == 10  # 050 to 059
    assert 'data-count="members">63<' in text(hr.get("/groups/"))
