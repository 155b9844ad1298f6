"""Every main page of the console in English and French, written to
build/screenshots/console/ (1280x800; ``make screenshots`` copies them to docs/ for the
README), on a system with a working day's data.
The French pages are also checked for English left untranslated."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from hr_console.services import notices
from hr_console.store.models import ConsoleUser, Team
from tests.browser import scenery
from tests.browser.english_left import english_left
from tests.browser.live_console import LiveConsole, set_language
from tests.build_output import SCREENSHOTS

OUT = SCREENSHOTS / "console"


def _pages(live: LiveConsole, notice_id: int) -> list[tuple[str, str]]:
    sys_ = live.system
    karim = sys_.employee("Karim Benali")
    with sys_.store.session() as s:
        sup_login = s.execute(select(ConsoleUser.id)
                              .where(ConsoleUser.username == "supervisor")).scalar_one()
    return [
        ("dashboard", "/dashboard/"),
        ("moderation-queue", "/moderation/"),
        ("employees-list", "/employees/"),
        ("employee-edit", f"/employees/{karim}"),
        ("teams", "/teams/"),
        ("contacts", "/contacts/"),
        ("contacts-employee", f"/contacts/{karim}"),
        ("notices-compose", "/notices/new"),
        ("notices-tracking", f"/notices/{notice_id}"),
        ("terminals", "/terminals/"),
        ("console-users", "/users/"),
        ("console-user-edit", f"/users/{sup_login}"),
        ("audit", "/audit/"),
        ("settings", "/settings/"),
    ]


def _shoot(page: Page, name: str, lang: str) -> Path:
    path = OUT / f"{name}-{lang}.png"
    page.wait_for_load_state("networkidle")
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    page.screenshot(path=str(path))
    return path


def _visible_text(page: Page) -> str:
    """Text, placeholders, titles and image descriptions: all a reader meets on the page."""
    return page.evaluate("""() => {
      // Raw records (audit codes and values, identifiers) are data, not interface text.
      const body = document.body.cloneNode(true);
      body.querySelectorAll('code, .raw').forEach(e => e.remove());
      document.body.appendChild(body); body.hidden = false;
      const text = body.innerText; body.remove();
      return [text,
        ...Array.from(document.querySelectorAll('[placeholder]'), e => e.placeholder),
        ...Array.from(document.querySelectorAll('[title]'), e => e.title),
        ...Array.from(document.querySelectorAll('img[alt]'), e => e.alt),
        ...Array.from(document.querySelectorAll('[aria-label]'), e => e.getAttribute('aria-label')),
        document.title].join("\\n"); }""")


def _populate(live: LiveConsole) -> int:
    sys_ = live.system
    k1, k2 = sys_.link("kiosk-1"), sys_.link("kiosk-2")
    sys_.badge_in(k1, "Karim Benali")
    sys_.badge_in(k2, "Sophie Martin")
    scenery.held_messages(sys_, k1)
    with sys_.store.session() as s:
        atelier = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        user = s.execute(select(ConsoleUser).where(ConsoleUser.username == "hr")).scalar_one()
        notice = notices.compose(
            s, notices.EVERYTHING, title="Exercice d'évacuation à 14h",
            body="Rassemblement sur le parking nord. Laissez vos machines en sécurité.",
            target_kind="team", target_ref=atelier, urgent=True, ack_required=True,
            valid_from=None, valid_until=None, photo=None, actor="hr", user_id=user.id)
        notice_id = notice.id
    scenery.acknowledge_all(k2, "Exercice d'évacuation à 14h")
    return notice_id


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_screenshots_of_every_main_page(live: LiveConsole, lang: str) -> None:
    notice_id = _populate(live)
    OUT.mkdir(parents=True, exist_ok=True)
    page = live.page(locale="en-GB" if lang == "en" else "fr-FR")
    live.open(page, "/auth/login")
    assert page.locator("html").get_attribute("lang") == lang
    _shoot(page, "login", lang)
    live.sign_in(page, "admin")
    set_language(page, lang)
    leftovers = {}
    for name, path in _pages(live, notice_id):
        live.open(page, path)
        _shoot(page, name, lang)
        if lang == "fr":
            found = english_left(_visible_text(page))
            if found:
                leftovers[path] = found
    assert not leftovers, f"English on French pages: {leftovers}"
    assert not live.dialogs
