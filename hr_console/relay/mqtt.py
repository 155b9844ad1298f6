"""The relay process: one paho client, one worker that commits uplinks in arrival order,
one deliverer that sends what the database says is owed.

paho calls back on its network thread; that thread only queues. The worker acknowledges
each uplink to the broker once its outcome is committed (manual ack, docs/architecture.md,
decision 4).
Under load it commits what has queued up (up to ``BATCH_MAX`` uplinks) in one transaction,
one savepoint each, and claims the downlinks they made owed in that same transaction, so a
commit and a delivery round are shared by many messages; replies and acks still go out
only after the commit. Worker and deliverer take turns on the database (one lock), so they
never wait on SQLite's busy timeout, which sleeps in steps of up to 100 ms.
Relays hold no broker session (decision 3). Several relays split the terminals between
them through partition leases in the database (``relay.partitions``): each subscribes to
the topics of its own terminals only, so no two relays handle, or lock, the same terminal.
The relay holding partition 0 also runs the home's periodic chores (session expiry,
scheduled notices, reminders of notices not acknowledged), so that they do not run once
per relay.
A housekeeping thread runs the retention purge when it is due (``services.retention``:
one relay of the home does it per period, whichever claims it first).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import queue
import socket
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from hr_console.config import Settings
from hr_console.relay import alerts
from hr_console.relay.fair import FairInbox
from hr_console.relay.handlers import (
    Batched,
    Publish,
    Result,
    clip_wanted,
    error_reply,
    handle_batch,
    peek,
    received_ref,
)
from hr_console.relay.lane import ReceiptLane
from hr_console.relay.logins import HASHERS, LoginDesk, read_sessions
from hr_console.relay.meter import Meter
from hr_console.relay.partitions import PartitionKeeper
from hr_console.relay.voices import Turn, VoiceDesk
from hr_console.services import (
    audit,
    downlinks,
    notices,
    reminders,
    retention,
    sessions,
    settings,
    shifts,
    voice,
)
from hr_console.services.errors import ServiceError
from hr_console.services.remembered import Remembered, remembered, watched
from hr_console.store import checkpoints
from hr_console.store.db import Store, batch_cache, open_batch_cache
from hr_console.store.models import NOTIFY_END, BadgeSession, Terminal, utcnow
from relais_wire import topics
from relais_wire.envelope import Envelope, WireError, decode_uplink, encode, envelope
from relais_wire.limits import MAX_DOWNLINK_BYTES

log = logging.getLogger("relais.relay")

RESEND_AFTER_S = 5.0  # a downlink not confirmed by then goes out again
DELIVERY_TICK_S = 0.25
DEFER_RETRY_S = 0.05
WORKER_FAILED_PAUSE_S = 0.1  # after a round that failed: a fault that repeats does not spin
DEFER_MAX_TRIES = 20
BATCH_MAX = 64  # uplinks committed together when they queue up faster than one at a time
REPLIES_KEPT = 20_000  # ids of recent direct replies, whose receipts need no transaction
BATCH_PER_TERMINAL = 4  # of them from one terminal: others never wait for its whole backlog
COMPANY_WAIT_S = 0.025  # receipts alone wait this long for more uplinks to share their transaction
COMPANY_MAX = 4  # ... unless they are this many already (16 made a text's p99 at 100 msg/s
# 1.3 to 1.9 ms longer on both databases: a bigger batch of receipts is a longer transaction
# for a text to wait behind, or on PostgreSQL a longer burst of CPU beside it)
LANE_BATCH_MAX = 16  # batches up to this size while the worker keeps up: receipts beside (PostgreSQL)
RATE_WARNING_S = 1.0  # at most one rate_limited error per terminal per second
EXPIRY_CHECK_S = 15.0  # how often open badge sessions are checked against their age and idle limits
NOTICE_CHECK_S = 5.0  # how often scheduled notices are looked at
AUDIT_SEAL_S = 60.0  # how often main seals the terminals' audit chains that grew (services.audit)
REMIND_CHECK_S = 15.0  # how often reminders due are looked for (intervals are 5 min or more)
PURGE_EVERY_H = 24  # default period of the retention purge (relais.toml: purge_every_hours)
PURGE_CHECK_S = 300.0  # how often a relay asks whether the purge is due
PURGE_FIRST_CHECK_S = 60.0  # a relay restarting in a loop does not ask at every start


def purge_period(cfg: Settings) -> dt.timedelta | None:
    """The purge period from relais.toml's ``purge_every_hours`` (0: the relay never purges;
    ``relais purge`` from cron then does)."""
    extra = cfg.extra if isinstance(cfg.extra, dict) else {}
    raw = extra.get("purge_every_hours", PURGE_EVERY_H)
    try:
        hours = float(raw)
    except (TypeError, ValueError):
        log.error("purge_every_hours in relais.toml is not a number (%r): using %d",
                  raw, PURGE_EVERY_H)
        hours = PURGE_EVERY_H
    return dt.timedelta(hours=hours) if hours > 0 else None


# The deliverer's look before it takes the lock, for a logout owed
# (``sessions.claim_end_notices``); ``downlinks.any_due`` for what is owed.
_ENDS = select(BadgeSession.id).where(NOTIFY_END).limit(1)
# What keeps autovacuum from Relais's tables: off for the server, its statistics not
# collected (autovacuum then never starts), or tables of our schema with it turned off.
_AUTOVACUUM = text(
    "SELECT current_setting('autovacuum'), current_setting('track_counts'),"
    " (SELECT string_agg(c.relname, ', ' ORDER BY c.relname)"
    "  FROM pg_class c CROSS JOIN unnest(c.reloptions) AS o(opt)"
    "  WHERE c.relnamespace = CAST(current_schema() AS regnamespace) AND c.relkind = 'r'"
    "  AND split_part(o.opt, '=', 1) = 'autovacuum_enabled'"
    "  AND NOT CAST(split_part(o.opt, '=', 2) AS boolean))")


def _without_autovacuum(s: Session) -> str | None:
    """The relay's start-up line when PostgreSQL's autovacuum cannot reach Relais's tables:
    every delivered message leaves a dead row, and the planner gets no statistics."""
    server, counts, tables = s.execute(_AUTOVACUUM).one()
    effect = ("keep their dead rows and get no planner statistics, and every message slows "
              "down as they grow")
    if server == "off":
        return (f"PostgreSQL's autovacuum is off: the tables Relais writes all the time "
                f"{effect}; turn it back on (its default), see docs/deploy.md")
    if counts == "off":
        return (f"PostgreSQL's track_counts is off, so autovacuum never runs: the tables "
                f"Relais writes all the time {effect}; turn it back on (its default), see "
                f"docs/deploy.md")
    if tables:
        return (f"PostgreSQL's autovacuum is off for these tables: {tables}; they {effect}; "
                f"turn it back on (ALTER TABLE … RESET (autovacuum_enabled)), see "
                f"docs/deploy.md")
    return None


def _within_packet(reply: Publish) -> bytes:
    """The downlink's bytes, or a short ``too_large`` error in its place: the broker drops
    the connection that sends a packet over its limit (the relay's, for every terminal), and
    paho would send it again on each reconnect. What the relay builds is cut to fit
    (``relay.sync_fit``, the history's budget, the wire's limits); this is the last guard."""
    data = encode(reply.payload)
    if len(data) <= MAX_DOWNLINK_BYTES:
        return data
    payload = reply.payload
    log.error("a %s downlink to %s is %d bytes, over the %d one packet takes: an error sent "
              "in its place", payload.get("type"), reply.terminal, len(data), MAX_DOWNLINK_BYTES)
    return encode(envelope("error", sid=payload.get("sid"), ref=payload.get("ref") or payload.get("msg"),
                           code="too_large",
                           message=f"the answer was {len(data)} bytes, over {MAX_DOWNLINK_BYTES}"))


class RelayError(ServiceError, RuntimeError):
    """The relay could not start: a ``RuntimeError`` as before, with a service error's
    ``code`` and ``detail`` so that the command line says it in its user's language."""


_SETTINGS_ROWS = "SELECT key, CAST(value AS TEXT) FROM settings"


class _LazySettings(dict):
    """The batch's settings as ``services.settings.get`` reads them from the batch cache
    (every key of ``settings.DEFAULTS``), read at the first ``get`` of the batch."""

    def __init__(self, load) -> None:  # noqa: ANN001
        super().__init__()
        self._load = load

    def __missing__(self, key: str):  # noqa: ANN204
        if self._load is None:
            raise KeyError(key)
        load, self._load = self._load, None
        self.update(load())
        return self[key]


class _SettingsRows:
    """Settings read in a batch's transaction as the rows' raw text in one driver-level
    statement (8 us on SQLite, where building and running the ORM's took 0.4 ms of CPU, a
    tenth of a small batch); decoded again only when the text differs from the last
    batch's. None read at all by a batch that read the policy epoch while the relay
    remembers them read at the same epoch (``services.remembered``). Either way a change
    the console committed is seen by the next batch, as ``services.settings`` documents."""

    def __init__(self) -> None:
        self._raw: list | None = None
        self._values: dict = {}

    def offer(self, s: Session) -> None:
        cache = batch_cache(s)
        if cache is not None:
            cache[settings._CACHE_KEY] = _LazySettings(lambda: self._read(s))

    def _read(self, s: Session) -> dict:
        kept = remembered(s)
        if kept is not None and kept.settings is not None:
            return kept.settings  # read in an earlier batch at the same policy epoch
        values = self._read_rows(s)
        if kept is not None:
            kept.settings = values
        return values

    def _read_rows(self, s: Session) -> dict:
        cur = s.connection().connection.driver_connection.execute(_SETTINGS_ROWS)
        try:
            raw = sorted((k, v) for k, v in cur.fetchall() if k in settings.DEFAULTS)
        finally:
            cur.close()
        if raw != self._raw:
            values = dict(settings.DEFAULTS)
            values.update((k, None if v is None else json.loads(v)) for k, v in raw)
            self._raw, self._values = raw, values
        return self._values


def _terminal(item: Inbound) -> str:
    return topics.terminal_of(item.topic) or ""


def _receipt_or_presence(item: Inbound) -> bool:
    """What ``_can_wait`` guesses, checked: a text reading "receipt", or a logout with an
    extra field saying so, is not one (the lane takes only receipts and presence)."""
    return item.topic.endswith("/status") or peek(item.payload).get("type") == "receipt"


def _can_wait(item: Inbound) -> bool:
    """Receipts and presence: nobody waits for their answer (a glance at the bytes: a
    message mistaken for one waits COMPANY_WAIT_S at most)."""
    return item.topic.endswith("/status") or b'"receipt"' in item.payload


# paho's own log, for the one line that matters: a callback that raised (suppressed, so that
# its network thread goes on). Its other lines are DEBUG, skipped before they are built.
_PAHO = logging.getLogger("relais.relay.paho")
_PAHO.setLevel(logging.ERROR)
_PAHO.addFilter(lambda record: record.getMessage().startswith("Caught exception"))


@dataclass
class Inbound:
    mid: int
    qos: int
    topic: str
    payload: bytes
    tries: int = 0
    due: float = 0.0
    voice_wait: bool = False  # back from waiting for its clip: not metered again
    turned_away: str | None = None  # its clip's key, over its budget (``voice.turned_away``)
    acked: bool = False  # its PUBACK is sent: never twice (the id may be another's by then)


@dataclass
class Counters:
    handled: int = 0
    errors: int = 0
    deferred: int = 0
    dropped_deferred: int = 0
    published: int = 0


class Relay:
    def __init__(self, cfg: Settings, store: Store, *, instance: int = 1,
                 meter: Meter | None = None, purge_every: dt.timedelta | None | Literal["config"] = "config",
                 purge_check_s: float = PURGE_CHECK_S,
                 purge_first_check_s: float = PURGE_FIRST_CHECK_S,
                 pin_hashers: int = HASHERS, remind_check_s: float = REMIND_CHECK_S) -> None:
        """``pin_hashers``: processes the login desk checks PINs in (0: its threads, which
        in-process tests use to start fast). ``remind_check_s``: how often the chores look
        for reminders due (tests shorten it and move ``services.reminders.clock``)."""
        self.cfg = cfg
        self.store = store
        shifts.use_zone(cfg.timezone)  # where a site without its own zone reads its shifts
        self.username = cfg.relay_account(instance)
        self.purge_every = purge_period(cfg) if purge_every == "config" else purge_every
        self.purge_check_s = purge_check_s
        self.purge_first_check_s = purge_first_check_s
        self.remind_check_s = remind_check_s
        self.purges = 0  # purges this relay ran (not the ones it left to another relay)
        self.meter = meter or Meter()
        self.counters = Counters()
        self._inbox: FairInbox[Inbound | None] = FairInbox()  # one queue per terminal
        self._deferred: deque[Inbound] = deque()
        # Receipts waiting for company when a message went ahead of them (_keep_company).
        self._company: list[Inbound] = []
        self._company_until = 0.0
        self._warned: dict[str, float] = {}  # terminal -> when it was last told it floods
        self._wake = threading.Event()
        self._db = threading.Lock()  # the worker's batches and the deliverer's rounds
        # Reads that need no write lock (the deliverer's "anything owed?", the keeper's
        # terminal names): on SQLite a deferred WAL snapshot, which never blocks the worker.
        self._reader, self._read_engine = read_sessions(store)
        self._settings = _SettingsRows()
        # People, rules and settings from one batch to the next (services.remembered): the
        # worker's, and the lane's below.
        self._memory: Remembered | None = Remembered()
        # On PostgreSQL, batches of receipts alone are committed beside the worker, so that
        # a text never waits for them (relay.lane); its own settings rows, its own counts.
        self._lane: ReceiptLane[Inbound] | None = None if store.is_sqlite else ReceiptLane(
            lambda batch: self._commit(batch, beside=True), _terminal)
        self._lane_settings = _SettingsRows()
        self._lane_memory: Remembered | None = Remembered()
        self._counts_lock = threading.Lock()
        self._ack_lock = threading.Lock()
        # Ids of recent direct replies: added by whoever publishes them (the worker, the
        # login desk), taken by whoever commits their receipts (the worker, the lane).
        self._replies: OrderedDict[str, None] = OrderedDict()
        self._stop = threading.Event()
        self._connected = threading.Event()
        # Set once the broker has acknowledged the subscriptions made on connection: before
        # that an uplink published to a terminal's topic reaches no relay and is dropped (a
        # kiosk sends it again; a test's one-off publish would wait for ever).
        self._listening = threading.Event()
        self._first_subscriptions: set[int] = set()
        self._threads: list[threading.Thread] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.username,
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.2, 5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        # A callback that raises would end paho's network thread, and the relay would
        # read nothing more while its process looks alive: logged and gone past instead.
        self.client.suppress_exceptions = True
        self.client.enable_logger(_PAHO)
        # Each start is a new member: a relay restarted under the same account is not
        # mistaken for the one that died and still holds leases until they expire.
        # Badge-ins beside the worker: the PIN's slow hash and the sync never hold up other
        # terminals' messages (relay.logins).
        self.logins = LoginDesk(cfg, store,
                                publish=lambda replies: self._publish(replies, direct=True),
                                ack=self._ack, wake_worker=lambda: self._inbox.put(None),
                                wake_delivery=self._wake.set, db_lock=self._db,
                                hashers=pin_hashers)
        self.voices = VoiceDesk(wake=lambda: self._inbox.put(None), wanted=self._clip_wanted)
        # On SQLite the keeper's renewals take turns with the worker on the one write lock;
        # on PostgreSQL they touch no row the worker does, so they need no turn at all.
        self.keeper = PartitionKeeper(store, f"{self.username}/{uuid.uuid4().hex[:8]}",
                                      subscribe=self._subscribe, unsubscribe=self._unsubscribe,
                                      lock=self._db if store.is_sqlite else None,
                                      reader=self._reader)

    # --- lifecycle ------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        # Its own account: one relay's password neither logs in as another nor forges a terminal.
        # A home without it raises config.SettingsError (a ValueError), said by the caller.
        self.client.username_pw_set(self.username, self.cfg.server_password(self.username))
        with self.store.session() as s:  # not in a batch, where they would hold main's head
            audit.open_terminal_chains(s, self.username)
            said = None if self.store.is_sqlite else _without_autovacuum(s)
            if said:
                log.warning(said)
            if not watched(s):
                log.warning("the triggers that raise the policy epoch are not all in place "
                            "(a table rebuilt without them?): people, rules and settings are "
                            "read again in every batch")
                self._memory = self._lane_memory = None
        self.keeper.round()  # its partitions before it connects: subscribed on connection
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 0
        self.client.connect_async(self.cfg.mqtt_host, self.cfg.relay_port, keepalive=15,
                                  clean_start=True, properties=props)
        self.client.loop_start()
        targets = [self._work, self._deliver, self._keep_leases]
        if self.purge_every is not None:
            targets.append(self._housekeep)
        if self.store.is_sqlite and not self.store.wal_autocheckpoint:
            targets.append(self._checkpoint)
        for target in targets:
            thread = threading.Thread(target=target, name=f"relay-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self._lane is not None:
            self._lane.start()
        deadline = time.monotonic() + timeout
        if self._connected.wait(timeout):
            if not self._listening.wait(max(0.0, deadline - time.monotonic())):
                log.warning("relay %s: the broker has not confirmed its subscriptions yet",
                            self.username)
        else:
            self.stop()
            raise RelayError(
                "relay_unreachable", f"the relay could not connect to the broker on "
                f"{self.cfg.mqtt_host}:{self.cfg.relay_port} as {self.username}",
                host=self.cfg.mqtt_host, port=self.cfg.relay_port, name=self.username)

    def stop(self) -> None:
        self._stop.set()
        self._inbox.put(None)
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._lane is not None:  # after the worker: what it gave the lane is committed
            self._lane.stop()
        self.logins.stop()
        self.voices.stop()
        self.keeper.leave()  # the others take its terminals now, not when the leases expire
        self.client.disconnect()
        self.client.loop_stop()
        if self._read_engine is not None:
            self._read_engine.dispose()

    def wait(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(1.0)

    # --- paho callbacks (network thread: queue only) ----------------------------------

    def _on_connect(self, client, _userdata, _flags, reason_code, _props) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            log.error("broker refused the relay: %s", reason_code)
            return
        sock = client.socket()
        if sock is not None:  # small packets both ways: Nagle would hold each for an ACK
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._listening.clear()
        self._connected.set()
        # paho runs this callback and on_subscribe in its one network thread: no
        # acknowledgement can come before the set is filled.
        self._first_subscriptions = set(self._subscribe(self.keeper.all_topics()))
        if not self._first_subscriptions:
            self._listening.set()
        self._wake.set()
        log.info("relay %s connected", self.username)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _props) -> None:  # noqa: ANN001
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("relay lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        item = Inbound(message.mid, message.qos, message.topic, message.payload)
        try:
            self._arrived(item, message.retain)
        except Exception:  # never let it hold one of the broker's in-flight slots
            log.exception("an uplink on %s could not be taken in", item.topic)
            self._ack(item)

    def _arrived(self, item: Inbound, retain: bool) -> None:
        terminal = topics.terminal_of(item.topic)
        if retain and item.topic.endswith("/up"):
            # An uplink kept by the broker (published retained: no kiosk does) reaches every
            # relay that subscribes later, at each restart or partition hand-over: a login
            # kept so badged its person in again there, ending whoever was at the terminal.
            # Handled once when it was published, never again.
            log.warning("ignored an uplink %s kept by the broker (retained)", terminal)
            self._ack(item)
            return
        # Metered on arrival, not when the worker gets to it: a flooder's surplus is refused
        # here at once instead of queueing in front of every other terminal's messages.
        if terminal is not None and item.topic.endswith("/up") \
                and not self.meter.allow(alerts.meter_key(terminal, item.payload)):
            self._over_rate(terminal, item)
            self._ack(item)
            return
        # Presence too (its own bucket): each one is a database write. A terminal that
        # flaps faster than the meter allows keeps the presence it last got through.
        if terminal is not None and item.topic.endswith("/status") \
                and not self.meter.allow(f"{terminal}/status"):
            self._ack(item)
            return
        self._inbox.put(item, key=terminal or "")

    # --- subscriptions (the keeper's thread, and paho's on connection) ----------------------

    SUBSCRIBE_CHUNK = 200  # topics per SUBSCRIBE packet

    def _subscribe(self, names: list[str]) -> list[int]:
        """Subscribes in chunks; returns the packets' ids (none when not connected)."""
        if not self._connected.is_set():
            return []  # _on_connect subscribes to everything the keeper holds
        return [self.client.subscribe([(t, 1) for t in names[i:i + self.SUBSCRIBE_CHUNK]])[1]
                for i in range(0, len(names), self.SUBSCRIBE_CHUNK)]

    def _on_subscribe(self, _client, _userdata, mid, reason_codes, _props) -> None:  # noqa: ANN001
        refused = [rc for rc in reason_codes if rc.is_failure]
        if refused:
            log.error("broker refused %d of the relay's subscriptions: %s", len(refused),
                      refused[0])
        if mid in self._first_subscriptions:
            self._first_subscriptions.discard(mid)
            if not self._first_subscriptions:
                self._listening.set()

    def _unsubscribe(self, names: list[str]) -> None:
        if not self._connected.is_set():
            return
        for i in range(0, len(names), self.SUBSCRIBE_CHUNK):
            self.client.unsubscribe(names[i:i + self.SUBSCRIBE_CHUNK])

    def _keep_leases(self) -> None:
        self.keeper.run(self._stop)

    def _checkpoint(self) -> None:
        """The WAL checkpoints the worker's commits no longer make (``store.checkpoints``)."""
        path = self.store.engine.url.database
        if path and path != ":memory:":
            checkpoints.run(path, self._stop)

    # --- worker -------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            # Uplinks held behind a finished login come first: they arrived before anything
            # the inbox gives now.
            items = self.logins.released()
            try:
                items += self._next_batch()
                self._handle(items)
            except Exception:  # a fault in one round must not stop every terminal's messages
                log.exception("the worker failed a round of %d uplinks; each alone again",
                              len(items))
                self._one_by_one(items)
        if self._company:  # receipts that were waiting for company: committed, not dropped
            held, self._company = self._company, []
            self._handle(held)

    def _one_by_one(self, items: list[Inbound]) -> None:
        """A round that failed outside its transaction: each uplink not answered yet is
        handled again on its own (a receipt or presence is sent once), and one that fails
        again is dropped as a broken uplink is (acknowledged; a message is sent again by
        its kiosk's outbox)."""
        with self._counts_lock:
            self.counters.errors += 1
        for item in items:
            if item.acked:
                continue
            try:
                self._handle([item])
            except Exception:
                log.exception("an uplink on %s failed again; dropped", item.topic)
                with self._counts_lock:
                    self.counters.errors += 1
                self._ack(item)
        time.sleep(WORKER_FAILED_PAUSE_S)

    def _handle(self, items: list[Inbound]) -> None:
        """A login goes to the desk, and so does whatever its terminal sends behind it
        until it is done (per-terminal order); the rest is committed together, receipts
        alone beside the worker when the lane is free (``relay.lane``)."""
        if self._lane is not None and items:  # a terminal's receipts there come first
            self._lane.wait_for(map(_terminal, items))
        batch: list[Inbound] = []
        routed: set[str] = set()
        for item in items:
            if not self._admit(item):
                continue
            if self.logins.route(_terminal(item), item):
                routed.add(_terminal(item))
            elif not self._voice_waits(item):
                batch.append(item)
        if self._lane is not None and 0 < len(batch) <= LANE_BATCH_MAX:
            batch = self._aside(batch, routed)
        if batch:
            self._commit(batch)
        self.logins.dispatch()  # logins routed above start once the batch is committed

    def _aside(self, batch: list[Inbound], routed: set[str]) -> list[Inbound]:
        """What of ``batch`` the worker commits itself: the uplinks of terminals that sent
        only receipts or presence go to the lane if it is free. Each terminal's uplinks
        stay on one side, in order; a terminal whose login was just routed stays with the
        worker (the desk starts that login once the worker's batch is committed). Only
        while the worker keeps up (small batches): behind, one transaction for all costs
        less CPU than two (measured saturated: 0.93 ms a message against 1.1)."""
        assert self._lane is not None
        keep = routed | {_terminal(item) for item in batch if not _receipt_or_presence(item)}
        aside = [item for item in batch if _terminal(item) not in keep]
        if not aside or not self._lane.offer(aside):
            return batch
        return [item for item in batch if _terminal(item) in keep]

    def _next_batch(self) -> list[Inbound]:
        """What is waiting now: one uplink while the relay keeps up, up to BATCH_MAX when
        it falls behind. Never waits to fill a batch that holds a message; receipts alone
        wait a few milliseconds for company (``_keep_company``), and a message that arrives
        meanwhile goes ahead of them, in a transaction of its own."""
        batch: list[Inbound] = []
        now = time.monotonic()
        while self._deferred and self._deferred[0].due <= now \
                and len(batch) + len(self._company) < BATCH_MAX:
            batch.append(self._deferred.popleft())
        if not batch and not self._company:
            try:
                first = self._inbox.get(timeout=DEFER_RETRY_S if self._deferred else 0.5)
            except queue.Empty:
                return batch
            if first is None:
                return batch
            batch.append(first)
        room = BATCH_MAX - len(batch) - len(self._company)
        drained = self._inbox.drain(room, per_key=BATCH_PER_TERMINAL) if room > 0 else []
        woke = None in drained  # a login done, a clip made, the relay stopping: no waiting
        batch.extend(item for item in drained if item is not None)
        if self._company:  # receipts already waiting: what came meanwhile joins or goes ahead
            held, self._company = self._company, []
            return self._keep_company(held, batch, woke)
        if batch and len(batch) < COMPANY_MAX and all(map(_can_wait, batch)) and not woke:
            self._company_until = time.monotonic() + COMPANY_WAIT_S
            return self._keep_company(batch, [], False)
        return batch

    def _keep_company(self, batch: list[Inbound], arrived: list[Inbound], woke: bool
                      ) -> list[Inbound]:
        """Receipts (or presence changes) alone, ``batch``, wait until ``_company_until``
        for more uplinks to share their transaction, COMPANY_MAX at most: a transaction
        has a fixed cost (a commit and the batch's reads, most of a small batch's CPU),
        and at a steady 100 msg/s every message brings two receipts, each its own
        transaction when the relay keeps up. A message that arrives meanwhile (``arrived``,
        then what the inbox gives) is returned without them, and they go on waiting
        (``_company``): it used to take them into its transaction, which made it half as
        long again, and a text's latency is mostly that transaction's. Order within a
        terminal is kept: once one of a terminal's uplinks goes ahead, its later ones go
        with it; a message from a terminal that has something waiting, time up, the batch
        full or a wake-up send everything at once, in the order it arrived. No receipt is
        answered before its commit; only the sender's 'delivered' tick comes later."""
        waiting = {topics.terminal_of(item.topic) for item in batch}
        while True:
            ahead: list[Inbound] = []
            join: list[Inbound] = []
            going: set[str | None] = set()
            behind = False  # a message behind something its terminal has waiting
            for item in arrived:
                terminal = topics.terminal_of(item.topic)
                can_wait = _can_wait(item)
                if terminal not in going and (can_wait or terminal in waiting):
                    join.append(item)
                    waiting.add(terminal)
                    behind = behind or not can_wait
                else:
                    ahead.append(item)
                    going.add(terminal)
            if woke or behind or self._stop.is_set() \
                    or len(batch) + len(join) >= COMPANY_MAX \
                    or self._company_until <= time.monotonic():
                return batch + arrived  # all now; what waited arrived before the rest
            batch += join
            if ahead:
                self._company = batch
                return ahead
            try:
                first = self._inbox.get(timeout=self._company_until - time.monotonic())
            except queue.Empty:
                return batch
            if first is None:
                return batch
            drained = self._inbox.drain(BATCH_MAX - len(batch) - 1, per_key=BATCH_PER_TERMINAL)
            woke = None in drained
            arrived = [first, *(item for item in drained if item is not None)]

    def _voice_waits(self, item: Inbound) -> bool:
        """A voice message whose clip is being made waits for it in the deferred queue
        (``relay.voices``), acked like any deferred uplink; its waiting is not counted
        against it (a minute of sound takes longer than the deferral's retries). A second
        clip of the same terminal waits as any deferred uplink does (counted, metered);
        past the desk's bound the clip is turned away as over the rate. One whose budget of
        refused clips is spent goes to its batch, which answers it ``rate_limited``."""
        turn, clip_key = self.voices.turn(topics.terminal_of(item.topic) or "", item.payload)
        item.turned_away = clip_key if turn is Turn.REFUSE else None
        if turn in (Turn.GO, Turn.REFUSE):
            return False
        if turn is Turn.DEFER:
            self._defer(item)
            return True
        if turn is Turn.BUSY:
            self._ack(item)
            self._over_rate(topics.terminal_of(item.topic) or "", item)
            return True
        if item.tries == 0:
            self._ack(item)
            item.tries = 1
        item.voice_wait = True
        item.due = time.monotonic() + DEFER_RETRY_S
        self._deferred.append(item)
        return True

    def _clip_wanted(self, terminal: str, env: Envelope) -> str | None:
        """``handlers.clip_wanted`` in a snapshot without the write lock."""
        with self._reader() as r:
            return clip_wanted(r, terminal, env)

    def _admit(self, item: Inbound) -> bool:
        """Decided before any transaction; what is turned away here is done with."""
        terminal = topics.terminal_of(item.topic)
        if terminal is None:
            self._ack(item)
            return False
        if item.tries > 0 and not item.topic.endswith("/status") and not item.voice_wait \
                and not self.meter.allow(terminal):
            self._over_rate(terminal, item)  # a retry costs like a message (first: on arrival)
            return False
        return True

    def _commit(self, batch: list[Inbound], *, beside: bool = False) -> None:
        """One transaction for the batch; if it fails as a whole (a lost connection, a
        deadlock between relays), each uplink is tried again in its own. ``beside``: the
        receipts lane's, which does not take turns with the deliverer (PostgreSQL only)."""
        kept = self._lane_memory if beside else self._memory
        try:
            with contextlib.nullcontext() if beside else self._db, self.store.session() as s:
                open_batch_cache(s, kept)  # settings, rules, terminals, people: once per batch
                voice.made_beside(s)  # a clip is never encoded here (relay.voices)
                voice.turned_away(s, {i.turned_away for i in batch if i.turned_away})
                (self._lane_settings if beside else self._settings).offer(s)
                results, done = self._process(s, batch)
                # Exactly the downlinks this batch queued (another relay's batches claim
                # theirs): most claimed as they were inserted, the rest now; and the
                # backlog of whoever badged in.
                due = downlinks.claimed(s, done.claimed, withheld=self.logins.withheld)
                due += downlinks.claim(s, done.downlinks, withheld=self.logins.withheld)
                for r in results:
                    if r.due_for is not None:
                        due += downlinks.claim_due(s, resend_after=RESEND_AFTER_S,
                                                   employee_id=r.due_for,
                                                   withheld=self.logins.withheld)
        except Exception:
            if kept is not None:
                kept.forget()  # what it read could include its own writes, rolled back
            if len(batch) > 1:
                log.warning("a batch of %d uplinks failed; handling them one by one", len(batch))
                for item in batch:
                    self._commit([item], beside=beside)
                return
            log.exception("failed to handle a message on %s", batch[0].topic)
            with self._counts_lock:
                self.counters.errors += 1
            self._ack(batch[0])
            return
        for item, result in zip(batch, results, strict=True):
            if result.deferred:
                self._defer(item)
                continue
            self._publish(result.replies, direct=True)
            self._ack(item)
        self._publish([Publish(o.terminal, o.payload) for o in due])

    def _process(self, s: Session, batch: list[Inbound]) -> tuple[list[Result], Batched]:
        """The batch's uplinks, one result each in order, and the downlinks they queued
        (``Batched``: claimed as inserted, or ids to claim). Presence and receipts of
        direct replies are settled here; the rest go to ``handle_batch`` together
        (set-based writes). No savepoint per uplink: if one breaks, the batch is rolled
        back and retried one uplink at a time."""
        results: list[Result | None] = []
        uplinks: list[tuple[str, bytes]] = []
        for item in batch:
            terminal = topics.terminal_of(item.topic)
            assert terminal is not None  # _admit let only terminal topics through
            if item.topic.endswith("/status"):
                self._presence(s, terminal, item.payload)
                results.append(Result())
            elif self._settles_a_reply(item.payload):
                results.append(Result())
            else:
                results.append(None)
                uplinks.append((terminal, item.payload))
        done = handle_batch(s, self.cfg, uplinks) if uplinks else Batched([], [])
        with self._counts_lock:
            self.counters.handled += sum(not r.deferred for r in done.results)
        handled = iter(done.results)
        return [r if r is not None else next(handled) for r in results], done

    def _ack(self, item: Inbound) -> None:
        if item.tries == 0 and item.qos > 0:
            with self._ack_lock:  # the worker, the desk's and the lane's threads ack
                if item.acked:
                    return
                item.acked = True
            self.client.ack(item.mid, item.qos)

    def _over_rate(self, terminal: str, item: Inbound) -> None:
        """A terminal over its rate: the kiosk's outbox sends the message again later. Retries
        of deferred messages are metered too, or a flooder's out-of-order messages would keep
        the worker busy with nobody else's; and the error goes out at most once a second, or
        the flooder's own downlink would load the broker as much as its uplink."""
        if item.tries > 0:
            self.counters.dropped_deferred += 1
            return
        now = time.monotonic()
        if now - self._warned.get(terminal, -RATE_WARNING_S) >= RATE_WARNING_S:
            self._warned[terminal] = now
            err = ServiceError("rate_limited", "Too many messages: they will be sent again.")
            self._publish([error_reply(terminal, err, None)])

    def _defer(self, item: Inbound) -> None:
        """An uplink that overtook an earlier one of its terminal waits a little for it (it
        may be committing on another relay); past that, the kiosk's outbox sends it again."""
        self._ack(item)  # never hold the broker's in-flight window
        item.tries += 1
        self.counters.deferred += 1
        if item.tries > DEFER_MAX_TRIES:
            self.counters.dropped_deferred += 1
            return
        item.due = time.monotonic() + DEFER_RETRY_S
        self._deferred.append(item)

    def _presence(self, s: Session, terminal: str, payload: bytes) -> None:
        online = payload == topics.ONLINE
        s.execute(update(Terminal).where(Terminal.name == terminal)
                  .values(online=online, last_seen=utcnow()))

    def _settles_a_reply(self, raw: bytes) -> bool:
        """A terminal's ``received`` for a direct reply (a state, a sync), which has no row to
        confirm: handling it would cost three queries and change nothing. One that reaches
        another relay of a group is handled in full, to the same no effect."""
        if b'"receipt"' not in raw or not self._replies:
            return False
        # Most receipts confirm a downlink row: a glance at the ref (no validation) rules
        # them out; only a ref this relay answered directly is decoded in full.
        if received_ref(raw) not in self._replies:
            return False
        try:
            env = decode_uplink(raw)
        except WireError:
            return False
        if env.type != "receipt" or env.body.status != "received":
            return False
        return self._replies.pop(env.body.ref, False) is None

    def _publish(self, replies: list[Publish], *, direct: bool = False) -> None:
        for reply in replies:
            if direct:  # not a downlink row: its receipt is settled by _settles_a_reply
                self._replies[reply.payload["id"]] = None
                if len(self._replies) > REPLIES_KEPT:
                    self._replies.popitem(last=False)
            self.client.publish(reply.topic, _within_packet(reply), qos=1)
            with self._counts_lock:
                self.counters.published += 1

    # --- deliverer ------------------------------------------------------------------------

    def _deliver(self) -> None:
        last_notice_check = last_expiry_check = last_remind_check = 0.0
        last_seal = time.monotonic()  # not at once: what the first minute audits is sealed then
        while not self._stop.is_set():
            self._wake.wait(DELIVERY_TICK_S)
            self._wake.clear()
            if not self._connected.is_set():
                continue
            try:
                owned = self.keeper.owned
                chores = 0 in owned  # the home's chores: one relay runs them
                now = time.monotonic()
                # The write lock (and on SQLite the database's one writer) only when there
                # is something to claim or a chore to run: most rounds find nothing owed
                # (a batch claims the downlinks it queued), and a round that took the lock
                # to find that out held up the worker's next batch for as long.
                if chores and now - last_notice_check > NOTICE_CHECK_S:
                    last_notice_check = now
                    self._publish_scheduled()
                if chores and now - last_seal > AUDIT_SEAL_S:
                    last_seal = now
                    self._seal_audit()
                if not (chores and (now - last_expiry_check > EXPIRY_CHECK_S
                                    or now - last_remind_check > self.remind_check_s)) \
                        and not self._owed(owned, chores):
                    continue
                with self._db, self.store.session() as s:
                    if chores and time.monotonic() - last_expiry_check > EXPIRY_CHECK_S:
                        sessions.expire_due(s)
                        last_expiry_check = time.monotonic()
                    # Sessions the console or the clock ended: their terminals log out now
                    # (claimed in this transaction, sent after its commit).
                    ends = sessions.claim_end_notices(s) if chores else []
                    # Reminders due now, queued before the claim so that they go out in
                    # this round (services.reminders: what is due, never the whole home).
                    if chores and time.monotonic() - last_remind_check > self.remind_check_s:
                        try:  # a failed round must not take the deliveries down with it
                            with s.begin_nested():
                                reminders.send_due(s)
                        except Exception:
                            log.exception("reminder round failed; deliveries go on")
                        last_remind_check = time.monotonic()
                    # What its own terminals are owed; the others' relays send theirs.
                    due = downlinks.claim_due(s, resend_after=RESEND_AFTER_S, partitions=owned,
                                              withheld=self.logins.withheld)
                self._publish([Publish(e.terminal, envelope("logout", sid=e.session_id,
                                                            reason=e.reason)) for e in ends])
                self._publish([Publish(o.terminal, o.payload) for o in due])
            except Exception:
                log.exception("delivery round failed; retrying")
                time.sleep(0.5)

    def _chore(self, due: Callable[[Session], bool], run: Callable[[Session], object],
               what: str, again_s: float) -> None:
        """One of the home's chores, in a transaction of its own, and only once a snapshot
        read without any lock says it has something to do (``due``). On PostgreSQL its
        writes no longer hold up the worker's batches (the worker's lock is taken on SQLite
        only, whose one writer they would wait for anyway). A failure is logged and tried
        again at the next check; deliveries go on."""
        try:
            with self._reader() as r:
                if not due(r):
                    return
            with self._db if self.store.is_sqlite else contextlib.nullcontext(), \
                    self.store.session() as s:
                run(s)
        except Exception:
            log.exception("%s failed; trying again in %.0f s", what, again_s)

    def _publish_scheduled(self) -> None:
        """Scheduled notices whose time has come (a notice to everyone writes 50,000
        receipts and copies)."""
        self._chore(notices.any_due, notices.publish_due, "publishing scheduled notices",
                    NOTICE_CHECK_S)

    def _seal_audit(self) -> None:
        """Main's seal of the terminals' audit chains that grew (``audit.seal``)."""
        self._chore(audit.unsealed, lambda s: audit.seal(s, f"relay:{self.username}"),
                    "sealing the audit chains", AUDIT_SEAL_S)

    def _owed(self, owned: frozenset[int], chores: bool) -> bool:
        """Whether a delivery round would find anything: a downlink due for a terminal of
        these partitions (what ``downlinks.claim_due`` claims), or, for the relay that runs
        the chores, a logout owed (``sessions.claim_end_notices``). Read in a snapshot
        without the write lock; whatever commits after it is seen by the next round."""
        with self._reader() as r:
            if downlinks.any_due(r, resend_after=RESEND_AFTER_S, partitions=owned):
                return True
            return chores and r.execute(_ENDS).first() is not None

    # --- housekeeping -----------------------------------------------------------------------

    def _housekeep(self) -> None:
        if self._stop.wait(self.purge_first_check_s):
            return
        while True:
            self.purge_if_due()
            if self._stop.wait(self.purge_check_s):
                return

    def purge_if_due(self) -> retention.PurgeCounts | None:
        """Purge past retention if no relay has this period; never raises (a failed purge
        is tried again at the next check)."""
        if self.purge_every is None:
            return None
        try:
            counts = retention.purge_if_due(self.store.session, actor=f"relay:{self.username}",
                                            every=self.purge_every)
        except Exception:
            log.exception("retention purge failed; trying again later")
            return None
        if counts is not None:
            self.purges += 1
            log.info("retention purge: %d messages, %d photos, %d downlinks, %d decisions; "
                     "%d kept under a legal hold", counts.messages, counts.media,
                     counts.downlinks, counts.decisions, counts.held)
        return counts
