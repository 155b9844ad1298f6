"""The moderation queue as HR and supervisors work it: what is waiting, what went out,
what was decided, and the decisions themselves.

Who may see a message is decided here, once, for the list and for every action: admins
and HR see everything; a supervisor sees only messages whose sender is in a team they
supervise, and only while the setting ``supervisors_moderate_own_teams`` is on. Even then,
a conversation with the HR desk or with the supervisor themself is never theirs: a
complaint to HR about one's supervisor, or to the supervisor, must not be read (or
rejected) by that supervisor, so ``Scope.hidden`` names the people whose messages, sent
or received, stay out of the scope in every query and lookup below. Group posts (no
recipient: they go to a whole workgroup, which may hold the HR desk or the supervisor) are
HR's alone for the same reason: they are never in a supervisor's scope.

Every decision goes through ``messaging.approve / reject / retract`` (the functions the
relay's own path uses), so delivery and the sender's notification happen exactly as
they do there. The row is locked first, so two moderators deciding the same message at
the same moment cannot both succeed: the second one sees it already decided ("stale").
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, String, func, literal, select
from sqlalchemy.orm import Session, aliased

from hr_console.services import audit, messaging, settings
from hr_console.services.errors import Invalid, NotFound, ServiceError
from hr_console.store.models import (
    ConsoleUser,
    Employee,
    Group,
    Media,
    Message,
    ModerationDecision,
    Team,
    utcnow,
)
from relais_wire.envelope import WireError, clean_text
from relais_wire.limits import MAX_REASON_CHARS

RECENT_STATES = ("accepted", "approved", "delivered", "read")
# 'held' written into the SQL, not bound: held messages are a few hundred in a million, and
# PostgreSQL's generic plan for ``state = $1`` (used once psycopg prepares a statement
# that ran five times) assumes an average state and walks the whole time index to find
# the oldest held message (0.5-0.8 s). With the value in the SQL, both databases plan for
# 'held' itself and read the (state, created_at) index.
IS_HELD = Message.state == literal("held", String, literal_execute=True)
ACTIONS = ("approve", "reject", "retract", "review")


class OutOfScope(ServiceError):
    """The console user may not moderate this message (or moderate at all)."""


@dataclass(frozen=True)
class Scope:
    """Whose messages a moderator may see: ``team_ids`` None means everyone's. ``hidden``:
    people whose messages (to or from them) are kept out even when their team is in."""

    team_ids: tuple[int, ...] | None
    hidden: tuple[int, ...] = ()

    @property
    def everything(self) -> bool:
        return self.team_ids is None

    def covers(self, sender_team_id: int | None, sender_id: int, recipient_id: int | None) -> bool:
        """Whether one message is in this scope (the same rule ``_scoped`` puts in SQL); a
        group post (``recipient_id`` None) only in a scope of everything."""
        if self.everything:
            return True
        return (recipient_id is not None
                and sender_team_id is not None and sender_team_id in (self.team_ids or ())
                and sender_id not in self.hidden and recipient_id not in self.hidden)


def scope_for(session: Session, role: str, employee_id: int | None) -> Scope:
    """The moderation scope of a console user, or ``OutOfScope`` if they have none.

    A supervisor's scope leaves out every HR-desk employee and the supervisor themself
    (and whoever supervises the teams in scope, which is them), as sender or recipient."""
    if role in ("admin", "hr"):
        return Scope(None)
    if role == "supervisor" and employee_id is not None and settings.get(
            session, "supervisors_moderate_own_teams"):
        teams = session.execute(
            select(Team.id).where(Team.supervisor_id == employee_id).order_by(Team.id)
        ).scalars().all()
        hidden = {employee_id}
        hidden.update(session.execute(
            select(Employee.id).where(Employee.is_hr_desk.is_(True))).scalars())
        if teams:
            hidden.update(session.execute(
                select(Team.supervisor_id).where(Team.id.in_(teams),
                                                 Team.supervisor_id.is_not(None))).scalars())
        return Scope(tuple(teams), tuple(sorted(hidden)))
    raise OutOfScope("forbidden", "Your role does not moderate messages.")


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    id: int
    client_id: str
    kind: str
    body: str
    has_media: bool
    keyword_hits: tuple[str, ...]
    created_at: dt.datetime
    state: str
    reason: str | None
    moderation: str
    reviewed: bool
    decided_at: dt.datetime | None
    delivered_at: dt.datetime | None
    read_at: dt.datetime | None
    sender_id: int
    sender: str
    recipient_id: int | None  # None: a group post
    recipient: str | None
    team: str | None
    segments: tuple[tuple[str, bool], ...] = field(default=())
    group_id: int | None = None
    group: str | None = None  # the group's name, for a group post
    duration_ms: int | None = None  # a voice message's length

    def waiting(self, now: dt.datetime | None = None) -> dt.timedelta:
        return (now or utcnow()) - self.created_at


_sender = aliased(Employee, name="sender")
_recipient = aliased(Employee, name="recipient")


def _base(columns: Sequence[Any] = ()) -> Select:
    return (
        select(Message.id, Message.client_id, Message.kind, Message.body,
               Message.media_id.is_not(None), Message.keyword_hits, Message.created_at,
               Message.state, Message.reason, Message.moderation, Message.reviewed,
               Message.decided_at, Message.delivered_at, Message.read_at,
               Message.sender_id, _sender.name, Message.recipient_id, _recipient.name, Team.name,
               Message.group_id, Group.name, Message.duration_ms, *columns)
        .join(_sender, _sender.id == Message.sender_id)
        .outerjoin(_recipient, _recipient.id == Message.recipient_id)  # NULL: a group post
        .outerjoin(Group, Group.id == Message.group_id)
        .outerjoin(Team, Team.id == _sender.team_id)
    )


def _scoped(stmt: Select, scope: Scope) -> Select:
    """``stmt`` (which joins ``_sender``) limited to the scope: every list, count and
    lookup goes through here or ``Scope.covers``."""
    if scope.everything:
        return stmt
    if not scope.team_ids:
        return stmt.where(False)
    stmt = stmt.where(_sender.team_id.in_(scope.team_ids), Message.recipient_id.is_not(None))
    if scope.hidden:
        stmt = stmt.where(Message.sender_id.not_in(scope.hidden),
                          Message.recipient_id.not_in(scope.hidden))
    return stmt


def _item(row: Sequence[Any]) -> Item:
    hits = tuple(row[5] or ())
    return Item(id=row[0], client_id=row[1], kind=row[2], body=row[3] or "", has_media=bool(row[4]),
                keyword_hits=hits, created_at=row[6], state=row[7], reason=row[8],
                moderation=row[9], reviewed=bool(row[10]), decided_at=row[11],
                delivered_at=row[12], read_at=row[13], sender_id=row[14], sender=row[15],
                recipient_id=row[16], recipient=row[17], team=row[18],
                segments=tuple(highlight(row[3] or "", hits)), group_id=row[19], group=row[20],
                duration_ms=row[21])


@dataclass(frozen=True)
class Page:
    items: list[Any]
    offset: int
    limit: int
    has_more: bool
    total: int | None = None


def held(session: Session, scope: Scope, *, offset: int = 0, limit: int = 50,
         after_id: int | None = None) -> Page:
    """Held messages, oldest first, with how many wait in all."""
    stmt = _scoped(_base().where(IS_HELD), scope)
    if after_id is not None:
        stmt = stmt.where(Message.id > after_id)
    rows = session.execute(
        stmt.order_by(Message.created_at, Message.id).offset(offset).limit(limit + 1)
    ).all()
    return Page([_item(r) for r in rows[:limit]], offset, limit, len(rows) > limit,
                held_count(session, scope))


def held_count(session: Session, scope: Scope) -> int:
    stmt = select(func.count()).select_from(Message).where(IS_HELD)
    if not scope.everything:
        stmt = stmt.join(_sender, _sender.id == Message.sender_id)
        stmt = _scoped(stmt, scope)
    return session.scalar(stmt) or 0


def oldest_held(session: Session, scope: Scope) -> dt.datetime | None:
    stmt = select(func.min(Message.created_at)).where(IS_HELD)
    if not scope.everything:
        stmt = _scoped(stmt.join(_sender, _sender.id == Message.sender_id), scope)
    return session.scalar(stmt)


def still_held(session: Session, scope: Scope, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` are still held (and in scope): the live list drops the others."""
    wanted = sorted({int(i) for i in ids})[:500]
    if not wanted:
        return set()
    stmt = (select(Message.id).join(_sender, _sender.id == Message.sender_id)
            .where(Message.id.in_(wanted), IS_HELD))
    return set(session.execute(_scoped(stmt, scope)).scalars())


