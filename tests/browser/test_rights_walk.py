"""Access requests and legal holds in Chromium (issue 17), on a whole running installation:
Karim writes from a terminal (a text, a photo, a drawing, held for HR through the real
broker and relay); HR exports everything about him from his page in French, watches the
progress, downloads the ZIP (which opens, and holds his messages) and places a legal hold
on him; an auditor in English finds the hold, releases it with a reason and exports
through the access-request form. A supervisor has no menu entry and gets 403. The French
pages are checked for English left; screenshots go to build/screenshots/console/
(``access-request-*``, ``legal-holds-*``, and the report itself,
``access-request-report-fr``)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from playwright.sync_api import Page
from playwright.sync_api import expect as page_expect
from sqlalchemy import select

from hr_console.store.models import AuditEntry, LegalHold
from tests.browser import scenery
from tests.browser.english_left import english_left
from tests.browser.live_console import LiveConsole, set_language
from tests.build_output import SCREENSHOTS

OUT = SCREENSHOTS / "console"
READY_MS = 60_000  # the export thread on 2 shared cores


def _shoot(page: Page, name: str, lang: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}-{lang}.png"), full_page=True)


def _visible_text(page: Page) -> str:
    """What a reader meets; raw records (an audit entry's detail) are data, not interface."""
    return page.evaluate("""() => {
      const body = document.body.cloneNode(true);
      body.querySelectorAll('code, .raw').forEach(e => e.remove());
      document.body.appendChild(body);
      const text = body.innerText; body.remove();
      return [text,
        ...Array.from(document.querySelectorAll('[placeholder]'), e => e.placeholder),
        ...Array.from(document.querySelectorAll('[data-confirm]'), e => e.getAttribute('data-confirm')),
        document.title].join("\\n"); }""")


def _no_english(page: Page) -> None:
    left = english_left(_visible_text(page))
    assert not left, f"English on the French page {page.url}: {left}"


def _download(page: Page, tmp: Path) -> Path:
    page_expect(page.locator("#export-download")).to_be_visible(timeout=READY_MS)
    with page.expect_download() as info:
        page.click("#export-download")
    path = tmp / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_export_and_hold_walk(live: LiveConsole, tmp_path: Path) -> None:
    sys_ = live.system
    karim = sys_.employee("Karim Benali")
    k1 = sys_.link("kiosk-1")
    sys_.badge_in(k1, "Karim Benali")
    scenery.held_messages(sys_, k1)

    hr = live.page(locale="fr-FR")
    live.sign_in(hr, "hr")
    set_language(hr, "fr")
    live.open(hr, f"/employees/{karim}")
    page_expect(hr.locator("#rights")).to_contain_text("Demande d'accès")
    hr.click("#export-person")
    page_expect(hr).to_have_url(re.compile(r"/employees/exports/[\w-]+$"))
    page_expect(hr.locator("#export-progress")).to_be_visible()
    page_expect(hr.locator("#export-download")).to_be_visible(timeout=READY_MS)
    _no_english(hr)
    _shoot(hr, "access-request", "fr")
    zipped = _download(hr, tmp_path)
    with zipfile.ZipFile(zipped) as zf:
        assert zf.testzip() is None
        sent = json.loads(zf.read("json/messages_sent.json"))
        assert {m["kind"] for m in sent} == {"text", "photo", "drawing"}
        report = zf.read("report.html").decode()
        assert "Messages envoyés" in report and "<svg" in report and 'src="photos/' in report
        assert all(m["photo"] in zf.namelist() for m in sent if m["photo"])
        zf.extractall(tmp_path / "unzipped")
    # The report as the employee will open it: the photo shows, the drawing is drawn.
    report = live.page(locale="fr-FR")
    report.goto((tmp_path / "unzipped" / "report.html").as_uri())
    report.wait_for_function("Array.from(document.images).every(i => i.complete)")
    assert report.evaluate("Array.from(document.images).map(i => i.naturalWidth > 0)") == [True]
    assert report.locator("article svg polyline").count() >= 1
    _no_english(report)
    _shoot(report, "access-request-report", "fr")
    hr.reload()
    page_expect(hr.locator("#export-gone")).to_be_visible()

    live.open(hr, f"/employees/{karim}")
    hr.click("#hold-person")
    page_expect(hr.locator("#employee")).to_have_value(str(karim))
    hr.fill("#reason", "Prud'hommes, dossier 24/118")
    hr.click("#place-hold-button")
    row = hr.locator("#holds tbody tr")
    page_expect(row).to_have_count(1)
    page_expect(row).to_contain_text("Karim Benali")
    page_expect(hr.locator(".flash.success")).to_be_visible()
    _no_english(hr)
    _shoot(hr, "legal-holds", "fr")

    auditor = live.page(locale="en-GB")
    live.sign_in(auditor, "auditor")
    set_language(auditor, "en")
    auditor.click("nav >> text=Legal holds")
    page_expect(auditor.locator("#holds")).to_contain_text("Prud'hommes, dossier 24/118")
    _shoot(auditor, "legal-holds", "en")
    auditor.fill("#holds tbody tr input[name=reason]", "Case settled")
    auditor.click("#holds tbody tr button.danger")  # the confirmation is accepted
    page_expect(auditor.locator("#no-holds")).to_be_visible()
    auditor.fill("#export-employee", str(karim))
    auditor.click("#export-button")
    page_expect(auditor.locator("#export-download")).to_be_visible(timeout=READY_MS)
    _shoot(auditor, "access-request", "en")
    with zipfile.ZipFile(_download(auditor, tmp_path)) as zf:
        assert "Messages sent" in zf.read("report.html").decode()

    sup = live.page(locale="fr-FR")
    live.sign_in(sup, "supervisor")
    assert sup.locator("nav a[href='/holds/']").count() == 0
    assert sup.goto(f"{live.url}/holds/").status == 403

    with sys_.store.session() as s:
        hold = s.execute(select(LegalHold)).scalar_one()
        assert hold.placed_by == "hr" and hold.released_by == "auditor"
        actions = [a for a, in s.execute(select(AuditEntry.action).where(
            AuditEntry.action.in_(("person.export", "legal_hold.place", "legal_hold.release")))
            .order_by(AuditEntry.id))]
    assert actions == ["person.export", "legal_hold.place", "legal_hold.release",
                       "person.export"]
