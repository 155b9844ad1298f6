"""Badge sessions: who stands at which terminal. One session per terminal and per person.

The relay derives every sender from the session an uplink names *and* the terminal that
sent it (the authenticated MQTT username): a terminal can only speak for the sessions it
hosted, never for an id typed into a payload.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hr_console.services import audit, downlinks, settings
from hr_console.services.errors import ServiceError
from hr_console.services.secrets import badge_hash, check_secret
from hr_console.store.db import keep
from hr_console.store.models import BadgeSession, Employee, Terminal, utcnow

# An outbox may flush long after its session ended (the link was down); its messages
# still belong to the person who typed them, within this window.
LATE_OUTBOX_DAYS = 7


@dataclass(frozen=True)
class Ended:
    session_id: str
    terminal: str
    employee_id: int


@dataclass(frozen=True)
class LoginResult:
    session_id: str
    employee_id: int
    name: str
    language: str
    ended: list[Ended]  # sessions closed by this badge-in (other terminal, previous person)


def terminal_by_name(session: Session, name: str) -> Terminal | None:
    return session.execute(select(Terminal).where(Terminal.name == name)).scalar_one_or_none()


def _end(session: Session, row: BadgeSession, reason: str) -> Ended:
    row.ended_at = utcnow()
    row.end_reason = reason
    return Ended(row.id, row.terminal.name, row.employee_id)


def badge_in(session: Session, terminal: Terminal, badge: str, pin: str | None,
             pepper: str) -> LoginResult:
    """Open a session, or raise ServiceError(bad_badge | pin_required | bad_pin | locked)."""
    employee = session.execute(
        select(Employee).where(Employee.badge_hash == badge_hash(pepper, badge))
    ).scalar_one_or_none()
    if employee is None or not employee.active:
        audit.record(session, f"terminal:{terminal.name}", "badge.unknown")
        raise ServiceError("bad_badge", "This badge is not recognised.")
    now = utcnow()
    if employee.locked_until and employee.locked_until > now:
        raise ServiceError("locked", "This badge is locked.", until=employee.locked_until.isoformat())
    if employee.pin_hash:
        if not pin:
            raise ServiceError("pin_required", "Enter your PIN.")
        if not check_secret(employee.pin_hash, pin):
            _fail(session, employee, terminal)
            if employee.locked_until:
                raise ServiceError("locked", "Too many wrong PINs: this badge is locked.",
                                   until=employee.locked_until.isoformat())
            raise ServiceError("bad_pin", "Wrong PIN.")
    employee.failed_logins = 0
    employee.locked_until = None
    ended = [
        _end(session, row, "replaced")
        for row in session.execute(
            select(BadgeSession).where(
                BadgeSession.ended_at.is_(None),
                (BadgeSession.terminal_id == terminal.id)
                | (BadgeSession.employee_id == employee.id),
            )
        ).scalars()
    ]
    sid = str(uuid.uuid4())
    session.add(BadgeSession(id=sid, employee_id=employee.id, terminal_id=terminal.id,
                             started_at=now))
    downlinks.reset_for(session, employee.id)
    session.flush()
    return LoginResult(sid, employee.id, employee.name, employee.language, ended)


def _fail(session: Session, employee: Employee, terminal: Terminal) -> None:
    employee.failed_logins = (employee.failed_logins or 0) + 1
    if employee.failed_logins >= int(settings.get(session, "badge_max_failures")):
        minutes = int(settings.get(session, "badge_lock_minutes"))
        employee.locked_until = utcnow() + dt.timedelta(minutes=minutes)
        employee.failed_logins = 0
        audit.record(session, f"terminal:{terminal.name}", "badge.locked",
                     f"employee:{employee.id}", minutes=minutes)


def badge_out(session: Session, terminal: Terminal, sid: str, reason: str = "logout") -> bool:
    row = session.get(BadgeSession, sid)
    if row is None or row.terminal_id != terminal.id or row.ended_at is not None:
        return False
    row.ended_at = utcnow()
    row.end_reason = reason
    return True


def speaker(session: Session, terminal: Terminal, sid: str | None, *,
            allow_ended: bool = False) -> BadgeSession:
    """The session an uplink speaks for: it must have been opened on this very terminal."""
    row = session.get(BadgeSession, sid) if sid else None
    if row is None or row.terminal_id != terminal.id:
        raise ServiceError("no_session", "No badge session on this terminal.")
    keep(session, row)  # the terminal's next uplinks of the batch: no query
    if row.ended_at is not None:
        late = row.ended_at > utcnow() - dt.timedelta(days=LATE_OUTBOX_DAYS)
        if not (allow_ended and late):
            raise ServiceError("session_ended", "This badge session has ended.")
    return row


def active_session(session: Session, employee_id: int) -> BadgeSession | None:
    return session.execute(
        select(BadgeSession).where(BadgeSession.employee_id == employee_id,
                                   BadgeSession.ended_at.is_(None))
    ).scalar_one_or_none()
