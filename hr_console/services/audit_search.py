"""Reading the audit log: filters, pages and a CSV export safe to open in a spreadsheet.

The export is itself audited by the caller (``audit.export``) before any of it is sent: its
size is fixed first (``plan_export``), then its rows are read a chunk at a time while they
are sent (``export_chunks``), so that a works council's request for years of a large
organisation's log is neither cut short nor held in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from hr_console.services.paging import Numbered
from hr_console.store.models import AuditEntry, ConsoleUser

# Full-width signs too: spreadsheets in East Asian locales read "＝1+1" as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Entries read per transaction while an export is sent: memory stays flat whatever the
# log's size, and no transaction stays open while a slow client downloads.
EXPORT_CHUNK = 5_000


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


@dataclass(frozen=True)
class ExportPlan:
    """What an export will hold, fixed before it is audited and sent: the matching entries
    up to the log's last one at that moment (``upto``), ``rows`` of them."""

    rows: int
    upto: int


def plan_export(session: Session, f: Filters) -> ExportPlan:
    upto = session.scalar(select(func.max(AuditEntry.id))) or 0
    rows = session.scalar(_filtered(select(func.count()).select_from(AuditEntry), f)
                          .where(AuditEntry.id <= upto)) or 0
    return ExportPlan(rows, upto)


_EXPORTED = (AuditEntry.id, AuditEntry.ts, AuditEntry.actor, AuditEntry.action,
             AuditEntry.target, AuditEntry.detail, AuditEntry.hash)


def _cells(row: Sequence[Any]) -> tuple[str, ...]:
    entry_id, ts, actor, action, target, detail, digest = row
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail else ""
    return tuple(neutralise(v) for v in (entry_id, ts.isoformat(timespec="seconds"), actor,
                                         action, target, text, digest))


def _csv_text(rows: list[tuple[str, ...]]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def export_chunks(sessions: Callable[[], AbstractContextManager[Session]], f: Filters,
                  plan: ExportPlan) -> Iterator[str]:
    """The export as CSV text (a BOM for spreadsheets, the header, then the entries in the
    log's order), ``EXPORT_CHUNK`` entries per short transaction of ``sessions()``, walking
    the ids: an entry written while it is sent is not in it, as ``plan`` said."""
    yield "\ufeff" + _csv_text([CSV_HEADER])
    after = 0
    while after < plan.upto:
        with sessions() as s:
            rows = s.execute(_filtered(select(*_EXPORTED), f)
                             .where(AuditEntry.id > after, AuditEntry.id <= plan.upto)
                             .order_by(AuditEntry.id).limit(EXPORT_CHUNK)).tuples().all()
            cells = [_cells(row) for row in rows]
        if cells:
            yield _csv_text(cells)
        if len(rows) < EXPORT_CHUNK:
            return
        after = rows[-1][0]
