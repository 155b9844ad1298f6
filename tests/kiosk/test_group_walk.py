"""Workgroups on the real kiosk App under Xvfb (issue 15): tests/kiosk/group_walk.py at both
window sizes side by side, French and English in each, with screenshots whose names contain
``group``. ``make test`` writes them to a temporary folder; ``make test-long`` (the full walk
in test_ui_walk.py, which includes this one) puts them in build/screenshots/kiosk/, and
``make screenshots`` copies them to docs/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kiosk.group_walk import SHOTS, check_groups
from tests.kiosk.test_ui_walk import WALK_SIZES, check_shots, walk_both_sizes

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None,
    reason="xvfb-run is missing: install Debian's xvfb and xauth (`make test` does it)")


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Any, Path]]]:
    yield from walk_both_sizes(tmp_path_factory.mktemp("groups"), "groups", 900)


@pytest.mark.parametrize("size", WALK_SIZES)
def test_group_conversation_walk(size: str, walked: dict[str, tuple[Any, Path]]) -> None:
    result, shots = walked[size]
    check_groups(result["checks"])
    check_shots(size, result, shots, SHOTS, "group")