def recent(session: Session, scope: Scope, *, to_review: bool = True, offset: int = 0,
           limit: int = 50) -> Page:
    """Messages that went out, newest first: post-moderated ones not yet reviewed, or all
    recent deliveries (which HR may retract)."""
    # ``state || ''`` keeps SQLite from reading the (state, created_at) index for nearly
    # every row and sorting them: walking the time index backwards finds the newest rows at
    # once. PostgreSQL walks that index by itself, and the expression would only hide the
    # state's statistics from it (it then plans a parallel scan for a few rows).
    state = Message.state
    if session.get_bind().dialect.name == "sqlite":
        state = state.concat("")
    stmt = _base().where(state.in_(RECENT_STATES))
    if to_review:
        stmt = stmt.where(Message.moderation == "post", Message.reviewed.is_(False))
    rows = session.execute(
        _scoped(stmt, scope).order_by(Message.created_at.desc(), Message.id.desc())
        .offset(offset).limit(limit + 1)
    ).all()
    return Page([_item(r) for r in rows[:limit]], offset, limit, len(rows) > limit)


@dataclass(frozen=True)
class DecisionRow:
    id: int
    created_at: dt.datetime
    decision: str
    reason: str | None
    moderator: str | None
    message_id: int
    kind: str
    body: str
    state: str
    sender: str
    recipient: str | None  # None: a group post
    group: str | None = None


