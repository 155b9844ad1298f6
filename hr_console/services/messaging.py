"""The life of a message: received, refused, held, approved, rejected, delivered, read,
retracted. The relay and the console call these same functions, so a rule lives once.

Every function works inside the caller's unit of work and queues what the terminals must
hear (``downlinks.queue``); nothing here publishes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hr_console.domain.moderation import effective_mode, keyword_hits, route
from hr_console.services import audit, downlinks, notices, people, photos, settings
from hr_console.services.errors import NotFound, ServiceError
from hr_console.store.models import (
    BadgeSession,
    Downlink,
    Employee,
    Media,
    Message,
    ModerationDecision,
    Team,
    utcnow,
)
from relais_wire.envelope import (
    CONTENT_KINDS,
    DrawingMessage,
    Photo,
    Text,
    b64,
    clean_text,
    envelope,
)
from relais_wire.limits import MAX_REASON_CHARS

DELIVERABLE = ("accepted", "approved")


@dataclass(frozen=True)
class Outcome:
    """What the sender's terminal is told right away about one uplink."""

    message_id: int | None
    state: str
    reason: str | None = None
    duplicate: bool = False


def _state_fields(msg: Message) -> dict[str, Any]:
    return {"msg": msg.client_id, "state": msg.state, "reason": msg.reason}


def notify_sender(session: Session, msg: Message) -> None:
    downlinks.queue(session, msg.sender_id, "state", ref=msg.client_id, **_state_fields(msg))


def _content(kind: str, body: Any) -> tuple[str, dict | None, bytes | None]:
    if isinstance(body, Text):
        return body.text, None, None
    if isinstance(body, Photo):
        return body.caption, None, body.image
    if isinstance(body, DrawingMessage):
        return "", body.drawing.to_json(), None
    raise ServiceError("bad_kind", f"{kind} is not a message kind")


def receive(session: Session, speaker: BadgeSession, client_id: str, kind: str, body: Any,
            *, sent_ts: int, seq: int | None, hold: bool = False) -> Outcome:
    """A message from a terminal. Idempotent on (sender, client id). ``hold``: HR approves it
    whatever the moderation mode (it arrived after its session ended, and no kiosk declared
    it typed before the end)."""
    sender_id = speaker.employee_id
    existing = find(session, sender_id, client_id)
    if existing is not None:
        return Outcome(existing.id, existing.state, existing.reason, duplicate=True)
    text, drawing, image = _content(kind, body)
    if image is not None:
        # A terminal is untrusted: the wire only checked the JPEG magic and the size, so the
        # picture is decoded and re-encoded here like a console upload (bombs, metadata,
        # trailing polyglot payloads) before anyone else's screen or browser sees it.
        image = photos.normalise(image)
    verdict = _decide(session, sender_id, body.to, kind, text, hold)
    if verdict is None:
        # No row can point at a recipient that does not exist; answer without storing.
        return Outcome(None, "refused", "unknown_recipient")
    msg = Message(client_id=client_id, sender_id=sender_id, recipient_id=body.to,
                  terminal_id=speaker.terminal_id, kind=kind, body=text, drawing=drawing,
                  sent_ts=sent_ts, seq=seq, created_at=utcnow(), **verdict.columns())
    if image is not None:
        msg.media_id = _store_media(session, image)
    try:
        with session.begin_nested():
            session.add(msg)
            session.flush()
    except IntegrityError:
        # Another relay committed the same (sender, client id) first: report its state.
        again = find(session, sender_id, client_id)
        if again is None:
            raise
        return Outcome(again.id, again.state, again.reason, duplicate=True)
    if msg.state == "accepted":
        _queue_delivery(session, msg)
    return Outcome(msg.id, msg.state, msg.reason)


@dataclass(frozen=True)
class _Verdict:
    """Policy and moderation's answer for one new message: the columns it is stored with."""

    state: str
    reason: str | None = None
    moderation: str = "none"
    keyword_hits: list[str] | None = None
    reviewed: bool = False

    def columns(self) -> dict[str, Any]:
        return {"state": self.state, "reason": self.reason, "moderation": self.moderation,
                "keyword_hits": self.keyword_hits, "reviewed": self.reviewed}


