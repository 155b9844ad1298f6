"""The off-shift notice and greyed off-shift contacts on the real kiosk App under Xvfb
(issue 16): tests/kiosk/offshift_walk.py at both window sizes side by side, French and
English in each, with screenshots whose names contain ``offshift``, written under
build/screenshots/kiosk-offshift (build output, not in git)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kiosk.offshift_walk import SHOTS, check_offshift
from tests.kiosk.test_ui_walk import ROOT, WALK_SIZES, check_shots, walk_both_sizes

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None,
    reason="xvfb-run is missing: install Debian's xvfb and xauth (`make test` does it)")

SHOTS_DIR = ROOT / "build" / "screenshots" / "kiosk-offshift"


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Any, Path]]]:
    yield from walk_both_sizes(tmp_path_factory.mktemp("offshift"), "offshift", 600, SHOTS_DIR)


@pytest.mark.parametrize("size", WALK_SIZES)
def test_offshift_walk(size: str, walked: dict[str, tuple[Any, Path]]) -> None:
    result, shots = walked[size]
    check_offshift(result["checks"])
    check_shots(size, result, shots, SHOTS, "offshift")
