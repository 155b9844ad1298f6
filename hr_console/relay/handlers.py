"""Turns one uplink into its effect on the database and the replies it earns.

Kept apart from the MQTT client so it can be driven directly: the relay's worker calls
``handle`` with the terminal name the broker authenticated and the raw payload, commits,
then publishes what comes back.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hr_console.config import Settings
from hr_console.services import downlinks, messaging, notices, people, sessions, settings
from hr_console.services.errors import ServiceError
from hr_console.store.db import Store
from hr_console.store.models import Employee, Message, Terminal
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


def _reply(terminal: str, kind: str, sid: str | None = None, **fields: Any) -> Publish:
    return Publish(terminal, envelope(kind, sid=sid, **fields))


def error_reply(terminal: str, err: WireError | ServiceError, ref: str | None,
                sid: str | None = None) -> Publish:
    fields: dict[str, Any] = {"code": err.code, "message": err.message, "ref": ref}
    if isinstance(err, WireError) and err.field:
        fields["field"] = err.field
    return _reply(terminal, "error", sid, **fields)


def _lenient_seq(raw: bytes) -> int | None:
    """The seq of a payload that failed validation, if it can be read at all, so that one bad
    outbox item does not hold back the terminal's later ones."""
    try:
        obj = json.loads(raw)
        seq = obj.get("seq") if isinstance(obj, dict) else None
        return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def handle(store: Store, cfg: Settings, terminal_name: str, raw: bytes) -> Result:
    try:
        env = decode_uplink(raw)
    except WireError as err:
        log.warning("refused payload from %s: %s (%s)", terminal_name, err.code, err.message)
        seq = _lenient_seq(raw)
        if seq is not None:
            with store.session() as s:
                term = _terminal(s, terminal_name)
                if term is not None and seq > term.last_seq:
                    term.last_seq = seq
        return Result([error_reply(terminal_name, err, err.ref)])
    with store.session() as s:
        term = _terminal(s, terminal_name)
        if term is None:
            log.warning("uplink from unknown or revoked terminal %s ignored", terminal_name)
            return Result()
        return _dispatch(s, cfg, term, env)


def _terminal(s: Session, name: str) -> Terminal | None:
    stmt = select(Terminal).where(Terminal.name == name, Terminal.active.is_(True))
    if s.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()  # serialise one terminal's messages across relays
    return s.execute(stmt).scalar_one_or_none()


def _dispatch(s: Session, cfg: Settings, term: Terminal, env: Envelope) -> Result:
    try:
        if env.type == "login":
            return _login(s, cfg, term, env)
        if env.type == "logout":
            sessions.badge_out(s, term, env.sid or "")
            return Result([_reply(term.name, "logout", env.sid, ref=env.id, reason="logout")])
        if env.type in CONTENT_KINDS:
            return _content(s, term, env)
        if env.type == "receipt":
            return _receipt(s, term, env)
        if env.type == "sync":
            speaker = sessions.speaker(s, term, env.sid)
            return Result([sync_reply(s, term.name, speaker.id, speaker.employee_id, env.id)])
    except ServiceError as err:
        return Result([error_reply(term.name, err, env.id, env.sid)])
    raise AssertionError(f"unhandled kind {env.type}")  # pragma: no cover - decode guards


def _login(s: Session, cfg: Settings, term: Terminal, env: Envelope) -> Result:
    try:
        res = sessions.badge_in(s, term, env.body.badge, env.body.pin, cfg.badge_pepper)
    except ServiceError as err:
        return Result([_reply(term.name, "login", None, ref=env.id, ok=False, code=err.code,
                              message=err.message, until=err.detail.get("until"))])
    replies = [
        _reply(ended.terminal, "logout", ended.session_id, reason="replaced")
        for ended in res.ended if ended.terminal != term.name
    ]
    replies.append(_reply(term.name, "login", res.session_id, ref=env.id, ok=True,
                          employee={"id": res.employee_id, "name": res.name,
                                    "language": res.language}))
    replies.append(sync_reply(s, term.name, res.session_id, res.employee_id, env.id))
    return Result(replies, wake_delivery=True)


def sync_reply(s: Session, terminal: str, sid: str, employee_id: int, ref: str) -> Publish:
    """Everything a kiosk needs to show a person who just badged in."""
    me = s.get(Employee, employee_id)
    history, more = messaging.sync_history(s, employee_id, SYNC_HISTORY_BYTES)
    return _reply(
        terminal, "sync", sid, ref=ref,
        me={"id": employee_id, "name": me.name if me else "", "language": me.language if me else "fr"},
        contacts=people.contact_list(s, employee_id),
        history=history, history_more=more,
        notices=notices.for_employee(s, employee_id),
        quick_replies=settings.get(s, "quick_replies"),
    )


def _content(s: Session, term: Terminal, env: Envelope) -> Result:
    seq = env.seq or 0
    if seq > term.last_seq + 1 and term.last_seq > 0:
        return Result(deferred=True)
    try:
        speaker = sessions.speaker(s, term, env.sid, allow_ended=True)
        outcome = messaging.receive(s, speaker, env.id, env.type, env.body, sent_ts=env.ts,
                                    seq=seq)
    except ServiceError:
        term.last_seq = max(term.last_seq, seq)  # a final refusal still takes its place
        raise
    # A resent duplicate must not move the mark back; a new message with a lower seq means
    # the kiosk's outbox was reset, and the count starts again from it.
    term.last_seq = max(term.last_seq, seq) if outcome.duplicate else seq
    reply = _reply(term.name, "state", env.sid, ref=env.id, msg=env.id, state=outcome.state,
                   reason=outcome.reason)
    return Result([reply], wake_delivery=outcome.state == "accepted")


def _receipt(s: Session, term: Terminal, env: Envelope) -> Result:
    speaker = sessions.speaker(s, term, env.sid, allow_ended=True)
    me, ref, status = speaker.employee_id, env.body.ref, env.body.status
    if status == "received":
        row = downlinks.confirm(s, me, ref)
        if row is not None and row.kind in CONTENT_KINDS and row.ref:
            for msg in s.execute(select(Message).where(
                    Message.recipient_id == me, Message.client_id == row.ref)).scalars():
                messaging.delivered(s, msg)
        elif row is not None and row.kind == "notice" and row.ref:
            notices.receipt(s, me, row.ref, "delivered")
    elif status == "read":
        messaging.mark_read(s, me, ref)
    else:
        notices.receipt(s, me, ref, status)
    return Result(wake_delivery=True)
