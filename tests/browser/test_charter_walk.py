"""The messaging charter in a real browser, on a whole running installation (waitress
serving the console, Mosquitto, the relay, terminal links): HR finds no charter, writes the
first one in the form (a cleared section is refused next to its field, nothing published;
the confirmation dismissed publishes nothing; accepted, the version is in force), a worker
accepts it from their terminal and the charter page counts them. Screenshots of the charter
page and of the publish form in French and English go to build/screenshots/console/
(``charter-*-fr.png`` / ``charter-*-en.png``; ``make screenshots`` copies them to docs/); the
French pages are checked for English left (the charter's own English text aside).

The tests of this module share one installation and run in order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect as page_expect
from sqlalchemy import func, select

from hr_console.store.models import CharterAcceptance, CharterVersion
from tests.browser.english_left import english_left
from tests.browser.live_console import LiveConsole, live_day, set_language, wait_for
from tests.build_output import SCREENSHOTS

OUT = SCREENSHOTS / "console"


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory, chromium) -> Iterator[LiveConsole]:  # noqa: ANN001
    with live_day(tmp_path_factory.mktemp("charter-walk"), chromium) as console:
        yield console


@pytest.fixture(scope="module")
def hr(day: LiveConsole) -> Page:
    page = day.page(locale="fr-FR")
    day.sign_in(page, "hr")
    set_language(page, "fr")
    return page


def _shoot(page: Page, name: str, lang: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}-{lang}.png"), full_page=False)


def _no_english(page: Page) -> None:
    """Interface text only: the charter's English sections are data HR wrote."""
    text = page.evaluate("""() => {
      const body = document.body.cloneNode(true);
      body.querySelectorAll('[lang=en], [data-lang=en], textarea').forEach(e => e.remove());
      document.body.appendChild(body);
      const text = body.innerText; body.remove();
      return [text,
        ...Array.from(document.querySelectorAll('[data-confirm]'), e => e.getAttribute('data-confirm')),
        ...Array.from(document.querySelectorAll('[aria-label]'), e => e.getAttribute('aria-label')),
        document.title].join("\\n"); }""")
    left = english_left(text)
    assert not left, f"English on the French page {page.url}: {left}"


def _versions(day: LiveConsole) -> int:
    with day.system.store.session() as s:
        return s.scalar(select(func.count()).select_from(CharterVersion)) or 0


def test_no_charter_yet(day: LiveConsole, hr: Page) -> None:
    day.open(hr, "/dashboard/")
    page_expect(hr.locator("#no-charter-warning")).to_be_visible()
    day.open(hr, "/charter/")
    page_expect(hr.locator("#no-charter")).to_be_visible()
    _no_english(hr)
    hr.click("#write-first")
    page_expect(hr.locator("#charter-form textarea")).to_have_count(8)
    page_expect(hr.locator("#fr_retention")).to_contain_text("jours")
    _shoot(hr, "charter-form", "fr")
    _no_english(hr)


def test_refused_and_cancelled_publish_nothing(day: LiveConsole, hr: Page) -> None:
    hr.fill("#en_contact", "")
    hr.click("#publish")
    page_expect(hr.locator(".field.has-error .field-error")).to_have_count(1)
    page_expect(hr.locator(".field.has-error textarea")).to_have_attribute("name", "en_contact")
    assert _versions(day) == 0
    assert any("badgeage" in d for d in day.dialogs), day.dialogs  # the confirmation, in French

    hr.fill("#en_contact", "Ask the HR office, building B.")
    cautious = day.page(locale="fr-FR", accept_confirms=False)
    day.sign_in(cautious, "admin")
    day.open(cautious, "/charter/new")
    cautious.click("#publish")  # the confirmation dismissed: the form is not sent
    page_expect(cautious.locator("#charter-form")).to_be_visible()
    assert _versions(day) == 0


def test_publish_and_an_acceptance_from_a_terminal(day: LiveConsole, hr: Page) -> None:
    hr.fill("#fr_contact", "Le service RH, bâtiment B.")
    hr.click("#publish")
    page_expect(hr.locator("#charter-in-force")).to_be_visible()
    assert _versions(day) == 1
    link = day.system.link("kiosk-1")
    day.system.badge_in(link, "Karim Benali")
    link.accept_charter(1)

    def accepted() -> int:
        with day.system.store.session() as s:
            return s.scalar(select(func.count()).select_from(CharterAcceptance)) or 0

    wait_for(accepted, "the acceptance recorded by the relay")
    day.open(hr, "/charter/")
    page_expect(hr.locator("#charter-accepted")).to_have_text("1")
    page_expect(hr.locator("#charter-versions tr[data-version='1'] td[data-accepted]")
                ).to_have_attribute("data-accepted", "1")
    _shoot(hr, "charter-page", "fr")
    _no_english(hr)


def test_the_same_pages_in_english(day: LiveConsole, hr: Page) -> None:
    set_language(hr, "en")
    day.open(hr, "/charter/")
    page_expect(hr.locator("#charter-in-force h2")).to_contain_text("in force")
    _shoot(hr, "charter-page", "en")
    day.open(hr, "/charter/new")
    page_expect(hr.locator("#fr_contact")).to_have_value("Le service RH, bâtiment B.")
    _shoot(hr, "charter-form", "en")
    set_language(hr, "fr")
