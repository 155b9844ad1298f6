"""The life of a message: received, refused, held, approved, rejected, delivered, read,
retracted. The relay and the console call these same functions, so a rule lives once.

Every function works inside the caller's unit of work and queues what the terminals must
hear (``downlinks.queue``); nothing here publishes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections import namedtuple
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Integer, String, bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hr_console.domain.moderation import effective_mode, keyword_hits, route
from hr_console.services import (
    audit,
    downlinks,
    groups,
    notices,
    people,
    photo_time,
    photos,
    settings,
    shifts,
    voice,
)
from hr_console.services.errors import NotFound, ServiceError
from hr_console.store.models import (
    BadgeSession,
    Downlink,
    Employee,
    Group,
    GroupReceipt,
    Media,
    Message,
    ModerationDecision,
    utcnow,
)
from relais_wire.envelope import (
    CONTENT_KINDS,
    DrawingMessage,
    Photo,
    Text,
    Voice,
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
    # A group post's state carries its group, and once fanned out "seen by N of M".
    extra: dict[str, Any] | None = None


def _state_fields(session: Session, msg: Message) -> dict[str, Any]:
    out = {"msg": msg.client_id, "state": msg.state, "reason": msg.reason}
    if msg.group_id is not None:
        out.update(group_counts(session, msg))
    return out


def notify_sender(session: Session, msg: Message) -> None:
    downlinks.queue(session, msg.sender_id, "state", ref=msg.client_id,
                    **_state_fields(session, msg))


@dataclass(frozen=True)
class _Attached:
    """A message's photo or voice clip, made safe, as it is stored (a ``media`` row)."""

    data: bytes
    mime: str
    duration_ms: int | None = None


def _content(kind: str, body: Any) -> tuple[str, dict | None]:
    """A message's text (a photo's caption) and drawing: what its policy and moderation
    read. Its media comes after the decision (``_attached``)."""
    if isinstance(body, Text):
        return body.text, None
    if isinstance(body, Photo):
        return body.caption, None
    if isinstance(body, Voice):
        return "", None
    if isinstance(body, DrawingMessage):
        return "", body.drawing.to_json()
    raise ServiceError("bad_kind", f"{kind} is not a message kind")


def budget_key(session: Session, speaker: BadgeSession) -> str:
    """Whose share of the relay's time a terminal's photo or clip is counted in
    (``photo_time.key``): the person badged in there, or late items of sessions that ended."""
    return photo_time.key(session, speaker.terminal_id,
                          "live" if speaker.ended_at is None else "late")


def _attached(session: Session, body: Any, speaker: BadgeSession) -> _Attached | None:
    """A message's photo or clip, made safe, for a message that is not refused. A terminal
    is untrusted: the wire only checked a photo's JPEG magic or a clip's Ogg header and
    their sizes, so the picture is decoded and re-encoded here like a console upload (bombs,
    metadata, trailing polyglot payloads), and the sound too (``voice.clip``), before anyone
    else's screen, speaker or browser gets them. Never for a refused one: a terminal sending
    photos to people it may not write to cost the worker a decode each (about 6 a second,
    holding the write lock) and the database a stored picture each (226 MB in 35 s). A
    terminal's photos share a budget of the time their making takes (``photo_time``)."""
    if isinstance(body, Photo):
        key = budget_key(session, speaker)
        return _Attached(photo_time.timed(key, lambda: photos.from_terminal(body.image)),
                         "image/jpeg")
    if isinstance(body, Voice):
        clip = voice.clip(session, body.audio)
        return _Attached(clip.data, voice.MIME, clip.duration_ms)
    return None


def receive(session: Session, speaker: BadgeSession, client_id: str, kind: str, body: Any,
            *, sent_ts: int, seq: int | None, hold: bool = False) -> Outcome:
    """A message from a terminal. Idempotent on (sender, client id). ``hold``: HR approves it
    whatever the moderation mode (it arrived after its session ended, and no kiosk declared
    it typed before the end)."""
    sender_id = speaker.employee_id
    existing = find(session, sender_id, client_id)
    if existing is not None:
        return Outcome(existing.id, existing.state, existing.reason, duplicate=True,
                       extra=group_counts(session, existing) if existing.group_id else None)
    text, drawing = _content(kind, body)
    if getattr(body, "group", None) is not None:
        return _receive_group(session, speaker, client_id, kind, body, text, drawing,
                              sent_ts=sent_ts, seq=seq, hold=hold)
    verdict = _decide(session, sender_id, body.to, kind, text, hold)
    if verdict is None:
        # No row can point at a recipient that does not exist; answer without storing.
        return Outcome(None, "refused", "unknown_recipient")
    media = _attached(session, body, speaker) if verdict.state != "refused" \
        else None
    msg = Message(client_id=client_id, sender_id=sender_id, recipient_id=body.to,
                  terminal_id=speaker.terminal_id, kind=kind, body=text, drawing=drawing,
                  sent_ts=sent_ts, seq=seq, created_at=utcnow(), **verdict.columns())
    if media is not None:
        msg.media_id = _store_media(session, media)
        msg.duration_ms = media.duration_ms
    again = _store_once(session, msg)
    if again is not None:
        return Outcome(again.id, again.state, again.reason, duplicate=True)
    if msg.state == "accepted":
        _queue_delivery(session, msg)
    return Outcome(msg.id, msg.state, msg.reason, extra=verdict.extra)


