"""Engine and unit of work: one URL, SQLite (WAL) by default, PostgreSQL with psycopg 3.

SQLite is shared by the relay and console processes, so every transaction starts with
``BEGIN IMMEDIATE`` and waits on a busy timeout (docs/architecture.md, decision 6): a
deferred read-then-write transaction would fail with "database is locked" instead of
waiting.

Durability on SQLite: WAL with ``synchronous=FULL``. NORMAL would survive any crash of the
processes (the WAL is in the OS's hands when COMMIT returns) and costs no fsync, but a
power cut or kernel crash can then undo the last commits, after the relay has already told
the kiosk "accepted" and the kiosk has dropped the message from its outbox: that message
would be lost, against "nothing lost" (docs/architecture.md, "Non-negotiables"). FULL syncs
the WAL at every commit (about 0.8 ms on the development VM's disk); the relay commits a
batch of uplinks at a time, so under load that cost is shared, and at low load it adds
about a millisecond to a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_MS = 30_000
_BATCH = "relais.batch_cache"
T = TypeVar("T")


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000}, **kwargs)
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001 - DBAPI objects
        dbapi_conn.isolation_level = None  # let us emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # see the module docstring
        cur.execute("PRAGMA temp_store=MEMORY")  # the downlink claim's ORDER BY
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_batch_cache(session: Session) -> None:
    """Let the services of this session's *current transaction* remember what they read
    (settings, contact rules, terminals, people, badge sessions) instead of asking again.

    The relay opens one per batch: a batch is one transaction, and nothing the relay does
    writes those rows' cached parts, so a batch sees what a transaction without the cache
    would see. A console change committed before a batch begins is seen by that batch (the
    cache never outlives the transaction it was filled in: a new transaction, or a
    savepoint, starts it over). The console does not open one: it reads everything fresh.
    """
    session.info[_BATCH] = {"_tx": None, "_keep": []}


def batch_cache(session: Session) -> dict[str, Any] | None:
    """The cache ``open_batch_cache`` opened, while its transaction lasts; else None."""
    cache = session.info.get(_BATCH)
    if cache is None:
        return None
    tx = session.get_transaction()
    if cache["_tx"] is None:
        # Filled only by queries, which begin the transaction: it is the first one seen.
        cache["_tx"] = tx
    elif cache["_tx"] is not tx:
        return None
    if session.in_nested_transaction():
        return None
    return cache


def cached(session: Session, key: Any, load: Callable[[], T]) -> T:
    """``load()`` once per batch transaction (every time outside one)."""
    cache = batch_cache(session)
    if cache is None:
        return load()
    if key not in cache:
        cache[key] = load()
    return cache[key]


def keep(session: Session, *rows: object) -> None:
    """Hold ORM rows for the rest of the batch: the identity map only keeps rows weakly, so
    an unchanged row read once would otherwise be queried again by the next ``get``."""
    cache = batch_cache(session)
    if cache is not None:
        cache["_keep"].extend(rows)


class Store:
    """Owns the engine; ``with store.session() as s:`` is one unit of work."""

    def __init__(self, url: str, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
