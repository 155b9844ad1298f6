"""An employee's access request (GDPR art. 15): everything Relais holds about one person, as
one ZIP that a machine and a person can both read.

The ZIP holds:
- ``json/<section>.json``: one file per kind of data (profile, badge sessions, messages
  sent, messages received, group posts received, moderation decisions on their messages,
  notice receipts, notices they wrote, safety alerts they raised, legal holds naming them,
  the charter versions they accepted, audit entries about them), each a JSON array
  written row by row as the rows are read:
  a person with 10,000+ messages never sits in memory as one list;
- ``report.html``: the same, readable, in French or English (the requester's language),
  times on the installation's clock, drawings drawn (inline SVG), photos shown;
- ``photos/<id>.<ext>``: each photo once, which the JSON names and the report shows;
- ``voice/<id>.ogg``: each voice message's clip once, likewise (the report plays it);
- ``manifest.json``: who, whom, when, the counts per section, the photos and the clips
  (counted apart), the format version.

Everything is read in one read-only snapshot (``store.db.read_snapshot``): the sections
agree with each other, and on SQLite the relay's writes never wait for an export. The
export is audited once it is complete (``person.export``: who, whom, the counts, the size).

Adding a kind of data is adding one ``Section`` to ``SECTIONS`` (the messaging charter's
acceptances joined that way): a count, a query and its rows; the JSON file, the report's
part, the progress and the audit counts follow.
"""

from __future__ import annotations

import datetime as dt
import gettext
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import IO, Any
from zipfile import ZIP_DEFLATED, ZIP_STORED, ZipFile
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, cast, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from hr_console import catalogues
from hr_console.services import audit, drawing_svg
from hr_console.services.errors import Invalid, NotFound
from hr_console.store.db import Store, read_snapshot
from hr_console.store.models import (
    AuditEntry,
    BadgeSession,
    CharterAcceptance,
    CharterVersion,
    ConsoleUser,
    Employee,
    Group,
    GroupPerson,
    GroupReceipt,
    LegalHold,
    Media,
    Message,
    ModerationDecision,
    Notice,
    NoticeReceipt,
    SafetyAlert,
    Site,
    Team,
    Terminal,
)

FORMAT = 2  # 2: "photos" counts the photos alone, "voice" the clips (1: both in "photos")
LANGUAGES = ("fr", "en")
ACTION = "person.export"
STREAM_ROWS = 500  # rows fetched at a time (a server-side cursor on PostgreSQL)
PHOTO_CHUNK = 50  # photos read at a time
VOICE_FOLDER = "voice/"  # where voice messages' clips go in the ZIP (photos: photos/)
TTL_S = 24 * 3600  # a console export's file is removed after a day (or its download)
FILE_MODE = 0o600
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
              "audio/ogg": "ogg"}


def N_(text: str) -> str:  # noqa: N802 - gettext's marker name, read by `make extract`
    """Marks an English string for the catalogue; translated when the report is written."""
    return text


# --- what a section is ----------------------------------------------------------------------


@dataclass
class Context:
    """What the rows of one export share: the person, the photos and voice clips met
    (written once, after the rows), and the report's clock."""

    employee_id: int
    tz: ZoneInfo
    files: dict[int, str] = field(default_factory=dict)  # media id -> path in the ZIP

    def photo(self, media_id: int | None, mime: str | None) -> str | None:
        if media_id is None:
            return None
        if media_id not in self.files:
            folder = VOICE_FOLDER if mime == "audio/ogg" else "photos/"
            self.files[media_id] = f"{folder}{media_id}.{EXTENSIONS.get(mime or '', 'bin')}"
        return self.files[media_id]


@dataclass(frozen=True)
class Section:
    """One kind of data: ``json/<name>.json`` and a part of the report. ``query`` selects
    the person's rows (labelled columns), ``row`` turns one into what the JSON holds;
    ``messages`` sections are drawn as a conversation in the report, others as a table."""

    name: str
    title: str
    query: Callable[[int], Select]
    row: Callable[[Any, Context], dict[str, Any]]
    messages: bool = False

    def count(self, session: Session, employee_id: int) -> int:
        inner = self.query(employee_id).order_by(None).subquery()
        return session.scalar(select(func.count()).select_from(inner)) or 0

    def rows(self, session: Session, employee_id: int, ctx: Context) -> Iterator[dict[str, Any]]:
        stmt = self.query(employee_id).execution_options(yield_per=STREAM_ROWS)
        for r in session.execute(stmt).mappings():
            yield self.row(r, ctx)


