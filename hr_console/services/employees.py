"""Finding employees: the console's list, search and filters, paged on the server.

Built to stay fast at tens of thousands of people: one page query and one count bounded
at ``COUNT_CAP`` rows, never a full load. The page query finds the page's ids on the
employees table alone (the (active, name) index walks in order) and only then joins teams
and sites, so a late page skips bare index entries, not joined rows. The search matches
the name (case- and accent-blind, as a substring, on the stored ``search_name``) or a badge
number exactly, through its keyed hash: badge numbers are never stored, so they cannot be
searched any other way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, func, literal, or_, select
from sqlalchemy.orm import Session

from hr_console.services.paging import Numbered
from hr_console.services.secrets import badge_hash
from hr_console.store.models import Employee, Site, Team, search_key
from relais_wire.limits import MAX_BADGE_CHARS

COUNT_CAP = 50_000  # counting stops here; beyond it the list says "more than 50,000"
PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_PER_PAGE = 50
MAX_QUERY_CHARS = 120

def fold(text: str | None) -> str:
    """Lower case without accents: 'Élodie' and 'elodie' are the same to the search."""
    return search_key(text)


@dataclass(frozen=True)
class EmployeeFilter:
    q: str = ""
    team: int | None = None  # a team id; NO_TEAM for people without a team
    site: int | None = None
    active: str = "active"  # active | inactive | all
    language: str | None = None  # fr | en

    def is_empty(self) -> bool:
        return not self.q and self.team is None and self.site is None and self.language is None


NO_TEAM = 0
ACTIVE_CHOICES = ("active", "inactive", "all")


@dataclass(frozen=True)
class EmployeeRow:
    id: int
    name: str
    team_id: int | None
    team: str
    site: str
    language: str
    active: bool
    is_hr_desk: bool
    moderation_mode: str | None
    has_badge: bool
    has_pin: bool


@dataclass
class EmployeePage(Numbered):
    rows: list[EmployeeRow]
    total: int  # exact when not ``capped``
    capped: bool
    page: int
    per_page: int
    matched_badge: bool = False  # the search text is the badge of someone in ``rows``
    filters: EmployeeFilter = field(default_factory=EmployeeFilter)

    @property
    def first(self) -> int:
        return 0 if not self.rows else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return (self.page - 1) * self.per_page + len(self.rows)


def _conditions(session: Session, flt: EmployeeFilter, pepper: str) -> tuple[list, str | None]:
    conds: list = []
    digest = None
    if flt.active == "active":
        conds.append(Employee.active.is_(True))
    elif flt.active == "inactive":
        conds.append(Employee.active.is_(False))
    if flt.language:
        conds.append(Employee.language == flt.language)
    if flt.team == NO_TEAM:
        conds.append(Employee.team_id.is_(None))
    elif flt.team is not None:
        conds.append(Employee.team_id == flt.team)
    if flt.site is not None:
        conds.append(Employee.team_id.in_(select(Team.id).where(Team.site_id == flt.site)))
    q = flt.q.strip()[:MAX_QUERY_CHARS]
    if q:
        name_match = Employee.search_name.contains(fold(q), autoescape=True)
        if len(q) <= MAX_BADGE_CHARS:
            digest = badge_hash(pepper, q)
            conds.append(or_(name_match, Employee.badge_hash == digest))
        else:
            conds.append(name_match)
    return conds, digest


def _rows_query(conds: list) -> Select:
    return (
        select(Employee.id, Employee.name, Employee.team_id, Team.name, Site.name,
               Employee.language, Employee.active, Employee.is_hr_desk,
               Employee.moderation_mode, Employee.badge_hash, Employee.pin_hash.is_not(None))
        .outerjoin(Team, Team.id == Employee.team_id)
        .outerjoin(Site, Site.id == Team.site_id)
        .where(*conds)
    )


def count(session: Session, flt: EmployeeFilter, pepper: str, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many employees match, counting no further than ``cap`` (then capped is True)."""
    conds, _digest = _conditions(session, flt, pepper)
    inner = select(literal(1)).select_from(Employee).where(*conds).limit(cap + 1).subquery()
    n = session.execute(select(func.count()).select_from(inner)).scalar_one()
    return min(n, cap), n > cap


