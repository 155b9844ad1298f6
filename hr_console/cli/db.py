"""``relais db copy --to URL``: move a home's database (SQLite) to PostgreSQL, checked.

Outgrowing SQLite (several relays, docs/deploy.md "PostgreSQL") must not mean a hand-made
pgloader recipe: a type mapped wrong or a sequence left at 1 shows up days later as a failed
insert or an audit log that no longer verifies. So the copy builds the target's schema with
the project's own migrations, copies every table of ``Base.metadata`` keeping its primary
keys, resets the sequences, compares row counts and verifies the audit chain on the target,
and only then points ``relais.toml`` at it. Any failure is one line and leaves the home on
its old database (the target keeps at most an empty schema, so the copy can be run again).

The services must be stopped (they would keep writing to the old database): the copy
refuses while the home's broker or console runs.

Registered on the root group by ``register(main)`` (``hr_console/cli/__init__.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import time
from typing import Any

import click

from hr_console import config as config_mod
from hr_console.cli.common import fail
from hr_console.cli.i18n import Group, _, _l

# Rows per INSERT batch: memory stays bounded by a batch (photos included) whatever the size
# of the home, and few round trips are needed.
BATCH = 500
# Tables with photos (up to 250 kB each) take smaller batches: 25 photos, about 6 MB.
BLOB_SHARE = 20


class CopyError(Exception):
    """A reason to stop, in one line, before the home is changed."""


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _running(cfg: config_mod.Settings) -> str | None:
    """What of the home still runs (its broker, found by its pid file, or a console on its
    port), or None."""
    from broker_config.render import read_pid
    from hr_console.services.broker import broker_settings

    pid = read_pid(broker_settings(cfg))
    if pid is not None:
        return _("its broker runs (pid {pid})").format(pid=pid)
    host = "127.0.0.1" if cfg.console_host in ("", "0.0.0.0", "::") else cfg.console_host
    with contextlib.suppress(OSError), socket.create_connection((host, cfg.console_port), 0.5):
        return _("a console answers on {host}:{port}").format(host=host, port=cfg.console_port)
    return None


def _with_data(conn: Any, metadata: Any) -> str | None:
    """The first of Relais's tables that holds a row on ``conn``, or None."""
    from sqlalchemy import inspect, literal, select

    present = set(inspect(conn).get_table_names())
    for table in metadata.sorted_tables:
        if table.name in present and conn.execute(
                select(literal(1)).select_from(table).limit(1)).first() is not None:
            return table.name
    return None


def _deferred(table: Any) -> list[Any]:
    """Columns of a foreign key declared ``use_alter`` (teams.supervisor_id → employees, a
    cycle): ``sorted_tables`` puts their table first, so they are filled in a second pass."""
    return [col for fk in table.foreign_key_constraints if fk.use_alter for col in fk.columns]


def _copy_table(src: Any, dst: Any, table: Any, batch: int) -> int:
    """Stream ``table`` from ``src`` into ``dst`` in batches, keys kept; returns the rows."""
    from sqlalchemy import JSON, LargeBinary, Text, bindparam, cast, select

    if any(isinstance(col.type, LargeBinary) for col in table.columns):
        batch = max(1, batch // BLOB_SHARE)
    keys = [col.key for col in table.columns]
    held = {col.key for col in _deferred(table)}
    # JSON travels as its text: SQL NULL stays NULL and a stored JSON null stays JSON null
    # (both read back as None, and None would be written as JSON null).
    raw = {col.key for col in table.columns if isinstance(col.type, JSON)}
    insert = table.insert().values(
        {k: cast(bindparam(f"j_{k}", type_=Text), table.c[k].type) for k in raw})
    rows = 0
    result = src.execution_options(yield_per=batch).execute(
        select(*(cast(col, Text).label(col.key) if col.key in raw else col
                 for col in table.columns)).order_by(*table.primary_key.columns))
    for part in result.partitions():
        dst.execute(insert, [
            {(f"j_{k}" if k in raw else k): (None if k in held else v)
             for k, v in zip(keys, row, strict=True)}
            for row in part])
        rows += len(part)
    return rows


def _fill_deferred(src: Any, dst: Any, table: Any, batch: int) -> None:
    from sqlalchemy import and_, bindparam, or_, select

    cols = _deferred(table)
    if not cols:
        return
    pk = list(table.primary_key.columns)
    update = table.update().where(and_(*(c == bindparam(f"pk_{c.key}") for c in pk))).values(
        {c.key: bindparam(f"v_{c.key}") for c in cols})
    result = src.execution_options(yield_per=batch).execute(
        select(*pk, *cols).where(or_(*(c.is_not(None) for c in cols))))
    for part in result.partitions():
        dst.execute(update, [
            {**{f"pk_{c.key}": row[i] for i, c in enumerate(pk)},
             **{f"v_{c.key}": row[len(pk) + i] for i, c in enumerate(cols)}} for row in part])


def _reset_sequences(dst: Any, metadata: Any) -> None:
    """Each serial key's sequence continues after the copied rows (they kept their ids, so
    the sequences were never used and would hand out 1 again)."""
    from sqlalchemy import Integer, func, select, text

    for table in metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        seq = dst.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                          {"t": table.name, "c": pk[0].name}).scalar()
        if seq is not None:
            top = dst.execute(select(func.max(pk[0]))).scalar() or 0
            dst.execute(text("SELECT setval(:s, :v, false)"), {"s": seq, "v": top + 1})


