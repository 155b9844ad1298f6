"""Lists as long as a large organisation makes them (thousands of teams at 50,000 employees):
a box above each narrows it as HR types, accents and case aside, the first option left is
the one the form sends, and pressing Enter in the box sends nothing (console.js)."""

from __future__ import annotations

from playwright.sync_api import expect as page_expect
from sqlalchemy import select

from hr_console.services import directory
from hr_console.store.models import ContactRule, Site, Team
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
    page_expect(box).to_have_attribute("placeholder", "Tapez pour réduire la liste")
    box.press("Enter")  # before anything is typed: nothing is sent
    box.fill("preparation COMMANDES")
    box.press("Enter")
    page_expect(page.locator(".flash")).to_have_count(0)
    visible = page.locator("#out-target option:not([hidden])")
    page_expect(visible).to_have_count(1)
    page_expect(visible).to_have_text(f"Préparation commandes ({site_name})")
    box.fill("NUIT 4")  # every word somewhere: 04, 14, 24, 34, 40 to 49, 54
    page_expect(page.locator("#out-target option:not([hidden])")).to_have_count(15)
    page_expect(page.locator("#out-target option:checked")).to_have_text(
        f"Équipe de nuit 04 ({site_name})")  # the first left is the one sent
    page.locator("form:has(#out-target) button.primary").click()
    page_expect(page.locator(".flash.success")).to_be_visible()
    with system.store.session() as s:
        team = s.execute(select(Team).where(Team.name == "Équipe de nuit 04")).scalar_one()
        rules = s.execute(select(ContactRule).where(
            ContactRule.sender_kind == "person", ContactRule.sender_ref == sophie,
            ContactRule.recipient_kind == "team")).scalars().all()
        assert [r.recipient_ref for r in rules] == [team.id]
    # A short list has no box.
    live.open(page, "/employees/")
    page_expect(page.locator("#f-lang-filter")).to_have_count(0)
