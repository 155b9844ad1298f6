"""The relay's login desk: badge-ins handled beside the worker, never in front of it.

A badge-in costs a PIN check (scrypt: tens of milliseconds of CPU, by design) and a sync
reply (history, notices, the contact list). In the worker's batch transaction both would
hold up every other terminal's messages, and on SQLite the database's one write lock too.
The desk takes login uplinks off the worker and handles each in three steps:

1. a short read transaction fetches what the check needs (``sessions.pin_to_check``); the
   refusals that write nothing (suspended, wait, pin_required, locked) are answered there;
2. the PIN's hash is checked with no transaction and no relay lock held, in a small pool
   of processes at the lowest CPU priority (the worker, the broker and the database go
   first; a shift change's hundreds of checks wait for idle CPU instead of messages);
3. a short write transaction runs ``sessions.badge_in`` with that verdict, which re-checks
   everything that may have changed meanwhile (throttle, suspension, the employee
   deactivated, the badge or PIN changed: then ``StaleCheck`` and the desk starts again),
   keeps every rule (leaky throttle, pin_always, bad_credentials, declared last_seq,
   replaced sessions' ends) and opens the session.

After the commit: the replies (logouts of the replaced sessions, the login) go out, the
uplink is acknowledged, and the sync reply is built in a read transaction and sent.

Order per terminal. The worker hands the desk every uplink through ``route`` in the order
it takes them from its inbox (one FIFO per terminal). A login is taken, and from then on
every later uplink of its terminal is held at the desk until that login is done; the held
ones then come back to the worker first (``released``), in their order, before anything
the worker takes from its inbox afterwards. Uplinks the terminal sent before its login are
in the worker's batches: the desk starts a login only when the worker calls ``dispatch``
after committing the batch it was routed in, so they are committed first. Nothing a
terminal sent after its login is handled before it, nothing sent before it after it (bar
an uplink the worker deferred because it overtook an earlier seq, which waited anyway).
"""

from __future__ import annotations

import hashlib
import logging
import math
import multiprocessing
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hr_console.config import Settings
from hr_console.relay import helpers
from hr_console.relay.handlers import Publish, error_reply, sync_reply
from hr_console.relay.meter import Meter
from hr_console.services import sessions
from hr_console.services.errors import ServiceError
from hr_console.services.secrets import check_secret
from hr_console.store.db import Store, open_batch_cache, sqlite_reader
from hr_console.store.models import Terminal
from relais_wire import topics
from relais_wire.envelope import Envelope, WireError, decode_uplink, envelope

log = logging.getLogger("relais.relay.logins")

THREADS = 4  # logins under way at once (their database steps overlap others' PIN checks)
HASHERS = 2  # PIN checks at once, each in its own process: this machine's cores
# The hashing processes yield the CPU to the worker, the broker and the database, but not
# all of it: at 19 (a 1.5 % share against one busy process) a server whose cores were busy
# left a PIN badge-in unanswered for over 15 s (CI saw it; the kiosk gives up at 20 s).
# At 10 a contended core still gives a check ~10 %: 0.1 s of scrypt within about a second.
HASH_NICE = 10
STALE_TRIES = 3  # checks redone when the PIN or badge changed meanwhile; then in the transaction
TIMINGS_KEPT = 2000
REFUSALS_KEPT = 5000
HELD_MAX = 64  # uplinks of one terminal held behind its login (its outbox resends the rest)
# A kiosk's own sync requests, per terminal: a few at once, then one every two seconds. A sync
# is the person's history with its photos (up to 384 KB, built here and sent); the meter lets
# a terminal send 20 uplinks a second, and whoever holds its password asked for 19 syncs a
# second that its session never took, for the broker to queue. One asked past this is acked
# unanswered: a kiosk still waiting asks again (every 2 s at first, then less often).
SYNC_RATE = 0.5
SYNC_BURST = 3.0
# Badge-ins that open a session, per terminal: a queue of people at a shift change, then one
# every four seconds (a person badging in, reading and leaving takes longer). Each opens a
# session and builds a sync (the HR desk's is 0.7 s at 50,000 employees); an attacker's
# review made 185 in 10 s from one terminal with a badge and its password. A login past it
# is answered ``busy`` with the seconds, which the kiosk shows with its countdown; nothing
# is written and no miss is counted. Misses do not spend it: the throttle has its own waits.
LOGIN_RATE = 0.25
LOGIN_BURST = 20.0
# Refusals that write nothing and count no miss, and whose wait runs out: a login sent again
# is decided again rather than answered the same (a stale wait, replayed).
UNCOUNTED = frozenset({"wait", "busy"})
READ_MMAP_BYTES = 256 * 2**20
DB_TRIES = 3  # a login whose transaction fails on the database is tried again this often


