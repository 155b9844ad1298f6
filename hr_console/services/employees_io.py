"""Employees to and from CSV files (spreadsheets).

Import is two steps: ``parse`` reads a file and checks every row against the database
without writing anything (the console shows it as a preview with each row's errors);
``run_import`` then writes the valid rows in short transactions of ``CHUNK_ROWS`` rows,
hashing PINs (slow on purpose) outside any transaction, and reports progress as it goes.

Spreadsheet formulas: a cell that starts with = + - @ (or a tab / carriage return) is
turned into text by a leading single quote, both when it is imported (so a name like
``=HYPERLINK(...)`` is stored as harmless text) and when it is exported.

Badge numbers and PINs can be imported (they are hashed at once) but are never exported:
the export only says whether one is set.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hr_console.services import audit, directory, employees
from hr_console.services.errors import ServiceError
from hr_console.services.secrets import badge_hash, hash_secret
from hr_console.store.models import Employee, Site, Team
from relais_wire.envelope import WireError, clean_text
from relais_wire.limits import MAX_BADGE_CHARS, PIN_MAX_DIGITS, PIN_MIN_DIGITS

# Full-width signs too: spreadsheets in East Asian locales read "＝1+1" as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
MAX_ROWS = 20_000
CHUNK_ROWS = 100

EXPORT_COLUMNS = ["id", "name", "team", "site", "language", "hr_desk", "moderation", "active",
                  "badge_set", "pin_set"]
IMPORT_COLUMNS = ("id", "name", "team", "site", "language", "hr_desk", "moderation", "active",
                  "badge", "pin")
EXPORT_ONLY = ("badge_set", "pin_set", "created_at")
# Headers people type in French spreadsheets.
ALIASES = {"nom": "name", "équipe": "team", "equipe": "team", "langue": "language",
           "bureau_rh": "hr_desk", "rh": "hr_desk", "modération": "moderation", "actif": "active",
           "code": "pin", "code_pin": "pin", "numéro_badge": "badge", "numero_badge": "badge"}

TRUE_WORDS = {"1", "yes", "y", "true", "oui", "o", "vrai", "x"}
FALSE_WORDS = {"0", "no", "n", "false", "non", "faux"}
INHERIT_WORDS = {"", "inherit", "hériter", "heriter", "default", "défaut", "defaut"}


def neutralise(value: str) -> str:
    """A cell a spreadsheet would run as a formula becomes text."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


