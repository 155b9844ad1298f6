"""Creating and changing the people, places, terminals and rules of an installation.
The CLI, the demo data and the console all come through here."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from broker_config.passwords import hash_password, new_password
from hr_console.domain.policy import Rule
from hr_console.services import audit
from hr_console.services.errors import Conflict, Invalid, NotFound
from hr_console.services.secrets import badge_hash, code_hash, hash_secret
from hr_console.store.models import (
    ConsoleUser,
    ContactRule,
    Employee,
    Site,
    Team,
    Terminal,
    utcnow,
)
from relais_wire.envelope import clean_text
from relais_wire.limits import PIN_MAX_DIGITS, PIN_MIN_DIGITS
from relais_wire.topics import valid_terminal_name

ROLES = ("admin", "hr", "supervisor", "auditor")
LANGUAGES = ("fr", "en")
ENROL_CODE_MINUTES = 30


def _name(value: str, field: str, max_chars: int = 120) -> str:
    return clean_text(value or "", field, max_chars).strip()


def site(session: Session, name: str, actor: str = "system") -> Site:
    name = _name(name, "name", 80)
    row = session.execute(select(Site).where(Site.name == name)).scalar_one_or_none()
    if row is None:
        row = Site(name=name)
        session.add(row)
        session.flush()
        audit.record(session, actor, "site.create", f"site:{row.id}", name=name)
    return row


def site_by_name(session: Session, name: str) -> Site:
    row = session.execute(select(Site).where(Site.name == name)).scalar_one_or_none()
    if row is None:
        raise NotFound("not_found", f"No site named {name!r}.")
    return row


def team(session: Session, name: str, site_row: Site, *, supervisor: Employee | None = None,
         moderation_mode: str | None = None, actor: str = "system") -> Team:
    row = Team(name=_name(name, "name", 80), site_id=site_row.id,
               supervisor_id=supervisor.id if supervisor else None,
               moderation_mode=moderation_mode)
    session.add(row)
    session.flush()
    audit.record(session, actor, "team.create", f"team:{row.id}", name=row.name)
    return row


def _check_pin(pin: str) -> None:
    if not (pin.isascii() and pin.isdigit() and PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS):
        raise Invalid("bad_pin", f"A PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits.")


def employee(session: Session, name: str, *, pepper: str, team_row: Team | None = None,
             badge: str | None = None, pin: str | None = None, language: str = "fr",
             is_hr_desk: bool = False, moderation_mode: str | None = None,
             actor: str = "system") -> Employee:
    if language not in LANGUAGES:
        raise Invalid("bad_language", f"Language is one of {', '.join(LANGUAGES)}.")
    row = Employee(name=_name(name, "name"), team_id=team_row.id if team_row else None,
                   language=language, is_hr_desk=is_hr_desk, moderation_mode=moderation_mode)
    if pin:
        _check_pin(pin)
        row.pin_hash = hash_secret(pin)
    session.add(row)
    if badge:
        assign_badge(session, row, badge, pepper=pepper)
    session.flush()
    audit.record(session, actor, "employee.create", f"employee:{row.id}", name=row.name)
    return row


def assign_badge(session: Session, row: Employee, badge: str, *, pepper: str) -> None:
    badge = _name(badge, "badge", 64)
    digest = badge_hash(pepper, badge)
    other = session.execute(select(Employee).where(Employee.badge_hash == digest)).scalar_one_or_none()
    if other is not None and other is not row:
        raise Conflict("badge_taken", "This badge already belongs to someone else.")
    row.badge_hash = digest


@dataclass(frozen=True)
class TerminalCredentials:
    client_id: str
    username: str
    password: str
    enrol_code: str

    def as_json(self) -> dict[str, str]:
        return {"client_id": self.client_id, "username": self.username,
                "password": self.password, "enrol_code": self.enrol_code}


def terminal(session: Session, name: str, site_row: Site | None, actor: str = "system"
             ) -> tuple[Terminal, TerminalCredentials]:
    """Enrol a terminal. The password is returned once and only its hash is kept."""
    if not valid_terminal_name(name):
        raise Invalid("bad_name", "A terminal name is 1-32 lower-case letters, digits or dashes.")
    if session.execute(select(Terminal).where(Terminal.name == name)).scalar_one_or_none():
        raise Conflict("name_taken", f"A terminal named {name!r} already exists.")
    row = Terminal(name=name, site_id=site_row.id if site_row else None)
    session.add(row)
    creds = _new_credentials(row)
    session.flush()
    audit.record(session, actor, "terminal.create", f"terminal:{row.id}", name=name)
    return row, creds


def _new_credentials(row: Terminal) -> TerminalCredentials:
    password = new_password()
    code = "-".join(secrets.token_hex(2).upper() for _ in range(3))
    row.password_hash = hash_password(password)
    row.enrol_code_hash = code_hash(code)
    row.enrol_expires = utcnow() + dt.timedelta(minutes=ENROL_CODE_MINUTES)
    return TerminalCredentials(row.name, row.name, password, code)


def rotate_terminal(session: Session, row: Terminal, actor: str) -> TerminalCredentials:
    creds = _new_credentials(row)
    row.active = True
    audit.record(session, actor, "terminal.rotate", f"terminal:{row.id}", name=row.name)
    return creds


def revoke_terminal(session: Session, row: Terminal, actor: str) -> None:
    row.active = False
    row.password_hash = None
    row.enrol_code_hash = None
    audit.record(session, actor, "terminal.revoke", f"terminal:{row.id}", name=row.name)


def console_user(session: Session, username: str, password: str, role: str, *,
                 language: str = "fr", employee_row: Employee | None = None,
                 actor: str = "system") -> ConsoleUser:
    if role not in ROLES:
        raise Invalid("bad_role", f"Role is one of {', '.join(ROLES)}.")
    if len(password) < 8:
        raise Invalid("weak_password", "A console password has at least 8 characters.")
    username = _name(username, "username", 80)
    if session.execute(select(ConsoleUser).where(ConsoleUser.username == username)).first():
        raise Conflict("name_taken", f"A console user named {username!r} already exists.")
    row = ConsoleUser(username=username, password_hash=hash_secret(password), role=role,
                      language=language, employee_id=employee_row.id if employee_row else None)
    session.add(row)
    session.flush()
    audit.record(session, actor, "console_user.create", f"console_user:{row.id}",
                 username=username, role=role)
    return row


def contact_rule(session: Session, sender_kind: str, sender_ref: int | None,
                 recipient_kind: str, recipient_ref: int | None, *, allow_reply: bool = True,
                 actor: str = "system") -> ContactRule:
    try:
        Rule(sender_kind, sender_ref, recipient_kind, recipient_ref, allow_reply)
    except ValueError as exc:
        raise Invalid("bad_rule", str(exc)) from None
    row = ContactRule(sender_kind=sender_kind, sender_ref=sender_ref,
                      recipient_kind=recipient_kind, recipient_ref=recipient_ref,
                      allow_reply=allow_reply)
    session.add(row)
    session.flush()
    audit.record(session, actor, "contact_rule.create", f"contact_rule:{row.id}",
                 sender=f"{sender_kind}:{sender_ref}",
                 recipient=f"{recipient_kind}:{recipient_ref}", allow_reply=allow_reply)
    return row


def delete_contact_rule(session: Session, rule_id: int, actor: str) -> None:
    row = session.get(ContactRule, rule_id)
    if row is None:
        raise NotFound("not_found", "No such rule.")
    session.delete(row)
    audit.record(session, actor, "contact_rule.delete", f"contact_rule:{rule_id}")