def find(session: Session, flt: EmployeeFilter, pepper: str, *, page: int = 1,
         per_page: int = DEFAULT_PER_PAGE) -> EmployeePage:
    """One page of matching employees, by name."""
    per_page = per_page if per_page in PER_PAGE_CHOICES else DEFAULT_PER_PAGE
    total, capped = count(session, flt, pepper)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    conds, digest = _conditions(session, flt, pepper)
    page_ids = (select(Employee.id).where(*conds).order_by(Employee.name, Employee.id)
                .limit(per_page).offset((page - 1) * per_page).scalar_subquery())
    result = session.execute(
        _rows_query([Employee.id.in_(page_ids)]).order_by(Employee.name, Employee.id)
    ).all()
    rows = [EmployeeRow(r[0], r[1], r[2], r[3] or "", r[4] or "", r[5], bool(r[6]), bool(r[7]),
                        r[8], r[9] is not None, bool(r[10])) for r in result]
    matched = digest is not None and any(r[9] == digest for r in result)
    return EmployeePage(rows, total, capped, page, per_page, matched, flt)


def iter_matching(session: Session, flt: EmployeeFilter, pepper: str, batch: int = 1000):
    """Every matching employee in name order, fetched in batches (for exports)."""
    conds, _digest = _conditions(session, flt, pepper)
    last: tuple[str, int] | None = None
    while True:
        query = _rows_query(conds)
        if last is not None:  # keyset: no OFFSET rescans on a long export
            query = query.where(or_(Employee.name > last[0],
                                    (Employee.name == last[0]) & (Employee.id > last[1])))
        result = session.execute(query.order_by(Employee.name, Employee.id).limit(batch)).all()
        if not result:
            return
        for r in result:
            yield EmployeeRow(r[0], r[1], r[2], r[3] or "", r[4] or "", r[5], bool(r[6]),
                              bool(r[7]), r[8], r[9] is not None, bool(r[10]))
        last = (result[-1][1], result[-1][0])


def lookup(session: Session, q: str, pepper: str, limit: int = 20,
           active_only: bool = True) -> list[EmployeeRow]:
    """A few people by name or badge, for pickers."""
    flt = EmployeeFilter(q=q, active="active" if active_only else "all")
    return find(session, flt, pepper, page=1, per_page=25).rows[:limit]


def teams_and_sites(session: Session) -> tuple[list[tuple[int, str, str]], list[tuple[int, str]]]:
    """(team id, team name, site name) and (site id, site name), for filter menus."""
    teams = session.execute(
        select(Team.id, Team.name, Site.name).join(Site, Site.id == Team.site_id)
        .order_by(Site.name, Team.name)
    ).all()
    sites = session.execute(select(Site.id, Site.name).order_by(Site.name)).all()
    return [tuple(t) for t in teams], [tuple(s) for s in sites]


def names(session: Session, ids: list[int]) -> list[tuple[int, str]]:
    """(id, name) of these employees, in the order given; ids that name nobody are left out."""
    if not ids:
        return []
    found = {i: n for i, n in session.execute(
        select(Employee.id, Employee.name).where(Employee.id.in_(ids)))}
    return [(i, found[i]) for i in ids if i in found]


def without_pin(session: Session) -> int:
    """Active employees with a badge but no PIN: who cannot badge in once every badge-in
    asks for a PIN (the settings page says how many before HR turns it on)."""
    return session.scalar(select(func.count()).select_from(Employee).where(
        Employee.active.is_(True), Employee.badge_hash.is_not(None),
        Employee.pin_hash.is_(None))) or 0
