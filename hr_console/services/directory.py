"""Creating and changing the people, places, terminals and rules of an installation.
The CLI, the demo data and the console all come through here."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from broker_config.passwords import hash_password, new_password
from hr_console.domain.moderation import MODES
from hr_console.domain.partitions import partition_of
from hr_console.domain.policy import Rule
from hr_console.services import audit, sessions
from hr_console.services.errors import Conflict, Invalid, NotFound
from hr_console.services.secrets import badge_hash, code_hash, hash_secret
from hr_console.store.models import (
    ConsoleUser,
    ContactRule,
    Employee,
    Group,
    GroupRule,
    Notice,
    Shift,
    Site,
    Team,
    Terminal,
    utcnow,
)
from relais_wire.envelope import WireError, clean_text
from relais_wire.limits import PIN_MAX_DIGITS, PIN_MIN_DIGITS
from relais_wire.topics import valid_terminal_name

ROLES = ("admin", "hr", "supervisor", "auditor")
LANGUAGES = ("fr", "en")
ENROL_CODE_MINUTES = 30


def _name(value: str, field: str, max_chars: int = 120) -> str:
    """Human text for a name, or Invalid(empty | too_long | bad_text, field=...)."""
    try:
        return clean_text(value or "", field, max_chars).strip()
    except WireError as exc:
        raise Invalid(exc.code, exc.message, field=field, max_chars=max_chars) from None


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
    _check_mode(moderation_mode)
    row = Team(name=_name(name, "name", 80), site_id=site_row.id,
               supervisor_id=supervisor.id if supervisor else None,
               moderation_mode=moderation_mode)
    _check_team_name_free(session, row.name, site_row.id, None)
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
             actor: str = "system", active: bool = True, pin_hash: str | None = None,
             via: str | None = None) -> Employee:
    """Create an employee. ``pin_hash`` is an already hashed PIN (a bulk import hashes
    outside its transaction); ``via`` says where the creation came from, in the audit."""
    if language not in LANGUAGES:
        raise Invalid("bad_language", f"Language is one of {', '.join(LANGUAGES)}.")
    _check_mode(moderation_mode)
    row = Employee(name=_name(name, "name"), team_id=team_row.id if team_row else None,
                   language=language, is_hr_desk=is_hr_desk, moderation_mode=moderation_mode,
                   active=active)
    if pin:
        _check_pin(pin)
        row.pin_hash = hash_secret(pin)
    elif pin_hash:
        row.pin_hash = pin_hash
    if badge:
        # Checked before the row joins the session, so a taken badge leaves nothing behind.
        badge = _name(badge, "badge", 64)
        assign_badge(session, row, badge, pepper=pepper)
    session.add(row)
    session.flush()
    detail: dict = {"name": row.name}
    if via:
        detail.update(via=via, badge=row.badge_hash is not None, pin=row.pin_hash is not None,
                      team=row.team_id, active=row.active)
    audit.record(session, actor, "employee.create", f"employee:{row.id}", **detail)
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
    audit.open_chain(session, audit.terminal_chain(row.id), actor)
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


PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_CHARS = 200  # what the sign-in form accepts


def check_console_password(password: str) -> None:
    """The one strength rule for console passwords (CLI and console alike)."""
    if len(password or "") < PASSWORD_MIN_CHARS:
        raise Invalid("weak_password",
                      f"A console password has at least {PASSWORD_MIN_CHARS} characters.")
    if len(password) > PASSWORD_MAX_CHARS:
        raise Invalid("long_password",
                      f"A console password has at most {PASSWORD_MAX_CHARS} characters.")


def console_user(session: Session, username: str, password: str, role: str, *,
                 language: str = "fr", employee_row: Employee | None = None,
                 actor: str = "system") -> ConsoleUser:
    if role not in ROLES:
        raise Invalid("bad_role", f"Role is one of {', '.join(ROLES)}.")
    check_console_password(password)
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
                 on_shift_only: bool = False, actor: str = "system") -> ContactRule:
    """``on_shift_only``: the rule grants only while whoever writes under it is on shift."""
    try:
        Rule(sender_kind, sender_ref, recipient_kind, recipient_ref, allow_reply)
    except ValueError as exc:
        raise Invalid("bad_rule", str(exc)) from None
    row = ContactRule(sender_kind=sender_kind, sender_ref=sender_ref,
                      recipient_kind=recipient_kind, recipient_ref=recipient_ref,
                      allow_reply=allow_reply, on_shift_only=bool(on_shift_only))
    session.add(row)
    session.flush()
    audit.record(session, actor, "contact_rule.create", f"contact_rule:{row.id}",
                 sender=f"{sender_kind}:{sender_ref}",
                 recipient=f"{recipient_kind}:{recipient_ref}", allow_reply=allow_reply,
                 **({"on_shift_only": True} if on_shift_only else {}))
    return row


def delete_contact_rule(session: Session, rule_id: int, actor: str) -> None:
    row = session.get(ContactRule, rule_id)
    if row is None:
        raise NotFound("not_found", "No such rule.")
    detail = {"sender": f"{row.sender_kind}:{row.sender_ref}",
              "recipient": f"{row.recipient_kind}:{row.recipient_ref}",
              "allow_reply": row.allow_reply}
    session.delete(row)
    audit.record(session, actor, "contact_rule.delete", f"contact_rule:{rule_id}", **detail)


# --- changing what exists (the console) ----------------------------------------------------

MODERATION_MODES = MODES  # pre | post | none; None means "inherit" (team, then default)


def _check_mode(mode: str | None) -> None:
    if mode is not None and mode not in MODES:
        raise Invalid("bad_moderation", f"Moderation mode is one of {', '.join(MODES)}, or inherit.")


def _check_team_name_free(session: Session, name: str, site_id: int, team_id: int | None) -> None:
    clash = session.execute(
        select(Team.id).where(Team.site_id == site_id, Team.name == name)
    ).scalar_one_or_none()
    if clash is not None and clash != team_id:
        raise Conflict("team_exists", f"This site already has a team named {name!r}.")


def create_site(session: Session, name: str, actor: str) -> Site:
    """A new site; unlike ``site`` (get or create), an existing name is an error."""
    name = _name(name, "name", 80)
    if session.execute(select(Site.id).where(Site.name == name)).first():
        raise Conflict("site_exists", f"A site named {name!r} already exists.")
    return site(session, name, actor=actor)


def rename_site(session: Session, row: Site, name: str, actor: str) -> None:
    name = _name(name, "name", 80)
    if name == row.name:
        return
    clash = session.execute(select(Site.id).where(Site.name == name)).scalar_one_or_none()
    if clash is not None and clash != row.id:
        raise Conflict("site_exists", f"A site named {name!r} already exists.")
    old, row.name = row.name, name
    session.flush()
    audit.record(session, actor, "site.rename", f"site:{row.id}", old=old, new=name)


def set_site_timezone(session: Session, row: Site, name: str | None, actor: str) -> bool:
    """The zone a site's shifts are read in (``Europe/Paris``); empty: the installation's.
    A name zoneinfo does not know is refused. True when it changed (audited)."""
    from hr_console.services import shifts

    zone = (name or "").strip() or None
    if zone is not None and not shifts.valid_zone(zone):
        raise Invalid("bad_timezone", "A time zone is a name such as Europe/Paris.")
    if zone == row.timezone:
        return False
    old, row.timezone = row.timezone, zone
    session.flush()
    audit.record(session, actor, "site.timezone", f"site:{row.id}", old=old, new=zone)
    return True


def update_team(session: Session, row: Team, *, name: str, site_row: Site,
                supervisor: Employee | None, moderation_mode: str | None, actor: str) -> dict:
    """Change a team; returns {field: [old, new]} of what changed (also audited)."""
    name = _name(name, "name", 80)
    _check_mode(moderation_mode)
    if supervisor is not None and not supervisor.active:
        raise Invalid("supervisor_inactive", "A deactivated employee cannot supervise a team.")
    _check_team_name_free(session, name, site_row.id, row.id)
    new = {"name": name, "site_id": site_row.id,
           "supervisor_id": supervisor.id if supervisor else None,
           "moderation_mode": moderation_mode}
    changes = {k: [getattr(row, k), v] for k, v in new.items() if getattr(row, k) != v}
    for key, (_old, value) in changes.items():
        setattr(row, key, value)
    if changes:
        session.flush()
        audit.record(session, actor, "team.update", f"team:{row.id}", name=row.name, changes=changes)
    return changes


def update_employee(session: Session, row: Employee, *, name: str, team_row: Team | None,
                    language: str, is_hr_desk: bool, moderation_mode: str | None,
                    actor: str) -> dict:
    """Change an employee's profile; returns {field: [old, new]} (also audited)."""
    name = _name(name, "name")
    if language not in LANGUAGES:
        raise Invalid("bad_language", f"Language is one of {', '.join(LANGUAGES)}.")
    _check_mode(moderation_mode)
    new = {"name": name, "team_id": team_row.id if team_row else None, "language": language,
           "is_hr_desk": bool(is_hr_desk), "moderation_mode": moderation_mode}
    changes = {k: [getattr(row, k), v] for k, v in new.items() if getattr(row, k) != v}
    for key, (_old, value) in changes.items():
        setattr(row, key, value)
    if changes:
        session.flush()
        audit.record(session, actor, "employee.update", f"employee:{row.id}", name=row.name,
                     changes=changes)
    return changes