def _store_once(session: Session, msg: Message) -> Message | None:
    """Insert a new message; if another relay committed the same (sender, client id)
    first, the row it stored (whose state the sender is then told), else None."""
    try:
        with session.begin_nested():
            session.add(msg)
            session.flush()
    except IntegrityError:
        again = find(session, msg.sender_id, msg.client_id)
        if again is None:
            raise
        return again
    return None


@dataclass(frozen=True)
class _Verdict:
    """Policy and moderation's answer for one new message: the columns it is stored with."""

    state: str
    reason: str | None = None
    moderation: str = "none"
    keyword_hits: list[str] | None = None
    reviewed: bool = False
    # Told to the sender beside the state, not stored: when an off-shift refusal ends.
    extra: dict[str, Any] | None = None

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
    if refusal == "off_shift":
        return _Verdict("refused", refusal,
                        extra=shifts.opening(shifts.status_of(session, sender_id)) or None)
    if refusal:
        return _Verdict("refused", refusal)
    return _moderate(session, sender_id, kind, text, hold)


def _moderate(session: Session, sender_id: int, kind: str, text: str, hold: bool,
              mode: str | None = None) -> _Verdict:
    """Moderation of a message allowed to go: ``mode`` (a group's), else the sender's usual
    one (employee, team, default); the keyword filter and media held apply either way."""
    if mode is None:
        sender = people.profile(session, sender_id)
        assert sender is not None
        mode = effective_mode(sender.moderation_mode, sender.team_moderation_mode,
                              settings.get(session, "default_moderation"))
    hits = keyword_hits(text, settings.get(session, "keywords")) if text else []
    routing = route("pre" if hold else mode, hits, kind,
                    bool(settings.get(session, "media_always_held")),
                    kind == "voice" and bool(settings.get(session, "voice_always_held")))
    return _Verdict(routing.state, None, mode, hits or None,
                    not routing.reviewable and routing.state == "accepted")


def _store_media(session: Session, attached: _Attached) -> int:
    media = Media(sha256=hashlib.sha256(attached.data).hexdigest(), mime=attached.mime,
                  data=attached.data)
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
    group = session.get(Group, msg.group_id) if msg.group_id is not None else None
    media = (session.get(Media, msg.media_id)
             if msg.kind in ("photo", "voice") and msg.group_id is None and msg.media_id
             else None)
    return _view(msg, sender.name if sender else "", group.name if group else "",
                 media.data if media else None)


def _view(msg: Any, from_name: str, group_name: str, media: bytes | None) -> dict[str, Any]:
    """``wire_view`` of a message row (an ORM object or a Core row with the same column
    names), its sender's and group's names and its 1:1 photo's or clip's bytes already
    read: the one statement of what a kiosk is shown, for the copies and for the history
    alike. A clip not given travels as ``has_audio`` (the kiosk fetches it when played:
    the history never carries sound, a few minutes of it would fill a sync)."""
    out: dict[str, Any] = {
        "msg": msg.client_id, "kind": msg.kind, "from": msg.sender_id,
        "from_name": from_name, "to": msg.recipient_id,
        "sent_ts": msg.sent_ts, "state": msg.state,
    }
    if msg.group_id is not None:
        del out["to"]
        out.update(_group_fields(msg, group_name))
    if msg.kind == "text":
        out["text"] = msg.body
    elif msg.kind == "photo":
        out["caption"] = msg.body
        if msg.group_id is not None:
            # Never inline for a group: one photo times the members would fill the broker;
            # each kiosk fetches it over the kiosk API (conversations.media).
            out["has_image"] = msg.media_id is not None
        else:
            out["image"] = b64(media) if media is not None else None
    elif msg.kind == "voice":
        out["duration_ms"] = msg.duration_ms or 0
        if media is not None and msg.group_id is None:
            out["audio"] = b64(media)
        else:
            out["has_audio"] = msg.media_id is not None
    else:
        out["drawing"] = msg.drawing
    if msg.reason:
        out["reason"] = msg.reason
    return out


def _queue_delivery(session: Session, msg: Message) -> None:
    if msg.group_id is not None:
        fan_out(session, msg)
        return
    view = wire_view(session, msg)
    kind = view.pop("kind")
    downlinks.queue(session, msg.recipient_id, kind, ref=msg.client_id, sender_id=msg.sender_id,
                    **view)


def delivered_to(session: Session, recipient_id: int, client_id: str,
                 sender_id: int | None = None) -> None:
    """The recipient's terminal confirmed its copy of this message: tell the sender. Only a
    message still accepted or approved changes, so only those are read (the index on
    recipient and state, rather than every message this person ever received)."""
    found = False
    for msg in session.execute(_DELIVERABLE_COPY, {"me": recipient_id, "cid": client_id}).scalars():
        if sender_id is None or msg.sender_id == sender_id:
            delivered(session, msg)
            found = True
    if not found and sender_id is not None:
        group_delivered(session, [(recipient_id, client_id, sender_id)])


