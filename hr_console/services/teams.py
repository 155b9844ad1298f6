"""Sites, teams and their shifts as the console lists them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from hr_console.services.errors import NotFound
from hr_console.store.models import Employee, Shift, Site, Team


@dataclass(frozen=True)
class TeamRow:
    id: int
    name: str
    site_id: int
    site: str
    supervisor_id: int | None
    supervisor: str
    supervisor_active: bool
    moderation_mode: str | None
    members: int  # active members
    shifts: int


@dataclass(frozen=True)
class SiteRow:
    id: int
    name: str
    teams: list[TeamRow]
    terminals: int
    timezone: str | None = None  # its shifts' zone; None: the installation's


def _team_rows(session: Session, *where) -> list[TeamRow]:  # noqa: ANN002
    sup = aliased(Employee)
    members = (select(Employee.team_id, func.count().label("n"))
               .where(Employee.active.is_(True)).group_by(Employee.team_id).subquery())
    shifts = select(Shift.team_id, func.count().label("n")).group_by(Shift.team_id).subquery()
    rows = session.execute(
        select(Team.id, Team.name, Site.id, Site.name, Team.supervisor_id, sup.name, sup.active,
               Team.moderation_mode, func.coalesce(members.c.n, 0), func.coalesce(shifts.c.n, 0))
        .join(Site, Site.id == Team.site_id)
        .outerjoin(sup, sup.id == Team.supervisor_id)
        .outerjoin(members, members.c.team_id == Team.id)
        .outerjoin(shifts, shifts.c.team_id == Team.id)
        .where(*where)
        .order_by(Site.name, Team.name)
    ).all()
    return [TeamRow(r[0], r[1], r[2], r[3], r[4], r[5] or "", bool(r[6]), r[7], int(r[8]), int(r[9]))
            for r in rows]


def overview(session: Session) -> list[SiteRow]:
    from hr_console.store.models import Terminal

    teams = _team_rows(session)
    terminals = dict(session.execute(
        select(Terminal.site_id, func.count()).where(Terminal.active.is_(True))
        .group_by(Terminal.site_id)).all())
    return [SiteRow(sid, name, [t for t in teams if t.site_id == sid], int(terminals.get(sid, 0)),
                    tz)
            for sid, name, tz in session.execute(select(Site.id, Site.name, Site.timezone)
                                                 .order_by(Site.name))]


def team_row(session: Session, team_id: int) -> TeamRow:
    rows = _team_rows(session, Team.id == team_id)
    if not rows:
        raise NotFound("not_found", "No such team.")
    return rows[0]


def shifts(session: Session, team_id: int) -> list[Shift]:
    return list(session.execute(
        select(Shift).where(Shift.team_id == team_id).order_by(Shift.start_time, Shift.name)
    ).scalars())


def members(session: Session, team_id: int, limit: int = 500) -> list[tuple[int, str]]:
    """Active members by name (the supervisor choices), at most ``limit``."""
    return [tuple(r) for r in session.execute(
        select(Employee.id, Employee.name)
        .where(Employee.team_id == team_id, Employee.active.is_(True))
        .order_by(Employee.name).limit(limit))]


def sites(session: Session) -> list[tuple[int, str]]:
    return [tuple(r) for r in session.execute(select(Site.id, Site.name).order_by(Site.name))]


def all_teams(session: Session) -> list[tuple[int, str, str]]:
    """(id, team, site) of every team, for menus."""
    return [tuple(r) for r in session.execute(
        select(Team.id, Team.name, Site.name).join(Site, Site.id == Team.site_id)
        .order_by(Site.name, Team.name))]
