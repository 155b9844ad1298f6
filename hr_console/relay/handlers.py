"""Turns one uplink into its effect on the database and the replies it earns.

Kept apart from the MQTT client so it can be driven directly: the relay's worker calls
``handle`` with the terminal name the broker authenticated and the raw payload, commits,
then publishes what comes back.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ARRAY, String, and_, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from hr_console.config import Settings
from hr_console.relay import alerts, floor, sync_fit
from hr_console.services import (
    charter,
    downlinks,
    floor_notices,
    groups,
    messaging,
    notices,
    people,
    remembered,
    sessions,
    settings,
    shifts,
    voice,
)
from hr_console.services.errors import ServiceError
from hr_console.store.db import Store, batch_cache, keep
from hr_console.store.models import (
    BadgeSession,
    Employee,
    Message,
    PolicyEpoch,
    Terminal,
    utcnow,
)
from relais_wire import topics
from relais_wire.envelope import CONTENT_KINDS, Envelope, WireError, decode_uplink, envelope
from relais_wire.limits import SYNC_HISTORY_BYTES

log = logging.getLogger("relais.relay")


@dataclass
class Publish:
    terminal: str
    payload: dict[str, Any]

    @property
    def topic(self) -> str:
        return topics.downlink(self.terminal)


@dataclass
class Result:
    replies: list[Publish] = field(default_factory=list)
    deferred: bool = False  # arrived before an earlier message of the same terminal
    wake_delivery: bool = False  # downlinks were queued: send them now
    downlinks: list[str] = field(default_factory=list)  # ids of the downlinks it queued
    due_for: int | None = None  # an employee whose whole backlog is due now (a badge-in)


def _reply(terminal: str, kind: str, sid: str | None = None, **fields: Any) -> Publish:
    return Publish(terminal, envelope(kind, sid=sid, **fields))


def error_reply(terminal: str, err: WireError | ServiceError, ref: str | None,
                sid: str | None = None) -> Publish:
    fields: dict[str, Any] = {"code": err.code, "message": err.message, "ref": ref}
    if isinstance(err, WireError) and err.field:
        fields["field"] = err.field
    return _reply(terminal, "error", sid, **fields)


_MAX_SEQ = 2**53  # relais_wire.envelope's bound on seq


def peek(raw: bytes) -> dict[str, Any]:
    """A payload's JSON object without validating it ({} when it is not one): the relay's
    cheap looks at an uplink before, or instead of, decoding it."""
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return obj if isinstance(obj, dict) else {}


def _lenient_seq(raw: bytes) -> int | None:
    """The seq of a payload that failed validation, if it can be read at all, so that one bad
    outbox item does not hold back the terminal's later ones."""
    seq = peek(raw).get("seq")
    # Bounded like the wire's seq: 2**63 would overflow the column and fail the commit.
    ok = isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= _MAX_SEQ
    return seq if ok else None


def received_ref(raw: bytes) -> str | None:
    """The ``ref`` of what looks like a ``received`` receipt, without validating it (the
    relay's cheap test for receipts of its direct replies); None for anything else."""
    obj = peek(raw)
    if obj.get("type") != "receipt" or obj.get("status") != "received":
        return None
    ref = obj.get("ref")
    return ref if isinstance(ref, str) else None


def handle(store: Store, cfg: Settings, terminal_name: str, raw: bytes) -> Result:
    with store.session() as s:
        return handle_in(s, cfg, terminal_name, raw)


def handle_in(s: Session, cfg: Settings, terminal_name: str, raw: bytes) -> Result:
    """``handle`` inside the caller's unit of work: the relay commits a batch of uplinks at
    once and publishes their replies only after that commit. The result names the
    downlinks the uplink queued, which the relay claims for itself (``downlinks.claim``)."""
    downlinks.take_queued(s)
    result = _handle_in(s, cfg, terminal_name, raw)
    result.downlinks = downlinks.take_queued(s)
    return result


def _handle_in(s: Session, cfg: Settings, terminal_name: str, raw: bytes) -> Result:
    try:
        env = decode_uplink(raw)
    except WireError as err:
        log.warning("refused payload from %s: %s (%s)", terminal_name, err.code, err.message)
        seq = _lenient_seq(raw)
        if seq is not None:
            term = _terminal(s, terminal_name)
            if term is not None and seq > term.last_seq:
                term.last_seq = seq
        return Result([error_reply(terminal_name, err, err.ref)])
    term = _terminal(s, terminal_name)
    if term is None:
        log.warning("uplink from unknown or revoked terminal %s ignored", terminal_name)
        return Result()
    return _dispatch(s, cfg, term, env)