def set_employee_active(session: Session, row: Employee, active: bool, actor: str) -> bool:
    """Deactivate (they can no longer badge in, write or be written to) or reactivate.
    Returns False when nothing changed."""
    if row.active == active:
        return False
    row.active = active
    if active:
        row.failed_logins, row.locked_until = 0, None
    else:
        sessions.end_for_employee(session, row.id, "deactivated")
    session.flush()
    audit.record(session, actor, "employee.reactivate" if active else "employee.deactivate",
                 f"employee:{row.id}", name=row.name)
    return True


def set_badge(session: Session, row: Employee, badge: str | None, *, pepper: str,
              actor: str) -> None:
    """Assign (or with None, remove) a badge. Only its keyed hash is stored; a badge that
    belongs to someone else is Conflict(badge_taken)."""
    if badge is None:
        if row.badge_hash is None:
            return
        row.badge_hash = None
        sessions.end_for_employee(session, row.id, "badge_changed")
        session.flush()
        audit.record(session, actor, "employee.badge_remove", f"employee:{row.id}", name=row.name)
        return
    previous = row.badge_hash
    assign_badge(session, row, badge, pepper=pepper)
    if previous is not None and previous != row.badge_hash:
        sessions.end_for_employee(session, row.id, "badge_changed")  # the old badge is gone
    session.flush()
    audit.record(session, actor, "employee.badge_assign", f"employee:{row.id}", name=row.name)