class Uplink(Protocol):
    """What the relay's inbox holds (``mqtt.Inbound``)."""

    topic: str
    payload: bytes


@dataclass
class _Held:
    """A terminal with a login at the desk: its later uplinks, in order."""

    items: deque[Any] = field(default_factory=deque)
    done: bool = False
    # Sessions with a sync already on its way here (at the desk or held): a kiosk waiting
    # for its answer asks again, and after a broker restart 1,000 of them do; one answer
    # serves them all, so the repeats are acked and dropped instead of built again.
    syncs: set[str | None] = field(default_factory=set)
    # The login at the desk: its id (a resend of it is answered by it), whether a desk thread
    # has taken it, and a newer login of the terminal that takes its place until then.
    login_id: str = ""
    started: bool = False
    newer: tuple[Any, Envelope] | None = None
    replaced: set[str] = field(default_factory=set)  # ids given up: a late copy is dropped
    # The login's answer is out: a resend from now on (that answer lost on its way) waits
    # behind the login and is answered again from its stored session, not dropped.
    answered: bool = False


@dataclass(frozen=True)
class Timing:
    """One login, in milliseconds: ``server`` from the moment the desk starts it to its sync
    reply handed to the broker client; ``hash`` is the part spent checking the PIN."""

    outcome: str  # ok, or the refusal's code
    read: float
    hash: float
    write: float
    sync: float
    server: float
    waited: float  # from the worker's routing to the desk starting it
    at: float = 0.0  # time.monotonic() when the desk started it (one clock for the machine)


@dataclass
class DeskCounters:
    logins: int = 0
    refused: int = 0
    errors: int = 0
    stale: int = 0
    replayed: int = 0  # logins sent again whose first answer was lost
    syncs: int = 0  # sync requests answered
    dropped: int = 0  # uplinks past HELD_MAX behind a login (the kiosk sends them again)
    repeats: int = 0  # sync requests asked again while one was on its way (one answer)
    superseded: int = 0  # logins a newer one of their terminal replaced before they began
    throttled: int = 0  # sync requests past SYNC_RATE, acked unanswered; logins answered
    # again past it, answered without their sync
    throttled_logins: int = 0  # badge-ins past LOGIN_RATE, answered ``busy``


def read_sessions(store: Store) -> tuple[sessionmaker[Session], Engine | None]:
    """Sessions for the desk's reads. On SQLite every transaction of the store starts with
    ``BEGIN IMMEDIATE``, the one write lock the worker needs: the desk's reads use an engine
    of their own whose transactions begin deferred and are query-only (a WAL snapshot, which
    never blocks a writer). On PostgreSQL a read takes no lock: the store's sessions do."""
    if not store.is_sqlite:
        return sessionmaker(store.engine, expire_on_commit=False), None
    # Another connection's commit makes SQLite drop this connection's page cache at the
    # next read (WAL); mapped pages cost nothing to take up again: a sync right after its
    # badge-in's commit reads in 7 ms instead of 14 at 10,000 employees.
    engine = sqlite_reader(store.url, mmap_bytes=READ_MMAP_BYTES)
    return sessionmaker(engine, expire_on_commit=False), engine


def _terminal(s: Session, name: str, *, lock: bool) -> Terminal | None:
    stmt = select(Terminal).where(Terminal.name == name, Terminal.active.is_(True))
    if lock and s.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()  # the worker's batches lock it the same way
    return s.execute(stmt).scalar_one_or_none()


def login_envelope(payload: bytes) -> Envelope | None:
    """The login or sync request an uplink is, if it is one (anything else, even a broken
    one, stays with the worker, which answers it as it always has). A sync is read-only and
    costs a contact list, history and notices: after a broker restart every terminal asks
    for one at once, which in the worker would hold everyone's messages up."""
    if b'"login"' not in payload and b'"sync"' not in payload and b"\\u" not in payload:
        return None  # not one, however written: JSON can spell "login" only so or escaped
    try:
        env = decode_uplink(payload)
    except WireError:
        return None
    return env if env.type in ("login", "sync") else None


