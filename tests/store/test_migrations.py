"""The migrations build exactly the schema the models describe, and come back down: a model
changed without its migration (or the reverse) fails here, not on a customer's upgrade."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hr_console.store.db import make_engine
from hr_console.store.migrate import alembic_config, current_revision, upgrade
from hr_console.store.models import Base


def _differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()


def test_migrations_match_the_models_and_downgrade(db_url: str) -> None:
    upgrade(db_url)
    assert _differences(db_url) == []
    command.downgrade(alembic_config(db_url), "0003")  # this wave's migration comes off cleanly
    assert current_revision(db_url) == "0003"
    upgrade(db_url)
    assert _differences(db_url) == []
