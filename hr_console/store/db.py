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

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_MS = 30_000
_BATCH = "relais.batch_cache"
T = TypeVar("T")


def make_engine(url: str, *, wal_autocheckpoint: bool = True, **kwargs) -> Engine:
    """``wal_autocheckpoint=False`` (SQLite): this engine's commits never checkpoint; the
    owner runs ``store.checkpoints`` instead (the relay, whose commits are its latency)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000}, **kwargs)
        _sqlite_setup(engine, autocheckpoint=wal_autocheckpoint)
        return engine
    engine = create_engine(url, **kwargs)
    _ping_after_idle(engine)
    return engine


PING_IDLE_S = 5.0  # a pooled PostgreSQL connection unused this long is pinged at checkout


def _ping_after_idle(engine: Engine) -> None:
    """``pool_pre_ping`` only for connections that sat idle in the pool: a server restarted
    or a connection cut by a firewall while nobody used it is replaced before anyone does.
    ``pool_pre_ping`` pinged at every checkout, i.e. once per relay batch: a round trip
    (0.5 ms, and CPU on both sides) before each transaction, on the hot path. A connection
    that breaks while in steady use fails its transaction as any other error does (the
    relay retries the batch one uplink at a time; the pool drops every connection older
    than the failure)."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record) -> None:  # noqa: ANN001 - pool objects
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy) -> None:  # noqa: ANN001
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < PING_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("pooled connection failed its ping") from exc
        if alive is False:
            raise DisconnectionError("pooled connection failed its ping")


_IDLE_SINCE = "relais.idle_since"


def _sqlite_setup(engine: Engine, *, autocheckpoint: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001 - DBAPI objects
        dbapi_conn.isolation_level = None  # let us emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # see the module docstring
        cur.execute("PRAGMA temp_store=MEMORY")  # the downlink claim's ORDER BY
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        if not autocheckpoint:
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_batch_cache(session: Session, remembered: object | None = None) -> None:
    """Let the services of this session's *current transaction* remember what they read
    (settings, contact rules, terminals, people, badge sessions) instead of asking again.

    The relay opens one per batch: a batch is one transaction, and nothing the relay does
    writes those rows' cached parts, so a batch sees what a transaction without the cache
    would see. A console change committed before a batch begins is seen by that batch (the
    cache never outlives the transaction it was filled in: a new transaction, or a
    savepoint, starts it over). The console does not open one: it reads everything fresh.
    ``remembered``: the relay's ``services.remembered.Remembered``, which the batch uses
    once it has read the policy epoch (``remembered.arm``).
    """
    session.info[_BATCH] = {"_tx": None, "_keep": [], "_remembered": remembered}


def database_key(session: Session) -> str:
    """Which database a session reads (its URL, password hidden): the key of what a process
    remembers per database (the dashboard's figures, the audit chain's state, notice counts),
    so that homes or tests sharing a process never see each other's."""
    return session.get_bind().engine.url.render_as_string(hide_password=True)


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

    def __init__(self, url: str, *, wal_autocheckpoint: bool = True, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, wal_autocheckpoint=wal_autocheckpoint, **engine_kwargs)
        # False: the owner checkpoints the WAL itself (``store.checkpoints``; the relay).
        self.wal_autocheckpoint = wal_autocheckpoint
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
            # What the unit of work kept in it (the relay's batch cache holds the
            # transaction, and its lazy settings a closure over the session): cycles that
            # only the garbage collector would free, with the session's whole graph (its
            # connection, rows, events), at 500 messages a second a 10-20 ms pause a second.
            session.info.clear()

    def dispose(self) -> None:
        self.engine.dispose()


def sqlite_reader(url: Any, *, mmap_bytes: int = 0) -> Engine:
    """An engine for reads beside the store's writers on SQLite: its transactions begin
    deferred (the store's begin IMMEDIATE, the one write lock) and are query-only, each a
    WAL snapshot that never blocks a writer. ``mmap_bytes``: pages mapped rather than read
    again after another connection's commit (the login desk's syncs)."""
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001 - DBAPI objects
        dbapi_conn.isolation_level = None  # BEGIN is ours
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.execute("PRAGMA query_only=ON")
        if mmap_bytes:
            cur.execute(f"PRAGMA mmap_size={int(mmap_bytes)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        conn.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def read_snapshot(store: Store) -> Iterator[Session]:
    """One consistent, read-only view of the database for a long read (a person's
    access-request export, which may read tens of thousands of rows in several queries).

    On SQLite the store's transactions begin IMMEDIATE, taking the one write lock every
    relay batch needs: this one is a connection of its own whose transaction begins
    deferred and is query-only, a WAL snapshot that never blocks a writer (as the relay's
    login desk reads, relay/logins.py). On PostgreSQL a REPEATABLE READ, READ ONLY
    transaction: every statement sees the same snapshot, and a read takes no lock."""
    if not store.is_sqlite:
        with store.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ",
                                          postgresql_readonly=True)
            with Session(bind=conn) as session:
                yield session
        return
    engine = sqlite_reader(store.url)
    try:
        with Session(bind=engine) as session:
            yield session
            session.rollback()
    finally:
        engine.dispose()