def _ts(value: dt.datetime | None) -> str | None:
    """UTC as the database keeps it, ISO 8601 with its zone said."""
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"


# --- the sections ---------------------------------------------------------------------------

_other = aliased(Employee, name="other")
_author = aliased(Employee, name="author")


# A 1:1 message reached its recipient when their terminal confirmed it: "delivered", then
# "read". Held, rejected, refused or never-delivered messages never reached them and are the
# sender's data alone; one retracted after delivery is listed without its content.
REACHED = ("delivered", "read")
# What moderation said about a message's sender: never in what its recipient receives.
SENDERS_MODERATION = ("reason", "moderation", "keyword_hits", "decided_at")


def _message_columns() -> tuple:
    return (Message.id, Message.client_id, Message.created_at, Message.kind, Message.body,
            Message.drawing, Message.media_id, Media.mime, Message.state, Message.reason,
            Message.moderation, Message.keyword_hits, Message.decided_at,
            Message.delivered_at, Message.read_at, Message.urgent, Message.reply_to,
            Message.group_id, Group.name.label("group_name"), Terminal.name.label("terminal"),
            Message.duration_ms)


def _sent_query(employee_id: int) -> Select:
    return (select(*_message_columns(), Message.recipient_id.label("other_id"),
                   _other.name.label("other_name"))
            .select_from(Message)
            .outerjoin(_other, _other.id == Message.recipient_id)
            .outerjoin(Group, Group.id == Message.group_id)
            .outerjoin(Media, Media.id == Message.media_id)
            .outerjoin(Terminal, Terminal.id == Message.terminal_id)
            .where(Message.sender_id == employee_id)
            .order_by(Message.created_at, Message.id))


def _received_query(employee_id: int) -> Select:
    return (select(*_message_columns(), Message.sender_id.label("other_id"),
                   _other.name.label("other_name"))
            .select_from(Message)
            .join(_other, _other.id == Message.sender_id)
            .outerjoin(Group, Group.id == Message.group_id)
            .outerjoin(Media, Media.id == Message.media_id)
            .outerjoin(Terminal, Terminal.id == Message.terminal_id)
            .where(Message.recipient_id == employee_id,
                   or_(Message.state.in_(REACHED),
                       (Message.state == "retracted") & Message.delivered_at.is_not(None)))
            .order_by(Message.created_at, Message.id))


def _message_row(r: Any, ctx: Context, *, content: bool = True) -> dict[str, Any]:
    """One message; without its words, photo and drawing when ``content`` is false."""
    return {
        "id": r["id"], "client_id": r["client_id"], "created_at": _ts(r["created_at"]),
        "kind": r["kind"], "text": r["body"] if content else None,
        "photo": ctx.photo(r["media_id"], r["mime"])
        if content and r["kind"] != "voice" else None,
        "voice": ctx.photo(r["media_id"], r["mime"])
        if content and r["kind"] == "voice" else None,
        "duration_ms": r["duration_ms"],
        "drawing": r["drawing"] if content else None,
        "state": r["state"], "reason": r["reason"], "moderation": r["moderation"],
        "keyword_hits": r["keyword_hits"], "decided_at": _ts(r["decided_at"]),
        "delivered_at": _ts(r["delivered_at"]), "read_at": _ts(r["read_at"]),
        "urgent": bool(r["urgent"]), "reply_to": r["reply_to"],
        "group_id": r["group_id"], "group": r["group_name"], "terminal": r["terminal"],
    }


def _sent_row(r: Any, ctx: Context) -> dict[str, Any]:
    out = _message_row(r, ctx)
    out["to_id"], out["to"] = r["other_id"], r["other_name"]
    return out


def _received_row(r: Any, ctx: Context) -> dict[str, Any]:
    """A 1:1 message that reached them. One HR withdrew after delivery is listed with its
    state and dates only: its words were taken back. The sender's moderation (HR's reason,
    the moderation mode, keyword hits, the decision's time) is the sender's data."""
    withdrawn = r["state"] not in REACHED
    out = _message_row(r, ctx, content=not withdrawn)
    for key in SENDERS_MODERATION:
        out.pop(key)
    out["content_withdrawn"] = withdrawn
    out["from_id"], out["from"] = r["other_id"], r["other_name"]
    return out


