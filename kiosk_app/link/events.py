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


@dataclass(frozen=True)
class MessageArrived:
    message: dict[str, Any]  # msg, kind, from, from_name, to, sent_ts, text | image | drawing


@dataclass(frozen=True)
class StateChanged:
    msg: str  # the client id of a message this person sent
    # outbox, accepted, held, approved, refused, rejected, delivered, read, retracted, error
    state: str
    reason: str | None = None


@dataclass(frozen=True)
class NoticeArrived:
    notice: dict[str, Any]


@dataclass(frozen=True)
class Retracted:
    msg: str
    sender: int


@dataclass(frozen=True)
class ErrorReceived:
    code: str
    message: str
    ref: str | None = None
    field: str | None = None


Event = (LinkUp | LinkDown | LoginOk | LoginFailed | LoggedOut | Synced | MessageArrived
         | StateChanged | NoticeArrived | Retracted | ErrorReceived)