def copy_database(source: str, target: str, batch: int = BATCH) -> tuple[int, int]:
    """Copy every Relais table from ``source`` into the empty PostgreSQL ``target``, then
    check it; returns (tables, rows). Raises CopyError; the target's data is rolled back."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from hr_console.services import audit
    from hr_console.store.db import make_engine
    from hr_console.store.migrate import upgrade
    from hr_console.store.models import Base

    metadata = Base.metadata
    src_engine, dst_engine = make_engine(source), make_engine(target)
    try:
        try:
            with dst_engine.connect() as dst:
                full = _with_data(dst, metadata)
        except SQLAlchemyError as exc:
            raise CopyError(_("cannot reach {target}: {error}").format(
                target=_shown(target), error=_first_line(exc))) from None
        if full is not None:
            raise CopyError(_("{target} already holds data (table {table}): "
                              "give an empty database").format(target=_shown(target), table=full))
        try:
            upgrade(target)
        except Exception as exc:  # noqa: BLE001 - any migration failure, in one line
            raise CopyError(_("cannot create the schema on {target}: {error}").format(
                target=_shown(target), error=_first_line(exc))) from None
        try:
            # One source transaction (on SQLite, BEGIN IMMEDIATE: a snapshot no writer can
            # change) and one target transaction (all or nothing).
            with src_engine.connect() as src, dst_engine.begin() as dst:
                rows = 0
                tables = metadata.sorted_tables
                for table in tables:
                    rows += _copy_table(src, dst, table, batch)
                for table in tables:
                    _fill_deferred(src, dst, table, batch)
                _reset_sequences(dst, metadata)
                for table in tables:
                    want = src.execute(select(func.count()).select_from(table)).scalar()
                    got = dst.execute(select(func.count()).select_from(table)).scalar()
                    if want != got:
                        raise CopyError(_("table {table}: {got} rows copied of {want}").format(
                            table=table.name, got=got, want=want))
                with Session(bind=dst) as session:
                    check = audit.verify(session)
                if not check.ok:
                    raise CopyError(_("the audit log does not verify on the copy (entry "
                                      "{entry}: {problem}); check the source with `relais "
                                      "audit verify`").format(entry=check.first_bad_id,
                                                              problem=check.problem_in(_)))
        except SQLAlchemyError as exc:
            raise CopyError(_("the copy failed: {error}").format(error=_first_line(exc))) from None
        return len(tables), rows
    finally:
        src_engine.dispose()
        dst_engine.dispose()


@click.group("db", cls=Group, help=_l("The home's database."))
def db() -> None:
    pass


@db.command("copy", help=_l("Copy the home's database into an empty PostgreSQL database, check "
                            "it, and make the home use it (stop the relays, the console and the "
                            "broker first)."))
@click.option("--to", "target", required=True, metavar="URL",
              help=_l("The empty PostgreSQL database, e.g. "
                      "postgresql+psycopg://relais@db/relais."))
@click.pass_obj
def db_copy(obj: Any, target: str) -> None:
    cfg = obj.ready_cfg()
    if not target.startswith(("postgresql://", "postgresql+psycopg://")):
        raise click.ClickException(
            _("--to {target!r} is not a PostgreSQL URL (postgresql+psycopg://USER@HOST/DATABASE)")
            .format(target=target))
    source = cfg.database_url
    if _shown(source) == _shown(target):
        raise click.ClickException(_("the home already uses {target}").format(target=_shown(target)))
    try:
        running = _running(cfg)
    except ValueError as exc:  # settings the broker's files cannot be made from
        raise fail(exc) from None
    if running is not None:
        raise click.ClickException(_("{home} is in use ({running}): stop the relays, the "
                                     "console and the broker, then copy again").format(
            home=cfg.home, running=running))
    started = time.monotonic()
    try:
        tables, rows = copy_database(source, target)
    except CopyError as exc:
        raise click.ClickException(_("{error} (the home still uses {source})").format(
            error=exc, source=_shown(source))) from None
    config_mod.save(dataclasses.replace(cfg, db_url=target))
    click.echo(_("copied {tables} tables, {rows} rows to {target} in {seconds:.1f} s; "
                 "{config} now uses it (the old database is left as it was)").format(
        tables=tables, rows=rows, target=_shown(target), seconds=time.monotonic() - started,
        config=cfg.config_path))


def register(main: click.Group) -> None:
    main.add_command(db)
