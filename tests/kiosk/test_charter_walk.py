"""The messaging charter at badge-in and "How my messages are handled" on the real kiosk App
under Xvfb (issue 17): tests/kiosk/charter_walk.py at both window sizes side by side, French
and English in each. Its screenshots go to build/screenshots/kiosk/ beside the other walks'
(names ``kiosk-SIZE-LANG-charter-*.png``), which ``make screenshots`` copies into docs/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kiosk.charter_walk import SHOTS, check_charter
from tests.kiosk.test_ui_walk import SHOTS as SHOTS_DIR
from tests.kiosk.test_ui_walk import WALK_SIZES, Walk, check_screens

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None,
    reason="xvfb-run is missing: install Debian's xvfb and xauth (`make test` does it)")


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("charter")
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    for old in SHOTS_DIR.glob("kiosk-*-charter-*.png"):
        old.unlink()  # a shot this walk no longer makes must not pass for one it made
    started = {size: Walk(tmp, size, "charter", shots=SHOTS_DIR) for size in WALK_SIZES}
    try:
        yield {size: w.result(timeout=600) for size, w in started.items()}
    finally:
        for w in started.values():
            w.stop()


@pytest.mark.parametrize("size", WALK_SIZES)
def test_charter_walk(size: str, walked: dict[str, Any]) -> None:
    result = walked[size]
    check_charter(result["checks"])
    check_screens(result)  # every target >= 48 dp, no word of the interface cut short
    made = sorted(p.name for p in SHOTS_DIR.glob(f"kiosk-{size}-*-charter-*.png"))
    assert made == sorted(result["shots"])
    assert made == sorted(f"kiosk-{size}-{lang}-{name}.png" for lang in ("fr", "en")
                          for name in SHOTS)
    assert all(Path(SHOTS_DIR / name).stat().st_size > 10_000 for name in made)