def decisions(session: Session, scope: Scope, *, offset: int = 0, limit: int = 50) -> Page:
    """The history of moderation decisions, newest first."""
    stmt = (
        select(ModerationDecision.id, ModerationDecision.created_at, ModerationDecision.decision,
               ModerationDecision.reason, ConsoleUser.username, Message.id, Message.kind,
               Message.body, Message.state, _sender.name, _recipient.name, Group.name)
        .join(Message, Message.id == ModerationDecision.message_id)
        .join(_sender, _sender.id == Message.sender_id)
        .outerjoin(_recipient, _recipient.id == Message.recipient_id)
        .outerjoin(Group, Group.id == Message.group_id)
        .outerjoin(ConsoleUser, ConsoleUser.id == ModerationDecision.decided_by)
    )
    if scope.everything:
        # The page's ids from the decisions alone, then the joins for those rows only: a
        # late page skips index entries, not joined rows.
        page_ids = (select(ModerationDecision.id).order_by(ModerationDecision.id.desc())
                    .offset(offset).limit(limit + 1).scalar_subquery())
        stmt = stmt.where(ModerationDecision.id.in_(page_ids))
        rows = session.execute(stmt.order_by(ModerationDecision.id.desc())).all()
    else:
        rows = session.execute(
            _scoped(stmt, scope).order_by(ModerationDecision.id.desc())
            .offset(offset).limit(limit + 1)
        ).all()
    count_stmt = select(func.count()).select_from(ModerationDecision)
    if not scope.everything:
        count_stmt = _scoped(count_stmt.join(Message, Message.id == ModerationDecision.message_id)
                             .join(_sender, _sender.id == Message.sender_id), scope)
    items = [DecisionRow(*r) for r in rows[:limit]]
    return Page(items, offset, limit, len(rows) > limit, session.scalar(count_stmt) or 0)


