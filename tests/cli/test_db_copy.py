"""`relais db copy --to URL` as an admin moves a site from SQLite to PostgreSQL: refused
while the site runs, then every table copied (keys, photos, the audit chain), the home
pointed at PostgreSQL, and the site works there: console sign-in, a new message stored
after the copied ones. A second copy into the now non-empty database is refused in one line
and leaves the home where it was. Runs when RELAIS_TEST_PG_URL is set."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, inspect, null, select

from broker_config.ports import free_port
from hr_console import config as config_mod
from hr_console.cli.db import copy_database
from hr_console.services import notices
from hr_console.store.db import Store
from hr_console.store.models import Base, Message, PolicyEpoch, Setting
from kiosk_app.link import events as ev
from tests.cli.test_backup import _one_line_error, _rows, _sign_in, relais
from tests.cli.test_up import _read_until, _stop
from tests.security.test_file_modes import EXE, _env, _loose_umask
from tests.system_fixture import DEMO_PASSWORD, expect, prepared_home
from tests.web.console_data import jpeg


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _contents(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, as the application reads it, in key order; the policy
    epoch's one row apart: the copy's own commit raises it on the target (its triggers see
    the people and rules arrive), which a relay then reads as a change, as it should."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: [tuple(r) for r in conn.execute(
                select(t).order_by(*t.primary_key.columns))]
                for t in Base.metadata.sorted_tables if t.name != "policy_epoch"}
    finally:
        engine.dispose()


def _epoch(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(PolicyEpoch.n)).scalar_one()
    finally:
        engine.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_sqlite_site_moves_to_postgresql_and_works_there(system, pg_url: str,  # noqa: ANN001
                                                           tmp_path: Path) -> None:
    home, sqlite_url = system.cfg.home, system.cfg.database_url
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Sophie Martin")  # a badge session
    karim = system.employee("Karim Benali")
    for msg in (k1.send_text(karim, "avant le déménagement"), k1.send_photo(karim, jpeg(), "palette")):
        expect(k1, ev.StateChanged, lambda e, m=msg: e.msg == m and e.state == "accepted")
    with system.store.session() as s:
        notices.create(s, title="Cantine fermée lundi", body="Repas froids.",
                       target_kind="everyone", actor="hr")
    settings_before = system.cfg.config_path.read_text()

    line = _one_line_error(relais(home, "db", "copy", "--to", pg_url))  # the site runs
    assert "is in use (its broker runs" in line, line
    assert system.cfg.config_path.read_text() == settings_before
    assert _tables(pg_url) == []  # nothing created on the target either

    for link in system.links:
        link.stop()
    for relay in system.relays:
        relay.stop()
    system.links.clear()
    system.relays.clear()
    system.broker.stop()
    before = _counts(sqlite_url)
    assert before["messages"] >= 2 and before["media"] >= 1 and before["notices"] >= 1
    assert before["audit_log"] > 0 and before["badge_sessions"] >= 1
    assert before["teams"] > 0 and before["employees"] > 0

    done = relais(home, "db", "copy", "--to", pg_url)
    assert done.returncode == 0, done.stderr
    summary = done.stdout.strip()
    assert re.fullmatch(rf"copied {len(before)} tables, {sum(before.values())} rows to "
                        r"postgresql\+psycopg://postgres@.* in [0-9.]+ s; .* now uses it .*",
                        summary), summary
    assert _counts(pg_url) == before
    assert _rows(pg_url) == _rows(sqlite_url)  # ids, bodies, photo bytes, audit hashes
    assert _contents(pg_url) == _contents(sqlite_url)
    assert _epoch(pg_url) > _epoch(sqlite_url) > 0  # a relay on the copy reads all afresh
    assert config_mod.load(home).database_url == pg_url
    done = relais(home, "audit", "verify")
    assert done.returncode == 0 and "audit log intact" in done.stdout, done.stderr
    last_id = before["messages"]

    proc = subprocess.Popen([*EXE, "--home", str(home), "up"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_env(),
                            preexec_fn=_loose_umask)
    try:
        _read_until(proc, "console:")
        web = f"http://127.0.0.1:{system.cfg.console_port}"
        session = _sign_in(web, "admin", DEMO_PASSWORD)
        assert session.get(f"{web}/", timeout=10).status_code == 200
        k2 = system.link("kiosk-1", outbox=tmp_path / "outbox-after.db")
        system.badge_in(k2, "Sophie Martin")
        msg = k2.send_text(karim, "après le déménagement")
        expect(k2, ev.StateChanged, lambda e: e.msg == msg and e.state == "accepted")
        k2.stop()
        system.links.clear()
    finally:
        _stop(proc)
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            new = conn.execute(select(Message.id).where(Message.client_id == msg)).scalar_one()
    finally:
        engine.dispose()
    assert new > last_id  # the sequence continues after the copied rows

    system.cfg.config_path.write_text(settings_before)  # back on SQLite, copy again
    line = _one_line_error(relais(home, "db", "copy", "--to", pg_url))
    assert "already holds data" in line and "the home still uses sqlite" in line, line
    assert system.cfg.config_path.read_text() == settings_before


@pytest.mark.pg
def test_the_copy_streams_in_batches_and_keeps_sql_null_apart_from_json_null(
        tmp_path: Path, pg_url: str) -> None:
    """Batches of 3 rows (the demo's tables span several), and a JSON column's SQL NULL and
    JSON null, which both read back as None, each stay what they were."""
    cfg, _demo = prepared_home(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}")
    store = Store(cfg.database_url)
    try:
        with store.session() as s:
            s.add(Setting(key="test.json_null", value=None))  # the ORM writes JSON null
            s.flush()
            s.execute(insert(Setting).values(key="test.sql_null", value=null()))
    finally:
        store.dispose()
    tables, rows = copy_database(cfg.database_url, pg_url, batch=3)
    assert (tables, rows) == (len(Base.metadata.sorted_tables), sum(_counts(cfg.database_url).values()))
    assert _contents(pg_url) == _contents(cfg.database_url)
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            nulls = conn.execute(select(Setting.key).where(Setting.value.is_(None),
                                                           Setting.key.like("test.%"))).scalars()
            assert list(nulls) == ["test.sql_null"]
    finally:
        engine.dispose()


def test_a_target_that_is_not_postgresql_or_not_reachable_is_refused_in_one_line(
        tmp_path: Path) -> None:
    cfg, _demo = prepared_home(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}")
    settings_before = cfg.config_path.read_text()
    line = _one_line_error(relais(cfg.home, "db", "copy", "--to", f"sqlite:///{tmp_path}/b.db"))
    assert "is not a PostgreSQL URL" in line, line
    closed = f"postgresql+psycopg://relais:secret@127.0.0.1:{free_port()}/relais"
    line = _one_line_error(relais(cfg.home, "db", "copy", "--to", closed))
    assert line.startswith("Error: cannot reach postgresql+psycopg://relais:***@127.0.0.1:"), line
    assert "secret" not in line and "the home still uses sqlite" in line, line
    assert cfg.config_path.read_text() == settings_before
