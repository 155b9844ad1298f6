"""What a relay says about its database when it starts."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from hr_console.relay import mqtt
from tests.system_fixture import make_system

EFFECT = ("keep their dead rows and get no planner statistics, and every message slows "
          "down as they grow")
WARNINGS = {
    ("off", "on", None): "PostgreSQL's autovacuum is off: the tables Relais writes all the "
                         f"time {EFFECT}; turn it back on (its default), see docs/deploy.md",
    ("on", "off", None): "PostgreSQL's track_counts is off, so autovacuum never runs: the "
                         f"tables Relais writes all the time {EFFECT}; turn it back on (its "
                         "default), see docs/deploy.md",
    ("on", "on", "downlinks, messages"): "PostgreSQL's autovacuum is off for these tables: "
                                         f"downlinks, messages; they {EFFECT}; turn it back on "
                                         "(ALTER TABLE … RESET (autovacuum_enabled)), see "
                                         "docs/deploy.md",
    ("on", "on", None): None,
}


@pytest.mark.parametrize("answer", list(WARNINGS), ids=str)
def test_a_relay_says_when_autovacuum_cannot_reach_its_tables(
        tmp_path: Path, db_url: str, answer: tuple[str, str, str | None],
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without autovacuum every delivered message leaves a dead row and the planner never
    gets statistics: the IT person reads it in the relay's log at its start, whether it is
    off for the server, stopped by ``track_counts = off``, or off for some of our tables.
    The server's answers are given to the relay (this machine's runs without autovacuum),
    so that each is tried on any server; SQLite has no such thing to say."""
    server, counts, tables = answer
    monkeypatch.setattr(mqtt, "_AUTOVACUUM", text(
        "SELECT :server, :counts, :tables").bindparams(server=server, counts=counts,
                                                         tables=tables))
    with caplog.at_level(logging.WARNING, logger="relais.relay"):
        make_system(tmp_path, db_url).close()
    said = [r.getMessage() for r in caplog.records if "autovacuum" in r.getMessage()]
    warned = WARNINGS[answer] if db_url.startswith("postgresql") else None
    assert said == ([warned] if warned else [])


def test_the_relay_asks_the_server_itself(tmp_path: Path, pg_url: str) -> None:
    """The question the relay asks is the server's own settings, as PostgreSQL answers
    them, and names the tables of its schema where autovacuum was turned off (in any of
    the spellings PostgreSQL takes for false)."""
    from hr_console.store.db import Store
    from tests.system_fixture import prepared_home

    cfg, _demo = prepared_home(tmp_path, pg_url)
    store = Store(cfg.database_url)
    try:
        with store.session() as s:
            server, counts, tables = s.execute(mqtt._AUTOVACUUM).one()
            assert tables is None
            assert (server, counts) == tuple(s.scalar(text(
                f"SELECT setting FROM pg_settings WHERE name = '{name}'"))
                for name in ("autovacuum", "track_counts"))
            s.execute(text("ALTER TABLE downlinks SET (autovacuum_enabled = of)"))
            s.execute(text("ALTER TABLE messages SET (autovacuum_enabled = 0)"))
            s.execute(text("ALTER TABLE terminals SET (autovacuum_enabled = yes)"))
            assert s.execute(mqtt._AUTOVACUUM).one()[2] == "downlinks, messages"
    finally:
        store.dispose()