def message_in_scope(session: Session, message_id: int, scope: Scope, *,
                     lock: bool = False) -> Message:
    """The message, if this scope may see it (``NotFound`` / ``OutOfScope`` otherwise)."""
    stmt = select(Message).where(Message.id == message_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    msg = session.execute(stmt).scalar_one_or_none()
    if msg is None:
        raise NotFound("not_found", "No such message.")
    if not scope.everything:
        team_id = session.scalar(select(Employee.team_id).where(Employee.id == msg.sender_id))
        if not scope.covers(team_id, msg.sender_id, msg.recipient_id):
            raise OutOfScope("forbidden", "This message is outside the teams you moderate.")
    return msg


# --- keyword highlighting ----------------------------------------------------------------------


def _fold_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def highlight(text: str, keywords: Iterable[str]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_keyword) segments, matching as the keyword filter does
    (whole words, case- and accent-blind). The caller escapes each piece and marks hits."""
    words = [w.strip() for w in keywords if w and w.strip()]
    if not text or not words:
        return [(text, False)] if text else []
    folded_parts: list[str] = []
    origin: list[int] = []  # index in ``text`` of each folded character
    for i, ch in enumerate(text):
        f = _fold_char(ch)
        folded_parts.append(f)
        origin.extend([i] * len(f))
    folded = "".join(folded_parts)
    marks = [False] * len(text)
    for word in words:
        w = "".join(_fold_char(c) for c in word)
        if not w:
            continue
        for m in re.finditer(rf"(?<!\w){re.escape(w)}(?!\w)", folded):
            if m.end() <= m.start():
                continue
            for i in range(origin[m.start()], origin[m.end() - 1] + 1):
                marks[i] = True
    segments: list[tuple[str, bool]] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or marks[i] != marks[start]:
            segments.append((text[start:i], marks[start]))
            start = i
    return segments


# --- deciding ---------------------------------------------------------------------------------


def clean_reason(reason: str | None, *, required: bool) -> str:
    """A reason as the sender's kiosk will show it, or ``Invalid`` with a clear message."""
    try:
        value = clean_text(reason or "", "reason", MAX_REASON_CHARS, allow_empty=not required)
    except WireError as exc:
        if exc.code == "empty":
            raise Invalid("reason_required", "A reason is required: the sender will see it.") from None
        if exc.code == "too_long":
            raise Invalid("reason_too_long",
                          f"The reason is longer than {MAX_REASON_CHARS} characters.") from None
        raise Invalid("reason_invalid", "The reason holds characters a kiosk cannot show.") from None
    value = value.strip()
    if required and not value:
        raise Invalid("reason_required", "A reason is required: the sender will see it.")
    return value


@dataclass
class Outcome:
    done: list[int] = field(default_factory=list)
    stale: list[tuple[int, str]] = field(default_factory=list)  # (id, its state now)
    missing: list[int] = field(default_factory=list)  # gone or outside the scope
    # Group posts whose group or author changed while they waited (id, why: archived,
    # group_closed, not_member...): approving would write to people they can no longer.
    undeliverable: list[tuple[int, str]] = field(default_factory=list)


def decide(session: Session, ids: Iterable[int], action: str, *, scope: Scope, actor: str,
           user_id: int | None, reason: str | None = None) -> Outcome:
    """Apply one action to each message; an already decided message is reported as stale
    and left as it is. Raises ``Invalid`` (nothing done) for a bad action or reason."""
    if action not in ACTIONS:
        raise Invalid("bad_action", f"Unknown action {action!r}.")
    clean = clean_reason(reason, required=(action == "reject"))
    outcome = Outcome()
    for message_id in dict.fromkeys(int(i) for i in ids):
        try:
            msg = message_in_scope(session, message_id, scope, lock=True)
        except (NotFound, OutOfScope):
            outcome.missing.append(message_id)
            continue
        try:
            with session.begin_nested():
                if action == "approve":
                    messaging.approve(session, msg.id, actor, user_id)
                elif action == "reject":
                    messaging.reject(session, msg.id, clean, actor, user_id)
                elif action == "retract":
                    messaging.retract(session, msg.id, clean, actor, user_id)
                else:
                    _review(session, msg, actor, user_id)
        except ServiceError as exc:
            if exc.code == "group_refuses":
                outcome.undeliverable.append((msg.id, str(exc.detail.get("reason", ""))))
            else:
                outcome.stale.append((msg.id, msg.state))
            continue
        outcome.done.append(msg.id)
    return outcome


def _review(session: Session, msg: Message, actor: str, user_id: int | None) -> None:
    """HR has looked at a post-moderated message and leaves it delivered."""
    if msg.state not in RECENT_STATES or msg.reviewed:
        raise ServiceError("not_reviewable", "This message needs no review.")
    msg.reviewed = True
    session.add(ModerationDecision(message_id=msg.id, decided_by=user_id, decision="review",
                                   created_at=utcnow()))
    audit.record(session, actor, "message.review", f"message:{msg.id}")


def media_of(session: Session, message_id: int, scope: Scope) -> tuple[bytes, str] | None:
    """The photo or voice clip of a message this scope may see: (bytes, mime), or None."""
    msg = message_in_scope(session, message_id, scope)
    if msg.media_id is None:
        return None
    media = session.get(Media, msg.media_id)
    return (media.data, media.mime) if media else None


def drawing_of(session: Session, message_id: int, scope: Scope) -> dict | None:
    msg = message_in_scope(session, message_id, scope)
    return msg.drawing if msg.kind == "drawing" else None


def pending_for(session: Session, scope: Scope) -> dict[str, Any]:
    """The numbers a live queue header shows."""
    oldest = oldest_held(session, scope)
    return {"count": held_count(session, scope),
            "oldest_wait_s": int((utcnow() - oldest).total_seconds()) if oldest else None}