def _decide(session: Session, sender_id: int, recipient_id: int, kind: str, text: str,
            hold: bool) -> _Verdict | None:
    """The contact check, then moderation (modes, keywords, media held); None: the recipient
    does not exist. One rule for the relay's batches and the one-message path."""
    refusal = people.check(session, sender_id, recipient_id)
    if refusal == "unknown_recipient":
        return None
    if refusal:
        return _Verdict("refused", refusal)
    sender = session.get(Employee, sender_id)
    assert sender is not None
    team_mode = session.get(Team, sender.team_id).moderation_mode if sender.team_id else None
    mode = effective_mode(sender.moderation_mode, team_mode,
                          settings.get(session, "default_moderation"))
    hits = keyword_hits(text, settings.get(session, "keywords")) if text else []
    routing = route("pre" if hold else mode, hits, kind,
                    bool(settings.get(session, "media_always_held")))
    return _Verdict(routing.state, None, mode, hits or None,
                    not routing.reviewable and routing.state == "accepted")


def _store_media(session: Session, data: bytes) -> int:
    media = Media(sha256=hashlib.sha256(data).hexdigest(), mime="image/jpeg", data=data)
    session.add(media)
    session.flush()
    return media.id


# The relay runs these for every message: built once (building a statement and its cache key
# costs more than SQLite takes to answer it).
_FIND = select(Message).where(Message.sender_id == bindparam("sender"),
                              Message.client_id == bindparam("cid"))
_DELIVERABLE_COPY = select(Message).where(Message.recipient_id == bindparam("me"),
                                          Message.state.in_(DELIVERABLE),
                                          Message.client_id == bindparam("cid"))


def find(session: Session, sender_id: int, client_id: str) -> Message | None:
    return session.execute(_FIND, {"sender": sender_id, "cid": client_id}).scalar_one_or_none()


def wire_view(session: Session, msg: Message) -> dict[str, Any]:
    """A message as a kiosk shows it (the recipient's copy and the history)."""
    sender = session.get(Employee, msg.sender_id)
    out: dict[str, Any] = {
        "msg": msg.client_id, "kind": msg.kind, "from": msg.sender_id,
        "from_name": sender.name if sender else "", "to": msg.recipient_id,
        "sent_ts": msg.sent_ts, "state": msg.state,
    }
    if msg.kind == "text":
        out["text"] = msg.body
    elif msg.kind == "photo":
        out["caption"] = msg.body
        media = session.get(Media, msg.media_id) if msg.media_id else None
        out["image"] = b64(media.data) if media else None
    else:
        out["drawing"] = msg.drawing
    if msg.reason:
        out["reason"] = msg.reason
    return out


def _queue_delivery(session: Session, msg: Message) -> None:
    view = wire_view(session, msg)
    kind = view.pop("kind")
    downlinks.queue(session, msg.recipient_id, kind, ref=msg.client_id, sender_id=msg.sender_id,
                    **view)


def delivered_to(session: Session, recipient_id: int, client_id: str,
                 sender_id: int | None = None) -> None:
    """The recipient's terminal confirmed its copy of this message: tell the sender. Only a
    message still accepted or approved changes, so only those are read (the index on
    recipient and state, rather than every message this person ever received)."""
    for msg in session.execute(_DELIVERABLE_COPY, {"me": recipient_id, "cid": client_id}).scalars():
        if sender_id is None or msg.sender_id == sender_id:
            delivered(session, msg)


def delivered(session: Session, msg: Message) -> None:
    """The recipient's terminal confirmed the message: tell the sender."""
    if msg.state in DELIVERABLE:
        msg.state = "delivered"
        msg.delivered_at = utcnow()
        notify_sender(session, msg)


def mark_read(session: Session, reader_id: int, client_id: str) -> int:
    """The recipient opened it. Returns how many messages changed."""
    changed = 0
    for msg in session.execute(
        select(Message).where(Message.recipient_id == reader_id, Message.client_id == client_id,
                              Message.state.in_(("delivered", *DELIVERABLE)))
    ).scalars():
        if msg.delivered_at is None:
            msg.delivered_at = utcnow()
        msg.state, msg.read_at = "read", utcnow()
        notify_sender(session, msg)
        changed += 1
    return changed


