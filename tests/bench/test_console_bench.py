"""The console benchmark harness on a small generated home: ``relais gen-data`` fills it,
``relais bench-console`` measures every page it names and writes its figures. Speed is not
asserted here (docs/benchmarks.md holds the figures at scale)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from hr_console.cli import main
from hr_console.cli.admin import BENCH_PAGES, GEN_INFO
from hr_console.store.db import Store
from hr_console.store.models import (
    ContactRule,
    Employee,
    Message,
    ModerationDecision,
    Shift,
    Team,
    Terminal,
)


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_gen_data_then_bench_console(tmp_path: Path, db_url: str) -> None:
    home = ["--home", str(tmp_path / "home"), "--db-url", db_url]
    _run(*home, "init")
    out = _run(*home, "gen-data", "--employees", "120", "--messages", "3000", "--days", "20",
               "--held", "30", "--sites", "2")
    assert "120 employees" in out and "3000 messages (30 held" in out
    assert "badges G" in out and "PIN 2468" in out
    store = Store(db_url)
    try:
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(Employee)) == 120
            assert s.scalar(select(func.count()).select_from(Message)) == 3000
            assert s.scalar(select(func.count()).select_from(Message)
                            .where(Message.state == "held")) == 30
            assert s.scalar(select(func.count()).select_from(ModerationDecision)) > 0
            assert s.scalar(select(func.count()).select_from(Employee)
                            .where(Employee.search_name == "")) == 0
            # The policy is exercised: rules of every kind, badges, HR desk, supervisors.
            kinds = set(s.execute(select(ContactRule.sender_kind, ContactRule.recipient_kind)))
            assert {("team", "team"), ("team", "supervisor"), ("everyone", "hr_desk"),
                    ("person", "person")} <= kinds
            assert s.scalar(select(func.count()).select_from(Employee)
                            .where(Employee.badge_hash.is_(None))) == 0
            assert s.scalar(select(func.count()).select_from(Employee)
                            .where(Employee.is_hr_desk.is_(True))) >= 1
            assert s.scalar(select(func.count()).select_from(Team)
                            .where(Team.supervisor_id.is_(None))) == 0
            assert s.scalar(select(func.count()).select_from(Shift)) == s.scalar(
                select(func.count()).select_from(Team))
            assert s.scalar(select(func.count()).select_from(Terminal)) >= 120 // 30
    finally:
        store.dispose()
    assert json.loads((tmp_path / "home" / GEN_INFO).read_text())["messages"] == 3000
    # A second run without --yes refuses to pile onto a filled home.
    refused = CliRunner().invoke(main, [*home, "gen-data", "--employees", "2", "--messages", "1"])
    assert refused.exit_code != 0 and "--yes" in refused.output

    report = tmp_path / "benchmarks.md"
    report.write_text("# Benchmarks\n\n<!-- BEGIN relay -->\nrelay figures\n<!-- END relay -->\n")
    out = _run(*home, "bench-console", "--runs", "3", "--warmup", "1", "--report", str(report))
    for _area, what, _path in BENCH_PAGES:
        line = next(ln for ln in out.splitlines() if f": {what}" in ln)
        assert len(re.findall(r"\d+\.\d", line)) == 3, line  # median, p95, CPU
    text = report.read_text()
    assert "relay figures" in text and text.count("<!-- BEGIN console -->") == 1
    title = "PostgreSQL" if db_url.startswith("postgresql") else "SQLite"
    assert f"### {title}: 120 employees, 3,000 messages" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and "`/" in ln]
    assert len(rows) == len(BENCH_PAGES) + 4  # every page, and the four charts uncached
    assert "(no cache)" in text and "Data made by `relais gen-data`" in text

    # The other database's block survives a run; --no-write leaves the file alone.
    other = "postgresql" if title == "SQLite" else "sqlite"
    marked = text.replace("<!-- END console -->",
                          f"<!-- console:{other} -->\nother figures\n<!-- /console:{other} -->\n"
                          "<!-- END console -->")
    report.write_text(marked)
    _run(*home, "bench-console", "--runs", "3", "--warmup", "0", "--report", str(report))
    assert "other figures" in report.read_text()
    before = report.read_text()
    out = _run(*home, "bench-console", "--runs", "3", "--warmup", "0", "--no-write",
               "--page", "/employees/?q=a")
    assert report.read_text() == before and "custom: /employees/?q=a" in out
