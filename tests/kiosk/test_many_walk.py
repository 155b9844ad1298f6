"""A worker who may write to 160 people on the real kiosk App under Xvfb:
tests/kiosk/many_walk.py at both window sizes side by side, French and English in each, with
screenshots whose names contain ``many``, written under build/screenshots/kiosk-many (build
output, not in git)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kiosk.many_walk import SHOTS, check_many
from tests.kiosk.test_ui_walk import ROOT, WALK_SIZES, check_shots, walk_both_sizes

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None,
    reason="xvfb-run is missing: install Debian's xvfb and xauth (`make test` does it)")

SHOTS_DIR = ROOT / "build" / "screenshots" / "kiosk-many"


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Any, Path]]]:
    yield from walk_both_sizes(tmp_path_factory.mktemp("many"), "many", 600, SHOTS_DIR)


@pytest.mark.parametrize("size", WALK_SIZES)
def test_many_contacts_walk(size: str, walked: dict[str, tuple[Any, Path]]) -> None:
    result, shots = walked[size]
    check_many(result["checks"])
    check_shots(size, result, shots, SHOTS, "many")
