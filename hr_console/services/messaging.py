"""The life of a message: received, refused, held, approved, rejected, delivered, read,
retracted. The relay and the console call these same functions, so a rule lives once.

Every function works inside the caller's unit of work and queues what the terminals must
hear (``downlinks.queue``); nothing here publishes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hr_console.domain.moderation import effective_mode, keyword_hits, route
from hr_console.services import audit, downlinks, people, photos, settings
from hr_console.services.errors import NotFound, ServiceError
from hr_console.store.models import (
    BadgeSession,
    Employee,
    Media,
    Message,
    ModerationDecision,
    Team,
    utcnow,
)
from relais_wire.envelope import DrawingMessage, Photo, Text, b64, clean_text
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
    refusal = people.check(session, sender_id, body.to)
    msg = Message(client_id=client_id, sender_id=sender_id, recipient_id=body.to,
                  terminal_id=speaker.terminal_id, kind=kind, body=text, drawing=drawing,
                  sent_ts=sent_ts, seq=seq, created_at=utcnow())
    if refusal:
        if refusal == "unknown_recipient":
            # No row can point at a recipient that does not exist; answer without storing.
            return Outcome(None, "refused", refusal)
        msg.state, msg.reason = "refused", refusal
    else:
        sender = session.get(Employee, sender_id)
        assert sender is not None
        team_mode = session.get(Team, sender.team_id).moderation_mode if sender.team_id else None
        mode = effective_mode(sender.moderation_mode, team_mode,
                              settings.get(session, "default_moderation"))
        hits = keyword_hits(text, settings.get(session, "keywords")) if text else []
        routing = route("pre" if hold else mode, hits, kind,
                        bool(settings.get(session, "media_always_held")))
        msg.state, msg.moderation, msg.keyword_hits = routing.state, mode, hits or None
        msg.reviewed = not routing.reviewable and routing.state == "accepted"
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
