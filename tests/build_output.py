"""Where the tests put what a person reads (screenshots, report sections): under build/,
which git ignores, never in the tracked docs/. ``make screenshots`` and
``make reliability-report`` run the tests that write them and copy the result into docs/, so
a plain ``make test`` leaves the working tree as it found it (tests/clean_tree checks it)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
SCREENSHOTS = BUILD / "screenshots"
_RELIABILITY = BUILD / "reliability.md"
_RELIABILITY_DOC = ROOT / "docs" / "reliability.md"


def reliability() -> Path:
    """build/reliability.md, started from docs/reliability.md on first use: a test rewrites
    only its own section, and the copy back into docs/ keeps the others (and the prose)."""
    if not _RELIABILITY.exists():
        _RELIABILITY.parent.mkdir(parents=True, exist_ok=True)
        if _RELIABILITY_DOC.exists():
            shutil.copyfile(_RELIABILITY_DOC, _RELIABILITY)
    return _RELIABILITY
