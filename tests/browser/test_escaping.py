"""Names and texts that hold HTML or script are shown as text on every page they reach.

People, a team, a site, a shift, a notice, messages, a rejection reason and keywords are
given hostile values (and a terminal name is tried in the enrolment form). Each page that
shows them is opened in Chromium with the content security policy BYPASSED, so that
escaping alone stands between the data and the page: no dialog may open, no injected
element may appear, and the text must read literally."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect as page_expect
from sqlalchemy import select

from hr_console.services import directory, messaging, notices, settings
from hr_console.store.models import Employee, Notice, Site, Team
from kiosk_app.link import events as ev
from tests.browser.live_console import LiveConsole, serve
from tests.system_fixture import System, expect, make_system

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEXTAREA = "</textarea><script>alert(2)</script>"
PERSON = f"Léa {SCRIPT}{IMG}"
TEAM = f"Quai {IMG}"
SITE = f"Site {SCRIPT}"
SHIFT = f"Nuit {IMG}"
NOTICE_TITLE = f"Annonce {SCRIPT}"
NOTICE_BODY = f"{IMG}\n{SCRIPT}"
HELD_TEXT = f"{SCRIPT} alerte {IMG}"
REJECTED_TEXT = f"Encore {IMG}"
LIVE_TEXT = f"En direct {SCRIPT} alerte {IMG}"
REASON = f"Motif {SCRIPT}{IMG}"
KEYWORDS = ["alerte", IMG, TEXTAREA]
BADGE = "7001"

INJECTED = "img[src='x'], [onerror], script:not([src])"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, chromium) -> Iterator[LiveConsole]:  # noqa: ANN001
    tmp: Path = tmp_path_factory.mktemp("escaping")
    system = make_system(tmp, f"sqlite:///{tmp / 'relais.db'}")
    try:
        _plant(system)
        with serve(system, chromium) as console:
            yield console
    finally:
        system.close()


def _plant(system: System) -> None:
    with system.store.session() as s:
        site = directory.site(s, SITE, actor="hr")
        team = directory.team(s, TEAM, site, actor="hr")
        person = directory.employee(s, PERSON, pepper=system.cfg.badge_pepper, team_row=team,
                                    badge=BADGE, actor="hr")
        team.supervisor_id = person.id
        directory.shift(s, team, SHIFT, ["mon", "tue"], dt.time(22), dt.time(6), actor="hr")
        directory.contact_rule(s, "team", team.id, "team", team.id, actor="hr")
        settings.put(s, "keywords", KEYWORDS)
        notices.compose(s, notices.EVERYTHING, title=NOTICE_TITLE, body=NOTICE_BODY,
                        target_kind="team", target_ref=team.id, urgent=True, ack_required=True,
                        valid_from=None, valid_until=None, photo=None, actor="hr", user_id=None)
    link = system.link("kiosk-2")
    link.login(BADGE)
    expect(link, ev.LoginOk)
    hr_desk = system.employee("Claire Dubois (RH)")
    held = link.send_text(hr_desk, HELD_TEXT)
    rejected = link.send_text(hr_desk, REJECTED_TEXT)
    for msg in (held, rejected):
        expect(link, ev.StateChanged, lambda e, m=msg: e.msg == m and e.state == "held")
    with system.store.session() as s:
        me = s.execute(select(Employee.id).where(Employee.name == PERSON)).scalar_one()
        messaging.reject(s, messaging.find(s, me, rejected).id, REASON, actor="hr")
    assert expect(link, ev.StateChanged, lambda e: e.msg == rejected and e.state == "rejected"
                  ).reason == REASON


def _ids(system: System) -> tuple[int, int, int]:
    with system.store.session() as s:
        person = s.execute(select(Employee.id).where(Employee.name == PERSON)).scalar_one()
        team = s.execute(select(Team.id).where(Team.name == TEAM)).scalar_one()
        site = s.execute(select(Site.id).where(Site.name == SITE)).scalar_one()
    return person, team, site


def _shown(page: Page) -> str:
    """What a reader sees: the text of the page and the values of its fields."""
    return page.evaluate("""() => document.body.innerText + "\\n" + Array.from(
        document.querySelectorAll('input, textarea, option')).map(e => e.value + " " + e.text).join("\\n")""")


def _check(live: LiveConsole, page: Page, path: str, *expected: str) -> None:
    live.open(page, path)
    page.wait_for_load_state("networkidle")
    assert page.locator(INJECTED).count() == 0, f"{path}: an injected element is in the page"
    shown = _shown(page)
    for text in expected:
        assert text in shown, f"{path}: {text!r} is not shown literally"
    assert not live.dialogs, f"{path}: a dialog opened: {live.dialogs}"


@pytest.fixture(scope="module")
def admin(hostile: LiveConsole) -> Page:
    page = hostile.page(bypass_csp=True)
    hostile.sign_in(page, "admin")
    return page


def test_hostile_names_and_texts_are_shown_as_text(hostile: LiveConsole, admin: Page) -> None:
    person, team, _site = _ids(hostile.system)
    pages = [
        ("/dashboard/", ()),
        ("/moderation/", (PERSON, HELD_TEXT, IMG, TEAM)),
        ("/moderation/history", (PERSON, REASON)),
        ("/moderation/recent?show=all", ()),
        ("/employees/", (PERSON, TEAM)),
        ("/employees/?q=L%C3%A9a", (PERSON,)),
        (f"/employees/{person}", (PERSON, TEAM)),
        ("/teams/", (TEAM, SITE, PERSON)),
        (f"/teams/{team}", (TEAM, SHIFT, PERSON)),
        ("/contacts/", (TEAM,)),
        ("/contacts/?q=L%C3%A9a", (PERSON,)),
        (f"/contacts/{person}", (PERSON, TEAM)),
        (f"/contacts/{hostile.system.employee('Karim Benali')}?find=L%C3%A9a", (PERSON,)),
        ("/notices/", (NOTICE_TITLE,)),
        ("/notices/new", (TEAM, SITE, SHIFT)),
        ("/audit/", (PERSON, TEAM, REASON)),
        ("/settings/", (IMG, TEXTAREA)),
        ("/terminals/", ()),
    ]
    for path, expected in pages:
        _check(hostile, admin, path, *expected)
    with hostile.system.store.session() as s:
        notice = s.execute(select(Notice.id).where(Notice.title == NOTICE_TITLE)).scalar_one()
    _check(hostile, admin, f"/notices/{notice}", NOTICE_TITLE, SCRIPT, IMG, PERSON, TEAM)
    # Keyword hits are highlighted around the hostile text, still as text.
    _check(hostile, admin, "/moderation/")
    page_expect(admin.locator("li.moditem mark", has_text="alerte")).to_be_visible()


def test_hostile_message_arriving_live_is_built_as_text(hostile: LiveConsole, admin: Page) -> None:
    """The live queue builds new items in the browser (moderation.js): the same holds."""
    _check(hostile, admin, "/moderation/")
    link = hostile.system.links[0]
    msg = link.send_text(hostile.system.employee("Claire Dubois (RH)"), LIVE_TEXT)
    expect(link, ev.StateChanged, lambda e: e.msg == msg and e.state == "held")
    item = admin.locator("li.moditem.fresh", has_text="En direct")
    page_expect(item).to_be_visible(timeout=15_000)
    page_expect(item.locator(".modtext")).to_have_text(LIVE_TEXT)
    page_expect(item.locator(".modhead")).to_contain_text(PERSON)
    page_expect(item.locator("mark")).to_have_text(["alerte", IMG])  # both keywords hit
    assert admin.locator(INJECTED).count() == 0
    assert not hostile.dialogs


def test_hostile_terminal_name_is_refused_and_echoed_as_text(hostile: LiveConsole, admin: Page) -> None:
    _check(hostile, admin, "/terminals/")
    admin.fill("form[action$='/terminals/new'] input[name=name]", IMG)
    admin.locator("form[action$='/terminals/new'] button").click()
    admin.wait_for_load_state("networkidle")
    assert admin.locator(INJECTED).count() == 0
    assert not hostile.dialogs
    page_expect(admin.locator(".field-error, .flash.error").first).to_be_visible()
    assert "kiosk-1" in _shown(admin)
