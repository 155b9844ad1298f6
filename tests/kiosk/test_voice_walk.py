"""Voice messages on the real kiosk App under Xvfb (issue 19): tests/kiosk/voice_walk.py at
both window sizes side by side, French and English in each, with a file-fed microphone
speaking espeak-ng's words. Its screenshots go to build/screenshots/kiosk/ beside the other
walks' (``kiosk-SIZE-LANG-voice-*.png``), which ``make screenshots`` copies into docs/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kiosk.test_ui_walk import SHOTS as SHOTS_DIR
from tests.kiosk.test_ui_walk import WALK_SIZES, check_shots, walk_both_sizes
from tests.kiosk.voice_walk import SHOTS, check_voice

pytestmark = [
    pytest.mark.skipif(shutil.which("xvfb-run") is None,
                       reason="xvfb-run is missing: install Debian's xvfb and xauth "
                              "(`make test` does it)"),
    pytest.mark.skipif(shutil.which("espeak-ng") is None,
                       reason="espeak-ng is missing: `make test` installs it"),
]


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Any, Path]]]:
    yield from walk_both_sizes(tmp_path_factory.mktemp("voice"), "voice", 600, SHOTS_DIR,
                               mine="kiosk-*-voice-*.png")


@pytest.mark.parametrize("size", WALK_SIZES)
def test_voice_walk(size: str, walked: dict[str, tuple[Any, Path]]) -> None:
    result, shots = walked[size]
    check_voice(result["checks"])
    check_shots(size, result, shots, SHOTS, "voice", shared=True)
    assert all((shots / name).stat().st_size > 10_000 for name in result["shots"])
