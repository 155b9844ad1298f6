"""The notice form's reminder interval and the tracking page's reminders in Chromium (issue
16), on a whole running installation: the interval is offered only while a confirmation is
asked, an urgent notice proposes every 5 minutes until HR picks another, what is chosen is
stored, and the tracking page counts the reminders HR's button sends, per person and in all."""

from __future__ import annotations

import re

from playwright.sync_api import Page
from playwright.sync_api import expect as page_expect
from sqlalchemy import select

from hr_console.store.models import Notice, Team
from kiosk_app.link import events as ev
from tests.browser.live_console import LiveConsole
from tests.system_fixture import expect


def _hr(live: LiveConsole) -> Page:
    page = live.page(locale="fr-FR")
    live.sign_in(page, "hr")
    return page


def _stored(live: LiveConsole, title: str) -> Notice:
    with live.system.store.session() as s:
        return s.execute(select(Notice).where(Notice.title == title)).scalar_one()


def test_the_interval_follows_the_confirmation_and_the_priority(live: LiveConsole) -> None:
    page = _hr(live)
    live.open(page, "/notices/new")
    every = page.locator("#remind_every")
    page_expect(every).to_be_disabled()  # no confirmation asked: nothing to repeat
    page.check("#ack_required")
    page_expect(every).to_be_enabled()
    page_expect(every).to_have_value("none")
    page.check("input[name=priority][value=urgent]")
    page_expect(every).to_have_value("5")  # urgent: every 5 minutes proposed
    page.check("input[name=priority][value=normal]")
    page_expect(every).to_have_value("none")
    page.select_option("#remind_every", "30")  # HR's own choice is kept from now on
    page.check("input[name=priority][value=urgent]")
    page_expect(every).to_have_value("30")

    with live.system.store.session() as s:
        atelier = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
    page.fill("#title", "Consignes EPI")
    page.select_option("#target", f"team:{atelier}")
    page.locator("form.notice-form button[type=submit]").click()
    page_expect(page).to_have_url(re.compile(r"/notices/\d+$"))
    stored = _stored(live, "Consignes EPI")
    assert (stored.urgent, stored.ack_required, stored.remind_every_min) == (True, True, 30)
    page_expect(page.locator("[data-remind-every]")).to_contain_text("toutes les 30 minutes")


def test_tracking_counts_the_reminders_sent(live: LiveConsole) -> None:
    system = live.system
    link = system.link("kiosk-1")
    system.badge_in(link, "Karim Benali")
    page = _hr(live)
    live.open(page, "/notices/new")
    with system.store.session() as s:
        atelier = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
    page.fill("#title", "Inventaire samedi")
    page.select_option("#target", f"team:{atelier}")
    page.check("#ack_required")
    page.locator("form.notice-form button[type=submit]").click()
    page_expect(page).to_have_url(re.compile(r"/notices/\d+$"))
    page_expect(page.locator("[data-count=reminders]")).to_have_text("0")
    uid = _stored(live, "Inventaire samedi").uid
    expect(link, ev.NoticeArrived, lambda e: e.notice.get("notice") == uid)

    page.locator("form[action$='/remind'] button").click()  # Karim, Sophie and Julie
    page_expect(page.locator(".flash.success")).to_contain_text("Relance envoyée à 3 personnes")
    again = expect(link, ev.NoticeArrived, lambda e: e.notice.get("notice") == uid)
    assert again.notice["reminder"] is True
    page_expect(page.locator("[data-count=reminders]")).to_have_text("3")
    karim = system.employee("Karim Benali")
    page_expect(page.locator(f"tr[data-employee='{karim}'] [data-reminders]")).to_contain_text("1")
    page_expect(page.locator("#pending")).to_contain_text("Relances")