def _held(session: Session, message_id: int) -> Message:
    msg = session.get(Message, message_id)
    if msg is None:
        raise NotFound("not_found", "No such message.")
    if msg.state != "held":
        raise ServiceError("not_held", f"This message is already {msg.state}.", state=msg.state)
    return msg


def approve(session: Session, message_id: int, actor: str, user_id: int | None = None) -> Message:
    msg = _held(session, message_id)
    msg.state, msg.decided_at, msg.reviewed = "approved", utcnow(), True
    session.add(ModerationDecision(message_id=msg.id, decided_by=user_id, decision="approve"))
    audit.record(session, actor, "message.approve", f"message:{msg.id}")
    notify_sender(session, msg)
    _queue_delivery(session, msg)
    return msg


def reject(session: Session, message_id: int, reason: str, actor: str,
           user_id: int | None = None) -> Message:
    reason = clean_text(reason or "", "reason", MAX_REASON_CHARS).strip()
    msg = _held(session, message_id)
    msg.state, msg.reason, msg.decided_at, msg.reviewed = "rejected", reason, utcnow(), True
    session.add(ModerationDecision(message_id=msg.id, decided_by=user_id, decision="reject",
                                   reason=reason))
    audit.record(session, actor, "message.reject", f"message:{msg.id}", reason=reason)
    notify_sender(session, msg)
    return msg


def retract(session: Session, message_id: int, reason: str, actor: str,
            user_id: int | None = None) -> Message:
    """HR takes back a message already sent: the recipient's kiosk removes it."""
    msg = session.get(Message, message_id)
    if msg is None:
        raise NotFound("not_found", "No such message.")
    if msg.state not in ("accepted", "approved", "delivered", "read"):
        raise ServiceError("not_retractable", f"A {msg.state} message cannot be retracted.")
    reason = clean_text(reason or "", "reason", MAX_REASON_CHARS, allow_empty=True).strip()
    msg.state, msg.reason, msg.decided_at, msg.reviewed = "retracted", reason or None, utcnow(), True
    session.add(ModerationDecision(message_id=msg.id, decided_by=user_id, decision="retract",
                                   reason=reason or None))
    audit.record(session, actor, "message.retract", f"message:{msg.id}", reason=reason)
    # A copy not yet delivered must not go out any more.
    downlinks.drop_copy(session, msg.recipient_id, msg.sender_id, msg.client_id)
    downlinks.queue(session, msg.recipient_id, "retract", ref=msg.client_id, msg=msg.client_id,
                    **{"from": msg.sender_id})
    notify_sender(session, msg)
    return msg


