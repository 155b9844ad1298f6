"""SQLite's log checkpointed beside the relay's commits, not inside them
(``store.checkpoints``): the worker's COMMIT never copies the log into the database."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from hr_console.store import checkpoints
from hr_console.store.db import Store
from tests.system_fixture import make_system

PAGE = 4096
ROWS, ROW_BYTES = 300, 40_000  # about 3,000 pages: three times SQLite's autocheckpoint


def _fill(store: Store) -> None:
    with store.session() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, b BLOB)"))
    for _ in range(ROWS // 10):  # several commits, as the relay's batches
        with store.session() as s:
            s.execute(text("INSERT INTO filler (b) VALUES (randomblob(:n))"),
                      [{"n": ROW_BYTES}] * 10)


@pytest.fixture
def path(tmp_path: Path) -> Iterator[str]:
    yield str(tmp_path / "relais.db")


def test_a_relay_store_never_checkpoints_in_its_commits(path: str) -> None:
    own = Store(f"sqlite:///{path}", wal_autocheckpoint=False)
    default = Store(f"sqlite:///{path}.default")
    try:
        with own.session() as s:
            assert s.execute(text("PRAGMA wal_autocheckpoint")).scalar_one() == 0
        with default.session() as s:
            assert s.execute(text("PRAGMA wal_autocheckpoint")).scalar_one() == 1000
        for store in (own, default):
            _fill(store)
        # The default store's commits copied the log into the file and reused it; the
        # relay's left it all in the log, its database file as it was.
        assert os.path.getsize(f"{path}.default-wal") < 1500 * PAGE
        assert os.path.getsize(f"{path}-wal") > ROWS * ROW_BYTES
        assert os.path.getsize(path) < 100 * PAGE
        busy, logged, copied = checkpoints.checkpoint(path)
        assert (busy, copied) == (0, logged) and logged * PAGE > ROWS * ROW_BYTES
        assert os.path.getsize(path) > ROWS * ROW_BYTES
        # Once copied, the next commits write the log from its start again: it stops growing.
        size = os.path.getsize(f"{path}-wal")
        _fill(own)
        assert os.path.getsize(f"{path}-wal") == size
    finally:
        own.dispose()
        default.dispose()


def test_the_relay_checkpoints_the_log_in_its_own_thread(tmp_path: Path) -> None:
    """A relay started as `relais relay` starts it: what is committed reaches the database
    file within a few seconds, by the relay's thread, not by the commits."""
    system = make_system(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}")
    db = str(tmp_path / "relais.db")
    try:
        assert not system.store.wal_autocheckpoint
        time.sleep(2 * checkpoints.EVERY_S)  # what start-up wrote: copied already
        before = os.path.getsize(db)
        _fill(system.store)
        assert os.path.getsize(db) < before + ROWS * ROW_BYTES  # not by the commits
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.getsize(db) < before + ROWS * ROW_BYTES:
            time.sleep(0.2)
        assert os.path.getsize(db) >= before + ROWS * ROW_BYTES
    finally:
        system.close()
