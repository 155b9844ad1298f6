"""Terminals as the console manages them. Every change that touches credentials is
followed, by the caller, by ``broker.apply`` in the same unit of work, so the broker's
password file and ACL always equal the database (a revoked terminal is dropped at once)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from hr_console.services import directory, sessions
from hr_console.services.directory import TerminalCredentials
from hr_console.services.errors import NotFound
from hr_console.services.paging import Numbered, pages_for
from hr_console.store.models import BadgeSession, Site, Terminal, utcnow


@dataclass(frozen=True)
class TerminalRow:
    id: int
    name: str
    site_id: int | None
    site: str
    active: bool
    online: bool
    last_seen: dt.datetime | None
    enrol_pending: bool  # an enrolment code is waiting to be used
    enrol_expires: dt.datetime | None
    created_at: dt.datetime
    open_sessions: int
    logins_suspended_at: dt.datetime | None = None  # kept guessing badges or PINs


# What the list can be narrowed to: a fleet of a thousand terminals over several sites is read
# for what needs a hand (offline, badge-ins suspended, a code not yet used), not scrolled.
STATES = ("online", "offline", "suspended", "enrolling", "revoked")
PER_PAGE = 100


@dataclass(frozen=True)
class TerminalFilter:
    q: str = ""  # part of the name
    site_id: int | None = None  # 0: no site
    state: str = ""  # one of STATES, or every terminal


@dataclass
class TerminalPage(Numbered):
    rows: list[TerminalRow]
    total: int  # matching the filter
    page: int
    per_page: int
    counts: dict[str, int]  # the whole fleet per state (STATES), whatever the filter
    fleet: int  # every terminal


def _state_condition(state: str, now: dt.datetime) -> ColumnElement[bool]:
    active = Terminal.active.is_(True)
    return {
        "online": and_(active, Terminal.online.is_(True)),
        "offline": and_(active, Terminal.online.is_not(True)),
        "suspended": and_(active, Terminal.logins_suspended_at.is_not(None)),
        "enrolling": and_(active, Terminal.enrol_code_hash.is_not(None),
                          Terminal.enrol_expires > now),
        "revoked": Terminal.active.is_(False),
    }[state]


def find(session: Session, flt: TerminalFilter, *, page: int = 1,
         per_page: int = PER_PAGE) -> TerminalPage:
    """One page of the terminals matching ``flt`` (active first, by name), and the fleet's
    counts per state for the summary above the list."""
    now = utcnow()
    conds: list[ColumnElement[bool]] = []
    if flt.q.strip():
        conds.append(Terminal.name.contains(flt.q.strip().lower(), autoescape=True))
    if flt.site_id is not None:
        conds.append(Terminal.site_id.is_(None) if flt.site_id == 0
                     else Terminal.site_id == flt.site_id)
    if flt.state in STATES:
        conds.append(_state_condition(flt.state, now))
    total = session.scalar(select(func.count()).select_from(Terminal).where(*conds)) or 0
    page = min(max(1, page), pages_for(total, per_page))
    ids = list(session.scalars(select(Terminal.id).where(*conds)
                               .order_by(Terminal.active.desc(), Terminal.name)
                               .limit(per_page).offset((page - 1) * per_page)))
    counts = session.execute(select(
        func.count(), *(func.count().filter(_state_condition(st, now)) for st in STATES)
    ).select_from(Terminal)).one()
    return TerminalPage(_rows(session, now, Terminal.id.in_(ids)) if ids else [], total, page,
                        per_page, dict(zip(STATES, counts[1:], strict=True)), counts[0])


def terminal_row(session: Session, terminal_id: int) -> TerminalRow | None:
    """One terminal as the list shows it (its page), or None."""
    rows = _rows(session, utcnow(), Terminal.id == terminal_id)
    return rows[0] if rows else None


def _rows(session: Session, now: dt.datetime, where: ColumnElement[bool]) -> list[TerminalRow]:
    open_ = (select(BadgeSession.terminal_id, func.count().label("n"))
             .where(BadgeSession.ended_at.is_(None)).group_by(BadgeSession.terminal_id).subquery())
    query = (select(Terminal, Site.name, func.coalesce(open_.c.n, 0))
             .outerjoin(Site, Site.id == Terminal.site_id)
             .outerjoin(open_, open_.c.terminal_id == Terminal.id)
             .where(where).order_by(Terminal.active.desc(), Terminal.name))
    out = []
    for t, site, n in session.execute(query):
        pending = bool(t.enrol_code_hash and t.enrol_expires and t.enrol_expires > now and t.active)
        out.append(TerminalRow(t.id, t.name, t.site_id, site or "", t.active,
                               bool(t.online) and t.active, t.last_seen, pending,
                               t.enrol_expires if pending else None, t.created_at, int(n),
                               t.logins_suspended_at))
    return out


def get(session: Session, terminal_id: int) -> Terminal:
    row = session.get(Terminal, terminal_id)
    if row is None:
        raise NotFound("not_found", "No such terminal.")
    return row


def _site(session: Session, site_id: int | None) -> Site | None:
    if site_id is None:
        return None
    row = session.get(Site, site_id)
    if row is None:
        raise NotFound("unknown_site", "No such site.")
    return row


def enrol(session: Session, name: str, site_id: int | None, actor: str
          ) -> tuple[Terminal, TerminalCredentials]:
    return directory.terminal(session, name.strip(), _site(session, site_id), actor=actor)


def rename(session: Session, row: Terminal, name: str, actor: str) -> TerminalCredentials:
    return directory.rename_terminal(session, row, name.strip(), actor)


def set_site(session: Session, row: Terminal, site_id: int | None, actor: str) -> None:
    directory.set_terminal_site(session, row, _site(session, site_id), actor)


def rotate(session: Session, row: Terminal, actor: str) -> TerminalCredentials:
    creds = directory.rotate_terminal(session, row, actor)
    session.flush()
    return creds


def revoke(session: Session, row: Terminal, actor: str) -> int:
    """Revoke the terminal's login and end the badge sessions open on it. Returns how many
    sessions were ended."""
    directory.revoke_terminal(session, row, actor)
    row.online = False
    # No logout to send: the broker drops the terminal and refuses its login.
    ended = sessions.end_on_terminal(session, row, "terminal_revoked", notify=False)
    session.flush()
    return len(ended)
