"""The safety alert button on the idle screen (issue 16) on the real kiosk App under Xvfb:
tests/kiosk/alert_idle_walk.py at both window sizes side by side, French and English in each,
against the real broker, relay and console. Screenshots ``kiosk-SIZE-LANG-alert-idle*.png``
are written under build/screenshots/kiosk-alert-idle (build output, not in git)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.build_output import SCREENSHOTS
from tests.kiosk.alert_idle_walk import SHOTS, check_alert_idle
from tests.kiosk.test_ui_walk import WALK_SIZES, check_shots, walk_both_sizes

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None,
    reason="xvfb-run is missing: install Debian's xvfb and xauth (`make test` does it)")

SHOTS_DIR = SCREENSHOTS / "kiosk-alert-idle"


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Any, Path]]]:
    yield from walk_both_sizes(tmp_path_factory.mktemp("alert-idle"), "alert_idle", 600, SHOTS_DIR)


@pytest.mark.parametrize("size", WALK_SIZES)
def test_alert_from_the_idle_screen_walk(size: str, walked: dict[str, tuple[Any, Path]]) -> None:
    result, shots = walked[size]
    check_alert_idle(result["checks"])
    check_shots(size, result, shots, SHOTS, "alert-idle")