def _posts_received_query(employee_id: int) -> Select:
    return (select(*_message_columns(), Message.sender_id.label("other_id"),
                   _other.name.label("other_name"),
                   GroupReceipt.delivered_at.label("my_delivered_at"),
                   GroupReceipt.read_at.label("my_read_at"))
            .select_from(GroupReceipt)
            .join(Message, Message.id == GroupReceipt.message_id)
            .join(_other, _other.id == Message.sender_id)
            .outerjoin(Group, Group.id == Message.group_id)
            .outerjoin(Media, Media.id == Message.media_id)
            .outerjoin(Terminal, Terminal.id == Message.terminal_id)
            .where(GroupReceipt.employee_id == employee_id)
            .order_by(Message.created_at, Message.id))


def _post_received_row(r: Any, ctx: Context) -> dict[str, Any]:
    out = _message_row(r, ctx)
    out["from_id"], out["from"] = r["other_id"], r["other_name"]
    # Their own copy: when it reached their terminal and when they opened it.
    out["delivered_at"], out["read_at"] = _ts(r["my_delivered_at"]), _ts(r["my_read_at"])
    for key in SENDERS_MODERATION:
        out.pop(key)  # the author's moderation is the author's data
    return out


def _decisions_query(employee_id: int) -> Select:
    return (select(ModerationDecision.id, ModerationDecision.message_id,
                   ModerationDecision.decision, ModerationDecision.reason,
                   ModerationDecision.created_at, ConsoleUser.username.label("decided_by"))
            .select_from(ModerationDecision)
            .join(Message, Message.id == ModerationDecision.message_id)
            .outerjoin(ConsoleUser, ConsoleUser.id == ModerationDecision.decided_by)
            .where(Message.sender_id == employee_id)
            .order_by(ModerationDecision.created_at, ModerationDecision.id))


def _decision_row(r: Any, _ctx: Context) -> dict[str, Any]:
    return {"id": r["id"], "message_id": r["message_id"], "decision": r["decision"],
            "reason": r["reason"], "decided_by": r["decided_by"],
            "decided_at": _ts(r["created_at"])}


def _sessions_query(employee_id: int) -> Select:
    return (select(BadgeSession.id, BadgeSession.started_at, BadgeSession.ended_at,
                   BadgeSession.end_reason, BadgeSession.last_active_at,
                   Terminal.name.label("terminal"), Site.name.label("site"))
            .select_from(BadgeSession)
            .join(Terminal, Terminal.id == BadgeSession.terminal_id)
            .outerjoin(Site, Site.id == Terminal.site_id)
            .where(BadgeSession.employee_id == employee_id)
            .order_by(BadgeSession.started_at, BadgeSession.id))


def _session_row(r: Any, _ctx: Context) -> dict[str, Any]:
    return {"id": r["id"], "started_at": _ts(r["started_at"]), "ended_at": _ts(r["ended_at"]),
            "end_reason": r["end_reason"], "last_active_at": _ts(r["last_active_at"]),
            "terminal": r["terminal"], "site": r["site"]}


def _receipts_query(employee_id: int) -> Select:
    return (select(NoticeReceipt.id, NoticeReceipt.notice_id, Notice.title, Notice.body,
                   Notice.urgent, Notice.ack_required, Notice.valid_from,
                   NoticeReceipt.delivered_at, NoticeReceipt.seen_at,
                   NoticeReceipt.acknowledged_at, NoticeReceipt.reminders)
            .select_from(NoticeReceipt)
            .join(Notice, Notice.id == NoticeReceipt.notice_id)
            .where(NoticeReceipt.employee_id == employee_id)
            .order_by(Notice.valid_from, NoticeReceipt.id))


def _receipt_row(r: Any, _ctx: Context) -> dict[str, Any]:
    return {"id": r["id"], "notice_id": r["notice_id"], "title": r["title"], "text": r["body"],
            "urgent": bool(r["urgent"]), "ack_required": bool(r["ack_required"]),
            "shown_from": _ts(r["valid_from"]), "delivered_at": _ts(r["delivered_at"]),
            "seen_at": _ts(r["seen_at"]), "acknowledged_at": _ts(r["acknowledged_at"]),
            "reminders": r["reminders"]}


def _notices_written_query(employee_id: int) -> Select:
    return (select(Notice.id, Notice.title, Notice.body, Notice.target_kind, Notice.target_ref,
                   Notice.urgent, Notice.ack_required, Notice.created_at, Notice.valid_until)
            .where(Notice.author_employee_id == employee_id)
            .order_by(Notice.created_at, Notice.id))


def _notice_written_row(r: Any, _ctx: Context) -> dict[str, Any]:
    return {"id": r["id"], "title": r["title"], "text": r["body"],
            "target": f"{r['target_kind']}:{r['target_ref']}" if r["target_ref"] is not None
            else r["target_kind"], "urgent": bool(r["urgent"]),
            "ack_required": bool(r["ack_required"]), "created_at": _ts(r["created_at"]),
            "withdrawn_at": _ts(r["valid_until"])}