@dataclass
class Batched:
    """What a batch of uplinks came to: one result per uplink, in order, the rows its
    set-based writes claimed as they inserted them (``downlinks.insert_claimed``), and the
    ids of the downlinks queued the ORM way (the relay claims exactly those:
    ``downlinks.claim``)."""

    results: list[Result]
    downlinks: list[str]
    claimed: list[Any] = field(default_factory=list)


def handle_batch(s: Session, cfg: Settings, uplinks: list[tuple[str, bytes]]) -> Batched:
    """Uplinks (terminal, raw payload) in the caller's unit of work, in their order, with
    the same effects as ``handle_in`` one after the other. What is read per uplink (the
    terminals, their badge sessions, the people, which messages are stored already) is read
    once for the batch; messages and ``received`` receipts are written set-based by one
    ``messaging.Batch`` (flushed before any other kind of uplink, which then runs as
    ``handle_in`` on up-to-date rows)."""
    decoded: list[tuple[str, bytes, Envelope | None]] = []
    for name, raw in uplinks:
        try:
            decoded.append((name, raw, decode_uplink(raw)))
        except WireError:
            decoded.append((name, raw, None))  # handle_in refuses it the usual way
    batch = messaging.Batch(s)
    marks = _Marks(s)
    _prefetch(s, decoded, batch)
    results = []
    for name, raw, env in decoded:
        term = _terminal(s, name) if env is not None and _batched(env) else None
        if env is None or term is None:
            batch.flush()
            marks.write()
            results.append(_handle_in(s, cfg, name, raw))
        elif env.type == "receipt":
            results.append(_receipt_in(s, term, env, batch))
        else:
            results.append(_content_in(s, term, env, batch, marks))
    batch.flush()
    marks.write()
    # The batch's own rows (claimed already), then those queued the ORM way (logins, read
    # receipts, ...).
    return Batched(results, downlinks.take_queued(s), batch.claimed)


def _batched(env: Envelope) -> bool:
    """Messages, ``received`` and ``read`` receipts go through the set-based batch; a group
    post takes the one-uplink path (``messaging.receive``), where its fan-out is set-based itself."""
    if env.type in CONTENT_KINDS:
        return getattr(env.body, "group", None) is None
    return env.type == "receipt" and env.body.status in ("received", "read")


def _prefetch(s: Session, decoded: list[tuple[str, bytes, Envelope | None]],
              batch: messaging.Batch) -> None:
    """The batch's terminals (locked on PostgreSQL), badge sessions, people and already
    stored messages: one query for the first two and the last, one for the people."""
    envs = [(name, env) for name, _raw, env in decoded if env is not None and _batched(env)]
    if not envs:
        return
    rows, stored, marks = _terminals_and_sessions(
        s, {name for name, _env in envs}, {env.sid for _name, env in envs if env.sid},
        {(env.sid, env.id) for _name, env in envs if env.type in CONTENT_KINDS and env.sid})
    texts = [(name, env, rows[env.sid].employee_id) for name, env in envs
             if env.type in CONTENT_KINDS and env.sid in rows]
    if not texts:
        return
    people.persons(s, *(sender for _n, _e, sender in texts),
                   *(env.body.to for _n, env, _s in texts))
    # A text the join did not find is new, unless its terminal's mark is already at or past
    # its seq: then its first copy may have been committed by another relay while this
    # query waited for the terminal's lock (on PostgreSQL the mark read is the fresh one,
    # the messages joined are as they were before the wait). Those few are asked apart.
    found = {(sender, cid) for sender, cid, _state, _reason in stored}
    again = [(sender, env.id) for name, env, sender in texts
             if (sender, env.id) not in found and (env.seq or 0) <= marks.get(name, 0)]
    batch.prefetch(again)
    batch.prefetch([(sender, env.id) for _n, env, sender in texts], found=stored)


