"""Reminders until acknowledged on the real kiosk App under Xvfb (issue 16):
tests/kiosk/reminder_walk.py at both window sizes side by side, French and English in each,
with screenshots whose names contain ``reminder``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kiosk.reminder_walk import SHOTS, check_reminder
from tests.kiosk.test_ui_walk import WALK_SIZES, check_shots, walk_both_sizes

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None,
    reason="xvfb-run is missing: install Debian's xvfb and xauth (`make test` does it)")


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Any, Path]]]:
    yield from walk_both_sizes(tmp_path_factory.mktemp("reminders"), "reminder", 600)


@pytest.mark.parametrize("size", WALK_SIZES)
def test_reminder_walk(size: str, walked: dict[str, tuple[Any, Path]]) -> None:
    result, shots = walked[size]
    check_reminder(result["checks"])
    check_shots(size, result, shots, SHOTS, "reminder")
