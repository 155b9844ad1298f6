"""Counts from the security tests into docs/reliability.md, each test module owning its own
(sub-)section, so that running one module never erases what another measured."""

from __future__ import annotations

import datetime as dt

from hr_console.bench.report import RELIABILITY, replace_section


def write(section: str, title: str, rows: list[tuple[str, object]], notes: str = "") -> None:
    """A small table of ``rows`` (what, count) under ``title``, stamped with the date."""
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [f"**{title}** (last run {stamp})", "", "| what | count |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in rows]
    if notes:
        lines += ["", notes.strip()]
    replace_section(RELIABILITY, section, "\n".join(lines))
