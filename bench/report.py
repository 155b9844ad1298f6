"""Rewrite one named section of a Markdown report, leaving the others as they were.

A section sits between ``<!-- BEGIN name -->`` and ``<!-- END name -->``; a missing section
is appended at the end. This lets ``relais bench``, the console benchmark and the kiosk
benchmark each own their part of docs/benchmarks.md and run at different times.
"""

from __future__ import annotations

import platform
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
BENCHMARKS = DOCS / "benchmarks.md"
RELIABILITY = DOCS / "reliability.md"


def replace_section(path: Path, name: str, markdown: str) -> None:
    """Put ``markdown`` in section ``name`` of ``path`` (created when missing)."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text, count=1)
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def machine() -> str:
    """One line naming the machine the figures come from."""
    import os

    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:  # pragma: no cover - psutil is a dev dependency
        mem = "? GiB"
    cpu = platform.processor() or platform.machine()
    return (f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {mem}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