def _terminals_and_sessions(s: Session, names: set[str], sids: set[str],
                            texts: set[tuple[str, str]]
                            ) -> tuple[dict[str, BadgeSession], list[messaging.Stored],
                                       dict[str, int]]:
    """``_terminal`` for several names and the badge sessions the uplinks name on those
    terminals, in one query (terminals locked in the order of their ids on PostgreSQL, so
    that two relays locking overlapping sets cannot deadlock). The rows are held for the
    batch: ``sessions.speaker`` / ``sessions.author`` then find each session in the
    identity map (a session named on another terminal is read, and refused, by them).

    It also reads the policy epoch, from which on the batch uses what its relay remembers
    of people, rules and settings (``services.remembered``). The same query says which of
    the texts ``texts`` (session id, client id) their people have stored already (a text's
    transaction a statement shorter). On PostgreSQL a
    statement that waited for a terminal's lock reads that terminal as it is now but the
    other tables as they were when it began: ``_prefetch`` asks again for what the
    terminal's mark says may be missing (the marks are returned by terminal name)."""
    cache = batch_cache(s)
    terminals = cache.setdefault("terminals", {}) if cache is not None else {}
    sqlite = s.get_bind().dialect.name == "sqlite"
    # Receipts alone (most batches at a steady rate) skip the join: in process it cost
    # them more than the statement it saves a text.
    stmt = (_WITH_STORED if texts else _TERMINALS_AND_SESSIONS) if sqlite \
        else (_WITH_STORED_LOCKED if texts else _TERMINALS_AND_SESSIONS_LOCKED)
    for name in names:
        terminals.setdefault(name, None)
    rows: dict[str, BadgeSession] = {}
    stored: list[messaging.Stored] = []
    marks: dict[str, int] = {}
    pairs = sorted(texts)
    params = {"names": sorted(names), "sids": sorted(sids),
              "cids": sorted({cid for _sid, cid in pairs}),
              "text_sids": [sid for sid, _cid in pairs], "text_cids": [cid for _sid, cid in pairs]}
    found = s.execute(stmt, params).all()
    for term, row, _epoch, *known in found:
        terminals[term.name] = term
        marks[term.name] = term.last_seq
        if row is not None:
            rows[row.id] = row
            if known and known[0] is not None:
                stored.append((row.employee_id, *known))
    keep(s, *rows.values())
    if found:  # the policy epoch came with the rows: what the relay remembers may serve
        remembered.arm(s, found[0].policy_epoch)
    return rows, stored, marks


# The policy epoch (migration 0019) beside every row: one value, read once by the database.
_EPOCH = (select(PolicyEpoch.n).where(PolicyEpoch.id == 1).scalar_subquery()
          .label("policy_epoch"))
_TERMINALS_AND_SESSIONS = (
    select(Terminal, BadgeSession, _EPOCH)
    .outerjoin(BadgeSession, and_(BadgeSession.terminal_id == Terminal.id,
                                  BadgeSession.id.in_(bindparam("sids", expanding=True))))
    .where(Terminal.name.in_(bindparam("names", expanding=True)), Terminal.active.is_(True))
    .order_by(Terminal.id))
_STORED = Message.__table__
_WITH_STORED = (
    _TERMINALS_AND_SESSIONS.add_columns(_STORED.c.client_id, _STORED.c.state, _STORED.c.reason)
    .outerjoin(_STORED, and_(_STORED.c.sender_id == BadgeSession.employee_id,
                             _STORED.c.client_id.in_(bindparam("cids", expanding=True)))))
_TERMINALS_AND_SESSIONS_LOCKED = _TERMINALS_AND_SESSIONS.with_for_update(of=Terminal)
# PostgreSQL names each text by its (session, client id), so that the stored message is
# joined by equality on both columns of its unique key: one index lookup a text, whatever
# statistics the planner holds. With the IN list above and no statistics (a new database,
# or autovacuum off) it chose to scan the whole messages table for every batch (14 ms on
# average, 34 ms at worst, with 20,000 messages).
_TEXTS = func.unnest(bindparam("text_sids", type_=ARRAY(String)),
                     bindparam("text_cids", type_=ARRAY(String))
                     ).table_valued("sid", "cid").render_derived(name="texts")
_WITH_STORED_LOCKED = (
    _TERMINALS_AND_SESSIONS.add_columns(_STORED.c.client_id, _STORED.c.state, _STORED.c.reason)
    .outerjoin(_TEXTS, _TEXTS.c.sid == BadgeSession.id)
    .outerjoin(_STORED, and_(_STORED.c.sender_id == BadgeSession.employee_id,
                             _STORED.c.client_id == _TEXTS.c.cid))
    .with_for_update(of=Terminal))


# How close to its age or idle limit a session is treated as possibly ended (see below).
_LIMIT_MARGIN = dt.timedelta(minutes=1)


