"""What a kiosk may read over HTTP for the person badged in: pages of one conversation and
the photos in it. The same visibility as the sync (``messaging.history``): their own sent
messages (not internal errors) and the messages they received that were delivered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from hr_console.services import messaging
from hr_console.services.errors import Invalid
from hr_console.store.models import Media, Message

VISIBLE_RECEIVED = ("delivered", "read")
MAX_PAGE = 100
DEFAULT_PAGE = 50


def _visible_to(employee_id: int) -> Any:
    return or_(and_(Message.sender_id == employee_id, Message.state != "error"),
               and_(Message.recipient_id == employee_id, Message.state.in_(VISIBLE_RECEIVED)))


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
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid("bad_limit", f"limit is between 1 and {MAX_PAGE}.", field="limit")
    stmt = select(Message).where(_between(employee_id, other_id))
    if before is not None:
        anchor = session.execute(
            select(Message.id).where(_between(employee_id, other_id), Message.client_id == before)
            .limit(1)).scalar_one_or_none()
        if anchor is None:
            raise Invalid("bad_cursor", "before names no message of this conversation.",
                          field="before")
        stmt = stmt.where(Message.id < anchor)
    rows = list(session.execute(stmt.order_by(Message.id.desc()).limit(limit + 1)).scalars())
    more = len(rows) > limit
    out = []
    for msg in reversed(rows[:limit]):
        view = messaging.wire_view(session, msg)
        if msg.kind == "photo":
            view.pop("image", None)
            view["has_image"] = msg.media_id is not None
        out.append(view)
    return Page(out, more)


def media(session: Session, employee_id: int, client_id: str) -> Media | None:
    """The photo of a message this employee sent or received (None if there is none or
    they may not see it)."""
    return session.execute(
        select(Media).join(Message, Message.media_id == Media.id)
        .where(Message.client_id == client_id, _visible_to(employee_id))
        .order_by(Message.id).limit(1)
    ).scalar_one_or_none()
