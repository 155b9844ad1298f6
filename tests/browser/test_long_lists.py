"""Lists as long as a large organisation makes them (thousands of teams at 50,000 employees):
a box above each narrows it as HR types (accents, case and the group's name aside) and says
how many are left; the one option left is chosen, several never are (the form is refused,
not sent with another), Enter in the box sends nothing, and a list that sends its form when
changed is only narrowed. Lists of checkboxes (a workgroup's teams) are narrowed the same
way, and what is ticked stays in view (console.js)."""

from __future__ import annotations

from playwright.sync_api import expect as page_expect
from sqlalchemy import select

from hr_console.services import directory
from hr_console.store.models import ContactRule, Group, GroupRule, Site, Team
from tests.browser.live_console import LiveConsole


def test_hr_narrows_a_long_team_list_and_adds_the_rule_it_shows(live: LiveConsole) -> None:
    system = live.system
    with system.store.session() as s:
        site = s.execute(select(Site)).scalars().first()
        site_name = site.name
        for k in range(1, 61):
            directory.team(s, f"Équipe de nuit {k:02d}", site)
        directory.team(s, "Préparation commandes", site)
    sophie = system.employee("Sophie Martin")
    page = live.page(locale="fr-FR")
    live.sign_in(page, "hr")
    live.open(page, f"/contacts/{sophie}")
    box = page.locator("#out-target-filter")
    left = page.locator("#out-target-filter-left")
    page_expect(box).to_have_attribute("placeholder", "Tapez pour réduire la liste")
    box.press("Enter")  # before anything is typed: nothing is sent
    box.fill("preparation COMMANDES")  # one left: it is chosen
    box.press("Enter")
    page_expect(page.locator(".flash")).to_have_count(0)
    page_expect(left).to_have_text("1 dans la liste")
    visible = page.locator("#out-target option:not([hidden])")
    page_expect(visible).to_have_count(1)
    page_expect(page.locator("#out-target option:checked")).to_have_text(
        f"Préparation commandes ({site_name})")
    # Several left, every word somewhere (04, 14, 24, 34, 40 to 49, 54): none is chosen
    # for HR, and the form sent as it is is refused, changing nothing.
    box.fill("NUIT 4")
    page_expect(left).to_have_text("15 dans la liste")
    page_expect(page.locator("#out-target option:not([hidden])")).to_have_count(15)
    assert page.eval_on_selector("#out-target", "s => s.selectedIndex") == -1
    form = page.locator("form:has(#out-target)")
    form.locator("button.primary").click()
    page_expect(page.locator(".flash.error")).to_be_visible()
    box = page.locator("#out-target-filter")
    box.fill("zzz")  # a typo: nothing left, nothing chosen
    page_expect(page.locator("#out-target-filter-left")).to_have_text("0 dans la liste")
    assert page.eval_on_selector("#out-target", "s => s.selectedIndex") == -1
    box.fill("équipes nuit 04")  # the group's name counts: "Équipes"
    page_expect(page.locator("#out-target option:checked")).to_have_text(
        f"Équipe de nuit 04 ({site_name})")
    page.locator("form:has(#out-target) button.primary").click()
    page_expect(page.locator(".flash.success")).to_be_visible()
    with system.store.session() as s:
        team = s.execute(select(Team).where(Team.name == "Équipe de nuit 04")).scalar_one()
        rules = s.execute(select(ContactRule).where(
            ContactRule.sender_kind == "person", ContactRule.sender_ref == sophie,
            ContactRule.recipient_kind == "team")).scalars().all()
        assert [r.recipient_ref for r in rules] == [team.id]
    # A list that sends its form when changed is only narrowed: nothing is chosen or sent.
    live.open(page, "/employees/")
    page.locator("#f-team-filter").fill("nuit 04")
    page_expect(page.locator("#f-team option:not([hidden])")).to_have_count(1)
    assert page.eval_on_selector("#f-team", "s => s.value") == ""
    assert "team=" not in page.url
    page_expect(page.locator("#f-lang-filter")).to_have_count(0)  # a short list: no box


def test_hr_finds_the_teams_of_a_group_among_many(live: LiveConsole) -> None:
    """A workgroup's teams are a list of checkboxes, one per team (1,250 at 50,000
    employees): HR narrows it, ticks a team, narrows it to others, and the ticked one stays
    in view; the group is made of exactly the teams ticked."""
    system = live.system
    with system.store.session() as s:
        site = s.execute(select(Site)).scalars().first()
        for k in range(1, 61):
            directory.team(s, f"Équipe de nuit {k:02d}", site)
    page = live.page(locale="fr-FR")
    live.sign_in(page, "hr")
    live.open(page, "/groups/new")
    box = page.locator("#teams-filter")
    left = page.locator("#teams-filter-left")
    page_expect(box).to_have_attribute("placeholder", "Tapez pour réduire la liste")
    items = page.locator("#teams li:not([hidden])")
    box.fill("NUIT 04")
    page_expect(left).to_have_text("1 dans la liste")
    page_expect(items).to_have_count(1)
    items.locator("input").check()
    box.fill("équipe nuit 1")  # 01, 10 to 19, 21, 31, 41, 51; the 04 ticked stays in view
    page_expect(left).to_have_text("15 dans la liste")
    page_expect(items).to_have_count(16)
    page_expect(page.locator("#teams li:not([hidden]) input:checked")).to_have_count(1)
    page.locator("#teams li:not([hidden])", has_text="nuit 12").locator("input").check()
    box.press("Enter")  # narrowing sends nothing
    page_expect(page.locator(".flash")).to_have_count(0)
    box.fill("")
    page_expect(left).to_have_text("")
    assert items.count() > 60
    page.fill("#name", "Inventaire de nuit")
    page.locator("#group-form button[type=submit]").click()
    page_expect(page.locator(".flash.success")).to_be_visible()
    with system.store.session() as s:
        group = s.execute(select(Group).where(Group.name == "Inventaire de nuit")).scalar_one()
        teams = s.execute(select(Team.name).join(GroupRule, GroupRule.ref_id == Team.id).where(
            GroupRule.group_id == group.id, GroupRule.kind == "team")).scalars().all()
    assert sorted(teams) == ["Équipe de nuit 04", "Équipe de nuit 12"]
