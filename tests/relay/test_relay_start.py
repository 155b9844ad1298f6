"""What a relay says about its database when it starts."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from hr_console.relay import mqtt
from tests.system_fixture import make_system

WARNING = ("PostgreSQL's autovacuum is off: the tables Relais writes all the time keep their "
           "dead rows and get no planner statistics, and every message slows down as they "
           "grow; turn it back on (its default), see docs/deploy.md")


@pytest.mark.parametrize("setting", ["off", "on"])
def test_a_relay_says_when_postgresqls_autovacuum_is_off(
        tmp_path: Path, db_url: str, setting: str, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without autovacuum every delivered message leaves a dead row and the planner never
    gets statistics: the IT person reads it in the relay's log at its start. The server's
    answer to ``SHOW autovacuum`` is given to the relay (this machine's runs without it),
    so that both answers are tried on any server; SQLite has no such thing to say."""
    monkeypatch.setattr(mqtt, "_AUTOVACUUM", text(f"SELECT '{setting}'"))
    with caplog.at_level(logging.WARNING, logger="relais.relay"):
        make_system(tmp_path, db_url).close()
    said = [r.getMessage() for r in caplog.records if "autovacuum" in r.getMessage()]
    warned = setting == "off" and db_url.startswith("postgresql")
    assert said == ([WARNING] if warned else [])


def test_the_relay_asks_the_server_itself(pg_url: str) -> None:
    """The question the relay asks is the server's setting, as PostgreSQL answers it."""
    from hr_console.store.db import Store

    store = Store(pg_url)
    try:
        with store.session() as s:
            assert s.scalar(mqtt._AUTOVACUUM) in ("on", "off")
            assert s.scalar(mqtt._AUTOVACUUM) == s.scalar(
                text("SELECT setting FROM pg_settings WHERE name = 'autovacuum'"))
    finally:
        store.dispose()
