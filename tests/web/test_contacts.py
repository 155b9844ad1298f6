"""Contact policy area: rules per person and per group, the effective list exactly as the
kiosk shows it, who may write to someone, and the relay enforcing a change at once."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from hr_console.services import contacts as contacts_service
from hr_console.services import people
from hr_console.store.models import ContactRule, Team
from hr_console.web import create_app
from kiosk_app.link import events as ev
from tests.system_fixture import DEMO_PASSWORD, expect
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


def _id(console, name: str) -> int:  # noqa: ANN001
    return console.demo.employees[name]


def _team_id(console, name: str) -> int:  # noqa: ANN001
    with console.session() as s:
        return s.execute(select(Team.id).where(Team.name == name)).scalar_one()


def _rules(console) -> set[tuple]:  # noqa: ANN001
    with console.session() as s:
        return {(r.sender_kind, r.sender_ref, r.recipient_kind, r.recipient_ref, r.allow_reply)
                for r in s.execute(select(ContactRule)).scalars()}


def _rule_id(store_session, sender_kind, sender_ref, recipient_kind, recipient_ref) -> int:  # noqa: ANN001
    with store_session() as s:
        return s.execute(select(ContactRule.id).where(
            ContactRule.sender_kind == sender_kind, ContactRule.recipient_kind == recipient_kind,
            ContactRule.sender_ref.is_(None) if sender_ref is None else ContactRule.sender_ref == sender_ref,
            ContactRule.recipient_ref.is_(None) if recipient_ref is None
            else ContactRule.recipient_ref == recipient_ref)).scalar_one()


def _listed(html: str, list_id: str) -> list[int]:
    block = html[html.index(f'id="{list_id}"'):]
    block = block[:block.index("</ul>")]
    return [int(i) for i in re.findall(r'data-id="(\d+)"', block)]


def test_every_route_by_role(console) -> None:  # noqa: ANN001
    karim, julie = _id(console, "Karim Benali"), _id(console, "Julie Moreau")
    rule = _rule_id(console.session, "everyone", None, "hr_desk", None)
    routes = [
        Route("GET", "/contacts/"),
        Route("GET", "/contacts/", {"q": "Karim"}),
        Route("GET", f"/contacts/{karim}"),
        Route("GET", f"/contacts/{karim}", {"find": "Julie"}),
        Route("POST", f"/contacts/{karim}/rules", {"direction": "out", "target": f"person:{julie}",
                                                   "allow_reply": "y"}),
        Route("POST", "/contacts/rules", {"sender": "everyone", "recipient": "hr_desk", "allow_reply": "y"}),
        Route("POST", f"/contacts/rules/{rule}/reply", {"allow_reply": "1", "employee": str(karim)}),
        Route("POST", f"/contacts/rules/{rule}/delete", {"employee": str(karim)}),
    ]
    check_roles(console, routes, allowed=("admin", "hr"))


def test_posts_without_csrf_token_are_refused(tmp_path, db_url) -> None:  # noqa: ANN001
    strict = make_console(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    try:
        c = strict_client(strict, "hr")
        karim = strict.demo.employees["Karim Benali"]
        rule = _rule_id(strict.session, "everyone", None, "hr_desk", None)
        before, rules = audit_count(strict), _rules(strict)
        for path, data in [(f"/contacts/{karim}/rules", {"direction": "out", "target": "hr_desk"}),
                           ("/contacts/rules", {"sender": "everyone", "recipient": "supervisor"}),
                           (f"/contacts/rules/{rule}/reply", {"allow_reply": "0"}),
                           (f"/contacts/rules/{rule}/delete", {})]:
            assert c.post(path, data=data).status_code == 400, path
        assert audit_count(strict) == before and _rules(strict) == rules
    finally:
        strict.app.extensions["relais_store"].dispose()


def test_effective_list_is_the_kiosk_list(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    for name in console.demo.employees:
        employee_id = _id(console, name)
        page = text(c.get(f"/contacts/{employee_id}"))
        with console.session() as s:
            kiosk = [row["id"] for row in people.contact_list(s, employee_id)]
            writers = sorted(other for other in console.demo.employees.values()
                             if other != employee_id and people.check(s, other, employee_id) is None)
        assert _listed(page, "can-write-to") == kiosk, name
        assert sorted(_listed(page, "may-write-to-them")) == writers, name


def test_person_rules_change_the_lists_and_are_audited(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    sophie, thomas = _id(console, "Sophie Martin"), _id(console, "Thomas Petit")
    since = audit_count(console)
    assert thomas not in _listed(text(c.get(f"/contacts/{sophie}")), "can-write-to")

    resp = c.post(f"/contacts/{sophie}/rules", data={"direction": "out", "target": f"person:{thomas}"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/contacts/{sophie}")
    assert ("person", sophie, "person", thomas, False) in _rules(console)
    page = text(c.get(f"/contacts/{sophie}"))
    assert thomas in _listed(page, "can-write-to")
    # No reply allowed: Thomas still cannot write to Sophie.
    assert sophie not in _listed(text(c.get(f"/contacts/{thomas}")), "can-write-to")

    # The same rule again is refused; with the reply flag it is updated instead.
    dup = c.post(f"/contacts/{sophie}/rules", data={"direction": "out", "target": f"person:{thomas}"},
                 follow_redirects=True)
    assert "existe déjà" in text(dup) or "already exists" in text(dup)
    c.post(f"/contacts/{sophie}/rules", data={"direction": "out", "target": f"person:{thomas}",
                                              "allow_reply": "y"})
    assert ("person", sophie, "person", thomas, True) in _rules(console)
    assert sophie in _listed(text(c.get(f"/contacts/{thomas}")), "can-write-to")

    rule = _rule_id(console.session, "person", sophie, "person", thomas)
    assert c.post(f"/contacts/rules/{rule}/reply", data={"allow_reply": "0", "employee": str(sophie)}
                  ).headers["Location"].endswith(f"/contacts/{sophie}")
    assert sophie not in _listed(text(c.get(f"/contacts/{thomas}")), "can-write-to")
    assert c.post(f"/contacts/rules/{rule}/delete", data={"employee": str(sophie)}).status_code == 302
    assert thomas not in _listed(text(c.get(f"/contacts/{sophie}")), "can-write-to")

    # "In" rules: everyone / a team may write to one person.
    lucas = _id(console, "Lucas Bernard")
    c.post(f"/contacts/{lucas}/rules", data={"direction": "in", "target": "everyone", "allow_reply": "y"})
    assert ("everyone", None, "person", lucas, True) in _rules(console)
    assert lucas in _listed(text(c.get(f"/contacts/{_id(console, 'Karim Benali')}")), "can-write-to")

    entries = audit_actions(console, since)
    assert [a for _x, a, _t, _d in entries] == [
        "contact_rule.create", "contact_rule.reply", "contact_rule.reply", "contact_rule.delete",
        "contact_rule.create"]
    assert all(actor == "hr" for actor, _a, _t, _d in entries)
    deleted = entries[3][3]
    assert deleted == {"sender": f"person:{sophie}", "recipient": f"person:{thomas}", "allow_reply": False}


def test_group_rules(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    atelier, logistique = _team_id(console, "Atelier"), _team_id(console, "Logistique")
    karim, lucas = _id(console, "Karim Benali"), _id(console, "Lucas Bernard")
    page = text(c.get("/contacts/"))
    assert page.count("data-rule=") == 5  # the demo's five group rules
    assert lucas not in _listed(text(c.get(f"/contacts/{karim}")), "can-write-to")
    resp = c.post("/contacts/rules", data={"sender": f"team:{atelier}", "recipient": f"team:{logistique}"})
    assert resp.status_code == 302
    assert ("team", atelier, "team", logistique, False) in _rules(console)
    assert lucas in _listed(text(c.get(f"/contacts/{karim}")), "can-write-to")
    assert karim not in _listed(text(c.get(f"/contacts/{lucas}")), "can-write-to")
    # Group rules name no person on either side.
    before = _rules(console)
    for sender, recipient in ((f"person:{karim}", "hr_desk"), ("everyone", f"person:{lucas}"),
                              ("hr_desk", "everyone"), ("team:999999", "hr_desk"),
                              ("team:abc", "hr_desk"), ("everyone", "team:")):
        c.post("/contacts/rules", data={"sender": sender, "recipient": recipient})
    assert _rules(console) == before


def test_group_rules_come_a_page_at_a_time(console, monkeypatch) -> None:  # noqa: ANN001
    """Thousands of group rules (a team each way at 50,000 employees) are paged: every rule
    on exactly one page, a page out of range shows the nearest one."""
    monkeypatch.setattr(contacts_service, "RULES_PER_PAGE", 2)
    c = console.client("hr")
    seen = []
    for number in (1, 2, 3):
        page = text(c.get(f"/contacts/?page={number}"))
        seen += re.findall(r'data-rule="(\d+)"', page)
        assert f"Page {number} of 3" in page or f"Page {number} sur 3" in page, number
    assert len(seen) == len(set(seen)) == 5  # the demo's five, each once
    assert re.findall(r'data-rule="(\d+)"', text(c.get("/contacts/?page=99"))) == seen[4:]
    assert re.findall(r'data-rule="(\d+)"', text(c.get("/contacts/?page=-4"))) == seen[:2]


def test_malformed_person_rules_change_nothing(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    karim = _id(console, "Karim Benali")
    before, audits = _rules(console), audit_count(console)
    cases = [{"direction": "out", "target": "everyone"},  # everyone is not a recipient
             {"direction": "in", "target": "hr_desk"},  # the HR desk is not a sender
             {"direction": "in", "target": "supervisor"},
             {"direction": "out", "target": f"person:{karim}"},  # to oneself
             {"direction": "out", "target": "person:999999"},
             {"direction": "out", "target": "team:999999"},
             {"direction": "sideways", "target": "hr_desk"},
             {"direction": "out", "target": ""}]
    cases += [{"direction": "out", "target": v} for v in INJECTIONS]
    for data in cases:
        resp = c.post(f"/contacts/{karim}/rules", data=data, follow_redirects=True)
        assert resp.status_code == 200, data
    assert _rules(console) == before and audit_count(console) == audits
    assert c.post("/contacts/999999/rules", data={"direction": "out", "target": "hr_desk"}).status_code == 404
    assert c.post("/contacts/rules/999999/delete").status_code == 302
    assert c.get("/contacts/999999").status_code == 404


def test_search_with_hostile_strings(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    karim = _id(console, "Karim Benali")
    for value in INJECTIONS:  # none of them is part of a name: no result, no error
        resp = c.get("/contacts/", query_string={"q": value})
        assert resp.status_code == 200 and 'id="found"' not in text(resp), value
        resp = c.get(f"/contacts/{karim}", query_string={"find": value})
        assert resp.status_code == 200 and 'id="find-results"' not in text(resp), value
    body = text(c.get("/contacts/", query_string={"q": "%"}))
    assert 'id="found"' not in body  # a literal %, matching no one
    body = text(c.get("/contacts/", query_string={"q": "1002"}))  # Karim's badge
    assert f'href="/contacts/{karim}"' in body


def test_names_are_escaped(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    resp = c.post("/employees/new", data={"name": SCRIPT, "team": str(_team_id(console, "Atelier")),
                                          "language": "fr", "moderation_mode": ""})
    new_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    karim = _id(console, "Karim Benali")
    c.post(f"/contacts/{new_id}/rules", data={"direction": "out", "target": f"person:{karim}"})
    for page in (c.get(f"/contacts/{new_id}"), c.get(f"/contacts/{_id(console, 'Karim Benali')}"),
                 c.get("/contacts/", query_string={"q": "alert"}),
                 c.get(f"/contacts/{_id(console, 'Karim Benali')}", query_string={"find": "script"})):
        assert page.status_code == 200
        assert "<script>alert" not in text(page) and SCRIPT_ESCAPED in text(page)


def test_moderation_shown_with_links(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    karim = _id(console, "Karim Benali")
    page = text(c.get(f"/contacts/{karim}"))
    assert f'href="/employees/{karim}"' in page
    assert f'href="/teams/{_team_id(console, "Atelier")}"' in page
    assert "mode-pre" in page  # Karim inherits the default: pre-moderation


# --- with the real relay ---------------------------------------------------------------------


def test_relay_enforces_a_rule_removed_and_added_in_the_console(system) -> None:  # noqa: ANN001
    app = create_app(system.cfg, {"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    try:
        hr = app.test_client()
        assert hr.post("/auth/login", data={"username": "hr", "password": DEMO_PASSWORD}).status_code == 302
        claire, amina = system.employee("Claire Dubois (RH)"), system.employee("Amina Diallo")
        k1 = system.link("kiosk-1")
        synced = system.badge_in(k1, "Claire Dubois (RH)")  # the HR desk, not moderated
        assert amina in {c["id"] for c in synced.contacts}  # "everyone -> HR desk", with replies

        # Control: allowed now.
        first = k1.send_text(amina, "Bonjour Amina, votre badge est prêt.")
        expect(k1, ev.StateChanged, lambda e: e.msg == first and e.state == "accepted")

        rule = _rule_id(system.store.session, "everyone", None, "hr_desk", None)
        resp = hr.post(f"/contacts/rules/{rule}/delete", data={"employee": str(claire)})
        assert resp.status_code == 302
        refused = k1.send_text(amina, "Message après suppression de la règle")
        state = expect(k1, ev.StateChanged, lambda e: e.msg == refused and e.state != "outbox")
        assert (state.state, state.reason) == ("refused", "not_allowed")

        resp = hr.post("/contacts/rules", data={"sender": "everyone", "recipient": "hr_desk",
                                                "allow_reply": "y"})
        assert resp.status_code == 302
        accepted = k1.send_text(amina, "Message après rétablissement de la règle")
        state = expect(k1, ev.StateChanged, lambda e: e.msg == accepted and e.state != "outbox")
        assert state.state == "accepted"
        with system.store.session() as s:
            assert s.execute(select(func.count()).select_from(ContactRule).where(
                ContactRule.recipient_kind == "hr_desk")).scalar_one() == 1
    finally:
        app.extensions["relais_store"].dispose()