def _alerts_query(employee_id: int) -> Select:
    return (select(SafetyAlert.id, SafetyAlert.raised_at, SafetyAlert.pictogram,
                   SafetyAlert.text, SafetyAlert.recipients, SafetyAlert.handled_at,
                   Terminal.name.label("terminal"), SafetyAlert.media_id, Media.mime)
            .select_from(SafetyAlert)
            .join(Terminal, Terminal.id == SafetyAlert.terminal_id)
            .outerjoin(Media, Media.id == SafetyAlert.media_id)
            .where(SafetyAlert.employee_id == employee_id)
            .order_by(SafetyAlert.raised_at, SafetyAlert.id))


def _alert_row(r: Any, ctx: Context) -> dict[str, Any]:
    return {"id": r["id"], "raised_at": _ts(r["raised_at"]), "pictogram": r["pictogram"],
            "text": r["text"], "terminal": r["terminal"], "recipients": r["recipients"],
            "handled_at": _ts(r["handled_at"]), "photo": ctx.photo(r["media_id"], r["mime"])}


def _holds_query(employee_id: int) -> Select:
    return (select(LegalHold.id, LegalHold.kind, LegalHold.employee_id,
                   LegalHold.other_employee_id, LegalHold.reason, LegalHold.placed_by,
                   LegalHold.placed_at, LegalHold.released_by, LegalHold.released_at,
                   LegalHold.release_reason)
            .where(or_(LegalHold.employee_id == employee_id,
                       LegalHold.other_employee_id == employee_id))
            .order_by(LegalHold.id))


def _hold_row(r: Any, _ctx: Context) -> dict[str, Any]:
    return {"id": r["id"], "kind": r["kind"], "employee_id": r["employee_id"],
            "other_employee_id": r["other_employee_id"], "reason": r["reason"],
            "placed_by": r["placed_by"], "placed_at": _ts(r["placed_at"]),
            "released_by": r["released_by"], "released_at": _ts(r["released_at"]),
            "release_reason": r["release_reason"]}


def audit_about(employee_id: int) -> Any:
    """The audit entries about the person, as one SQL condition: aimed at them (their
    employee record, their console login, their messages), done by them at a terminal,
    or naming them in the detail (``"employee:ID"``, ``"person:ID"``, ``"employee": ID``)."""
    me = f"employee:{employee_id}"
    detail = cast(AuditEntry.detail, String)
    logins = select(literal("console_user:") + cast(ConsoleUser.id, String)).where(
        ConsoleUser.employee_id == employee_id)
    messages = select(literal("message:") + cast(Message.id, String)).where(
        Message.sender_id == employee_id)
    named = [f'%"{me}"%', f'%"{me}@%', f'%"person:{employee_id}"%',
             f'%"employee": {employee_id},%', f'%"employee": {employee_id}}}%']
    return or_(AuditEntry.target == me, AuditEntry.actor == me,
               AuditEntry.actor.like(f"{me}@%"), AuditEntry.target.in_(logins),
               AuditEntry.target.in_(messages), *(detail.like(p) for p in named))


def _audit_query(employee_id: int) -> Select:
    return (select(AuditEntry.id, AuditEntry.ts, AuditEntry.actor, AuditEntry.action,
                   AuditEntry.target, AuditEntry.detail)
            .where(audit_about(employee_id)).order_by(AuditEntry.id))


def _charter_query(employee_id: int) -> Select:
    return (select(CharterAcceptance.id, CharterVersion.version, CharterVersion.published_at,
                   CharterAcceptance.accepted_at, CharterAcceptance.terminal)
            .join(CharterVersion, CharterVersion.id == CharterAcceptance.charter_id)
            .where(CharterAcceptance.employee_id == employee_id)
            .order_by(CharterAcceptance.accepted_at, CharterAcceptance.id))


def _charter_row(r: Any, _ctx: Context) -> dict[str, Any]:
    return {"id": r["id"], "version": r["version"], "published_at": _ts(r["published_at"]),
            "accepted_at": _ts(r["accepted_at"]), "terminal": r["terminal"]}


def _audit_row(r: Any, _ctx: Context) -> dict[str, Any]:
    return {"id": r["id"], "ts": _ts(r["ts"]), "actor": r["actor"], "action": r["action"],
            "target": r["target"], "detail": r["detail"]}