def delivered(session: Session, msg: Message) -> None:
    """The recipient's terminal confirmed the message: tell the sender."""
    if msg.state in DELIVERABLE:
        msg.state = "delivered"
        msg.delivered_at = utcnow()
        notify_sender(session, msg)


def mark_read(session: Session, reader_id: int, client_id: str, *,
              posts_too: bool = True) -> int:
    """The recipient opened it (a 1:1 message, else, with ``posts_too``, a group post they
    hold a receipt for). Returns how many messages changed."""
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
    if not changed and posts_too:
        changed = len(group_reads(session, [(reader_id, client_id)]))
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
    if msg.group_id is not None:
        # The group or its author may have changed while the post waited: archived,
        # deleted, the author moved out of it. Approving then would write to people the
        # author can no longer write to; HR rejects it instead (the queue says why).
        refusal = groups.may_post(session, msg.group_id, msg.sender_id, reply_to=msg.reply_to)
        if refusal is not None:
            raise ServiceError("group_refuses", "This group post can no longer be delivered "
                               f"({refusal}): reject it.", reason=refusal)
    msg.state, msg.decided_at, msg.reviewed = "approved", utcnow(), True
    session.add(ModerationDecision(message_id=msg.id, decided_by=user_id, decision="approve"))
    audit.record(session, actor, "message.approve", f"message:{msg.id}")
    if msg.group_id is not None:
        fan_out(session, msg)  # first: the author's state then says to how many
        notify_sender(session, msg)
    else:
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
    if msg.group_id is not None:
        _retract_group(session, msg)
    else:
        # A copy not yet delivered must not go out any more.
        downlinks.drop_copy(session, msg.recipient_id, msg.sender_id, msg.client_id)
        downlinks.queue(session, msg.recipient_id, "retract", ref=msg.client_id,
                        msg=msg.client_id, **{"from": msg.sender_id})
    notify_sender(session, msg)
    return msg