# --- export ------------------------------------------------------------------------------


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def export_csv(session: Session, flt: employees.EmployeeFilter, pepper: str,
               delimiter: str = ",") -> tuple[str, int]:
    """The matching employees as CSV text (with a BOM, for spreadsheets) and their count."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=delimiter if delimiter in (",", ";") else ",",
                        lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    n = 0
    for row in employees.iter_matching(session, flt, pepper):
        n += 1
        writer.writerow([neutralise(str(v)) for v in (
            row.id, row.name, row.team, row.site, row.language, _yes(row.is_hr_desk),
            row.moderation_mode or "", _yes(row.active), _yes(row.has_badge), _yes(row.has_pin))])
    return out.getvalue(), n


# --- import: reading and checking (writes nothing) -----------------------------------------

KEEP: Any = object()  # "leave as it is" for an update


@dataclass(frozen=True)
class RowError:
    line: int  # the file's line number (the header is line 1)
    field: str
    code: str
    params: dict = field(default_factory=dict)


@dataclass
class PlannedRow:
    line: int
    action: str = "create"  # create | update
    employee_id: int | None = None
    name: str = ""
    team_id: Any = KEEP  # int | None | KEEP
    team_label: str = ""
    language: Any = KEEP
    is_hr_desk: Any = KEEP
    moderation: Any = KEEP
    active: Any = KEEP
    badge: str | None = None  # clear text until written; never shown
    pin: str | None = None
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportPlan:
    rows: list[PlannedRow] = field(default_factory=list)
    file_errors: list[RowError] = field(default_factory=list)  # nothing can be imported
    columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","
    filename: str = ""

    @property
    def valid_rows(self) -> list[PlannedRow]:
        return [] if self.file_errors else [r for r in self.rows if r.ok]

    @property
    def errors(self) -> list[RowError]:
        return self.file_errors + [e for r in self.rows for e in r.errors]

    @property
    def error_rows(self) -> int:
        return sum(1 for r in self.rows if not r.ok)

    def count(self, action: str) -> int:
        return sum(1 for r in self.valid_rows if r.action == action)

    @property
    def pins(self) -> int:
        return sum(1 for r in self.valid_rows if r.pin)


def _decode(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "windows-1252"


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _bool(value: str) -> bool | None:
    v = value.strip().lower()
    if v in TRUE_WORDS:
        return True
    if v in FALSE_WORDS:
        return False
    return None


class _Directory:
    """What the checks need from the database, read once per file."""

    def __init__(self, session: Session, pepper: str) -> None:
        self.session, self.pepper = session, pepper
        self.sites = {employees.fold(n): i for i, n in session.execute(select(Site.id, Site.name))}
        self.teams: dict[str, list[tuple[int, int, str, str]]] = {}
        for tid, tname, sid, sname in session.execute(
                select(Team.id, Team.name, Site.id, Site.name).join(Site, Site.id == Team.site_id)):
            self.teams.setdefault(employees.fold(tname), []).append((tid, sid, tname, sname))

    def employee_ids(self, ids: Iterable[int]) -> set[int]:
        ids = list(ids)
        found: set[int] = set()
        for i in range(0, len(ids), 500):
            found.update(self.session.execute(
                select(Employee.id).where(Employee.id.in_(ids[i:i + 500]))).scalars())
        return found

    def badge_owners(self, digests: Iterable[str]) -> dict[str, int]:
        digests = list(digests)
        owners: dict[str, int] = {}
        for i in range(0, len(digests), 500):
            owners.update(self.session.execute(
                select(Employee.badge_hash, Employee.id)
                .where(Employee.badge_hash.in_(digests[i:i + 500]))).all())
        return owners


def parse(session: Session, data: bytes, pepper: str, filename: str = "") -> ImportPlan:
    """Read a CSV file and check every row against the database. Writes nothing."""
    text, encoding = _decode(data)
    delimiter = _delimiter(text)
    plan = ImportPlan(encoding=encoding, delimiter=delimiter, filename=filename[:200])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        plan.file_errors.append(RowError(1, "", "empty_file"))
        return plan
    except csv.Error as exc:
        plan.file_errors.append(RowError(1, "", "bad_csv", {"detail": str(exc)}))
        return plan
    columns: list[str | None] = []
    for raw in header:
        name = raw.strip().lower().replace(" ", "_")
        name = ALIASES.get(name, name)
        if name in IMPORT_COLUMNS and name not in columns:
            columns.append(name)
        else:
            columns.append(None)
            if name not in EXPORT_ONLY and raw.strip():
                plan.ignored_columns.append(raw.strip()[:40])
    plan.columns = [c for c in columns if c]
    if "name" not in plan.columns:
        plan.file_errors.append(RowError(1, "name", "no_name_column"))
        return plan
    raw_rows: list[tuple[int, dict[str, str]]] = []
    end = reader.line_num
    try:
        for cells in reader:
            line, end = end + 1, reader.line_num  # where the row starts (a cell may span lines)
            if not any(c.strip() for c in cells):
                continue
            if len(raw_rows) >= MAX_ROWS:
                plan.file_errors.append(RowError(line, "", "too_many_rows", {"max": MAX_ROWS}))
                return plan
            raw_rows.append((line, {c: cells[i] if i < len(cells) else ""
                                    for i, c in enumerate(columns) if c}))
    except csv.Error as exc:
        plan.file_errors.append(RowError(reader.line_num, "", "bad_csv", {"detail": str(exc)}))
        return plan
    d = _Directory(session, pepper)
    plan.rows = [_check_row(line, cells, d) for line, cells in raw_rows]
    _check_across_rows(plan, d)
    return plan


def _text(row: PlannedRow, field_name: str, value: str, max_chars: int) -> str | None:
    try:
        return clean_text(value, field_name, max_chars)
    except WireError as exc:
        row.errors.append(RowError(row.line, field_name, exc.code, {"max": max_chars}))
        return None


def _check_row(line: int, cells: dict[str, str], d: _Directory) -> PlannedRow:
    row = PlannedRow(line)
    raw_id = cells.get("id", "").strip()
    if raw_id:
        if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 12:
            row.action, row.employee_id = "update", int(raw_id)
        else:
            row.errors.append(RowError(line, "id", "bad_id"))
    name = neutralise(cells.get("name", "").strip())
    if not name:
        row.errors.append(RowError(line, "name", "required"))
    else:
        row.name = _text(row, "name", name, 120) or ""
    if "team" in cells:
        _check_team(row, cells["team"].strip(), cells.get("site", "").strip(), d)
    elif cells.get("site", "").strip():
        row.errors.append(RowError(line, "site", "site_without_team"))
    for key in ("hr_desk", "active"):
        if key in cells and cells[key].strip():
            value = _bool(cells[key])
            if value is None:
                row.errors.append(RowError(line, key, "bad_bool", {"value": cells[key].strip()[:40]}))
            elif key == "hr_desk":
                row.is_hr_desk = value
            else:
                row.active = value
    if "language" in cells and cells["language"].strip():
        lang = cells["language"].strip().lower()[:2]
        if cells["language"].strip().lower() in ("fr", "en", "français", "francais", "french",
                                                  "english", "anglais"):
            row.language = "en" if lang in ("en", "an") else "fr"
        else:
            row.errors.append(RowError(line, "language", "bad_language",
                                       {"value": cells["language"].strip()[:40]}))
    if "moderation" in cells:
        mode = cells["moderation"].strip().lower()
        if mode in INHERIT_WORDS:
            row.moderation = None
        elif mode in directory.MODERATION_MODES:
            row.moderation = mode
        elif mode in ("avant", "après", "apres", "aucune"):
            row.moderation = {"avant": "pre", "après": "post", "apres": "post"}.get(mode, "none")
        else:
            row.errors.append(RowError(line, "moderation", "bad_moderation",
                                       {"value": cells["moderation"].strip()[:40]}))
    badge = cells.get("badge", "").strip()
    if badge and _text(row, "badge", badge, MAX_BADGE_CHARS) is not None:
        row.badge = badge
    pin = cells.get("pin", "").strip()
    if pin:
        if pin.isascii() and pin.isdigit() and PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS:
            row.pin = pin
        else:
            row.errors.append(RowError(line, "pin", "bad_pin",
                                       {"min": PIN_MIN_DIGITS, "max": PIN_MAX_DIGITS}))
    if row.action == "create":  # what an absent cell means for a new person
        for attr, default in (("team_id", None), ("language", "fr"), ("is_hr_desk", False),
                              ("moderation", None), ("active", True)):
            if getattr(row, attr) is KEEP:
                setattr(row, attr, default)
    return row


def _check_team(row: PlannedRow, team: str, site: str, d: _Directory) -> None:
    if not team:
        if site:
            row.errors.append(RowError(row.line, "site", "site_without_team"))
        row.team_id = None  # an empty team cell: no team
        return
    candidates = d.teams.get(employees.fold(team), [])
    if site:
        site_id = d.sites.get(employees.fold(site))
        if site_id is None:
            row.errors.append(RowError(row.line, "site", "unknown_site", {"site": site[:80]}))
            return
        candidates = [c for c in candidates if c[1] == site_id]
    if not candidates:
        row.errors.append(RowError(row.line, "team", "unknown_team", {"team": team[:80]}))
    elif len(candidates) > 1:
        row.errors.append(RowError(row.line, "team", "ambiguous_team", {
            "team": team[:80], "sites": ", ".join(sorted(c[3] for c in candidates))}))
    else:
        row.team_id = candidates[0][0]
        row.team_label = f"{candidates[0][2]} ({candidates[0][3]})"


def _check_across_rows(plan: ImportPlan, d: _Directory) -> None:
    seen_ids: dict[int, int] = {}
    for row in plan.rows:
        if row.employee_id is None:
            continue
        if row.employee_id in seen_ids:
            row.errors.append(RowError(row.line, "id", "duplicate_id",
                                       {"line": seen_ids[row.employee_id]}))
        else:
            seen_ids[row.employee_id] = row.line
    existing = d.employee_ids(seen_ids)
    for row in plan.rows:
        if row.employee_id is not None and row.employee_id not in existing:
            row.errors.append(RowError(row.line, "id", "unknown_id", {"id": row.employee_id}))
    digests = {r.line: badge_hash(d.pepper, r.badge) for r in plan.rows if r.badge}
    owners = d.badge_owners(set(digests.values()))
    first_line: dict[str, int] = {}
    for row in plan.rows:
        digest = digests.get(row.line)
        if digest is None:
            continue
        if digest in first_line:
            row.errors.append(RowError(row.line, "badge", "badge_duplicate",
                                       {"line": first_line[digest]}))
            continue
        first_line[digest] = row.line
        owner = owners.get(digest)
        if owner is not None and owner != row.employee_id:
            row.errors.append(RowError(row.line, "badge", "badge_taken"))


# --- import: writing ---------------------------------------------------------------------


@dataclass
class ImportResult:
    total: int = 0  # rows to write
    done: int = 0  # rows handled (written, unchanged or skipped)
    pins_total: int = 0
    pins_hashed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)  # rows skipped at write time
    stopped_at: int | None = None  # the line a failure stopped the import at
    failure: str = ""
    finished: bool = False

    @property
    def progress(self) -> float:
        """0..1, over the slow PIN hashing and the writing."""
        units = self.total + self.pins_total
        return 1.0 if not units else (self.done + self.pins_hashed) / units


def _write_row(s: Session, row: PlannedRow, pin_hash: str | None, pepper: str,
               actor: str) -> str:
    team_row = s.get(Team, row.team_id) if isinstance(row.team_id, int) else None
    if isinstance(row.team_id, int) and team_row is None:
        raise ServiceError("unknown_team", "The team no longer exists.", field="team")
    if row.action == "create":
        directory.employee(s, row.name, pepper=pepper, team_row=team_row, badge=row.badge,
                           language=row.language, is_hr_desk=row.is_hr_desk,
                           moderation_mode=row.moderation, active=row.active, pin_hash=pin_hash,
                           actor=actor, via="import")
        return "created"
    emp = s.get(Employee, row.employee_id)
    if emp is None:
        raise ServiceError("unknown_id", "The employee no longer exists.", field="id")
    changed = bool(directory.update_employee(
        s, emp, name=row.name,
        team_row=emp.team if row.team_id is KEEP else team_row,
        language=emp.language if row.language is KEEP else row.language,
        is_hr_desk=emp.is_hr_desk if row.is_hr_desk is KEEP else row.is_hr_desk,
        moderation_mode=emp.moderation_mode if row.moderation is KEEP else row.moderation,
        actor=actor))
    if row.badge and emp.badge_hash != badge_hash(pepper, row.badge):
        directory.set_badge(s, emp, row.badge, pepper=pepper, actor=actor)
        changed = True
    if pin_hash:
        directory.set_pin(s, emp, None, actor, pin_hash=pin_hash)
        changed = True
    if row.active is not KEEP and directory.set_employee_active(s, emp, row.active, actor):
        changed = True
    return "updated" if changed else "unchanged"


def run_import(open_session: Callable[[], AbstractContextManager[Session]], plan: ImportPlan,
               pepper: str, actor: str, result: ImportResult | None = None,
               on_progress: Callable[[ImportResult], None] | None = None) -> ImportResult:
    """Write the plan's valid rows, ``CHUNK_ROWS`` per transaction. Rows that became
    invalid since the preview (a badge taken meanwhile...) are skipped and reported; an
    unexpected failure stops the import, keeping the chunks already committed."""
    rows = plan.valid_rows
    result = result or ImportResult()
    result.total, result.pins_total = len(rows), sum(1 for r in rows if r.pin)

    def tick() -> None:
        if on_progress:
            on_progress(result)

    try:
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = rows[start:start + CHUNK_ROWS]
            hashes = {}
            for row in chunk:  # slow on purpose, and outside any transaction
                if row.pin:
                    hashes[row.line] = hash_secret(row.pin)
                    result.pins_hashed += 1
                    tick()
            skipped: list[RowError] = []
            outcome = {"created": 0, "updated": 0, "unchanged": 0}
            try:
                with open_session() as s:
                    for row in chunk:
                        try:
                            with s.begin_nested():
                                outcome[_write_row(s, row, hashes.get(row.line), pepper, actor)] += 1
                        except ServiceError as exc:
                            skipped.append(RowError(row.line, str(exc.detail.get("field", "")),
                                                    exc.code, {}))
            except Exception as exc:  # this chunk is rolled back as a whole
                result.stopped_at, result.failure = chunk[0].line, type(exc).__name__
                break
            result.created += outcome["created"]
            result.updated += outcome["updated"]
            result.unchanged += outcome["unchanged"]
            result.errors.extend(skipped)
            result.done += len(chunk)
            tick()
    finally:
        with open_session() as s:
            audit.record(s, actor, "employee.import", None, file=plan.filename,
                         rows=result.total, created=result.created, updated=result.updated,
                         unchanged=result.unchanged, skipped=len(result.errors),
                         stopped_at=result.stopped_at, failure=result.failure or None)
        result.finished = True
        tick()
    return result