SECTIONS: tuple[Section, ...] = (
    Section("badge_sessions", N_("Badge sessions"), _sessions_query, _session_row),
    Section("messages_sent", N_("Messages sent"), _sent_query, _sent_row, messages=True),
    Section("messages_received", N_("Messages received"), _received_query, _received_row,
            messages=True),
    Section("group_posts_received", N_("Workgroup posts received"), _posts_received_query,
            _post_received_row, messages=True),
    Section("moderation_decisions", N_("Moderation decisions on their messages"),
            _decisions_query, _decision_row),
    Section("notice_receipts", N_("Notices received and acknowledged"), _receipts_query,
            _receipt_row),
    Section("notices_written", N_("Notices they sent from a terminal"), _notices_written_query,
            _notice_written_row),
    Section("safety_alerts", N_("Safety alerts they raised"), _alerts_query, _alert_row),
    Section("legal_holds", N_("Legal holds naming them"), _holds_query, _hold_row),
    Section("charter_acceptances", N_("Messaging charter versions they accepted"),
            _charter_query, _charter_row),
    Section("audit_entries", N_("Audit log entries about them"), _audit_query, _audit_row),
)

FIELDS = {
    "id": N_("ID"), "created_at": N_("Written"), "kind": N_("Kind"), "text": N_("Text"),
    "state": N_("State"), "reason": N_("Reason"), "to": N_("To"), "from": N_("From"),
    "group": N_("Workgroup"), "started_at": N_("Start"), "ended_at": N_("End"),
    "end_reason": N_("How it ended"), "last_active_at": N_("Last activity"),
    "terminal": N_("Terminal"), "site": N_("Site"), "message_id": N_("Message"),
    "decision": N_("Decision"), "decided_by": N_("Decided by"), "decided_at": N_("Decided"),
    "notice_id": N_("Notice"), "title": N_("Title"), "urgent": N_("Urgent"),
    "ack_required": N_("Acknowledgement asked"), "shown_from": N_("Shown from"),
    "delivered_at": N_("Delivered"), "seen_at": N_("Seen"),
    "acknowledged_at": N_("Acknowledged"), "reminders": N_("Reminders"),
    "target": N_("Target"), "withdrawn_at": N_("Withdrawn"), "raised_at": N_("Raised"),
    "pictogram": N_("Pictogram"), "recipients": N_("People alerted"),
    "handled_at": N_("Handled"), "employee_id": N_("Employee"),
    "other_employee_id": N_("Other person"), "placed_by": N_("Placed by"),
    "placed_at": N_("Placed"), "released_by": N_("Released by"),
    "released_at": N_("Released"), "release_reason": N_("Reason for release"),
    "ts": N_("When"), "actor": N_("Who"), "action": N_("Action"), "detail": N_("Detail"),
    "read_at": N_("Read"), "photo": N_("Photo"), "voice": N_("Voice message"),
    "duration_ms": N_("Length (ms)"), "version": N_("Version"), "published_at": N_("Published"),
    "accepted_at": N_("Accepted"),
}

PROFILE_FIELDS = {
    "id": N_("Employee number"), "name": N_("Name"), "team": N_("Team"), "site": N_("Site"),
    "language": N_("Language"), "active": N_("Active (may badge in)"), "hr_desk": N_("HR desk"),
    "moderation_mode": N_("Own moderation setting"), "created_at": N_("Added"),
    "badge_assigned": N_("Badge assigned"), "pin_set": N_("PIN set"),
    "locked_until": N_("Locked after wrong PINs until"),
    "failed_pins": N_("Wrong PINs in a row"), "supervises": N_("Supervises"),
    "workgroups_picked": N_("Workgroups they were added to by hand"),
    "console_login": N_("Console login"),
}

WORDS = {
    "text": N_("text"), "photo": N_("photo"), "drawing": N_("drawing"), "voice": N_("voice"),
    "held": N_("held for HR"), "accepted": N_("accepted"), "approved": N_("approved"),
    "delivered": N_("delivered"), "read": N_("read"), "refused": N_("refused"),
    "rejected": N_("rejected"), "retracted": N_("withdrawn by HR"),
    "approve": N_("approved"), "reject": N_("rejected"), "retract": N_("withdrawn by HR"),
    "person": N_("person"), "conversation": N_("conversation"),
}


