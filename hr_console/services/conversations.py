"""What a kiosk may read over HTTP for the person badged in: pages of one conversation (with
a person, or in a group) and the photos in it. The same visibility as the sync
(``messaging.history``): their own sent messages (not internal errors), the messages they
received that were delivered, and the posts of groups they are still a member of that they
wrote or hold a receipt for (delivered to them at fan-out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from hr_console.services import messaging
from hr_console.services.errors import Invalid, NotFound
from hr_console.store.models import GroupReceipt, Media, Message

VISIBLE_RECEIVED = ("delivered", "read")
MAX_PAGE = 100
DEFAULT_PAGE = 50


def _visible_to(employee_id: int) -> Any:
    return or_(and_(Message.sender_id == employee_id, Message.state != "error"),
               and_(Message.recipient_id == employee_id, Message.state.in_(VISIBLE_RECEIVED)))


def _held_by(employee_id: int, *, delivered: bool) -> Any:
    """Group posts this employee holds a receipt for (``delivered``: whose copy their
    terminal confirmed; the others still come as downlinks, as in 1:1)."""
    held = select(GroupReceipt.message_id).where(GroupReceipt.employee_id == employee_id)
    if delivered:
        held = held.where(GroupReceipt.delivered_at.is_not(None))
    return Message.id.in_(held)


def _in_group(employee_id: int, group_id: int) -> Any:
    return and_(Message.group_id == group_id,
                or_(and_(Message.sender_id == employee_id, Message.state != "error"),
                    and_(_held_by(employee_id, delivered=True),
                         Message.state.in_(messaging.VISIBLE_POSTS))))


def _between(employee_id: int, other_id: int) -> Any:
    return or_(
        and_(Message.sender_id == employee_id, Message.recipient_id == other_id,
             Message.state != "error"),
        and_(Message.sender_id == other_id, Message.recipient_id == employee_id,
             Message.state.in_(VISIBLE_RECEIVED)),
    )


@dataclass(frozen=True)
class Page:
    messages: list[dict[str, Any]]  # oldest first, as messaging.wire_view shows them
    more: bool  # older messages exist before the first one

    @property
    def cursor(self) -> str | None:
        """What to pass as ``before`` for the next (older) page."""
        return self.messages[0]["msg"] if self.messages and self.more else None


def page(session: Session, employee_id: int, other_id: int, *, before: str | None = None,
         limit: int = DEFAULT_PAGE) -> Page:
    """One page of the conversation between ``employee_id`` and ``other_id``, the newest
    first unless ``before`` (a message's client id from an earlier page) says where to go on.
    Photos come without their bytes: the kiosk fetches each by its message id."""
    return _page(session, employee_id, _between(employee_id, other_id), before, limit)


def group_page(session: Session, employee_id: int, group_id: int, *, before: str | None = None,
               limit: int = DEFAULT_PAGE) -> Page:
    """One page of a group's conversation as this member sees it (``page``'s cursor): the
    posts they wrote or received. Someone no longer a member sees none of it."""
    if group_id not in messaging.member_of(session, employee_id):
        raise NotFound("not_member", "You are not a member of this group.")
    return _page(session, employee_id, _in_group(employee_id, group_id), before, limit)


def _page(session: Session, employee_id: int, visible: Any, before: str | None,
          limit: int) -> Page:
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid("bad_limit", f"limit is between 1 and {MAX_PAGE}.", field="limit")
    stmt = select(Message).where(visible)
    if before is not None:
        anchor = session.execute(
            select(Message.id).where(visible, Message.client_id == before)
            .limit(1)).scalar_one_or_none()
        if anchor is None:
            raise Invalid("bad_cursor", "before names no message of this conversation.",
                          field="before")
        stmt = stmt.where(Message.id < anchor)
    rows = list(session.execute(stmt.order_by(Message.id.desc()).limit(limit + 1)).scalars())
    more = len(rows) > limit
    shown = list(reversed(rows[:limit]))
    out = []
    for msg, view in zip(shown, messaging.views(session, employee_id, shown), strict=True):
        if msg.kind == "photo":
            view.pop("image", None)
            view["has_image"] = msg.media_id is not None
        elif msg.kind == "voice":  # fetched when played, as a photo is when shown
            view.pop("audio", None)
            view["has_audio"] = msg.media_id is not None
        out.append(view)
    return Page(out, more)


def media(session: Session, employee_id: int, client_id: str) -> Media | None:
    """The photo or voice clip of a message this employee sent or received, or of a group post they
    wrote or hold a receipt for in a group they are still a member of (None if there is
    none or they may not see it)."""
    row = session.execute(
        select(Media).join(Message, Message.media_id == Media.id)
        .where(Message.client_id == client_id, Message.group_id.is_(None),
               _visible_to(employee_id))
        .order_by(Message.id).limit(1)
    ).scalar_one_or_none()
    if row is not None:
        return row
    post = session.execute(
        select(Message.group_id, Media).join(Message, Message.media_id == Media.id)
        .where(Message.client_id == client_id, Message.group_id.is_not(None),
               or_(and_(Message.sender_id == employee_id, Message.state != "error"),
                   and_(_held_by(employee_id, delivered=False),
                        Message.state.in_(messaging.VISIBLE_POSTS))))
        .order_by(Message.id).limit(1)
    ).one_or_none()
    if post is None or post[0] not in messaging.member_of(session, employee_id):
        return None
    return post[1]