def history(session: Session, employee_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The latest messages to or from this employee that their kiosk may show."""
    return [wire_view(session, m) for m in reversed(_latest(session, employee_id, limit))]


def _latest(session: Session, employee_id: int, limit: int) -> list[Message]:
    return list(session.execute(
        select(Message)
        .where(((Message.sender_id == employee_id) & (Message.state != "error"))
               | ((Message.recipient_id == employee_id)
                  & Message.state.in_(("delivered", "read"))))
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    ).scalars().all())


def sync_history(session: Session, employee_id: int, budget: int, limit: int = 200
                 ) -> tuple[list[dict[str, Any]], bool]:
    """The history for a badge-in sync, newest first kept, within ``budget`` bytes of JSON so
    the sync always fits one MQTT packet. A photo that does not fit travels without its
    image (``has_image``: the kiosk fetches it over the kiosk API); what does not fit at all
    is left to the API's history pages (the second value says there is more)."""
    out: list[dict[str, Any]] = []
    used = 0
    rows = _latest(session, employee_id, limit + 1)
    more = len(rows) > limit
    for msg in rows[:limit]:
        view = wire_view(session, msg)
        size = _json_size(view)
        if size + used > budget and view.get("image"):
            view["image"] = None
            view["has_image"] = True
            size = _json_size(view)
        if size + used > budget:
            more = True
            break
        out.append(view)
        used += size
    return out[::-1], more


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")) + 1


# --- a relay batch: set-based ----------------------------------------------------------------

_MESSAGES = Message.__table__
_DOWNLINKS = Downlink.__table__
_INSERT_MESSAGES = insert(_MESSAGES)
_INSERT_DOWNLINKS = insert(_DOWNLINKS)
_KNOWN = select(_MESSAGES.c.sender_id, _MESSAGES.c.client_id, _MESSAGES.c.state,
                _MESSAGES.c.reason).where(_MESSAGES.c.sender_id.in_(bindparam("senders", expanding=True)),
                                          _MESSAGES.c.client_id.in_(bindparam("cids", expanding=True)))


class Batch:
    """The messages and ``received`` receipts of one relay batch, written with a handful of
    set-based statements at ``flush`` (one ``INSERT`` for the messages, one ``DELETE ...
    RETURNING`` for the confirmed downlinks, one ``UPDATE ... RETURNING`` for the messages
    they deliver, one ``INSERT`` for the downlinks all this owes) instead of an ORM unit of
    work per message. The rules are ``receive``'s and ``delivered_to``'s: the same policy
    and moderation (``_decide``), idempotent on (sender, client id) across the batch and the
    database. Whoever reads messages or downlinks in the same transaction calls ``flush``
    first (the relay's handlers do, before any uplink they do not batch)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.queued: list[str] = []  # ids of the downlinks written so far
        self._known: dict[tuple[int, str], tuple[str, str | None]] = {}
        self._looked: set[tuple[int, str]] = set()
        self._messages: list[dict[str, Any]] = []
        self._downlinks: list[dict[str, Any]] = []
        self._receipts: dict[tuple[str, int], None] = {}  # (downlink id, employee), in order

    def prefetch(self, keys: list[tuple[int, str]]) -> None:
        """Which of these (sender, client id) are stored already: one query for the batch."""
        keys = [k for k in dict.fromkeys(keys) if k not in self._looked]
        if not keys:
            return
        self._looked.update(keys)
        wanted = set(keys)
        for sender, cid, state, reason in self.session.execute(_KNOWN, {
                "senders": sorted({k[0] for k in keys}), "cids": sorted({k[1] for k in keys})}):
            if (sender, cid) in wanted:
                self._known[(sender, cid)] = (state, reason)

    def receive(self, speaker: BadgeSession, client_id: str, kind: str, body: Any, *,
                sent_ts: int, seq: int | None, hold: bool = False) -> Outcome:
        """``receive``, with the row written at ``flush``."""
        sender_id = speaker.employee_id
        key = (sender_id, client_id)
        self.prefetch([key])
        known = self._known.get(key)
        if known is not None:
            return Outcome(None, known[0], known[1], duplicate=True)
        text, drawing, image = _content(kind, body)
        if image is not None:
            image = photos.normalise(image)  # see receive
        verdict = _decide(self.session, sender_id, body.to, kind, text, hold)
        if verdict is None:
            return Outcome(None, "refused", "unknown_recipient")
        now = utcnow()
        self._messages.append({
            "client_id": client_id, "sender_id": sender_id, "recipient_id": body.to,
            "terminal_id": speaker.terminal_id, "kind": kind, "body": text, "drawing": drawing,
            "media_id": _store_media(self.session, image) if image is not None else None,
            "sent_ts": sent_ts, "seq": seq, "created_at": now, "decided_at": None,
            "delivered_at": None, "read_at": None, **verdict.columns()})
        self._known[key] = (verdict.state, verdict.reason)
        if verdict.state == "accepted":
            self._copy(sender_id, body.to, client_id, kind, text, drawing, image, sent_ts)
        return Outcome(None, verdict.state, verdict.reason)

    def _copy(self, sender_id: int, recipient_id: int, client_id: str, kind: str, text: str,
              drawing: dict | None, image: bytes | None, sent_ts: int) -> None:
        """The recipient's copy, as ``wire_view`` shows an accepted message."""
        sender = self.session.get(Employee, sender_id)
        view: dict[str, Any] = {"msg": client_id, "from": sender_id,
                                "from_name": sender.name if sender else "", "to": recipient_id,
                                "sent_ts": sent_ts, "state": "accepted"}
        if kind == "text":
            view["text"] = text
        elif kind == "photo":
            view["caption"] = text
            view["image"] = b64(image) if image is not None else None
        else:
            view["drawing"] = drawing
        self._queue(recipient_id, kind, client_id, sender_id, view)

    def _queue(self, employee_id: int, kind: str, ref: str | None, sender_id: int | None,
               fields: dict[str, Any]) -> None:
        row_id = str(uuid.uuid4())
        self._downlinks.append({
            "id": row_id, "employee_id": employee_id, "kind": kind, "ref": ref,
            "payload": envelope(kind, id=row_id, **fields), "sender_id": sender_id,
            "created_at": utcnow(), "sent_at": None, "attempts": 0, "confirmed_at": None})

    def confirm(self, employee_id: int, downlink_id: str) -> None:
        """A ``received`` receipt: ``downlinks.confirm`` then ``delivered_to``, at ``flush``."""
        self._receipts[(downlink_id, employee_id)] = None

    def flush(self) -> None:
        """Write what the batch has decided so far."""
        s = self.session
        if self._messages:
            s.execute(_INSERT_MESSAGES, self._messages)
            self._messages = []
        if self._receipts:
            pairs, self._receipts = list(self._receipts), {}
            self._settle(pairs)
        if self._downlinks:
            s.execute(_INSERT_DOWNLINKS, self._downlinks)
            self.queued.extend(row["id"] for row in self._downlinks)
            self._downlinks = []

    def _settle(self, pairs: list[tuple[str, int]]) -> None:
        s = self.session
        confirmed = s.execute(_CONFIRM_MANY, {"ids": sorted({i for i, _e in pairs}),
                                              "pairs": pairs}).all()
        copies: list[tuple[int, str, int]] = []
        for me, kind, ref, sender_id in confirmed:
            if kind in CONTENT_KINDS and ref:
                if sender_id is None:  # a copy queued before copies named their sender
                    delivered_to(s, me, ref)
                else:
                    copies.append((me, ref, sender_id))
            elif kind == "notice" and ref:
                notices.receipt(s, me, ref, "delivered")
        if not copies:
            return
        done = s.execute(_DELIVERED_MANY, {
            "senders": sorted({c[2] for c in copies}), "cids": sorted({c[1] for c in copies}),
            "copies": copies, "now": utcnow()}).all()
        # A newer state replaces an unsent older one (downlinks.queue), for all at once. Only
        # a message HR decided on (approved) can have one: an accepted message's sender was
        # answered directly, and nothing else queues a state while it is deliverable.
        decided = [(sender, cid) for sender, cid, _r, at in done if at is not None]
        if decided:
            s.execute(_DROP_STATES, {"emps": sorted({sender for sender, _c in decided}),
                                     "keys": decided})
        for sender, cid, reason, _at in done:
            self._queue(sender, "state", cid, None,
                        {"msg": cid, "state": "delivered", "reason": reason})


# Built once, like _FIND: the batch's statements take lists (expanding parameters). Each
# also names its rows by plain IN lists on indexed columns (the downlink's key, the message's
# (sender, client id), the downlink's employee): SQLite plans a row-value IN alone as a scan.
def _in(column: Any, name: str) -> Any:
    return column.in_(bindparam(name, expanding=True))


_CONFIRM_MANY = (
    delete(_DOWNLINKS)
    .where(_in(_DOWNLINKS.c.id, "ids"),
           _in(tuple_(_DOWNLINKS.c.id, _DOWNLINKS.c.employee_id), "pairs"))
    .returning(_DOWNLINKS.c.employee_id, _DOWNLINKS.c.kind, _DOWNLINKS.c.ref,
               _DOWNLINKS.c.sender_id))
_DELIVERED_MANY = (
    update(_MESSAGES)
    .where(_in(_MESSAGES.c.sender_id, "senders"), _in(_MESSAGES.c.client_id, "cids"),
           _MESSAGES.c.state.in_(DELIVERABLE),
           _in(tuple_(_MESSAGES.c.recipient_id, _MESSAGES.c.client_id, _MESSAGES.c.sender_id),
               "copies"))
    .values(state="delivered", delivered_at=bindparam("now"))
    .returning(_MESSAGES.c.sender_id, _MESSAGES.c.client_id, _MESSAGES.c.reason,
               _MESSAGES.c.decided_at))
_DROP_STATES = delete(_DOWNLINKS).where(
    _in(_DOWNLINKS.c.employee_id, "emps"), _DOWNLINKS.c.kind == "state",
    _in(tuple_(_DOWNLINKS.c.employee_id, _DOWNLINKS.c.ref), "keys"))
