"""Browser fixtures: one headless Debian Chromium for the session (never one Playwright
downloads), and the real console served next to a whole running installation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.live_console import CHROMIUM, CHROMIUM_ARGS, LiveConsole, serve
from tests.system_fixture import System, make_system


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make sysdeps` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[System]:
    system = make_system(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}")
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def live(installation: System, chromium) -> Iterator[LiveConsole]:  # noqa: ANN001
    with serve(installation, chromium) as console:
        yield console
