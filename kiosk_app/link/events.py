"""What the terminal link tells the UI (and the tests). Frozen values, delivered in order
to one callback; the Kivy layer hands them to its main thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LinkUp:
    pass


@dataclass(frozen=True)
class LinkDown:
    reason: str = ""


@dataclass(frozen=True)
class LoginOk:
    sid: str
    employee: dict[str, Any]


@dataclass(frozen=True)
class LoginFailed:
    code: str
    message: str
    until: str | None = None  # locked: until when (UTC, ISO)
    wait: int | None = None  # wait: seconds before this terminal may try a badge again


@dataclass(frozen=True)
class LoggedOut:
    reason: str


@dataclass(frozen=True)
class Synced:
    me: dict[str, Any]
    contacts: list[dict[str, Any]]
    history: list[dict[str, Any]]
    notices: list[dict[str, Any]]
    quick_replies: list[dict[str, Any]] = field(default_factory=list)
    history_more: bool = False  # older messages than ``history`` exist (kiosk API pages)
    # The person's workgroups: {id, name, description, can_post, read_only, members_reply,
    # members, unread, last, urgent_unread}; None when the relay sent no such list.
    groups: list[dict[str, Any]] | None = None
    # The people the relay left out of ``contacts`` so that the sync fits one packet (the HR
    # desk of a large company may answer everyone): they can still be answered.
    contacts_more: int = 0
    # Notices left out of it for the same reason: the kiosk API's /notices lists them all.
    notices_more: int = 0


@dataclass(frozen=True)
class MessageArrived:
    # msg, kind, from, from_name, to, sent_ts, text | image | drawing; a group post has
    # group, group_name, urgent, reply_to, has_image instead of ``to``
    message: dict[str, Any]


@dataclass(frozen=True)
class StateChanged:
    msg: str  # the client id of a message this person sent
    # outbox, accepted, held, approved, refused, rejected, delivered, read, retracted, error
    state: str
    reason: str | None = None
    group: int | None = None  # one's own group post: its group, and once fanned out
    seen: int | None = None  # how many members read it
    members: int | None = None  # of how many who received it
    # Refused ``off_shift``: when the sender's shift starts ("06:00"), and its weekday
    # ("tue") when not today, as the relay said it.
    opens: str = ""
    opens_day: str = ""


@dataclass(frozen=True)
class NoticeArrived:
    notice: dict[str, Any]


@dataclass(frozen=True)
class Retracted:
    msg: str
    sender: int
    group: int | None = None


@dataclass(frozen=True)
class ErrorReceived:
    code: str
    message: str
    ref: str | None = None
    field: str | None = None


Event = (LinkUp | LinkDown | LoginOk | LoginFailed | LoggedOut | Synced | MessageArrived
         | StateChanged | NoticeArrived | Retracted | ErrorReceived)