def history(session: Session, employee_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The latest messages to or from this employee that their kiosk may show."""
    return _history_views(session, employee_id, list(reversed(
        _latest(session, employee_id, limit))))


def views(session: Session, employee_id: int, rows: list[Message]) -> list[dict[str, Any]]:
    """``wire_view`` of each row, and "seen by N of M" on this employee's own group posts
    (one query for all of them)."""
    # The senders and groups, read once and held here: the session's identity map keeps
    # rows only while something refers to them, so 200 views would read them 400 times.
    held = _load(session, Employee, {m.sender_id for m in rows})
    held += _load(session, Group, {m.group_id for m in rows if m.group_id is not None})
    out = [wire_view(session, m) for m in rows]
    del held
    _add_seen(session, employee_id, rows, out)
    return out


def _add_seen(session: Session, employee_id: int, rows: list[Any],
              out: list[dict[str, Any]]) -> None:
    """"Seen by N of M" on the views of this employee's own group posts (one query)."""
    own = [m.id for m in rows if m.group_id is not None and m.sender_id == employee_id]
    if own:
        counts = _counts_of(session, own)
        for msg, view in zip(rows, out, strict=True):
            if msg.id in counts:
                view["seen"], view["members"] = counts[msg.id]


def _load(session: Session, model: Any, ids: set[int]) -> list[Any]:
    if not ids:
        return []
    return list(session.execute(select(model).where(model.id.in_(sorted(ids)))).scalars())


# The history read as Core rows of the columns a view needs, with the sender's and the
# group's names joined in: at badge-in it is up to 200 group posts, and loading them as ORM
# objects, then each sender and group through the session, cost more than the queries.
_SENDER, _GROUP_OF = Employee.__table__.alias("sender"), Group.__table__.alias("group_of")
_M = Message.__table__
_VIEW_COLUMNS = (_M.c.id, _M.c.client_id, _M.c.kind, _M.c.sender_id, _M.c.recipient_id,
                 _M.c.sent_ts, _M.c.state, _M.c.group_id, _M.c.body, _M.c.media_id,
                 _M.c.drawing, _M.c.reason, _M.c.urgent, _M.c.reply_to, _M.c.created_at,
                 _M.c.duration_ms,
                 func.coalesce(_SENDER.c.name, "").label("from_name"),
                 func.coalesce(_GROUP_OF.c.name, "").label("group_name"))
_VIEW_FROM = (_M.outerjoin(_SENDER, _SENDER.c.id == _M.c.sender_id)
              .outerjoin(_GROUP_OF, _GROUP_OF.c.id == _M.c.group_id))
_NEWEST_FIRST = (_M.c.created_at.desc(), _M.c.id.desc())
_ME = bindparam("me", type_=Integer)
# Sent by them (but internal errors), or 1:1 messages delivered to them.
_OWN_AND_ONE_TO_ONE = (
    select(*_VIEW_COLUMNS).select_from(_VIEW_FROM)
    .where(((_M.c.sender_id == _ME) & (_M.c.state != "error"))
           | ((_M.c.recipient_id == _ME) & _M.c.state.in_(("delivered", "read"))))
    .order_by(*_NEWEST_FIRST).limit(bindparam("limit", type_=Integer)))
# Posts of their groups they hold a delivered receipt for (a copy not yet confirmed comes
# as its downlink, not twice, as for 1:1).
_HELD_RECEIPT = GroupReceipt.__table__
_RECEIVED_POSTS = (
    select(*_VIEW_COLUMNS)
    .select_from(_VIEW_FROM.join(_HELD_RECEIPT, (_HELD_RECEIPT.c.message_id == _M.c.id)
                                 & (_HELD_RECEIPT.c.employee_id == _ME)
                                 & _HELD_RECEIPT.c.delivered_at.is_not(None)))
    .where(_M.c.group_id.in_(bindparam("groups", expanding=True)),
           _M.c.state.in_(DELIVERABLE))  # VISIBLE_POSTS, below
    .order_by(*_NEWEST_FIRST).limit(bindparam("limit", type_=Integer)))
# A history row as a plain named tuple: a Core Row's attribute access costs ~1 us, and a view
# reads a dozen of them on each of 200 rows.
_HistoryRow = namedtuple("_HistoryRow", list(_OWN_AND_ONE_TO_ONE.selected_columns.keys()))
_MEDIA = Media.__table__
_IMAGES = select(_MEDIA.c.id, _MEDIA.c.data).where(
    _MEDIA.c.id.in_(bindparam("ids", expanding=True)))


def _latest(session: Session, employee_id: int, limit: int,
            mine: set[int] | None = None) -> list[Any]:
    """The latest 1:1 messages and group posts this employee may see, newest first, as rows
    for ``_history_views``: group posts only of groups they are still a member of, and only
    those they hold a receipt for (delivered to them at fan-out) or wrote. ``mine``: their
    groups (``member_of``) when the caller already has them."""
    rows = [_HistoryRow._make(r) for r in session.execute(
        _OWN_AND_ONE_TO_ONE, {"me": employee_id, "limit": limit})]
    has_group = any(m.group_id is not None for m in rows)
    if mine is None:
        mine = member_of(session, employee_id) \
            if has_group or _holds_receipts(session, employee_id) else set()
    if has_group:
        rows = [m for m in rows if m.group_id is None or m.group_id in mine]
    if mine:
        rows += [_HistoryRow._make(r) for r in session.execute(
            _RECEIVED_POSTS, {"me": employee_id, "groups": sorted(mine), "limit": limit})]
        rows.sort(key=lambda m: (m.created_at, m.id), reverse=True)
    return rows[:limit]


def _history_views(session: Session, employee_id: int, rows: list[Any]
                   ) -> list[dict[str, Any]]:
    """``_view`` of each ``_latest`` row (the 1:1 photos' bytes read in one query), and
    "seen by N of M" on this employee's own group posts."""
    wanted = {m.media_id for m in rows
              if m.kind == "photo" and m.group_id is None and m.media_id}
    images = dict(session.execute(_IMAGES, {"ids": sorted(wanted)}).all()) if wanted else {}
    out = [_view(m, m.from_name, m.group_name,
                 images.get(m.media_id) if m.group_id is None else None) for m in rows]
    _add_seen(session, employee_id, rows, out)
    return out


def sync_history(session: Session, employee_id: int, budget: int, limit: int = 200, *,
                 mine: set[int] | None = None) -> tuple[list[dict[str, Any]], bool]:
    """The history for a badge-in sync, newest first kept, within ``budget`` bytes of JSON so
    the sync always fits one MQTT packet. A photo that does not fit travels without its
    image (``has_image``: the kiosk fetches it over the kiosk API); what does not fit at all
    is left to the API's history pages (the second value says there is more). ``mine``:
    the employee's groups, when the caller has them already (``member_of``)."""
    out: list[dict[str, Any]] = []
    used = 0
    rows = _latest(session, employee_id, limit + 1, mine)
    more = len(rows) > limit
    views = _history_views(session, employee_id, rows[:limit])
    # What the loop below adds up, a view and one byte each, is the list's own JSON less
    # one byte (its brackets and commas), i.e. _json_size(views) - 2: when the whole list
    # fits, one encoding says so and nothing needs trimming.
    if _json_size(views) - 2 <= budget:
        return views[::-1], more
    for view in views:
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


# --- group posts -------------------------------------------------------------------------------
#
# A post is checked (membership, posting right, moderation) and committed once, like a 1:1
# message; on acceptance or approval it is fanned out: one INSERT of ``group_receipts`` for
# the members of that moment (the snapshot that decides who receives it and "seen by N of
# M"), one INSERT of their copies as downlinks, which the relay claims after the commit.

# A fanned-out post, as members see it (it stays accepted or approved: each member's
# delivery and reading live in their receipt).
VISIBLE_POSTS = DELIVERABLE
_RECEIPTS = GroupReceipt.__table__
_COUNTS = (select(_RECEIPTS.c.message_id, func.count(), func.count(_RECEIPTS.c.read_at))
           .where(_RECEIPTS.c.message_id.in_(bindparam("ids", expanding=True)))
           .group_by(_RECEIPTS.c.message_id))
_HOLDS = select(_RECEIPTS.c.message_id).where(_RECEIPTS.c.employee_id == bindparam("me")).limit(1)


def member_of(session: Session, employee_id: int) -> set[int]:
    """The groups (open or archived) this employee is a live member of."""
    return {g.id for g in groups.groups_of(session, employee_id)}


def _holds_receipts(session: Session, employee_id: int) -> bool:
    return session.execute(_HOLDS, {"me": employee_id}).first() is not None


def _group_fields(msg: Any, group_name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"group": msg.group_id, "group_name": group_name}
    if msg.urgent:
        out["urgent"] = True
    if msg.reply_to:
        out["reply_to"] = msg.reply_to
    return out


def _counts_of(session: Session, message_ids: list[int]) -> dict[int, tuple[int, int]]:
    """message id -> (seen, members) from the receipts."""
    return {mid: (seen, total) for mid, total, seen
            in session.execute(_COUNTS, {"ids": message_ids})}


def group_counts(session: Session, msg: Message) -> dict[str, Any]:
    """The group fields of the author's ``state``: the group, and once fanned out how many
    members received it (``members``) and read it (``seen``)."""
    out: dict[str, Any] = {"group": msg.group_id}
    if msg.state in (*DELIVERABLE, "retracted"):
        seen, total = _counts_of(session, [msg.id]).get(msg.id, (0, 0))
        out.update(seen=seen, members=total)
    return out


def _replies_to(session: Session, group_id: int, employee_id: int, client_id: str) -> bool:
    """Whether ``client_id`` names a post of this group the employee can see (wrote, or
    holds a receipt for): a reply to anything else is no reply."""
    return session.execute(
        select(Message.id).where(
            Message.group_id == group_id, Message.client_id == client_id,
            Message.state.in_(VISIBLE_POSTS),
            (Message.sender_id == employee_id) | Message.id.in_(
                select(_RECEIPTS.c.message_id).where(_RECEIPTS.c.employee_id == employee_id)))
        .limit(1)).first() is not None


def _receive_group(session: Session, speaker: BadgeSession, client_id: str, kind: str,
                   body: Any, text: str, drawing: dict | None, *,
                   sent_ts: int, seq: int | None, hold: bool) -> Outcome:
    """``receive`` for a post to a group: membership and posting right (live, now), then
    the group's moderation mode or the sender's; fanned out at once when accepted."""
    sender_id = speaker.employee_id
    group = session.get(Group, body.group)
    if group is None:
        # No row can point at a group that does not exist; answer without storing.
        return Outcome(None, "refused", "group_closed", extra={"group": body.group})
    reply_to, refusal = _post_refusal(session, group, sender_id, body)
    verdict = _Verdict("refused", refusal) if refusal else _moderate(
        session, sender_id, kind, text, hold, group.moderation_mode)
    if verdict.state == "accepted" and _over_fan_out_budget(session, sender_id, group.id):
        # Nothing typed is lost: past its budget a post waits for HR instead of costing
        # every member a copy at once (the author sees "waiting for HR").
        verdict = _Verdict("held", None, verdict.moderation, verdict.keyword_hits, False)
    msg = Message(client_id=client_id, sender_id=sender_id, recipient_id=None,
                  group_id=group.id, reply_to=reply_to,
                  urgent=_urgent(session, body, group, sender_id, refusal),
                  terminal_id=speaker.terminal_id, kind=kind, body=text, drawing=drawing,
                  sent_ts=sent_ts, seq=seq, created_at=utcnow(), **verdict.columns())
    media = _attached(session, body, speaker) if not refusal else None
    if media is not None:
        msg.media_id = _store_media(session, media)
        msg.duration_ms = media.duration_ms
    again = _store_once(session, msg)
    if again is not None:
        return Outcome(again.id, again.state, again.reason, duplicate=True,
                       extra=group_counts(session, again))
    extra = fan_out(session, msg) if msg.state == "accepted" else {"group": group.id}
    return Outcome(msg.id, msg.state, msg.reason, extra=extra)


def _post_refusal(session: Session, group: Group, sender_id: int, body: Any
                  ) -> tuple[str | None, str | None]:
    """A post's reply target (None unless it names a post the sender can see) and why the
    sender may not post it now (None: they may)."""
    reply_to = body.reply_to if body.reply_to and _replies_to(
        session, group.id, sender_id, body.reply_to) else None
    return reply_to, groups.may_post(session, group, sender_id, reply_to=reply_to)


def would_attach(session: Session, speaker: BadgeSession, client_id: str, body: Any) -> bool:
    """Whether ``receive`` would make this message's photo or clip: it is not stored already,
    and neither the contact check nor the group's posting right refuses it. Asked by the
    relay before it spends a process's CPU on a clip (``relay.voices``): a terminal's
    password must not buy decoding for messages that will be refused anyway. Only what
    ``receive`` decides before ``_attached``, so that an uplink it turns down never waits
    for a clip."""
    sender_id = speaker.employee_id
    if find(session, sender_id, client_id) is not None:
        return False
    if getattr(body, "group", None) is not None:
        group = session.get(Group, body.group)
        return group is not None and _post_refusal(session, group, sender_id, body)[1] is None
    return people.check(session, sender_id, body.to) is None


def _urgent(session: Session, body: Any, group: Group, sender_id: int,
            refusal: str | None) -> bool:
    """An urgent post is shown first at badge-in: only a lead of the group or the HR desk
    may ask for it; anyone else's ``urgent`` is stored as an ordinary post."""
    if not getattr(body, "urgent", False) or refusal:
        return False
    return groups.is_lead(session, sender_id, group)


# What one author may make the relay write for groups in a minute: copies to members
# (settings: group_copies_per_minute, 0 for no limit). The first post of the minute always
# goes (a lead's notice to a 50,000-person site group); past the budget, posts wait for HR.
# At the meter's 20 uplinks a second, a terminal posting to a group of 1,000 would
# otherwise queue 20,000 copies a second and hold up every other terminal's messages.
_POSTS = Message.__table__
_RECENT_FAN_OUT = (
    select(func.count(func.distinct(_POSTS.c.id)), func.count(_RECEIPTS.c.employee_id))
    .select_from(_POSTS.outerjoin(_RECEIPTS, _RECEIPTS.c.message_id == _POSTS.c.id))
    .where(_POSTS.c.sender_id == bindparam("sender"),
           _POSTS.c.created_at >= bindparam("since"),
           _POSTS.c.group_id.is_not(None),
           _POSTS.c.state.in_(("accepted", "approved"))))


def _over_fan_out_budget(session: Session, sender_id: int, group_id: int) -> bool:
    budget = int(settings.get(session, "group_copies_per_minute") or 0)
    if budget <= 0:
        return False
    posts, copies = session.execute(_RECENT_FAN_OUT, {
        "sender": sender_id, "since": utcnow() - dt.timedelta(minutes=1)}).one()
    if not posts:
        return False
    return copies + groups.member_count(session, group_id) > budget


# Built once: building the membership query costs ~5 ms of Python per post.
_FAN_OUT_MEMBERS = groups.FAN_OUT_MEMBERS.subquery()
_FAN_OUT_RECEIPTS = (
    insert(_RECEIPTS)
    .from_select(["message_id", "employee_id"],
                 select(bindparam("mid", type_=Integer), _FAN_OUT_MEMBERS.c.id))
    .returning(_RECEIPTS.c.employee_id))


_RECEIVERS = select(_RECEIPTS.c.employee_id)  # of a post: its receipts' people


def fan_out(session: Session, msg: Message) -> dict[str, Any]:
    """Deliver an accepted or approved post to the group's members of this moment, author
    excepted: one INSERT ... SELECT of their receipts from the live membership query
    (RETURNING who they are), one INSERT ... SELECT of their copies from those receipts
    (downlinks the relay claims after the commit for members badged in; the others get
    theirs at their next badge-in). Returns the
    author's state fields. Called once per post (on acceptance, or on approval of a held
    one), inside the transaction that decides it, so a retry never doubles a row."""
    group = session.get(Group, msg.group_id)
    if group is None or group.state == "deleted":
        # Held, then its group deleted before HR approved it: hidden everywhere, sent nowhere.
        return {"group": msg.group_id, "seen": 0, "members": 0}
    members = list(session.execute(_FAN_OUT_RECEIPTS, {
        "mid": msg.id, "gid": msg.group_id, "author": msg.sender_id}).scalars())
    if members:
        view = wire_view(session, msg)
        kind = view.pop("kind")
        view.pop("reason", None)
        downlinks.queue_audience(session, kind, _RECEIVERS.where(
            _RECEIPTS.c.message_id == msg.id), view, ref=msg.client_id, sender_id=msg.sender_id)
    return {"group": msg.group_id, "seen": 0, "members": len(members)}


def group_delivered(session: Session, copies: list[tuple[int, str, int]]) -> int:
    """Members' terminals confirmed their copies (employee, client id, sender) of group
    posts: their receipts say delivered. Copies of 1:1 messages match nothing here."""
    if not copies:
        return 0
    posts = {(sender, cid): mid for mid, sender, cid in session.execute(_GROUP_POSTS, {
        "senders": sorted({c[2] for c in copies}), "cids": sorted({c[1] for c in copies})})}
    pairs = sorted({(posts[(sender, cid)], me) for me, cid, sender in copies
                    if (sender, cid) in posts})
    if not pairs:
        return 0
    return session.execute(_RECEIPTS_DELIVERED, {
        "mids": sorted({p[0] for p in pairs}), "pairs": pairs, "now": utcnow()}).rowcount or 0


def group_reads(session: Session, reads: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Members opened group posts ((employee, client id) pairs): their unread receipts say
    read (found through the reader's receipts, one query for all, one UPDATE), and each
    post's author is sent one ``state`` with the new "seen by" count (replacing an unsent
    older one), however many of its readers are in ``reads``. Returns the pairs that were
    group posts read for the first time."""
    if not reads:
        return set()
    wanted = set(reads)
    found = [(mid, me, cid) for mid, me, cid in session.execute(_UNREAD, {
        "emps": sorted({me for me, _c in wanted}), "cids": sorted({c for _m, c in wanted})})
        if (me, cid) in wanted]
    if not found:
        return set()
    pairs = sorted({(mid, me) for mid, me, _c in found})
    mids = sorted({p[0] for p in pairs})
    session.execute(_RECEIPTS_READ, {"mids": mids, "pairs": pairs, "now": utcnow()})
    # The posts locked (in id order) before their readers are counted: two transactions
    # marking reads of one post at once (a relay's worker and its receipts lane, or two
    # relays) each counted without the other's uncommitted read, and both told the author
    # "seen by 1 of 2"; the second now counts once the first has committed.
    for msg in session.execute(_POSTS_LOCKED, {"mids": mids}).scalars():
        notify_sender(session, msg)
    return {(me, cid) for _mid, me, cid in found}


_POSTS_LOCKED = (select(Message).where(Message.id.in_(bindparam("mids", expanding=True)))
                 .order_by(Message.id).with_for_update())


def _retract_group(session: Session, msg: Message) -> None:
    """Every member holding a receipt is told to remove it; copies not yet delivered are
    dropped (one DELETE, one INSERT of the retract downlinks)."""
    holders = _RECEIVERS.where(_RECEIPTS.c.message_id == msg.id)
    session.execute(delete(Downlink).where(
        Downlink.ref == msg.client_id, Downlink.kind.in_(CONTENT_KINDS),
        Downlink.sender_id == msg.sender_id, Downlink.employee_id.in_(holders)))
    downlinks.queue_audience(session, "retract", holders,
                             {"msg": msg.client_id, "from": msg.sender_id, "group": msg.group_id},
                             ref=msg.client_id)


# --- a relay batch: set-based ----------------------------------------------------------------

_MESSAGES = Message.__table__
_DOWNLINKS = Downlink.__table__
# A stored message as a batch looks it up: (sender, client id, state, reason).
Stored = tuple[int, str, str, str | None]
_INSERT_MESSAGES = insert(_MESSAGES)
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
        self.claimed: list[Any] = []  # the downlinks written so far, claimed as written
        # (``downlinks.insert_claimed``: the employee is badged in), in order
        self._known: dict[tuple[int, str], tuple[str, str | None]] = {}
        self._looked: set[tuple[int, str]] = set()
        self._messages: list[dict[str, Any]] = []
        self._downlinks: list[dict[str, Any]] = []
        self._receipts: dict[tuple[str, int], None] = {}  # (downlink id, employee), in order
        self._reads: dict[tuple[int, str], None] = {}  # (employee, client id), in order

    def prefetch(self, keys: list[tuple[int, str]], found: list[Stored] | None = None) -> None:
        """Which of these (sender, client id) are stored already: one query for the batch,
        or none when the caller has ``found`` them (every stored row among ``keys``, read
        with the batch's sessions)."""
        keys = [k for k in dict.fromkeys(keys) if k not in self._looked]
        if not keys:
            return
        self._looked.update(keys)
        wanted = set(keys)
        if found is None:
            found = self.session.execute(_KNOWN, {
                "senders": sorted({k[0] for k in keys}),
                "cids": sorted({k[1] for k in keys})}).tuples().all()
        for sender, cid, state, reason in found:
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
        text, drawing = _content(kind, body)
        verdict = _decide(self.session, sender_id, body.to, kind, text, hold)
        if verdict is None:
            return Outcome(None, "refused", "unknown_recipient")
        media = _attached(self.session, body, speaker) \
            if verdict.state != "refused" else None
        now = utcnow()
        self._messages.append({
            "client_id": client_id, "sender_id": sender_id, "recipient_id": body.to,
            "terminal_id": speaker.terminal_id, "kind": kind, "body": text, "drawing": drawing,
            "media_id": _store_media(self.session, media) if media is not None else None,
            "duration_ms": media.duration_ms if media is not None else None,
            "sent_ts": sent_ts, "seq": seq, "created_at": now, "decided_at": None,
            "delivered_at": None, "read_at": None, **verdict.columns()})
        self._known[key] = (verdict.state, verdict.reason)
        if verdict.state == "accepted":
            self._copy(sender_id, body.to, client_id, kind, text, drawing, media, sent_ts)
        return Outcome(None, verdict.state, verdict.reason, extra=verdict.extra)

    def _copy(self, sender_id: int, recipient_id: int, client_id: str, kind: str, text: str,
              drawing: dict | None, media: _Attached | None, sent_ts: int) -> None:
        """The recipient's copy, as ``wire_view`` shows an accepted message."""
        sender = people.profile(self.session, sender_id)
        view: dict[str, Any] = {"msg": client_id, "from": sender_id,
                                "from_name": sender.name if sender else "", "to": recipient_id,
                                "sent_ts": sent_ts, "state": "accepted"}
        if kind == "text":
            view["text"] = text
        elif kind == "photo":
            view["caption"] = text
            view["image"] = b64(media.data) if media is not None else None
        elif kind == "voice":
            view["duration_ms"] = media.duration_ms if media is not None else 0
            view["audio"] = b64(media.data) if media is not None else None
        else:
            view["drawing"] = drawing
        self._queue(recipient_id, kind, client_id, sender_id, view)

    def _queue(self, employee_id: int, kind: str, ref: str | None, sender_id: int | None,
               fields: dict[str, Any]) -> None:
        row_id = str(uuid.uuid4())
        self._downlinks.append({
            "id": row_id, "employee_id": employee_id, "kind": kind, "ref": ref,
            "payload": envelope(kind, id=row_id, **fields), "sender_id": sender_id,
            "created_at": utcnow()})

    def confirm(self, employee_id: int, downlink_id: str) -> None:
        """A ``received`` receipt: ``downlinks.confirm`` then ``delivered_to``, at ``flush``."""
        self._receipts[(downlink_id, employee_id)] = None

    def read(self, employee_id: int, client_id: str) -> None:
        """A ``read`` receipt: ``mark_read`` at ``flush``, group posts' all at once (one
        state per post for all its readers in the batch)."""
        self._reads[(employee_id, client_id)] = None

    def flush(self) -> None:
        """Write what the batch has decided so far."""
        s = self.session
        if self._messages:
            s.execute(_INSERT_MESSAGES, self._messages)
            self._messages = []
        if self._receipts:
            pairs, self._receipts = list(self._receipts), {}
            self._settle(pairs)
        if self._reads:
            reads, self._reads = list(self._reads), {}
            posts = group_reads(s, reads)
            for me, cid in reads:
                if (me, cid) not in posts:
                    mark_read(s, me, cid, posts_too=False)
        if self._downlinks:
            self.claimed += downlinks.insert_claimed(s, self._downlinks)
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
        if s.get_bind().dialect.name == "sqlite":
            done = s.execute(_DELIVERED_MANY, {
                "senders": sorted({c[2] for c in copies}),
                "cids": sorted({c[1] for c in copies}), "copies": copies, "now": utcnow()}).all()
        else:
            done = s.execute(_DELIVERED_BY_KEY, {
                "copy_to": [c[0] for c in copies], "copy_cid": [c[1] for c in copies],
                "copy_from": [c[2] for c in copies], "now": utcnow()}).all()
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
        # What no 1:1 message took: copies of group posts (or copies confirmed again).
        settled = {(sender, cid) for sender, cid, _r, _at in done}
        group_delivered(s, [c for c in copies if (c[2], c[1]) not in settled])


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
# PostgreSQL joins the copies as rows (unnest), so that each names its message by equality
# on its unique (sender, client id): an index lookup a copy. The state is checked on the
# row found, through an expression no index answers: without statistics (a new database, or
# autovacuum off) the planner took ix_messages_state_created for selective and walked every
# message still deliverable instead (4 to 6 ms a batch after a few thousand messages, 34 ms
# at 200,000). One corner is left without statistics: a batch confirming 40 to 64 copies
# while the table holds 10,000 to 30,000 messages is planned as one read of the table
# (6 to 10 ms, the old form's 5.6); past that size, or with statistics, it is lookups.
_COPIES = func.unnest(bindparam("copy_to", type_=ARRAY(Integer)),
                      bindparam("copy_cid", type_=ARRAY(String)),
                      bindparam("copy_from", type_=ARRAY(Integer))
                      ).table_valued("recipient_id", "client_id", "sender_id"
                                     ).render_derived(name="copies")
_DELIVERED_BY_KEY = (
    update(_MESSAGES)
    .where(_MESSAGES.c.sender_id == _COPIES.c.sender_id,
           _MESSAGES.c.client_id == _COPIES.c.client_id,
           _MESSAGES.c.recipient_id == _COPIES.c.recipient_id,
           func.concat(_MESSAGES.c.state).in_(DELIVERABLE))
    .values(state="delivered", delivered_at=bindparam("now"))
    .returning(_MESSAGES.c.sender_id, _MESSAGES.c.client_id, _MESSAGES.c.reason,
               _MESSAGES.c.decided_at))
_DROP_STATES = delete(_DOWNLINKS).where(
    _in(_DOWNLINKS.c.employee_id, "emps"), _DOWNLINKS.c.kind == "state",
    _in(tuple_(_DOWNLINKS.c.employee_id, _DOWNLINKS.c.ref), "keys"))
_GROUP_POSTS = select(_MESSAGES.c.id, _MESSAGES.c.sender_id, _MESSAGES.c.client_id).where(
    _in(_MESSAGES.c.sender_id, "senders"), _in(_MESSAGES.c.client_id, "cids"),
    _MESSAGES.c.group_id.is_not(None))
_RECEIPTS_DELIVERED = (
    update(_RECEIPTS)
    .where(_in(_RECEIPTS.c.message_id, "mids"), _RECEIPTS.c.delivered_at.is_(None),
           _in(tuple_(_RECEIPTS.c.message_id, _RECEIPTS.c.employee_id), "pairs"))
    .values(delivered_at=bindparam("now")))
# A reader's unread receipts (their index) of visible posts with these client ids.
_UNREAD = (
    select(_RECEIPTS.c.message_id, _RECEIPTS.c.employee_id, _MESSAGES.c.client_id)
    .join(_MESSAGES, _MESSAGES.c.id == _RECEIPTS.c.message_id)
    .where(_in(_RECEIPTS.c.employee_id, "emps"), _RECEIPTS.c.read_at.is_(None),
           _in(_MESSAGES.c.client_id, "cids"), _MESSAGES.c.state.in_(VISIBLE_POSTS)))
_RECEIPTS_READ = (
    update(_RECEIPTS)
    .where(_in(_RECEIPTS.c.message_id, "mids"), _RECEIPTS.c.read_at.is_(None),
           _in(tuple_(_RECEIPTS.c.message_id, _RECEIPTS.c.employee_id), "pairs"))
    .values(read_at=bindparam("now"),
            delivered_at=func.coalesce(_RECEIPTS.c.delivered_at, bindparam("now"))))
