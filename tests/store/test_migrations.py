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


def test_names_are_folded_again_with_the_letters_a_keyboard_lacks(tmp_path, db_url: str) -> None:  # noqa: ANN001
    """Migration 0018 spells æ, œ, ı... out in the stored search names (and back down)."""
    from sqlalchemy import text

    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:  # as 0017 left such a name: its letters kept
            conn.execute(text("INSERT INTO employees (name, search_name, active, is_hr_desk, "
                              "language, failed_logins, created_at) VALUES "
                              "('Lætitia Yıldız', 'lætitia yıldız', true, false, 'fr', 0, "
                              "CURRENT_TIMESTAMP), ('Élodie Roux', 'elodie roux', true, false, "
                              "'fr', 0, CURRENT_TIMESTAMP)"))
        command.downgrade(alembic_config(db_url), "0017")
        with engine.begin() as conn:
            conn.execute(text("UPDATE employees SET search_name = 'lætitia yıldız' "
                              "WHERE name = 'Lætitia Yıldız'"))
        upgrade(db_url)
        with engine.connect() as conn:
            names = dict(conn.execute(text("SELECT name, search_name FROM employees")).all())
        assert names == {"Lætitia Yıldız": "laetitia yildiz", "Élodie Roux": "elodie roux"}
        command.downgrade(alembic_config(db_url), "0017")
        with engine.connect() as conn:
            names = dict(conn.execute(text("SELECT name, search_name FROM employees")).all())
        assert names == {"Lætitia Yıldız": "lætitia yıldız", "Élodie Roux": "elodie roux"}
    finally:
        engine.dispose()
