"""The real console served by waitress on a free port, on the database of a whole test
installation (``tests.system_fixture.make_system``: real Mosquitto, a relay, terminal
links), and the few browser gestures every walk repeats."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Dialog, Error, Page
from playwright.sync_api import expect as page_expect
from waitress.server import create_server

from broker_config.ports import free_port
from hr_console.web import create_app
from tests.system_fixture import DEMO_PASSWORD, System, make_system

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}


@dataclass
class LiveConsole:
    """The console of ``system`` at ``url``; ``dialogs`` collects every dialog any page
    opened (an injected ``alert`` would land here)."""

    system: System
    url: str
    browser: Browser
    dialogs: list[str] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)

    def page(self, *, locale: str = "en-GB", bypass_csp: bool = False,
             accept_confirms: bool = True) -> Page:
        context = self.browser.new_context(viewport=VIEWPORT, locale=locale, bypass_csp=bypass_csp)
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()

        def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            if dialog.type == "confirm" and accept_confirms:
                dialog.accept()
            else:
                dialog.dismiss()

        page.on("dialog", on_dialog)
        return page

    def sign_in(self, page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
        """Through the login form, as a person would."""
        page.goto(f"{self.url}/auth/login")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page_expect(page.locator("header .who .user")).to_contain_text(username)

    def open(self, page: Page, path: str) -> Page:
        resp = page.goto(f"{self.url}{path}")
        assert resp is not None and resp.status == 200, f"{path}: {resp and resp.status}"
        return page


def set_language(page: Page, lang: str) -> None:
    """Switch the signed-in user's language with the button in the top bar."""
    if page.locator("html").get_attribute("lang") == lang:
        return
    page.click(f"header .who button[name=language][value={lang}]")
    page_expect(page.locator("html")).to_have_attribute("lang", lang)


@contextmanager
def serve(system: System, browser: Browser) -> Iterator[LiveConsole]:
    """``create_app`` exactly as ``relais console`` builds it, under waitress."""
    port = free_port()
    app = create_app(system.cfg)
    server = create_server(app, host="127.0.0.1", port=port, threads=8)  # as `relais console` serves it
    thread = threading.Thread(target=server.run, name="console", daemon=True)
    thread.start()
    console = LiveConsole(system, f"http://127.0.0.1:{port}", browser)
    try:
        yield console
    finally:
        for context in console.contexts:  # no page may still be polling the server
            with suppress(Error):
                context.close()
        server.close()
        thread.join(timeout=5)
        app.extensions["relais_store"].dispose()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.2)


def words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-zÀ-ÿ']+", text)}


@contextmanager
def live_day(tmp: Path, browser: Browser) -> Iterator[LiveConsole]:
    """A demo system on SQLite in ``tmp`` with its console served to ``browser``: the
    module-scoped ``day`` of a browser walk."""
    system = make_system(tmp, f"sqlite:///{tmp / 'relais.db'}")
    try:
        with serve(system, browser) as console:
            yield console
    finally:
        system.close()