class LoginDesk:
    """Badge-ins off the worker. The relay gives it callbacks: ``publish`` (replies, after
    the commit), ``ack`` (the uplink, after the commit), ``wake_worker`` (held uplinks are
    ready to be taken back), ``wake_delivery`` (downlinks became owed to the new session),
    and ``db_lock`` (the relay's lock on SQLite's one writer, taken for the short write)."""

    def __init__(self, cfg: Settings, store: Store, *,
                 publish: Callable[[list[Publish]], None],
                 ack: Callable[[Any], None],
                 wake_worker: Callable[[], None] = lambda: None,
                 wake_delivery: Callable[[], None] = lambda: None,
                 db_lock: threading.Lock | None = None,
                 threads: int = THREADS, hashers: int = HASHERS) -> None:
        self.cfg = cfg
        self.store = store
        self._publish = publish
        self._ack = ack
        self._wake_worker = wake_worker
        self._wake_delivery = wake_delivery
        self._db_lock = db_lock if store.is_sqlite else None
        self._reader, self._read_engine = read_sessions(store)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="relay-login")
        self._hashers = hashers  # 0: in the desk's threads (tests, a one-off tool)
        self._hash_pool: ProcessPoolExecutor | None = None
        self._hash_lock = threading.Lock()
        if hashers:
            self._hashing()
        self._lock = threading.Lock()
        # Refusals by login id: a login sent again gets the same answer, not another miss
        # counted against the terminal and the badge.
        self._refusals: OrderedDict[tuple[str, str, str], ServiceError] = OrderedDict()
        self._held: dict[str, _Held] = {}  # terminal -> its uplinks held behind its login
        self._syncing: dict[int, int] = {}  # employee -> badge-ins committed, sync not out
        self._ready: list[tuple[str, Any, Envelope, float]] = []  # routed, not yet dispatched
        self.timings: deque[Timing] = deque(maxlen=TIMINGS_KEPT)
        self.counters = DeskCounters()
        self._sync_meter = Meter(rate=SYNC_RATE, burst=SYNC_BURST)
        self._login_meter = Meter(rate=LOGIN_RATE, burst=LOGIN_BURST)
        self._busy = 0

    # --- the worker's side ------------------------------------------------------------------

    def route(self, terminal: str, item: Uplink) -> bool:
        """Called by the worker for each uplink it takes, in order, before its batch: True
        when the desk took it (a login, or an uplink of a terminal whose login is at the
        desk); the worker then neither handles nor acknowledges it."""
        if not item.topic.endswith("/up"):
            return False  # presence is not ordered with uplinks
        dropped = repeat = replaced = wake = False
        superseded: Any = None  # the newer login that this one replaces in the queue
        with self._lock:
            held = self._held.get(terminal)
        env = login_envelope(item.payload) if held is not None else None
        sync_sid = env.sid if env is not None and env.type == "sync" else ""
        login_id = env.id if env is not None and env.type == "login" else ""
        with self._lock:
            held = self._held.get(terminal)
            if held is not None and login_id and not held.done and not held.answered and (
                    login_id == held.login_id or login_id in held.replaced):
                repeat = True  # the kiosk asks again: the answer to that login is coming
            elif (held is not None and login_id and held.login_id and not held.started
                  and not held.items):
                # A kiosk gives up a login after 20 s and the person badges again: the one it
                # waits for now takes the older one's place in the desk's queue (which, in a
                # shift change or after a broker restart, is longer than 20 s); handling both,
                # each behind the whole queue, would never answer the one awaited.
                superseded = held.newer[0] if held.newer is not None else None
                held.newer = (item, env)
                held.replaced.add(held.login_id)
                held.login_id = env.id  # its resends are repeats from now on
                replaced = True
            elif held is not None:
                repeat = sync_sid != "" and sync_sid in held.syncs
                # Bounded: a terminal alternating logins and big uplinks must not make the
                # relay hold more and more of them (memory, and unacked at the broker). Past
                # the bound the uplink is acked and dropped; the kiosk's outbox sends it again.
                dropped = not repeat and len(held.items) >= HELD_MAX
                if not (repeat or dropped):
                    held.items.append(item)
                    if sync_sid != "":
                        held.syncs.add(sync_sid)
            wake = held is not None and held.done  # behind a login that is done: next round
        if held is not None:
            if replaced:
                self.counters.superseded += 1
                if superseded is not None:
                    self._ack(superseded)
            elif repeat:
                self.counters.repeats += 1
                self._ack(item)
            if dropped:
                self.counters.dropped += 1
                self._ack(item)
            if wake:
                self._wake_worker()
            return True
        env = login_envelope(item.payload)
        if env is None:
            return False
        with self._lock:
            self._held[terminal] = _Held(syncs={env.sid} if env.type == "sync" else set(),
                                         login_id=env.id if env.type == "login" else "")
            self._ready.append((terminal, item, env, time.monotonic()))
        return True

    def dispatch(self) -> None:
        """Called by the worker after committing a batch: the logins routed while building
        it start now, their terminal's earlier uplinks being committed."""
        with self._lock:
            ready, self._ready = self._ready, []
            self._busy += len(ready)
        for terminal, item, env, routed in ready:
            self._pool.submit(self._run, terminal, item, env, routed)

    def released(self) -> list[Any]:
        """Uplinks held behind logins that are done, in their order: the worker handles them
        (through ``route`` again) before anything it takes from its inbox next."""
        out: list[Any] = []
        with self._lock:
            for terminal in [t for t, h in self._held.items() if h.done]:
                out.extend(self._held.pop(terminal).items)
        return out

    def working(self) -> bool:
        """Whether a login is routed or under way (held uplinks aside)."""
        with self._lock:
            return bool(self._busy or self._ready)

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._hash_pool is not None:
            self._hash_pool.shutdown(wait=True, cancel_futures=True)
        if self._read_engine is not None:
            self._read_engine.dispose()

    # --- one login --------------------------------------------------------------------------

    def _run(self, terminal: str, item: Any, env: Envelope, routed: float) -> None:
        with self._lock:
            held = self._held.get(terminal)
            newer = None
            if held is not None:
                held.started = True
                newer, held.newer = held.newer, None
        if newer is not None:  # the login the kiosk awaits now, in the older one's place
            self._ack(item)
            item, env = newer
        try:
            for attempt in range(DB_TRIES):
                try:
                    if env.type == "sync":
                        self._sync(terminal, item, env)
                    else:
                        self._login(terminal, item, env, routed)
                    break
                except OperationalError:  # a deadlock or a lost connection: nothing committed
                    if attempt == DB_TRIES - 1:
                        raise
                    log.warning("login from %s: database error, trying again", terminal)
                    time.sleep(0.05 * (attempt + 1))
        except Exception:
            log.exception("login from %s failed", terminal)
            self.counters.errors += 1
            self._ack(item)  # as the worker does with an uplink that breaks: not again
        finally:
            with self._lock:
                self._busy -= 1
                held = self._held.get(terminal)
                waiting = held is not None and bool(held.items)
                if waiting:
                    held.done = True  # the worker takes them back (``released``)
                else:
                    self._held.pop(terminal, None)
            if waiting:
                self._wake_worker()

    def _check(self, stored: str, pin: str) -> bool:
        """The slow part, with no transaction open and no lock held, in a process of its
        own at a low priority (``HASH_NICE``): 500 badge-ins in a minute are 50 s of scrypt, which in
        the relay's process would take the GIL's turns and the cores from the worker
        (the pair's p99 was 570 ms with the checks in threads on this 2-core machine)."""
        if not self._hashers:
            return check_secret(stored, pin)
        return self._hashing().submit(check_secret, stored, pin).result()

    def _hashing(self) -> ProcessPoolExecutor:
        with self._hash_lock:
            if self._hash_pool is None:
                # spawn, not fork: the relay has threads (paho's, the worker's) that a fork
                # would copy mid-flight. A process starts in a second or so (it imports the
                # relay's main module): started with the desk, not at the first PIN.
                self._hash_pool = ProcessPoolExecutor(
                    max_workers=self._hashers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=helpers.start, initargs=(HASH_NICE, os.getpid()))
                for _ in range(self._hashers):
                    self._hash_pool.submit(check_secret, None, "")
            return self._hash_pool

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        """A read transaction for a sync, which remembers what it read (the settings
        above all: six of them, each a query, a round trip on PostgreSQL) for as long as
        it lasts, as a relay batch does (``store.db.open_batch_cache``)."""
        with self._reader() as s, s.begin():
            open_batch_cache(s)
            yield s

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._db_lock or nullcontext(), self.store.session() as s:
            yield s

    def _login(self, terminal: str, item: Any, env: Envelope, routed: float) -> None:
        started = time.monotonic()
        body = env.body
        pepper = self.cfg.badge_pepper
        read_s = hash_s = write_s = 0.0
        res: sessions.LoginResult | ServiceError | None = None
        with self._lock:
            refused = self._refusals.get(_refusal_key(terminal, env))
        if refused is not None:  # the same answer, not another miss counted: no transaction
            self.counters.replayed += 1
            self._refuse(terminal, item, env, refused)
            return
        for attempt in range(STALE_TRIES + 1):
            t0 = time.monotonic()
            with self._reader() as s, s.begin():
                term = _terminal(s, terminal, lock=False)
                if term is None:
                    log.warning("login from unknown or revoked terminal %s ignored", terminal)
                    self._ack(item)
                    return
                again = sessions.replayed_login(s, term, env.id, body.badge, pepper)
                if again is not None:  # its answer was lost: the same session again
                    read_s += time.monotonic() - t0
                    self.counters.replayed += 1
                    # Its sync goes again too, and ``_opened`` releases what it holds: held
                    # here, or another badge-in of this person under way lost its hold.
                    self._hold(again.employee_id)
                    self._opened(terminal, item, env, again, read_s, 0.0, 0.0, started, routed)
                    return
                try:
                    stored = sessions.pin_to_check(s, term, body.badge, body.pin, pepper)
                except ServiceError as err:  # refused before any check: nothing to write
                    read_s += time.monotonic() - t0
                    self._refuse(terminal, item, env, err)
                    self._timed(err.code, read_s, hash_s, write_s, 0.0, started, routed)
                    return
                # Past the terminal's badge-ins (LOGIN_RATE): nothing written, after the refusals
                # above (a suspended terminal hears so, not that it is busy). Only logins that
                # open a session count; misses have the throttle's own waits.
                wait = self._login_meter.wait(terminal) if attempt == 0 else 0.0
                if wait > 0:
                    read_s += time.monotonic() - t0
                    seconds = math.ceil(wait)
                    self.counters.throttled_logins += 1
                    self._refuse(terminal, item, env, ServiceError(
                        "busy", f"This terminal is busy: try again in {seconds} s.",
                        wait=seconds))
                    self._timed("busy", read_s, hash_s, write_s, 0.0, started, routed)
                    return
            t1 = time.monotonic()
            read_s += t1 - t0
            verify: sessions.Verify = check_secret  # the last try: in the transaction
            if attempt < STALE_TRIES:
                right = True
                if stored is not None:
                    right = self._check(stored, body.pin or "")
                    hash_s += time.monotonic() - t1
                verify = sessions.Verdict(stored, right)
            t2 = time.monotonic()
            try:
                with self._write() as s:
                    term = _terminal(s, terminal, lock=True)
                    if term is None:
                        self._ack(item)
                        return
                    try:
                        res = sessions.badge_in(s, term, body.badge, body.pin, pepper,
                                                declared_seq=body.last_seq, verify=verify,
                                                login_ref=env.id)
                    except ServiceError as err:
                        res = err  # its misses are counted: committed with the refusal
                    else:
                        # Before the commit: no claim that sees the new session can miss
                        # that its sync is not out yet (``downlinks._withhold``).
                        self._hold(res.employee_id)
            except sessions.StaleCheck:
                write_s += time.monotonic() - t2
                self.counters.stale += 1
                continue
            except BaseException:
                if isinstance(res, sessions.LoginResult):
                    self._release(res.employee_id)  # not committed: nothing to hold back
                raise
            write_s += time.monotonic() - t2
            if isinstance(res, sessions.LoginResult) and res.replayed:
                self.counters.replayed += 1  # committed meanwhile by another relay or thread
            elif isinstance(res, sessions.LoginResult):
                # Spent once committed: a login retried after a database error spends once.
                self._login_meter.spend(terminal)
            break
        assert res is not None  # the last try checks in the transaction: never stale
        if isinstance(res, ServiceError):
            self._refuse(terminal, item, env, res)
            self._timed(res.code, read_s, hash_s, write_s, 0.0, started, routed)
            return
        self._opened(terminal, item, env, res, read_s, hash_s, write_s, started, routed)

    def _opened(self, terminal: str, item: Any, env: Envelope, res: sessions.LoginResult,
                read_s: float, hash_s: float, write_s: float, started: float,
                routed: float) -> None:
        """After the commit (or for a login sent again): the logouts of the sessions it
        replaced, the login, the ack, then the sync built in a read transaction. A login
        sent again gets its sync within the terminal's ``SYNC_RATE``, as a sync request
        does: the same envelope sent in a loop for two minutes built the HR desk's sync
        each time (a review); past it the kiosk, answered, asks for its sync itself."""
        self._answered(terminal)
        self._publish([*(Publish(e.terminal, envelope("logout", sid=e.session_id,
                                                      reason="replaced"))
                         for e in res.ended if e.terminal != terminal),
                       Publish(terminal, envelope(
                           "login", sid=res.session_id, ref=env.id, ok=True,
                           employee={"id": res.employee_id, "name": res.name,
                                     "language": res.language}))])
        self._ack(item)
        self.counters.logins += 1
        if res.replayed and not self._sync_meter.allow(terminal):
            self.counters.throttled += 1
            self._release(res.employee_id)
            self._timed("no_sync", read_s, hash_s, write_s, 0.0, started, routed)
            return
        t3 = time.monotonic()
        try:
            with self._reading() as s:
                sync = sync_reply(s, terminal, res.session_id, res.employee_id, env.id)
        except Exception:  # the session is open: the kiosk's own sync request gets it
            log.exception("sync after the login from %s failed", terminal)
            self.counters.errors += 1
            self._release(res.employee_id)
            return
        self._publish([sync])
        sync_s = time.monotonic() - t3
        # After the sync: what is owed comes after the history.
        self._release(res.employee_id)
        self._timed("ok", read_s, hash_s, write_s, sync_s, started, routed)

    def _sync(self, terminal: str, item: Any, env: Envelope) -> None:
        """A kiosk's own sync request (after a reconnection, or when the one that followed
        its login was lost): built in a read transaction, beside the worker, a few at a time
        per terminal (``SYNC_RATE``)."""
        if not self._sync_meter.allow(terminal):
            self.counters.throttled += 1
            self._ack(item)
            return
        with self._reading() as s:
            term = _terminal(s, terminal, lock=False)
            if term is None:
                self._ack(item)
                return
            try:
                row = sessions.reader(s, term, env.sid)
                reply = sync_reply(s, terminal, row.id, row.employee_id, env.id)
            except ServiceError as err:
                reply = error_reply(terminal, err, env.id, env.sid)
        self.counters.syncs += 1  # before the answer goes: whoever got it sees it counted
        self._publish([reply])
        self._ack(item)

    # --- badge-ins whose sync is not out yet -----------------------------------------------

    def withheld(self) -> frozenset[int]:
        """Employees badged in whose sync is not published yet: the relay's claims leave
        their downlinks for after it (``downlinks.claim(withheld=...)``)."""
        with self._lock:
            return frozenset(self._syncing)

    def _hold(self, employee_id: int) -> None:
        with self._lock:
            self._syncing[employee_id] = self._syncing.get(employee_id, 0) + 1

    def _release(self, employee_id: int) -> None:
        with self._lock:
            left = self._syncing.pop(employee_id, 0) - 1
            if left > 0:  # the same person badging in at two terminals at once
                self._syncing[employee_id] = left
        self._wake_delivery()

    def _answered(self, terminal: str) -> None:
        """Marked just before the login's answer goes (``_Held.answered``)."""
        with self._lock:
            held = self._held.get(terminal)
            if held is not None:
                held.answered = True

    def _refuse(self, terminal: str, item: Any, env: Envelope, err: ServiceError) -> None:
        if err.code not in UNCOUNTED:  # those cost nothing to decide again, and expire
            with self._lock:
                self._refusals[_refusal_key(terminal, env)] = err
                while len(self._refusals) > REFUSALS_KEPT:
                    self._refusals.popitem(last=False)
        self._answered(terminal)
        self._publish([Publish(terminal, envelope(
            "login", sid=None, ref=env.id, ok=False, code=err.code, message=err.message,
            until=err.detail.get("until"), wait=err.detail.get("wait")))])
        self._ack(item)
        self.counters.refused += 1

    def _timed(self, outcome: str, read_s: float, hash_s: float, write_s: float,
               sync_s: float, started: float, routed: float) -> None:
        now = time.monotonic()
        self.timings.append(Timing(outcome, *(round(v * 1000, 3) for v in (
            read_s, hash_s, write_s, sync_s, now - started, started - routed)), started))


def _refusal_key(terminal: str, env: Envelope) -> tuple[str, str, str]:
    """A refusal is replayed only to the same login: same terminal, id and badge."""
    badge = str(getattr(env.body, "badge", ""))
    return terminal, env.id, hashlib.sha256(badge.encode()).hexdigest()[:16]


def terminal_of(item: Uplink) -> str:
    return topics.terminal_of(item.topic) or ""
