"""The works council's report in Chromium (issue 17): messages held from a terminal through
the real broker and relay, decided by HR; an auditor opens the report in French and English
(charts drawn, no English left on the French page, nothing of the messages and no name of
the one small team or its member), its printable version and its CSV; a supervisor has no
menu entry and gets 403. Screenshots under build/screenshots/console/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import expect as page_expect
from sqlalchemy import select

from hr_console.services import messaging
from hr_console.store.models import Message
from tests.browser import scenery
from tests.browser.english_left import english_left
from tests.browser.live_console import LiveConsole, set_language
from tests.build_output import SCREENSHOTS

OUT = SCREENSHOTS / "console"


def _month_with_decisions(live: LiveConsole) -> str:
    system = live.system
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Karim Benali")
    scenery.held_messages(system, k1)
    with system.store.session() as s:
        ids = s.execute(select(Message.id).order_by(Message.id)).scalars().all()
        messaging.reject(s, ids[0], "Hors charte", "hr")
        messaging.approve(s, ids[1], "hr")
    now = dt.datetime.now(ZoneInfo(system.cfg.timezone))
    return f"{now.year:04d}-{now.month:02d}"


def _nothing_personal(text: str) -> None:
    for word in ("Karim", "Benali", "Sophie", "Atelier", "grève", "palette", "Hors charte"):
        assert word not in text, f"{word!r} on the report"


def test_an_auditor_reads_prints_and_downloads_the_report(live: LiveConsole) -> None:
    month = _month_with_decisions(live)
    OUT.mkdir(parents=True, exist_ok=True)
    for lang, locale in (("fr", "fr-FR"), ("en", "en-GB")):
        page = live.page(locale=locale)
        live.sign_in(page, "auditor")
        set_language(page, lang)
        page.click("nav.mainnav a[href='/council/']")
        page_expect(page.locator("h1")).to_have_text(
            "Rapport pour le CSE" if lang == "fr" else "Works council report")
        page.fill("#month", month)
        page.click("#council-form button")
        page_expect(page.locator("#council-teams tbody tr")).to_have_count(1)
        page_expect(page.locator("#council-teams tbody")).to_contain_text(
            "autres équipes" if lang == "fr" else "other teams")
        page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        assert page.locator("img.chart").count() >= 3
        text = page.inner_text("main")
        _nothing_personal(text)
        if lang == "fr":
            assert english_left(text) == []
        page.screenshot(path=str(OUT / f"council-report-{lang}.png"), full_page=True)

        with page.expect_navigation():
            page.click("#council-print")
        page_expect(page.locator("#council-print-now")).to_be_visible()
        page.emulate_media(media="print")
        page_expect(page.locator("#council-print-now")).to_be_hidden()
        _nothing_personal(page.inner_text("body"))
        page.screenshot(path=str(OUT / f"council-report-print-{lang}.png"), full_page=True)
        page.emulate_media(media="screen")
        page.go_back()

        with page.expect_download() as download:
            page.click("#council-csv")
        body = Path(download.value.path()).read_text(encoding="utf-8-sig")
        _nothing_personal(body)
        assert ("Rejetés" if lang == "fr" else "Rejected") in body
    assert not live.dialogs


def test_a_supervisor_has_no_report(live: LiveConsole) -> None:
    page = live.page()
    live.sign_in(page, "supervisor")
    assert page.locator("nav.mainnav a[href='/council/']").count() == 0
    resp = page.goto(f"{live.url}/council/")
    assert resp is not None and resp.status == 403
