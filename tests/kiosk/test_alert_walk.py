"""Safety alerts on the real kiosk App under Xvfb (issue 16): tests/kiosk/alert_walk.py at
both window sizes side by side, French and English in each, with screenshots whose names
contain ``alert``, in a build folder of their own (``build/screenshots/kiosk-alert/``) that
``make screenshots-kiosk`` copies into docs/screenshots/kiosk/ (the alert with its photo)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.build_output import SCREENSHOTS
from tests.kiosk.alert_walk import SHOTS, check_alert
from tests.kiosk.test_ui_walk import WALK_SIZES, check_shots, walk_both_sizes

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None,
    reason="xvfb-run is missing: install Debian's xvfb and xauth (`make test` does it)")


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Any, Path]]]:
    shots = SCREENSHOTS / "kiosk-alert"
    shots.mkdir(parents=True, exist_ok=True)
    yield from walk_both_sizes(tmp_path_factory.mktemp("alerts"), "alert", 600, shots)


@pytest.mark.parametrize("size", WALK_SIZES)
def test_safety_alert_walk(size: str, walked: dict[str, tuple[Any, Path]]) -> None:
    result, shots = walked[size]
    check_alert(result["checks"])
    check_shots(size, result, shots, SHOTS, "alert")