def check_pin(pin: str) -> None:
    """Invalid(bad_pin) unless ``pin`` is 4 to 8 ASCII digits."""
    _check_pin(pin)


def set_pin(session: Session, row: Employee, pin: str | None, actor: str, *,
            pin_hash: str | None = None) -> None:
    """Set or reset (or with None, remove) the PIN asked after the badge. ``pin_hash`` lets a
    caller that already hashed it (a bulk import, off the transaction) pass the hash."""
    if pin is None and pin_hash is None:
        if row.pin_hash is None:
            return
        row.pin_hash = None
        sessions.end_for_employee(session, row.id, "pin_changed")
        session.flush()
        audit.record(session, actor, "employee.pin_remove", f"employee:{row.id}", name=row.name)
        return
    if pin_hash is None:
        _check_pin(pin or "")
        pin_hash = hash_secret(pin or "")
    action = "employee.pin_reset" if row.pin_hash else "employee.pin_set"
    row.pin_hash = pin_hash
    row.failed_logins, row.locked_until = 0, None
    # A reset PIN is often a suspicion that someone else knew it: whoever is in, is out.
    sessions.end_for_employee(session, row.id, "pin_changed")
    session.flush()
    audit.record(session, actor, action, f"employee:{row.id}", name=row.name)


# --- shifts ------------------------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _shift_fields(name: str, days: list[str] | str, start: dt.time | None,
                  end: dt.time | None) -> tuple[str, str, dt.time, dt.time]:
    name = _name(name, "name", 80)
    if isinstance(days, str):
        days = [d.strip().lower() for d in days.split(",") if d.strip()]
    if not days or any(d not in WEEKDAYS for d in days):
        raise Invalid("bad_days", "Days are one or more of mon, tue, wed, thu, fri, sat, sun.")
    if start is None or end is None:
        raise Invalid("bad_time", "A shift has a start and an end time.")
    if start == end:
        raise Invalid("bad_time", "A shift cannot start and end at the same time.")
    ordered = ",".join(d for d in WEEKDAYS if d in set(days))
    return name, ordered, start, end


def shift(session: Session, team_row: Team, name: str, days: list[str] | str,
          start: dt.time | None, end: dt.time | None, actor: str) -> Shift:
    """A shift of a team. An end before the start is a night shift ending the next day."""
    name, days_s, start, end = _shift_fields(name, days, start, end)
    row = Shift(name=name, team_id=team_row.id, days=days_s, start_time=start, end_time=end)
    session.add(row)
    session.flush()
    audit.record(session, actor, "shift.create", f"shift:{row.id}", team=f"team:{team_row.id}",
                 name=name, days=days_s, start=start.isoformat("minutes"),
                 end=end.isoformat("minutes"))
    return row


