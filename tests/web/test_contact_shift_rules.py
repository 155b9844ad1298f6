"""Contact rules "only during the sender's shift" in the console (issue 16): the checkbox on
the group and personal rule forms, the rule lists showing it with a button that turns it on
and off, every change audited, a malformed post refused with nothing changed, only admins
and HR; French and English. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from hr_console.store.models import ContactRule, Team
from tests.web.people_support import Route, audit_actions, audit_count, check_roles, text


def _team_id(console, name: str) -> int:  # noqa: ANN001
    with console.session() as s:
        return s.execute(select(Team.id).where(Team.name == name)).scalar_one()


def _flags(console) -> dict[tuple, tuple[bool, bool]]:  # noqa: ANN001
    with console.session() as s:
        return {(r.sender_kind, r.sender_ref, r.recipient_kind, r.recipient_ref):
                (r.allow_reply, r.on_shift_only) for r in s.execute(select(ContactRule)).scalars()}


def _rule(console, *key) -> int:  # noqa: ANN001
    with console.session() as s:
        for r in s.execute(select(ContactRule)).scalars():
            if (r.sender_kind, r.sender_ref, r.recipient_kind, r.recipient_ref) == key:
                return r.id
    raise AssertionError(key)


def _row(html: str, rule_id: int) -> str:
    block = html[html.index(f'data-rule="{rule_id}"'):]
    return block[:block.index("</tr>")]


def test_a_group_rule_on_shift_only_is_added_shown_toggled_and_audited(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    atelier, logistique = _team_id(console, "Atelier"), _team_id(console, "Logistique")
    since = audit_count(console)
    page = text(c.get("/contacts/"))
    assert "Uniquement pendant le poste de l’expéditeur" in page  # the form's checkbox (fr)
    resp = c.post("/contacts/rules", data={"sender": f"team:{atelier}",
                                           "recipient": f"team:{logistique}",
                                           "allow_reply": "y", "on_shift_only": "y"})
    assert resp.status_code == 302
    key = ("team", atelier, "team", logistique)
    assert _flags(console)[key] == (True, True)
    rule = _rule(console, *key)
    row = _row(text(c.get("/contacts/")), rule)
    assert 'data-shift="only"' in row and "pendant le poste de l’expéditeur" in row
    # The demo's rules are not on shift only.
    demo = _rule(console, "everyone", None, "hr_desk", None)
    assert 'data-shift="any"' in _row(text(c.get("/contacts/")), demo)

    karim = console.demo.employees["Karim Benali"]
    resp = c.post(f"/contacts/rules/{rule}/shift", data={"on_shift_only": "0",
                                                         "employee": str(karim)})
    assert resp.headers["Location"].endswith(f"/contacts/{karim}")
    assert _flags(console)[key] == (True, False)
    c.post(f"/contacts/rules/{rule}/shift", data={"on_shift_only": "0"})  # no change: no entry
    c.post(f"/contacts/rules/{rule}/shift", data={"on_shift_only": "1"})
    assert _flags(console)[key] == (True, True)
    # The employee's page lists it the same way.
    assert 'data-shift="only"' in _row(text(c.get(f"/contacts/{karim}")), rule)

    entries = audit_actions(console, since)
    assert [(a, t, d) for _x, a, t, d in entries] == [
        ("contact_rule.create", f"contact_rule:{rule}",
         {"sender": f"team:{atelier}", "recipient": f"team:{logistique}", "allow_reply": True,
          "on_shift_only": True}),
        ("contact_rule.shift", f"contact_rule:{rule}", {"on_shift_only": False}),
        ("contact_rule.shift", f"contact_rule:{rule}", {"on_shift_only": True})]
    assert all(actor == "hr" for actor, _a, _t, _d in entries)


def test_a_personal_rule_on_shift_only_and_the_same_rule_again(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    sophie, thomas = console.demo.employees["Sophie Martin"], console.demo.employees["Thomas Petit"]
    c.post(f"/contacts/{sophie}/rules", data={"direction": "out", "target": f"person:{thomas}",
                                              "on_shift_only": "y"})
    key = ("person", sophie, "person", thomas)
    assert _flags(console)[key] == (False, True)
    # The same rule without the flag changes the flag instead of adding a second rule.
    since = audit_count(console)
    c.post(f"/contacts/{sophie}/rules", data={"direction": "out", "target": f"person:{thomas}"})
    assert _flags(console)[key] == (False, False)
    assert [a for _x, a, _t, _d in audit_actions(console, since)] == ["contact_rule.shift"]


def test_malformed_posts_change_nothing(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    rule = _rule(console, "everyone", None, "hr_desk", None)
    before, count = _flags(console), audit_count(console)
    for value in ("", "2", "yes", "1; DROP TABLE contact_rules", "0' OR '1'='1"):
        resp = c.post(f"/contacts/rules/{rule}/shift", data={"on_shift_only": value},
                      follow_redirects=True)
        assert "Cette règle n’est pas valable." in text(resp), value
    assert c.post(f"/contacts/rules/{rule}/shift", data={}).status_code == 302
    assert c.post("/contacts/rules/999999/shift", data={"on_shift_only": "1"},
                  follow_redirects=True).status_code == 200
    assert _flags(console) == before and audit_count(console) == count


def test_only_admin_and_hr_and_in_english(console) -> None:  # noqa: ANN001
    rule = _rule(console, "everyone", None, "hr_desk", None)
    check_roles(console, [Route("POST", f"/contacts/rules/{rule}/shift", {"on_shift_only": "1"})],
                allowed=("admin", "hr"))
    hr = console.client("hr")
    hr.post("/auth/language", data={"language": "en", "next": "/"})
    page = text(hr.get("/contacts/"))
    assert "Only during the sender's shift" in page and "any time" in page
    hr.post("/auth/language", data={"language": "fr", "next": "/"})
