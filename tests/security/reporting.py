"""Counts from the security tests into the reliability report (build/reliability.md, copied
to docs/ by ``make reliability-report``), each test module owning its own (sub-)section, so
that running one module never erases what another measured."""

from __future__ import annotations

import datetime as dt

from bench.report import replace_section
from tests.build_output import reliability


def write(section: str, title: str, rows: list[tuple[str, object]], notes: str = "") -> None:
    """A small table of ``rows`` (what, count) under ``title``, stamped with the date."""
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [f"**{title}** (last run {stamp})", "", "| what | count |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in rows]
    if notes:
        lines += ["", notes.strip()]
    with reliability() as path:
        replace_section(path, section, "\n".join(lines))
