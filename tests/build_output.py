"""Where the tests put what a person reads (screenshots, report sections): under build/,
which git ignores, never in the tracked docs/. ``make screenshots`` and
``make reliability-report`` run the tests that write them and copy the result into docs/, so
a plain ``make test`` leaves the working tree as it found it (tests/clean_tree checks it)."""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
SCREENSHOTS = BUILD / "screenshots"
_RELIABILITY = BUILD / "reliability.md"
_RELIABILITY_DOC = ROOT / "docs" / "reliability.md"


@contextmanager
def reliability() -> Iterator[Path]:
    """build/reliability.md, started from docs/reliability.md on first use: a test rewrites
    only its own section, and the copy back into docs/ keeps the others (and the prose).
    Held for one read and rewrite: the suite's two processes both write sections."""
    _RELIABILITY.parent.mkdir(parents=True, exist_ok=True)
    with _RELIABILITY.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _RELIABILITY.exists() and _RELIABILITY_DOC.exists():
            shutil.copyfile(_RELIABILITY_DOC, _RELIABILITY)
        yield _RELIABILITY