def _plainly_live(s: Session, term: Terminal, sid: str | None) -> bool:
    """Whether ``sessions.author`` will surely take this session as open, without its late
    item checks (which read the stored messages, so the batch's must be written first).
    Conservative: anything near a limit counts as possibly late."""
    row = s.get(BadgeSession, sid) if sid else None
    if row is None or row.terminal_id != term.id or row.ended_at is not None:
        return False
    lim = sessions.limits(s)
    now = utcnow() + _LIMIT_MARGIN
    return row.started_at > now - lim.max_age \
        and (row.last_active_at or row.started_at) > now - lim.idle


class _Marks:
    """The terminals' seq marks the batch's messages move, written with one executemany
    UPDATE at the batch's flushes instead of an ORM flush of the terminal rows. The rows in
    the session show the new mark at once (as committed values), so the batch's later
    uplinks and any other code of the transaction read it."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.pending: dict[int, int] = {}

    def advance(self, term: Terminal, seq: int) -> None:
        if seq > term.last_seq:
            set_committed_value(term, "last_seq", seq)
            self.pending[term.id] = seq

    def write(self) -> None:
        if self.pending:
            self.s.execute(_SET_MARK, [{"tid": t, "mark": m} for t, m in self.pending.items()])
            self.pending = {}


_SET_MARK = (update(Terminal.__table__).where(Terminal.__table__.c.id == bindparam("tid"))
             .values(last_seq=bindparam("mark")))


def _content_in(s: Session, term: Terminal, env: Envelope, batch: messaging.Batch,
                marks: _Marks) -> Result:
    """``_content`` with the message written by the batch."""
    seq = env.seq or 0
    if _overtakes(s, term, seq):
        return Result(deferred=True)
    try:
        if not _plainly_live(s, term, env.sid):
            # A late item's checks read the terminal's stored messages: the batch's first.
            batch.flush()
            marks.write()
        speaker = sessions.author(s, term, env.sid, seq, env.id)
        outcome = batch.receive(speaker, env.id, env.type, env.body, sent_ts=env.ts, seq=seq,
                                hold=sessions.needs_review(speaker))
    except voice.NotReady:
        return Result(deferred=True)  # its clip is being made beside the worker (relay.voices)
    except ServiceError as err:
        marks.advance(term, seq)  # a final refusal still takes its place
        return Result([error_reply(term.name, err, env.id, env.sid)])
    marks.advance(term, seq)  # see _content
    return Result([_reply(term.name, "state", env.sid, ref=env.id, msg=env.id,
                          state=outcome.state, reason=outcome.reason, **(outcome.extra or {}))])


def _receipt_in(s: Session, term: Terminal, env: Envelope, batch: messaging.Batch) -> Result:
    """A ``received`` receipt, confirmed by the batch, or a ``read`` one, marked by it (a
    group post's 500 readers: one UPDATE and one state for its author per batch)."""
    try:
        speaker = sessions.speaker(s, term, env.sid)
    except ServiceError as err:
        return Result([error_reply(term.name, err, env.id, env.sid)])
    if env.body.status == "read":
        batch.read(speaker.employee_id, env.body.ref)
    else:
        batch.confirm(speaker.employee_id, env.body.ref)
    return Result()


def clip_wanted(s: Session, terminal_name: str, env: Envelope) -> str | None:
    """Whether this voice message's transaction would make its clip: its terminal is
    active, its session may still speak for it (``sessions.author``: live, or a late item
    of one that ended) and ``messaging.would_attach``. Read in a snapshot, before the relay
    spends a process's CPU decoding it (``relay.voices``): a terminal's password read off a
    kiosk's disk must not buy clips for sessions that ended or people it may not write to.
    ``author`` may end an outlived session; here only in memory (``sessions.READ_ONLY``),
    the worker's transaction does it. Returns None, or whose budget the clip is counted in
    (``messaging.budget_key``)."""
    term = s.execute(_TERMINAL, {"name": terminal_name}).scalar_one_or_none()
    if term is None:
        return None
    s.info[sessions.READ_ONLY] = True
    with s.no_autoflush:
        try:
            speaker = sessions.author(s, term, env.sid, env.seq or 0, env.id)
        except ServiceError:
            return None
        if not messaging.would_attach(s, speaker, env.id, env.body):
            return None
        return messaging.budget_key(s, speaker)


def _terminal(s: Session, name: str) -> Terminal | None:
    """The active terminal of that name, read (and on PostgreSQL locked) once per batch: the
    lock holds to the end of the transaction, and on SQLite the batch's BEGIN IMMEDIATE
    keeps every other writer out, so the row cannot change under the batch."""
    cache = batch_cache(s)
    terminals = cache.setdefault("terminals", {}) if cache is not None else {}
    if name in terminals:
        return terminals[name]
    # FOR UPDATE serialises one terminal's messages across relays (not on SQLite: the
    # batch's BEGIN IMMEDIATE already does).
    stmt = _TERMINAL if s.get_bind().dialect.name == "sqlite" else _TERMINAL_LOCKED
    term = terminals[name] = s.execute(stmt, {"name": name}).scalar_one_or_none()
    return term


_TERMINAL = select(Terminal).where(Terminal.name == bindparam("name"), Terminal.active.is_(True))
_TERMINAL_LOCKED = _TERMINAL.with_for_update()


def _dispatch(s: Session, cfg: Settings, term: Terminal, env: Envelope) -> Result:
    try:
        if env.type == "login":
            return _login(s, cfg, term, env)
        if env.type == "logout":
            sessions.badge_out(s, term, env.sid or "", env.body.last_seq)
            return Result([_reply(term.name, "logout", env.sid, ref=env.id, reason="logout")])
        if env.type in CONTENT_KINDS:
            return _content(s, term, env)
        if env.type == "receipt":
            return _receipt(s, term, env)
        if env.type == "sync":
            speaker = sessions.speaker(s, term, env.sid)
            return Result([sync_reply(s, term.name, speaker.id, speaker.employee_id, env.id)])
        if env.type == "alert":  # no moderation, no contact rule: relay.alerts
            return Result([_reply(term.name, "state", env.sid, **alerts.raised(s, term, env))],
                          wake_delivery=True)
        if env.type in ("broadcast", "remind"):  # a team lead's notices: relay.floor
            fields = (floor.broadcast if env.type == "broadcast" else floor.remind)(s, term, env)
            return Result([_reply(term.name, "state", env.sid, **fields)], wake_delivery=True)
        if env.type == "offshift":  # the off-shift notice accepted: audited (services.shifts)
            return Result([_reply(term.name, "state", env.sid, **_off_shift(s, term, env))])
        if env.type == "charter":  # the messaging charter accepted: recorded (services.charter)
            speaker = sessions.speaker(s, term, env.sid)
            charter.accept(s, term, speaker, env.body.version, env.id)
            return Result([_reply(term.name, "state", env.sid, ref=env.id, msg=env.id,
                                  state="accepted")])
    except ServiceError as err:
        return Result([error_reply(term.name, err, env.id, env.sid)])
    raise AssertionError(f"unhandled kind {env.type}")  # pragma: no cover - decode guards


def _off_shift(s: Session, term: Terminal, env: Envelope) -> dict[str, Any]:
    """The person badged in here accepted the off-shift notice: audited once per session."""
    speaker = sessions.speaker(s, term, env.sid)
    shifts.accepted_notice(s, term, speaker, env.id)
    return {"ref": env.id, "msg": env.id, "state": "accepted"}


def _login(s: Session, cfg: Settings, term: Terminal, env: Envelope) -> Result:
    try:
        res = sessions.badge_in(s, term, env.body.badge, env.body.pin, cfg.badge_pepper,
                                declared_seq=env.body.last_seq, login_ref=env.id)
    except ServiceError as err:
        return Result([_reply(term.name, "login", None, ref=env.id, ok=False, code=err.code,
                              message=err.message, until=err.detail.get("until"),
                              wait=err.detail.get("wait"))])
    replies = [
        _reply(ended.terminal, "logout", ended.session_id, reason="replaced")
        for ended in res.ended if ended.terminal != term.name
    ]
    replies.append(_reply(term.name, "login", res.session_id, ref=env.id, ok=True,
                          employee={"id": res.employee_id, "name": res.name,
                                    "language": res.language}))
    replies.append(sync_reply(s, term.name, res.session_id, res.employee_id, env.id))
    return Result(replies, wake_delivery=True, due_for=res.employee_id)


def sync_reply(s: Session, terminal: str, sid: str, employee_id: int, ref: str) -> Publish:
    """Everything a kiosk needs to show a person who just badged in."""
    me = s.get(Employee, employee_id)
    mine = groups.groups_of(s, employee_id)  # once, for the history and the groups list
    history, more = messaging.sync_history(s, employee_id, SYNC_HISTORY_BYTES,
                                           mine={g.id for g in mine})
    # The shift state is read once, when on-shift-only rules or the off-shift notice need it.
    # The people of the history shown come first in the list (relay.sync_fit), wherever
    # their names fall: read with the list's head, the rest counted.
    talked = {who for item in history for key in ("from", "to")
              if isinstance(who := item.get(key), int)}
    contacts, shift, left_out = people.sync_contacts(
        s, employee_id, first=talked, need_shift=bool(settings.get(s, "off_shift_notice")))
    reply = _reply(
        terminal, "sync", sid, ref=ref,
        me={"id": employee_id, "name": me.name if me else "", "language": me.language if me else "fr",
            "leads": floor_notices.leads(s, employee_id),  # the teams a lead broadcasts to
            **shifts.for_sync(s, employee_id, me.language if me else "fr", shift),
            **charter.for_sync(s, employee_id, me.language if me else "fr"),
            # The terminal reads an urgent notice aloud when it opens (kiosk_app.speech).
            "read_urgent_aloud": bool(settings.get(s, "read_urgent_aloud"))},
        contacts=contacts, **({"contacts_more": left_out} if left_out else {}),
        history=history, history_more=more,
        groups=groups.for_sync(s, employee_id, mine),
        notices=notices.for_employee(s, employee_id),
        quick_replies=settings.get(s, "quick_replies"),
    )
    # One packet, whatever the company's size or the notices posted (relay.sync_fit).
    return Publish(terminal, sync_fit.fit(reply.payload))


# How long a terminal's message may wait for an earlier seq that has not arrived: longer
# than the kiosk outbox's longest backoff (60 s), so that a lost message is resent first.
# Past it the gap is taken as one the kiosk will never fill (a database restored from an
# older backup, an outbox reused under a new terminal name) rather than hold it up for ever.
GAP_WAIT_S = 90.0
_gaps: dict[tuple[str, int], tuple[int, float]] = {}  # (db, terminal) -> (last_seq, since)


def _overtakes(s: Session, term: Terminal, seq: int) -> bool:
    """True while ``seq`` must wait for an earlier message of its terminal."""
    key = (str(s.get_bind().url), term.id)
    if seq <= term.last_seq + 1:
        _gaps.pop(key, None)
        return False
    now = time.monotonic()
    mark = _gaps.get(key)
    if mark is None or mark[0] != term.last_seq:
        _gaps[key] = (term.last_seq, now)
        return True
    return now - mark[1] < GAP_WAIT_S


def _content(s: Session, term: Terminal, env: Envelope) -> Result:
    seq = env.seq or 0
    if _overtakes(s, term, seq):
        return Result(deferred=True)
    try:
        speaker = sessions.author(s, term, env.sid, seq, env.id)
        outcome = messaging.receive(s, speaker, env.id, env.type, env.body, sent_ts=env.ts,
                                    seq=seq, hold=sessions.needs_review(speaker))
    except voice.NotReady:
        return Result(deferred=True)  # its clip is being made beside the worker
    except ServiceError:
        term.last_seq = max(term.last_seq, seq)  # a final refusal still takes its place
        raise
    # The mark never moves back: a late message with a lower seq (it waited in an outbox
    # while a later one got through, e.g. the terminal's very first ones across a relay
    # restart) must not make the later ones wait for what is already stored. A kiosk whose
    # outbox was reset starts again at 1 and is simply not held back until it passes the mark.
    term.last_seq = max(term.last_seq, seq)
    reply = _reply(term.name, "state", env.sid, ref=env.id, msg=env.id, state=outcome.state,
                   reason=outcome.reason, **(outcome.extra or {}))
    return Result([reply], wake_delivery=outcome.state == "accepted")


def _receipt(s: Session, term: Terminal, env: Envelope) -> Result:
    speaker = sessions.speaker(s, term, env.sid)  # nothing is read or acknowledged after the end
    me, ref, status = speaker.employee_id, env.body.ref, env.body.status
    wake = True
    if status == "received":
        row = downlinks.confirm(s, me, ref)
        wake = row is not None and row.kind != "state"  # else nothing new is owed
        if row is not None and row.kind in CONTENT_KINDS and row.ref:
            messaging.delivered_to(s, me, row.ref, row.sender_id)
        elif row is not None and row.kind == "notice" and row.ref:
            notices.receipt(s, me, row.ref, "delivered")
    elif status == "read":
        messaging.mark_read(s, me, ref)
    else:
        notices.receipt(s, me, ref, status)
    return Result(wake_delivery=wake)
