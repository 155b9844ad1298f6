"""Reading the audit log: filters, pages and a CSV export safe to open in a spreadsheet.

The export is itself audited by the caller (``audit.export``), in the same unit of work.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from hr_console.services.paging import Numbered
from hr_console.store.models import AuditEntry, ConsoleUser

# Full-width signs too: spreadsheets in East Asian locales read "＝1+1" as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
EXPORT_MAX_ROWS = 200_000


@dataclass(frozen=True)
class Filters:
    actor: str = ""
    action: str = ""
    target: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive

    def as_detail(self) -> dict[str, str]:
        out = {k: v for k, v in (("actor", self.actor), ("action", self.action),
                                 ("target", self.target)) if v}
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        return out


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(stmt: Select, f: Filters) -> Select:
    if f.actor:
        stmt = stmt.where(AuditEntry.actor == f.actor)
    if f.action:
        stmt = stmt.where(AuditEntry.action == f.action)
    if f.target:
        stmt = stmt.where(AuditEntry.target.ilike(_like(f.target), escape="\\"))
    if f.date_from:
        stmt = stmt.where(AuditEntry.ts >= dt.datetime.combine(f.date_from, dt.time()))
    if f.date_to:
        stmt = stmt.where(AuditEntry.ts < dt.datetime.combine(f.date_to + dt.timedelta(days=1),
                                                              dt.time()))
    return stmt


@dataclass(frozen=True)
class AuditPage(Numbered):
    entries: list[AuditEntry]
    total: int
    page: int
    per_page: int


def search(session: Session, f: Filters, *, page: int = 1, per_page: int = 50) -> AuditPage:
    page = max(1, page)
    total = session.scalar(_filtered(select(func.count()).select_from(AuditEntry), f)) or 0
    entries = session.execute(
        _filtered(select(AuditEntry), f).order_by(AuditEntry.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ).scalars().all()
    return AuditPage(list(entries), total, page, per_page)


# Actors the console suggests besides its users: the command line. Employees and terminals
# act too (``employee:<id>``, ``terminal:<name>``), tens of thousands of them in a large
# organisation: typed, or picked from a row of the log, never listed.
OTHER_ACTORS = ("cli",)


def choices(session: Session) -> tuple[list[str], list[str]]:
    """Actors to suggest (the console's users and the command line) and the actions present
    in the log, for the filter menus. Neither reads the whole log: a DISTINCT over it cost
    103 ms at 150,000 entries and grows with it; the actions are found by one index seek
    each (a recursive query stepping from one action to the next)."""
    users = session.scalars(select(ConsoleUser.username)).all()
    step = select(func.min(AuditEntry.action).label("action")).cte("actions", recursive=True)
    step = step.union_all(
        select(select(func.min(AuditEntry.action)).where(AuditEntry.action > step.c.action)
               .scalar_subquery()).where(step.c.action.is_not(None)))
    actions = session.scalars(select(step.c.action).where(step.c.action.is_not(None))
                              .order_by(step.c.action)).all()
    return sorted({*users, *OTHER_ACTORS}), list(actions)


def neutralise(value: object) -> str:
    """A cell a spreadsheet shows as text: anything that could start a formula gets a quote."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


CSV_HEADER = ("id", "ts_utc", "actor", "action", "target", "detail", "hash")


def export_rows(session: Session, f: Filters) -> Iterator[tuple[str, ...]]:
    stmt = _filtered(select(AuditEntry), f).order_by(AuditEntry.id).limit(EXPORT_MAX_ROWS)
    for e in session.execute(stmt.execution_options(yield_per=1000)).scalars():
        detail = json.dumps(e.detail, ensure_ascii=False, sort_keys=True, default=str) if e.detail else ""
        yield tuple(neutralise(v) for v in (e.id, e.ts.isoformat(timespec="seconds"), e.actor,
                                             e.action, e.target, detail, e.hash))


def export_csv(session: Session, f: Filters) -> tuple[str, int]:
    """The filtered log as CSV text (with a header) and the number of rows."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    count = 0
    for row in export_rows(session, f):
        writer.writerow(row)
        count += 1
    return buf.getvalue(), count