def update_shift(session: Session, row: Shift, name: str, days: list[str] | str,
                 start: dt.time | None, end: dt.time | None, actor: str) -> dict:
    name, days_s, start, end = _shift_fields(name, days, start, end)
    new = {"name": name, "days": days_s, "start_time": start, "end_time": end}
    changes = {k: [getattr(row, k), v] for k, v in new.items() if getattr(row, k) != v}
    for key, (_old, value) in changes.items():
        setattr(row, key, value)
    if changes:
        session.flush()
        audit.record(session, actor, "shift.update", f"shift:{row.id}", team=f"team:{row.team_id}",
                     changes={k: [str(a), str(b)] for k, (a, b) in changes.items()})
    return changes


def delete_shift(session: Session, row: Shift, actor: str) -> None:
    """Refused while notices scheduled for the shift have yet to go out, or while a
    workgroup takes its members from it: the notices would reach nobody and the group would
    lose them, and HR would not know (withdrawn or sent, a notice no longer holds it)."""
    waiting = session.scalar(select(func.count()).select_from(Notice).where(
        Notice.target_kind == "shift", Notice.target_ref == row.id, Notice.published_at.is_(None),
        or_(Notice.valid_until.is_(None), Notice.valid_until > utcnow()))) or 0
    if waiting:
        raise Conflict("shift_has_notices",
                       f"{waiting} scheduled notice(s) are addressed to this shift: withdraw "
                       "them first, or wait until they have gone out.", count=waiting)
    groups = session.scalar(select(func.count(func.distinct(GroupRule.group_id))).join(
        Group, Group.id == GroupRule.group_id).where(
        GroupRule.kind == "shift", GroupRule.ref_id == row.id, Group.state != "deleted")) or 0
    if groups:
        raise Conflict("shift_in_groups",
                       f"{groups} workgroup(s) take members from this shift: take it out of "
                       "their membership rules first.", count=groups)
    audit.record(session, actor, "shift.delete", f"shift:{row.id}", team=f"team:{row.team_id}",
                 name=row.name)
    session.delete(row)
    session.flush()


# --- contact rules and terminals ---------------------------------------------------------

def _set_rule_flag(session: Session, rule_id: int, flag: str, value: bool, action: str,
                   actor: str) -> ContactRule:
    """One yes/no of a rule changed, audited when it changes."""
    row = session.get(ContactRule, rule_id)
    if row is None:
        raise NotFound("not_found", "No such rule.")
    if getattr(row, flag) != value:
        setattr(row, flag, value)
        session.flush()
        audit.record(session, actor, action, f"contact_rule:{rule_id}", **{flag: value})
    return row


def set_rule_reply(session: Session, rule_id: int, allow_reply: bool, actor: str) -> ContactRule:
    return _set_rule_flag(session, rule_id, "allow_reply", allow_reply, "contact_rule.reply",
                          actor)


def set_rule_shift(session: Session, rule_id: int, on_shift_only: bool, actor: str
                   ) -> ContactRule:
    """A rule made on-shift-only, or no longer."""
    return _set_rule_flag(session, rule_id, "on_shift_only", on_shift_only,
                          "contact_rule.shift", actor)


def rename_terminal(session: Session, row: Terminal, name: str, actor: str) -> TerminalCredentials:
    """The MQTT username is the terminal's name, so a new name is a new login: new password
    and enrolment code (returned once); the old login stops working at the next broker apply."""
    if not valid_terminal_name(name):
        raise Invalid("bad_name", "A terminal name is 1-32 lower-case letters, digits or dashes.")
    if name == row.name:
        raise Invalid("same_name", "This is already the terminal's name.")
    if session.execute(select(Terminal.id).where(Terminal.name == name)).first():
        raise Conflict("name_taken", f"A terminal named {name!r} already exists.")
    old, row.name = row.name, name
    row.partition = partition_of(name)  # another relay may own the new name's partition
    row.online = False
    creds = _new_credentials(row)
    row.active = True
    session.flush()
    audit.record(session, actor, "terminal.rename", f"terminal:{row.id}", old=old, new=name)
    return creds


def set_terminal_site(session: Session, row: Terminal, site_row: Site | None, actor: str) -> None:
    new = site_row.id if site_row else None
    if row.site_id == new:
        return
    old, row.site_id = row.site_id, new
    session.flush()
    audit.record(session, actor, "terminal.site", f"terminal:{row.id}", name=row.name,
                 old=old, new=new)
