"""Console users (admin only): who may sign in to the console, with which role and language,
and which employee a supervisor is (their teams are the teams that employee supervises).

Two guards keep the console administrable: an admin cannot deactivate or demote themselves
(they would lock themselves out mid-task), and the last active admin can be neither
deactivated nor demoted. Passwords follow ``directory.check_console_password``, the rule
the CLI uses; a generated one is returned once and only its hash is kept. Every change is
audited in the caller's transaction; passwords never reach the audit log."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hr_console.services import audit, directory, sign_in
from hr_console.services.errors import Conflict, Invalid, NotFound
from hr_console.services.secrets import hash_secret
from hr_console.store.models import AuditEntry, ConsoleUser, Employee, Team

ROLES = directory.ROLES
LANGUAGES = directory.LANGUAGES
ADMIN, SUPERVISOR = "admin", "supervisor"


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    role: str
    language: str
    employee_id: int | None
    employee: str | None
    employee_active: bool
    teams: tuple[str, ...]
    active: bool
    last_sign_in: dt.datetime | None
    waits_until: dt.datetime | None  # while sign-in from some address is slowed down
    created_at: dt.datetime


def target(user_id: int) -> str:
    return f"console_user:{user_id}"


def list_users(session: Session, user_id: int | None = None, *, pepper: str) -> list[UserRow]:
    """``pepper``: the console's secret, which keys the sign-in waits (services.sign_in)."""
    stmt = (select(ConsoleUser, Employee.name, Employee.active)
            .outerjoin(Employee, Employee.id == ConsoleUser.employee_id)
            .order_by(ConsoleUser.active.desc(), ConsoleUser.username))
    if user_id is not None:
        stmt = stmt.where(ConsoleUser.id == user_id)
    found = session.execute(stmt).all()
    teams = _teams_of(session, {u.employee_id for u, _n, _a in found if u.employee_id})
    last = _last_sign_ins(session, [u.id for u, _n, _a in found])
    waits = sign_in.waiting_until(session, pepper, [u.username for u, _n, _a in found])
    return [UserRow(u.id, u.username, u.role, u.language, u.employee_id, name, bool(active),
                    tuple(teams.get(u.employee_id, ())) if u.employee_id else (), u.active,
                    last.get(target(u.id)), waits.get(u.username),
                    u.created_at)
            for u, name, active in found]


def get(session: Session, user_id: int) -> ConsoleUser:
    row = session.get(ConsoleUser, user_id)
    if row is None:
        raise NotFound("not_found", "No such console user.")
    return row