def profile(session: Session, employee_id: int) -> dict[str, Any]:
    """The person's record, without secrets: whether a badge and a PIN are set, never their
    fingerprints."""
    emp = session.get(Employee, employee_id)
    if emp is None:
        raise NotFound("unknown_person", "No employee has this number.")
    team = session.get(Team, emp.team_id) if emp.team_id else None
    site = session.get(Site, team.site_id) if team else None
    login = session.execute(select(ConsoleUser.username, ConsoleUser.role, ConsoleUser.active)
                            .where(ConsoleUser.employee_id == employee_id)).first()
    return {
        "id": emp.id, "name": emp.name, "team": team.name if team else None,
        "site": site.name if site else None, "language": emp.language,
        "active": bool(emp.active), "hr_desk": bool(emp.is_hr_desk),
        "moderation_mode": emp.moderation_mode, "created_at": _ts(emp.created_at),
        "badge_assigned": emp.badge_hash is not None, "pin_set": emp.pin_hash is not None,
        "locked_until": _ts(emp.locked_until), "failed_pins": emp.failed_logins,
        "supervises": list(session.execute(select(Team.name).where(
            Team.supervisor_id == employee_id).order_by(Team.name)).scalars()),
        "workgroups_picked": list(session.execute(
            select(Group.name).join(GroupPerson, GroupPerson.group_id == Group.id)
            .where(GroupPerson.employee_id == employee_id).order_by(Group.name)).scalars()),
        "console_login": ({"username": login[0], "role": login[1], "active": bool(login[2])}
                          if login else None),
    }


# --- writing the ZIP ------------------------------------------------------------------------


@dataclass
class Progress:
    """What the console's progress bar shows; written by the export's thread, read by
    the page's polls (plain attribute writes: a reader sees a value or the next)."""

    total: int = 0
    done: int = 0
    section: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    photos: int = 0
    voice: int = 0  # voice messages' clips (in voice/, apart from the photos)
    size: int = 0
    finished: bool = False
    error: str = ""

    @property
    def percent(self) -> int:
        if self.finished and not self.error:
            return 100
        return min(99, int(100 * self.done / self.total)) if self.total else 0


@dataclass(frozen=True)
class Result:
    path: Path
    counts: dict[str, int]
    photos: int
    voice: int
    size: int
    seconds: float


def translations(language: str, home: Path) -> gettext.NullTranslations:
    """The console's catalogue (compiled into the home when the install's is stale,
    hr_console/catalogues.py) for the report's language; English is the msgids."""
    if language != "fr":
        return gettext.NullTranslations()
    directory = catalogues.translation_dir(catalogues.SOURCES[0],
                                           home / ".cache" / "catalogues")
    return gettext.translation("messages", localedir=str(directory), languages=[language],
                               fallback=True)


