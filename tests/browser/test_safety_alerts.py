"""A safety alert on the console in Chromium (issue 16), end to end: a worker raises it from
a terminal link through the real broker and relay; the French dashboard shows it first, red,
asks for its sound, and has no English left; a supervisor marks it handled on the list page
and it leaves the dashboard."""

from __future__ import annotations

import time

from playwright.sync_api import expect as page_expect
from sqlalchemy import select

from hr_console.store.models import SafetyAlert
from kiosk_app.link import events as ev
from tests.browser.english_left import english_left
from tests.browser.live_console import LiveConsole, set_language
from tests.system_fixture import expect


def _raised(live: LiveConsole) -> None:
    system = live.system
    link = system.link("kiosk-1")
    system.badge_in(link, "Karim Benali")
    alert = link.send_alert("fall", "Chute dans l'escalier B")
    expect(link, ev.StateChanged, lambda e: e.msg == alert and e.state == "accepted")


def test_alert_on_the_dashboard_then_handled(live: LiveConsole) -> None:
    _raised(live)
    page = live.page(locale="fr-FR")
    sounds: list[str] = []
    page.on("request", lambda r: sounds.append(r.url) if r.url.endswith("/safety/sound.wav")
            else None)
    live.sign_in(page, "hr")
    set_language(page, "fr")
    live.open(page, "/dashboard/")
    card = page.locator("#safety-alerts")
    page_expect(card).to_contain_text("1 alerte sécurité en cours")
    page_expect(card).to_contain_text("Chute")
    page_expect(card).to_contain_text("Karim Benali")
    page_expect(card).to_contain_text("Chute dans l'escalier B")
    deadline = time.monotonic() + 5
    while not sounds and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert sounds, "the dashboard did not ask for the alert's sound"
    assert english_left(page.inner_text("main") if page.locator("main").count()
                        else page.inner_text("body")) == []

    sup = live.page(locale="fr-FR")
    live.sign_in(sup, "supervisor")
    set_language(sup, "fr")
    live.open(sup, "/safety/")
    assert english_left(sup.inner_text("body")) == []
    sup.click("#safety-list button:has-text('Marquer comme traitée')")
    page_expect(sup.locator("#safety-list")).to_contain_text("par supervisor")
    with live.system.store.session() as s:
        assert s.execute(select(SafetyAlert.handled_at)).scalar_one() is not None
    live.open(page, "/dashboard/")
    page_expect(page.locator("#safety-alerts")).to_have_count(0)
    assert not live.dialogs
