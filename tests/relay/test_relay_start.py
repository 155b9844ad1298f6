"""What a relay says about its database when it starts."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.system_fixture import make_system


def test_a_relay_says_when_postgresqls_autovacuum_is_off(tmp_path: Path, db_url: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Without autovacuum every delivered message leaves a dead row and the planner never
    gets statistics: the IT person reads it in the relay's log at its start (this
    machine's PostgreSQL runs without it; one that runs with it gets no warning)."""
    with caplog.at_level(logging.WARNING, logger="relais.relay"):
        system = make_system(tmp_path, db_url)
        try:
            if system.store.is_sqlite:
                off = False
            else:
                with system.store.session() as s:
                    off = s.scalar(text("SHOW autovacuum")) == "off"
        finally:
            system.close()
    said = [r.getMessage() for r in caplog.records if "autovacuum" in r.getMessage()]
    assert said == (["PostgreSQL's autovacuum is off: the tables Relais writes all the time "
                     "keep their dead rows and get no planner statistics, and every message "
                     "slows down as they grow; turn it back on (its default), see "
                     "docs/deploy.md"] if off else [])
