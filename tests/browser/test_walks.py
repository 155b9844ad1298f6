"""Walks through the console in a real browser, as the people who use it would, on a whole
running installation: waitress serving the console, Mosquitto, the relay, and two terminal
links with Karim (pre-moderated, kiosk-1) and Sophie (Atelier's supervisor, kiosk-2)
badged in. What a walk does in the page, the relay must carry out; what a terminal does,
the page must show.

The tests of this module share one installation and run in order, as one working day."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect as page_expect
from sqlalchemy import select

from hr_console.store.models import Media, Message, Team
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from tests.browser.live_console import LiveConsole, live_day, wait_for
from tests.system_fixture import System, expect, expect_none
from tests.wire.hostile_audio import clip

LIVE_QUEUE_WAIT_MS = 15_000  # the queue polls every 5 s; a generous margin for 2 shared cores


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory, chromium) -> Iterator[LiveConsole]:  # noqa: ANN001
    with live_day(tmp_path_factory.mktemp("walks"), chromium) as console:
        yield console


@pytest.fixture(scope="module")
def kiosks(day: LiveConsole) -> tuple[TerminalLink, TerminalLink]:
    sys_ = day.system
    k1, k2 = sys_.link("kiosk-1"), sys_.link("kiosk-2")
    sys_.badge_in(k1, "Karim Benali")
    sys_.badge_in(k2, "Sophie Martin")
    return k1, k2


def _state(link: TerminalLink, msg: str, state: str) -> ev.StateChanged:
    return expect(link, ev.StateChanged, lambda e: e.msg == msg and e.state == state)


def _mark_page(page: Page) -> None:
    """A marker that a reload would wipe out: items must arrive with it still there."""
    page.evaluate("window.__sameDocument = true")


def _same_page(page: Page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def _team_id(system: System, name: str) -> int:
    with system.store.session() as s:
        return s.execute(select(Team.id).where(Team.name == name)).scalar_one()


# --- HR -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hr(day: LiveConsole) -> Page:
    page = day.page(locale="fr-FR")
    day.sign_in(page, "hr")  # through the form; HR lands on the dashboard
    page_expect(page).to_have_url(re.compile(r"/dashboard/$"))
    return page


def test_hr_approves_a_held_message_that_arrived_live(day: LiveConsole, kiosks, hr: Page) -> None:  # noqa: ANN001
    k1, k2 = kiosks
    sys_ = day.system
    day.open(hr, "/moderation/")
    page_expect(hr.locator("#held-count")).to_have_text("0")
    _mark_page(hr)

    msg = k1.send_text(sys_.employee("Sophie Martin"), "Je peux partir à 15h jeudi ?")
    _state(k1, msg, "held")
    item = hr.locator("li.moditem", has_text="Je peux partir à 15h jeudi ?")
    page_expect(item).to_be_visible(timeout=LIVE_QUEUE_WAIT_MS)
    page_expect(hr.locator("#held-count")).to_have_text("1")
    assert _same_page(hr), "the page was reloaded: the queue is not live"
    page_expect(item.locator(".modhead")).to_contain_text("Karim Benali")
    page_expect(item.locator(".modhead")).to_contain_text("Sophie Martin")

    expect_none(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg, wait=0.5)
    item.locator("button.ok").click()
    page_expect(hr.locator(".flash.success")).to_contain_text("approuvé")
    arrived = expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)
    assert arrived.message["text"] == "Je peux partir à 15h jeudi ?"
    assert arrived.message["from_name"] == "Karim Benali"
    _state(k1, msg, "approved")
    page_expect(hr.locator("li.moditem")).to_have_count(0)


def _plays(page: Page, audio) -> dict:  # noqa: ANN001
    """Play a console audio player (muted: headless, and no gesture needed) until a second
    has passed; what the browser says of it."""
    audio.evaluate("a => { a.muted = true; return a.play(); }")
    page.wait_for_function("a => a.currentTime > 1.0", arg=audio.element_handle(), timeout=15_000)
    return audio.evaluate("a => ({duration: a.duration, error: a.error && a.error.code,"
                          " at: a.currentTime})")


def test_hr_listens_to_a_voice_message_then_approves_it(day: LiveConsole, kiosks, hr: Page) -> None:  # noqa: ANN001
    """Issue 19: a voice message waits for HR (held by default), who plays it in the queue,
    live and after a reload, and approves it; it reaches the terminal as the server stored it."""
    k1, k2 = kiosks
    sys_ = day.system
    day.open(hr, "/moderation/")
    _mark_page(hr)
    msg = k1.send_voice(sys_.employee("Sophie Martin"), clip(2.5), 2500)
    _state(k1, msg, "held")
    item = hr.locator("li.moditem", has_text="Karim Benali").filter(has=hr.locator("audio"))
    page_expect(item).to_be_visible(timeout=LIVE_QUEUE_WAIT_MS)
    assert _same_page(hr), "the page was reloaded: the queue is not live"
    page_expect(item.locator(".modvoice")).to_contain_text("0:03")
    played = _plays(hr, item.locator("audio"))
    assert played["error"] is None and abs(played["duration"] - 2.5) < 0.1, played

    day.open(hr, "/moderation/")  # drawn by the server this time
    item = hr.locator("li.moditem").filter(has=hr.locator("audio"))
    page_expect(item.locator(".badge", has_text="vocal")).to_be_visible()
    played = _plays(hr, item.locator("audio"))
    assert played["error"] is None and abs(played["duration"] - 2.5) < 0.1, played
    item.locator("button.ok").click()
    page_expect(hr.locator(".flash.success")).to_contain_text("approuvé")
    arrived = expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg).message
    with sys_.store.session() as s:
        stored = s.execute(select(Media.data).join(Message, Message.media_id == Media.id)
                           .where(Message.client_id == msg)).scalar_one()
    assert base64.b64decode(arrived["audio"]) == stored
    _state(k1, msg, "delivered")


def test_hr_rejects_with_a_reason_the_sender_sees(day: LiveConsole, kiosks, hr: Page) -> None:  # noqa: ANN001
    k1, k2 = kiosks
    sys_ = day.system
    day.open(hr, "/moderation/")
    _mark_page(hr)
    msg = k1.send_text(sys_.employee("Sophie Martin"), "On parle de la grève à la pause ?")
    _state(k1, msg, "held")
    item = hr.locator("li.moditem", has_text="On parle de la grève à la pause ?")
    page_expect(item).to_be_visible(timeout=LIVE_QUEUE_WAIT_MS)
    assert _same_page(hr)
    page_expect(item.locator("mark")).to_have_text("grève")  # the keyword hit, highlighted
    page_expect(item.locator(".badge.held")).to_have_text("grève")

    reason = "Merci d'en parler directement avec ton chef d'équipe."
    item.locator("input[name=reason]").fill(reason)
    item.locator("button.danger").click()
    page_expect(hr.locator(".flash.success")).to_contain_text("refusé")
    rejected = _state(k1, msg, "rejected")
    assert rejected.reason == reason
    expect_none(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)

    day.open(hr, "/moderation/history")
    row = hr.locator("main", has_text=reason)
    page_expect(row).to_be_visible()


def test_hr_changes_a_contact_list_and_the_relay_enforces_it(day: LiveConsole, kiosks, hr: Page) -> None:  # noqa: ANN001
    _k1, k2 = kiosks
    sys_ = day.system
    sophie, thomas = sys_.employee("Sophie Martin"), sys_.employee("Thomas Petit")
    refused = k2.send_text(thomas, "Thomas, tu as des palettes en trop ?")
    assert _state(k2, refused, "refused").reason == "not_allowed"

    day.open(hr, f"/contacts/{sophie}")
    page_expect(hr.locator(f"#can-write-to li[data-id='{thomas}']")).to_have_count(0)
    hr.fill("#find", "Thomas")
    hr.locator("#person-rules button", has_text=re.compile("Rechercher")).click()
    hr.locator("#find-results button[value=out]", has_text="Sophie Martin → Thomas Petit").click()
    page_expect(hr.locator(".flash.success")).to_be_visible()
    page_expect(hr.locator(f"#can-write-to li[data-id='{thomas}']")).to_have_count(1)

    allowed = k2.send_text(thomas, "Thomas, tu as des palettes en trop ?")
    _state(k2, allowed, "accepted")  # Sophie is not moderated: accepted straight away

    # Take the rule back (a confirmation dialog, accepted): the next message is refused again.
    hr.locator("#rules-as-sender tr", has_text="Thomas Petit").locator("button.danger").click()
    page_expect(hr.locator(".flash.success")).to_be_visible()
    page_expect(hr.locator(f"#can-write-to li[data-id='{thomas}']")).to_have_count(0)
    again = k2.send_text(thomas, "Et maintenant ?")
    assert _state(k2, again, "refused").reason == "not_allowed"
    assert any("confirm" in d for d in day.dialogs)


def test_hr_sends_an_urgent_notice_and_sees_acknowledgements(day: LiveConsole, kiosks, hr: Page) -> None:  # noqa: ANN001
    k1, k2 = kiosks
    sys_ = day.system
    title = "Exercice d'évacuation à 14h"
    day.open(hr, "/notices/new")
    hr.fill("#title", title)
    hr.fill("#body", "Rassemblement sur le parking nord.")
    hr.select_option("#target", f"team:{_team_id(sys_, 'Atelier')}")
    hr.check("input[name=priority][value=urgent]")
    hr.check("#ack_required")
    hr.locator("form.notice-form button[type=submit]").click()
    page_expect(hr).to_have_url(re.compile(r"/notices/\d+$"))
    page_expect(hr.locator(".flash.success")).to_be_visible()
    page_expect(hr.locator("h1 .badge.urgent")).to_be_visible()
    tracking = hr.url

    uids = []
    for link in (k1, k2):
        arrived = expect(link, ev.NoticeArrived, lambda e: e.notice.get("title") == title)
        assert arrived.notice["urgent"] is True and arrived.notice["ack_required"] is True
        uids.append(arrived.notice["notice"])
    karim, sophie, julie = (sys_.employee(n) for n in ("Karim Benali", "Sophie Martin", "Julie Moreau"))
    page_expect(hr.locator(f"#pending tr[data-employee='{karim}']")).to_be_visible()

    k1.acknowledge(uids[0])
    k2.acknowledge(uids[1])

    def both_acknowledged() -> bool:
        hr.goto(tracking)
        return hr.locator("#done tr[data-state=acknowledged]").count() == 2

    wait_for(both_acknowledged, "both acknowledgements on the tracking page")
    for who in (karim, sophie):
        page_expect(hr.locator(f"#done tr[data-employee='{who}']")).to_be_visible()
    page_expect(hr.locator(f"#pending tr[data-employee='{julie}']")).to_be_visible()  # not badged in
    page_expect(hr.locator("[data-count=acknowledged]")).to_have_text("2")
    page_expect(hr.locator("[data-count=audience]")).to_have_text("3")
    assert not [d for d in day.dialogs if not d.startswith("confirm")]


# --- supervisor and auditor -----------------------------------------------------------------


def test_supervisor_sends_notices_to_their_own_team_only(day: LiveConsole, kiosks) -> None:  # noqa: ANN001
    k1, _k2 = kiosks
    sys_ = day.system
    page = day.page(locale="fr-FR")
    day.sign_in(page, "supervisor")
    page_expect(page).to_have_url(re.compile(r"/notices/$"))
    menu = page.locator("nav.mainnav a")
    # Notices, and the safety alerts they receive on their terminals too (issue 16).
    assert {a.get_attribute("href") for a in menu.all()} == {"/notices/", "/safety/"}

    day.open(page, "/notices/new")
    options = page.locator("#target option").evaluate_all("os => os.map(o => o.value)")
    atelier, logistique = _team_id(sys_, "Atelier"), _team_id(sys_, "Logistique")
    assert f"team:{atelier}" in options
    assert f"team:{logistique}" not in options and "everyone" not in options
    assert not any(o.startswith("site:") for o in options)

    page.fill("#title", "Réunion d'équipe à 9h")
    page.select_option("#target", f"team:{atelier}")
    page.locator("form.notice-form button[type=submit]").click()
    page_expect(page).to_have_url(re.compile(r"/notices/\d+$"))
    expect(k1, ev.NoticeArrived, lambda e: e.notice.get("title") == "Réunion d'équipe à 9h")

    # A forged form for another team is refused by the server, and sends nothing.
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    forged = page.request.post(f"{day.url}/notices/new", form={
        "csrf_token": token, "title": "Pas pour moi", "target": f"team:{logistique}",
        "priority": "normal"}, max_redirects=0)
    assert forged.status == 403
    for path in ("/employees/", "/contacts/", "/settings/", "/audit/", "/terminals/", "/dashboard/",
                 "/moderation/"):  # moderation only while a setting allows it (off here)
        assert page.goto(f"{day.url}{path}").status == 403, path
    expect_none(k1, ev.NoticeArrived, lambda e: e.notice.get("title") == "Pas pour moi", wait=0.5)
    page.context.close()


def test_auditor_reads_the_audit_log_and_changes_nothing(day: LiveConsole, kiosks) -> None:  # noqa: ANN001
    page = day.page(locale="en-GB")
    day.sign_in(page, "auditor")
    page_expect(page).to_have_url(re.compile(r"/audit/$"))
    # The works council's report, legal holds and access requests, the charter (read
    # only) too (issue 17).
    assert [a.get_attribute("href") for a in page.locator("nav.mainnav a").all()] == \
        ["/groups/", "/audit/", "/council/", "/holds/", "/charter/"]
    # The day's decisions are there: an approval, a rejection with its reason, the notice.
    table = page.locator("table.audit")
    for code in ("message.approve", "message.reject", "contact_rule.create", "contact_rule.delete",
                 "notice.create", "login.success"):
        page.select_option("#action", code)
        page.locator("form.filters button.primary").click()
        page_expect(table.locator("tbody tr code", has_text=code).first).to_be_visible()
    page.select_option("#action", "message.reject")
    page.locator("form.filters button.primary").click()
    page_expect(table).to_contain_text("Merci d'en parler directement avec ton chef d'équipe.")
    page_expect(page.locator(".chain.ok")).to_be_visible()

    # Reading only: the one form that posts is the (audited) export.
    posts = page.locator("form[method=post]").evaluate_all("fs => fs.map(f => f.getAttribute('action'))")
    assert set(posts) - {"/auth/language", "/auth/logout"} == {"/audit/export.csv"}
    with page.expect_download() as download:
        page.locator("form[action='/audit/export.csv'] button").click()
    assert "message.reject" in Path(download.value.path()).read_text(encoding="utf-8-sig")

    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    for path in ("/moderation/", "/employees/", "/notices/", "/settings/", "/contacts/"):
        assert page.goto(f"{day.url}{path}").status == 403, path
    for path in ("/settings/", "/notices/new", "/employees/new", "/terminals/new"):
        resp = page.request.post(f"{day.url}{path}", form={"csrf_token": token}, max_redirects=0)
        assert resp.status == 403, path
    page.context.close()