def _teams_of(session: Session, employee_ids: set[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not employee_ids:
        return out
    for sup, name in session.execute(select(Team.supervisor_id, Team.name)
                                     .where(Team.supervisor_id.in_(employee_ids))
                                     .order_by(Team.name)):
        out.setdefault(sup, []).append(name)
    return out


def _last_sign_ins(session: Session, user_ids: list[int]) -> dict[str, dt.datetime]:
    """From the audit log, which records every sign-in (no column to keep in step)."""
    if not user_ids:
        return {}
    targets = [target(i) for i in user_ids]
    rows = session.execute(select(AuditEntry.target, func.max(AuditEntry.ts))
                           .where(AuditEntry.action == "login.success",
                                  AuditEntry.target.in_(targets))
                           .group_by(AuditEntry.target))
    return {t: ts for t, ts in rows}


def supervisor_choices(session: Session, current: int | None = None) -> list[tuple[int, str]]:
    """Active employees who supervise a team (and the current link): the short list a
    supervisor login is usually linked to; any other employee can be given by ID."""
    ids = select(Team.supervisor_id).where(Team.supervisor_id.is_not(None))
    stmt = select(Employee.id, Employee.name).where(Employee.active.is_(True), Employee.id.in_(ids))
    found = dict(session.execute(stmt.order_by(Employee.name)).tuples().all())
    if current and current not in found:
        row = session.get(Employee, current)
        if row is not None:
            found[row.id] = row.name
    return sorted(found.items(), key=lambda item: item[1].casefold())


def _check(role: str, language: str) -> None:
    if role not in ROLES:
        raise Invalid("bad_role", f"Role is one of {', '.join(ROLES)}.")
    if language not in LANGUAGES:
        raise Invalid("bad_language", f"Language is one of {', '.join(LANGUAGES)}.")


def _employee_for(session: Session, role: str, employee_id: int | None) -> Employee | None:
    """A supervisor is an employee (their teams follow from it); other roles are not."""
    if role != SUPERVISOR:
        return None
    if not employee_id:
        raise Invalid("supervisor_employee", "A supervisor must be linked to an employee.")
    row = session.get(Employee, employee_id)
    if row is None:
        raise Invalid("unknown_person", "This employee does not exist.")
    if not row.active:
        raise Invalid("employee_inactive", "A deactivated employee cannot be a supervisor.")
    return row


def new_password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, about 96 bits


def create(session: Session, *, username: str, role: str, language: str,
           employee_id: int | None, password: str | None, actor: str
           ) -> tuple[ConsoleUser, str | None]:
    """Create a console user; returns it and the generated password (None when typed)."""
    _check(role, language)
    employee = _employee_for(session, role, employee_id)
    generated = None if password else new_password()
    row = directory.console_user(session, username, password or generated or "", role,
                                 language=language, employee_row=employee, actor=actor)
    return row, generated


def _active_admin_ids(session: Session) -> list[int]:
    stmt = select(ConsoleUser.id).where(ConsoleUser.role == ADMIN, ConsoleUser.active.is_(True))
    if session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()  # two admins removing each other cannot both succeed
    return list(session.execute(stmt).scalars())


def _guard_admin_removal(session: Session, row: ConsoleUser, actor_id: int, what: str) -> None:
    """Refuse to take away the admin role (``what``: demote | deactivate) from oneself or
    from the last active admin."""
    if row.id == actor_id:
        raise Conflict(f"self_{what}", f"An admin cannot {what} themselves.")
    if row.role == ADMIN and row.active and _active_admin_ids(session) == [row.id]:
        raise Conflict("last_admin", "The last active admin cannot be removed.")


def update(session: Session, row: ConsoleUser, *, role: str, language: str,
           employee_id: int | None, actor_id: int, actor: str) -> dict[str, list]:
    """Change role, language and linked employee; returns what changed (also audited)."""
    _check(role, language)
    if row.role == ADMIN and role != ADMIN:
        _guard_admin_removal(session, row, actor_id, "demote")
    employee = _employee_for(session, role, employee_id)
    new = {"role": role, "language": language, "employee_id": employee.id if employee else None}
    changes = {k: [getattr(row, k), v] for k, v in new.items() if getattr(row, k) != v}
    if changes:
        for key, value in new.items():
            setattr(row, key, value)
        audit.record(session, actor, "console_user.update", target(row.id),
                     username=row.username, **{k: f"{a} → {b}" for k, (a, b) in changes.items()})
    return changes


def _end_sessions(row: ConsoleUser) -> None:
    """Every session cookie carries the epoch it was issued under (see the sign-in)."""
    row.session_epoch = (row.session_epoch or 0) + 1


def deactivate(session: Session, row: ConsoleUser, *, actor_id: int, actor: str) -> None:
    """The user can no longer sign in, and any session they have open ends at its next
    request (sessions are reloaded from the database every request)."""
    if not row.active:
        return
    _guard_admin_removal(session, row, actor_id, "deactivate")
    row.active = False
    _end_sessions(row)  # and a later reactivation does not revive them
    audit.record(session, actor, "console_user.deactivate", target(row.id), username=row.username)


def reactivate(session: Session, row: ConsoleUser, *, actor: str) -> None:
    if row.active:
        return
    row.active = True
    audit.record(session, actor, "console_user.reactivate", target(row.id), username=row.username)


def reset_password(session: Session, row: ConsoleUser, password: str | None, *, actor: str
                   ) -> str | None:
    """Set a typed password, or a generated one (returned, to be shown once), and end the
    user's open sessions: whoever knew the old one is signed out."""
    generated = None if password else new_password()
    password = password or generated or ""
    directory.check_console_password(password)
    row.password_hash = hash_secret(password)
    _end_sessions(row)
    audit.record(session, actor, "console_user.password_reset", target(row.id),
                 username=row.username, generated=generated is not None)
    return generated


def unlock(session: Session, row: ConsoleUser, *, actor: str, pepper: str) -> bool:
    """Forget the failed sign-ins counted under this user's name from every address, so
    they can sign in at once; False (nothing audited) when there were none."""
    cleared = sign_in.clear_name(session, pepper, row.username)
    if not cleared:
        return False
    audit.record(session, actor, "console_user.unlock", target(row.id), username=row.username,
                 addresses=cleared)
    return True