def private_file(path: Path) -> IO[bytes]:
    """A new file only its owner can read (0600 whatever the umask); never an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    return os.fdopen(fd, "wb")


def export(store: Store, employee_id: int, out: Path, *, actor: str, language: str = "fr",
           home: Path, timezone: str = "Europe/Paris", via: str = "console",
           progress: Progress | None = None) -> Result:
    """Write the person's ZIP to ``out`` (which must not exist), then audit it. On any
    failure the partial file is removed and nothing is audited."""
    if language not in LANGUAGES:
        raise Invalid("bad_language", "The report is in French (fr) or English (en).")
    if out.exists() or out.is_symlink():
        raise FileExistsError(f"{out} already exists")
    started = time.monotonic()
    progress = progress or Progress()
    tr = translations(language, home)
    ctx = Context(employee_id, ZoneInfo(timezone))
    part = out.with_name(out.name + ".part")
    html_part = out.with_name(out.name + ".html.part")
    try:
        with read_snapshot(store) as s:
            person = profile(s, employee_id)
            totals = {sec.name: sec.count(s, employee_id) for sec in SECTIONS}
            progress.total = sum(totals.values()) + 1
            with private_file(part) as raw, ZipFile(raw, "w", ZIP_DEFLATED) as zf, \
                    private_file(html_part) as html_raw:
                html = Report(html_raw, tr, ctx, language)
                html.begin(person, actor, totals)
                _write_json(zf, "json/profile.json", person)
                progress.done += 1
                for sec in SECTIONS:
                    progress.section = sec.name
                    html.section_start(sec, totals[sec.name])
                    n = 0
                    with zf.open(f"json/{sec.name}.json", "w", force_zip64=True) as fh:
                        fh.write(b"[")
                        for row in sec.rows(s, employee_id, ctx):
                            fh.write((b",\n" if n else b"\n") + _dumps(row))
                            html.row(sec, row)
                            n += 1
                            progress.done += 1
                        fh.write(b"\n]\n" if n else b"]\n")
                    html.section_end(sec, n)
                    progress.counts[sec.name] = n
                html.end()
                html_raw.flush()
                zf.write(html_part, "report.html")
                progress.section = "photos"
                ids = sorted(ctx.files)
                for i in range(0, len(ids), PHOTO_CHUNK):
                    for media_id, data in s.execute(select(Media.id, Media.data).where(
                            Media.id.in_(ids[i:i + PHOTO_CHUNK]))):
                        name = ctx.files[media_id]
                        zf.writestr(name, data, compress_type=ZIP_STORED)
                        if name.startswith(VOICE_FOLDER):
                            progress.voice += 1
                        else:
                            progress.photos += 1
                manifest = {"format": FORMAT, "employee_id": employee_id,
                            "name": person["name"], "made_at": _ts(dt.datetime.now(dt.UTC)
                                                                   .replace(tzinfo=None)),
                            "made_by": actor, "via": via, "language": language,
                            "counts": progress.counts, "photos": progress.photos,
                            "voice": progress.voice,
                            "files": ["json/profile.json",
                                      *(f"json/{sec.name}.json" for sec in SECTIONS),
                                      "report.html"]}
                _write_json(zf, "manifest.json", manifest)
        os.replace(part, out)
    except BaseException as exc:
        part.unlink(missing_ok=True)
        progress.error = type(exc).__name__
        progress.finished = True
        raise
    finally:
        html_part.unlink(missing_ok=True)
    size = out.stat().st_size
    with store.session() as s:
        audit.record(s, actor, ACTION, f"employee:{employee_id}", name=person["name"],
                     via=via, counts=progress.counts, photos=progress.photos,
                     voice=progress.voice, bytes=size)
    progress.size = size
    progress.finished = True
    return Result(out, dict(progress.counts), progress.photos, progress.voice, size,
                  time.monotonic() - started)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, default=str, sort_keys=False).encode()


def _write_json(zf: ZipFile, name: str, obj: Any) -> None:
    zf.writestr(name, json.dumps(obj, ensure_ascii=False, indent=1, default=str).encode())


def sweep(directory: Path, max_age_s: float = TTL_S, now: float | None = None) -> int:
    """Remove the exports (and left-over parts) older than ``max_age_s`` in ``directory``:
    a console export lives a day at most, even if nobody downloads it."""
    if not directory.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    for path in directory.iterdir():
        try:  # an export running beside it renames its part or removes it at any moment
            stale = path.is_file() and now - path.stat().st_mtime > max_age_s
        except FileNotFoundError:
            continue
        if stale:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


# --- the readable report --------------------------------------------------------------------

STYLE = """body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222}
h1{font-size:1.5rem}h2{margin-top:2rem;border-bottom:2px solid #ccc}table{border-collapse:
collapse;width:100%;font-size:13px}td,th{border:1px solid #ddd;padding:.25rem .4rem;text-align:
left;vertical-align:top}.msg{border:1px solid #ddd;border-radius:6px;padding:.5rem .75rem;
margin:.5rem 0}.meta{color:#555;font-size:13px}.msg img,.msg svg{max-width:24rem;height:auto;
display:block;margin-top:.4rem;border:1px solid #ccc}.thumb{max-width:12rem;height:auto}
.empty{color:#777}pre{white-space:pre-wrap;margin:0}"""


class Report:
    """``report.html``, written as the rows go by (never held whole in memory)."""

    def __init__(self, out: IO[bytes], tr: gettext.NullTranslations, ctx: Context,
                 language: str) -> None:
        self.out, self.tr, self.ctx, self.language = out, tr, ctx, language
        self._cols: list[str] = []

    def _(self, text: str) -> str:
        return self.tr.gettext(text)

    def w(self, text: str) -> None:
        self.out.write(text.encode())

    def when(self, iso: str | None) -> str:
        if not iso:
            return "—"
        value = dt.datetime.fromisoformat(iso.removesuffix("Z")).replace(tzinfo=dt.UTC)
        return value.astimezone(self.ctx.tz).strftime("%Y-%m-%d %H:%M")

    def value(self, key: str, v: Any) -> str:
        if v is None or v == "" or v == []:
            return "—"
        if isinstance(v, bool):
            return escape(self._("yes") if v else self._("no"))
        if key.endswith("_at") or key in ("ts", "shown_from"):
            return escape(self.when(v))
        if key in ("kind", "state", "decision") and v in WORDS:
            return escape(self._(WORDS[v]))
        if key == "voice":  # a path inside the ZIP (voice/ID.ogg): a player
            return f'<audio controls preload="none" src="{escape(str(v), quote=True)}"></audio>'
        if key == "photo":  # a path inside the ZIP (photos/ID.jpg): shown, small
            return f'<img class="thumb" src="{escape(str(v), quote=True)}" alt="">'
        if key in ("actor", "action", "target"):  # the audit log's own codes, as kept
            return f"<code>{escape(str(v))}</code>"
        if isinstance(v, dict | list):  # raw data (an audit entry's detail): shown as kept
            return f'<pre class="raw">{escape(json.dumps(v, ensure_ascii=False, default=str))}</pre>'
        return escape(str(v))

    def begin(self, person: dict[str, Any], actor: str, totals: dict[str, int]) -> None:
        lang = escape(self.language, quote=True)
        title = self._("Everything Relais holds about %(name)s") % {"name": person["name"]}
        made = dt.datetime.now(self.ctx.tz).strftime("%Y-%m-%d %H:%M")
        self.w(f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
               f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
               f"<h1>{escape(title)}</h1><p class=\"meta\">"
               + escape(self._("Access request (GDPR article 15), made on %(date)s by "
                               "%(who)s. The files in json/ hold the same data for a "
                               "program; times here are the site's.")
                        % {"date": made, "who": actor}) + "</p>")
        profile_title = self._("Profile")
        self.w(f'<h2 id="profile">{escape(profile_title)}</h2><table>')
        for key, label in PROFILE_FIELDS.items():
            v = person.get(key)
            if key == "console_login" and v:
                v = f"{v['username']} ({v['role']})"
            shown = (escape(", ".join(v)) if isinstance(v, list) and v else self.value(key, v))
            self.w(f"<tr><th>{escape(self._(label))}</th><td>{shown}</td></tr>")
        contents = self._("Contents")
        self.w(f"</table><h2>{escape(contents)}</h2><ul>")
        for sec in SECTIONS:
            self.w(f'<li><a href="#{sec.name}">{escape(self._(sec.title))}</a>: '
                   f"{totals[sec.name]}</li>")
        self.w("</ul>")

    def section_start(self, sec: Section, total: int) -> None:
        self.w(f'<h2 id="{sec.name}">{escape(self._(sec.title))} ({total})</h2>')
        self._cols = []

    def row(self, sec: Section, row: dict[str, Any]) -> None:
        if sec.messages:
            self._message(row)
            return
        if not self._cols:
            self._cols = [k for k in row if k in FIELDS]
            self.w("<table><thead><tr>" + "".join(
                f"<th>{escape(self._(FIELDS[k]))}</th>" for k in self._cols) + "</tr></thead><tbody>")
        self.w("<tr>" + "".join(f"<td>{self.value(k, row.get(k))}</td>" for k in self._cols)
               + "</tr>")

    def _message(self, m: dict[str, Any]) -> None:
        if "to" in m:
            who = (self._("to the workgroup %(group)s") % {"group": m["group"] or "?"}
                   if m.get("group_id") else self._("to %(name)s") % {"name": m["to"] or "?"})
        else:
            who = self._("from %(name)s") % {"name": m.get("from") or "?"}
            if m.get("group_id"):
                who += " · " + self._("workgroup %(group)s") % {"group": m["group"] or "?"}
        state = self._(WORDS.get(m["state"], m["state"]))
        meta = f"#{m['id']} · {self.when(m['created_at'])} · {who} · {state}"
        if m.get("reason"):
            meta += " · " + self._("reason: %(reason)s") % {"reason": m["reason"]}
        self.w(f'<article class="msg"><div class="meta">{escape(meta)}</div>')
        if m.get("content_withdrawn"):
            note = self._("Withdrawn by HR after it reached you: its content is not included.")
            self.w(f'<p class="withdrawn">{escape(note)}</p>')
        if m.get("text"):
            self.w(f"<p>{escape(m['text'])}</p>")
        if m.get("photo"):
            alt = self._("Photo of message %(id)s") % {"id": m["id"]}
            self.w(f'<img src="{escape(m["photo"], quote=True)}" alt="{escape(alt, quote=True)}">')
        if m.get("voice"):
            label = self._("Voice message %(id)s") % {"id": m["id"]}
            self.w(f'<audio controls preload="none" src="{escape(m["voice"], quote=True)}" '
                   f'aria-label="{escape(label, quote=True)}"></audio>')
        if m.get("drawing") is not None:
            self.w(drawing_svg.render(m["drawing"]))
        self.w("</article>")

    def section_end(self, sec: Section, n: int) -> None:
        if n == 0:
            nothing = self._("Nothing.")
            self.w(f'<p class="empty">{escape(nothing)}</p>')
        elif not sec.messages:
            self.w("</tbody></table>")

    def end(self) -> None:
        self.w("</body></html>\n")
