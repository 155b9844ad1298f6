"""Workgroups in a real browser, on a whole running installation (waitress serving the
console, Mosquitto, the relay, terminal links): HR creates a group by rule in the console,
a member's post to it is held, HR approves it in the live moderation queue where it is
labelled with the group, and it reaches the other members' terminals. Screenshots of the
group pages and of the queue in French and English go to build/screenshots/console/
(``group-*-fr.png`` / ``group-*-en.png``; ``make screenshots`` copies them to docs/); the
French pages are checked for English left.

The tests of this module share one installation and run in order."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect as page_expect
from sqlalchemy import select

from hr_console.store.models import Group, Team
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from tests.browser.english_left import english_left
from tests.browser.live_console import LiveConsole, live_day, set_language
from tests.build_output import SCREENSHOTS
from tests.system_fixture import expect, expect_none

OUT = SCREENSHOTS / "console"
LIVE_QUEUE_WAIT_MS = 15_000  # the queue polls every 5 s; a generous margin for 2 shared cores
NAME = "Inventaire décembre"


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory, chromium) -> Iterator[LiveConsole]:  # noqa: ANN001
    with live_day(tmp_path_factory.mktemp("group-walk"), chromium) as console:
        yield console


@pytest.fixture(scope="module")
def kiosks(day: LiveConsole) -> tuple[TerminalLink, TerminalLink]:
    k1, k2 = day.system.link("kiosk-1"), day.system.link("kiosk-2")
    day.system.badge_in(k1, "Karim Benali")
    day.system.badge_in(k2, "Sophie Martin")
    return k1, k2


@pytest.fixture(scope="module")
def hr(day: LiveConsole) -> Page:
    page = day.page(locale="fr-FR")
    day.sign_in(page, "hr")
    return page


def _shoot(page: Page, name: str, lang: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}-{lang}.png"), full_page=False)


def _visible_text(page: Page) -> str:
    return page.evaluate("""() => [document.body.innerText,
        ...Array.from(document.querySelectorAll('[placeholder]'), e => e.placeholder),
        ...Array.from(document.querySelectorAll('[aria-label]'), e => e.getAttribute('aria-label')),
        ...Array.from(document.querySelectorAll('[data-confirm]'), e => e.getAttribute('data-confirm')),
        document.title].join("\\n")""")


def _no_english(page: Page) -> None:
    left = english_left(_visible_text(page))
    assert not left, f"English on the French page {page.url}: {left}"


def _group_id(day: LiveConsole) -> int:
    with day.system.store.session() as s:
        return s.execute(select(Group.id).where(Group.name == NAME)).scalar_one()


def _team_id(day: LiveConsole, name: str) -> int:
    with day.system.store.session() as s:
        return s.execute(select(Team.id).where(Team.name == name)).scalar_one()


def _state(link: TerminalLink, msg: str, state: str) -> ev.StateChanged:
    return expect(link, ev.StateChanged, lambda e: e.msg == msg and e.state == state)


def test_hr_creates_a_group_by_rule(day: LiveConsole, hr: Page) -> None:
    sys_ = day.system
    day.open(hr, "/groups/")
    page_expect(hr.locator("#no-groups")).to_be_visible()
    hr.click("#new-group")
    page_expect(hr).to_have_url(re.compile(r"/groups/new$"))
    hr.fill("#name", NAME)
    hr.fill("#description", "Comptage de fin d'année, équipes Atelier")
    hr.check(f"input[name=teams][value='{_team_id(day, 'Atelier')}']")
    hr.select_option("#moderation_mode", "pre")
    _no_english(hr)
    _shoot(hr, "group-form", "fr")
    hr.locator("#group-form button[type=submit]").click()

    page_expect(hr).to_have_url(re.compile(r"/groups/\d+$"))
    page_expect(hr.locator(".flash.success")).to_contain_text(NAME)
    members = hr.locator("#member-list tbody tr")
    page_expect(members).to_have_count(3)
    for name in ("Sophie Martin", "Karim Benali", "Julie Moreau"):
        page_expect(hr.locator(f"#member-list tr[data-id='{sys_.employee(name)}']")).to_be_visible()
    page_expect(hr.locator("#group-rules")).to_contain_text("Atelier")
    page_expect(hr.locator("#moderation-mode")).to_contain_text("avant remise")
    _no_english(hr)
    _shoot(hr, "group-page", "fr")

    day.open(hr, "/groups/")
    row = hr.locator(f"#groups tr[data-group='{_group_id(day)}']")
    page_expect(row.locator("[data-count=members]")).to_have_text("3")
    _no_english(hr)
    _shoot(hr, "group-list", "fr")


def test_hr_moderates_a_held_group_post(day: LiveConsole, kiosks, hr: Page) -> None:  # noqa: ANN001
    k1, k2 = kiosks
    group_id = _group_id(day)
    day.open(hr, "/moderation/")
    hr.evaluate("window.__sameDocument = true")

    msg = k1.send_text(None, "Rayon 4 compté : 212 cartons", group=group_id)
    _state(k1, msg, "held")
    item = hr.locator("li.moditem", has_text="Rayon 4 compté : 212 cartons")
    page_expect(item).to_be_visible(timeout=LIVE_QUEUE_WAIT_MS)  # arrived live, labelled
    page_expect(item.locator(".modhead")).to_contain_text(f"groupe : {NAME}")
    page_expect(item.locator(".modhead")).to_contain_text("Karim Benali")
    assert hr.evaluate("window.__sameDocument === true"), "the queue page was reloaded"
    expect_none(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg, wait=0.5)

    day.open(hr, "/moderation/")  # drawn by the server this time
    item = hr.locator("li.moditem", has_text="Rayon 4 compté : 212 cartons")
    page_expect(item.locator(".to-group")).to_have_text(f"groupe : {NAME}")
    _no_english(hr)
    _shoot(hr, "group-moderation", "fr")

    item.locator("button.ok").click()
    page_expect(hr.locator(".flash.success")).to_contain_text("approuvé")
    arrived = expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)
    assert arrived.message.get("group") == group_id
    assert arrived.message.get("group_name") == NAME
    assert arrived.message["from_name"] == "Karim Benali"
    assert "to" not in arrived.message
    _state(k1, msg, "approved")
    page_expect(hr.locator("li.moditem")).to_have_count(0)

    day.open(hr, "/moderation/history")
    page_expect(hr.locator("main .to-group").first).to_have_text(f"groupe : {NAME}")


def test_the_group_pages_in_english(day: LiveConsole, kiosks, hr: Page) -> None:  # noqa: ANN001
    k1, _k2 = kiosks
    group_id = _group_id(day)
    msg = k1.send_text(None, "Allée 7 : il manque une étiquette", group=group_id)
    _state(k1, msg, "held")
    set_language(hr, "en")
    try:
        day.open(hr, "/groups/")
        page_expect(hr.locator("h1")).to_have_text("Workgroups")
        _shoot(hr, "group-list", "en")
        day.open(hr, f"/groups/{group_id}")
        page_expect(hr.locator("#members h2")).to_contain_text("Members")
        _shoot(hr, "group-page", "en")
        day.open(hr, f"/groups/{group_id}/edit")
        _shoot(hr, "group-form", "en")
        day.open(hr, "/moderation/")
        item = hr.locator("li.moditem", has_text="Allée 7")
        page_expect(item.locator(".to-group")).to_have_text(f"group: {NAME}")
        _shoot(hr, "group-moderation", "en")
    finally:
        set_language(hr, "fr")
    assert not [d for d in day.dialogs if not d.startswith("confirm")]


def test_hr_archives_then_deletes_the_group(day: LiveConsole, hr: Page) -> None:
    group_id = _group_id(day)
    day.open(hr, f"/groups/{group_id}")
    hr.click("#archive-group")  # a confirmation, accepted
    page_expect(hr.locator(".flash.success")).to_be_visible()
    page_expect(hr.locator("#reopen-group")).to_be_visible()
    page_expect(hr.locator("#edit-group")).to_have_count(0)
    hr.click("#delete-group")
    page_expect(hr).to_have_url(re.compile(r"/groups/$"))
    page_expect(hr.locator(f"#groups tr[data-group='{group_id}']")).to_have_count(0)
    assert any(d.startswith("confirm") for d in day.dialogs)
