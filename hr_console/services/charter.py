"""The messaging charter: HR publishes versions in the console, each worker accepts the
version in force at a terminal before using it, and the console, the works council report
and a person's access-request export read who accepted what.

- ``publish``: a new version (the four sections of ``domain.charter`` in French and
  English, all required), audited ``charter.published``; versions are never edited.
- ``for_sync``: what a badge-in's sync tells the kiosk: the version in force in the
  person's language and whether they accepted it (the kiosk's gate), and the facts of the
  "How my messages are handled" screen (moderation, retention), charter or not.
- ``accept``: the relay records one acceptance per person and version, audited
  ``charter.accepted`` once (the kiosk's outbox may resend it).
- ``versions`` / ``accepted_by`` / ``pending`` / ``rate``: counts in grouped queries, never
  a loop over employees.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hr_console.domain import charter as rules
from hr_console.services import audit, settings
from hr_console.services.errors import Invalid
from hr_console.services.paging import Numbered
from hr_console.store.db import batch_cache
from hr_console.store.models import (
    BadgeSession,
    CharterAcceptance,
    CharterVersion,
    Employee,
    Team,
    Terminal,
    utcnow,
)
from relais_wire import limits

PUBLISHED = "charter.published"
ACCEPTED = "charter.accepted"
_MISSING = object()


def target(version: int) -> str:
    return f"charter:{version}"


def current(session: Session) -> CharterVersion | None:
    """The version in force: the last published. Read once per relay batch."""
    cache = batch_cache(session)
    if cache is not None and cache.get("charter", _MISSING) is not _MISSING:
        return cache["charter"]
    row = session.execute(select(CharterVersion).order_by(CharterVersion.version.desc())
                          .limit(1)).scalar_one_or_none()
    if cache is not None:
        cache["charter"] = row
    return row


def draft(session: Session) -> dict[str, dict[str, str]]:
    """What the console's form starts from: the version in force, else a first text with
    this installation's retention and moderation filled in."""
    now = current(session)
    if now is not None:
        return {lang: dict(now.texts.get(lang) or {}) for lang in rules.LANGUAGES}
    return rules.starting_text(int(settings.get(session, "retention_days")),
                               str(settings.get(session, "default_moderation")))


def publish(session: Session, texts: dict[str, dict[str, str]], *, actor: str
            ) -> CharterVersion:
    """Publish a new version; checked whole before anything is written. The same text as
    the version in force is refused (``unchanged``): it would ask everyone again for
    nothing."""
    clean, problems = rules.cleaned(texts)
    if problems:
        first = problems[0]
        raise Invalid(first.code, "Every section of the charter is required, in French and "
                      "in English, in at most "
                      f"{limits.MAX_CHARTER_SECTION_CHARS} characters.",
                      field=first.field, fields={p.field: p.code for p in problems})
    before = current(session)
    if before is not None and before.texts == clean:
        raise Invalid("unchanged", "This text is the version in force already.")
    row = CharterVersion(version=(before.version + 1) if before else 1, texts=clean,
                         published_by=actor, published_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, actor, PUBLISHED, target(row.version), version=row.version,
                 replaces=before.version if before else None)
    return row


def for_sync(session: Session, employee_id: int, language: str) -> dict[str, Any]:
    """The sync's ``me.charter`` (when one is published) and ``me.handling``: the text in
    the person's language, and whether and when they accepted this version."""
    out: dict[str, Any] = {"handling": {
        "moderation": settings.get(session, "default_moderation"),
        "retention_days": settings.get(session, "retention_days"),
        "media_held": bool(settings.get(session, "media_always_held"))}}
    now = current(session)
    if now is None:
        return out
    accepted = session.scalar(select(CharterAcceptance.accepted_at).where(
        CharterAcceptance.charter_id == now.id, CharterAcceptance.employee_id == employee_id))
    out["charter"] = {"version": now.version, "sections": rules.in_language(now.texts, language),
                      "published": now.published_at.date().isoformat(),
                      "accepted": accepted is not None,
                      **({"accepted_at": accepted.isoformat(timespec="minutes")}
                         if accepted is not None else {})}
    return out


def accept(session: Session, terminal: Terminal, row: BadgeSession, version: int,
           client_id: str) -> bool:
    """The person badged in on ``row`` accepted ``version`` (the one their kiosk showed,
    even if HR has published another since: they accepted that text, and their next sync
    asks for the new one). False when already recorded; unknown versions are refused."""
    found = session.execute(select(CharterVersion).where(CharterVersion.version == version)
                            ).scalar_one_or_none()
    if found is None:
        raise Invalid("unknown_charter", "No charter has this version.", version=version)
    mine = (CharterAcceptance.charter_id == found.id,
            CharterAcceptance.employee_id == row.employee_id)
    if session.scalar(select(CharterAcceptance.id).where(*mine)) is not None:
        return False
    try:
        with session.begin_nested():  # another relay may record the same resend at once
            session.add(CharterAcceptance(charter_id=found.id, employee_id=row.employee_id,
                                          terminal=terminal.name, accepted_at=utcnow()))
    except IntegrityError:
        return False
    audit.record(session, f"employee:{row.employee_id}", ACCEPTED, target(version),
                 chain=audit.terminal_chain(terminal.id),
                 terminal=terminal.name, employee=row.employee_id, version=version,
                 uplink=client_id)
    return True


# --- the console's and the reports' readings ------------------------------------------------


def _expected(site_id: int | None = None) -> Any:
    """The people a charter speaks to: active employees (of one site), not the HR desk."""
    cond = and_(Employee.active.is_(True), Employee.is_hr_desk.is_(False))
    if site_id is not None:
        cond = and_(cond, Employee.team_id.in_(select(Team.id).where(Team.site_id == site_id)))
    return cond


@dataclass(frozen=True)
class VersionRow:
    version: int
    published_at: dt.datetime
    published_by: str
    accepted: int  # people who accepted it (including people who have left since)


def versions(session: Session) -> tuple[list[VersionRow], int]:
    """Every version, newest first, with its acceptance count (one grouped query), and how
    many people the version in force speaks to."""
    counts = dict(session.execute(select(CharterAcceptance.charter_id, func.count())
                                  .group_by(CharterAcceptance.charter_id)).all())
    rows = session.execute(select(CharterVersion).order_by(CharterVersion.version.desc())
                           ).scalars().all()
    expected = session.scalar(select(func.count()).select_from(Employee).where(_expected())) or 0
    return [VersionRow(r.version, r.published_at, r.published_by, int(counts.get(r.id, 0)))
            for r in rows], expected


def version(session: Session, number: int) -> CharterVersion | None:
    return session.execute(select(CharterVersion).where(CharterVersion.version == number)
                           ).scalar_one_or_none()


@dataclass(frozen=True)
class Acceptance:
    version: int
    accepted_at: dt.datetime
    terminal: str
    in_force: bool  # the version in force now


def accepted_by(session: Session, employee_id: int) -> list[Acceptance]:
    """What one person accepted, newest first (their page, their export)."""
    now = current(session)
    rows = session.execute(
        select(CharterVersion.version, CharterAcceptance.accepted_at, CharterAcceptance.terminal)
        .join(CharterVersion, CharterVersion.id == CharterAcceptance.charter_id)
        .where(CharterAcceptance.employee_id == employee_id)
        .order_by(CharterVersion.version.desc())).all()
    return [Acceptance(v, at, term, now is not None and v == now.version)
            for v, at, term in rows]


@dataclass(frozen=True)
class Pending(Numbered):
    people: list[tuple[int, str]]  # (id, name)
    total: int
    page: int
    per_page: int


def pending(session: Session, number: int, page: int = 1, per_page: int = 50) -> Pending:
    """The people who have not accepted version ``number``, by name, a page at a time
    (``NOT EXISTS`` on the acceptance's unique index, not a list in Python)."""
    found = version(session, number)
    if found is None:
        return Pending([], 0, 1, per_page)
    missing = and_(_expected(), ~exists().where(CharterAcceptance.charter_id == found.id,
                                                CharterAcceptance.employee_id == Employee.id))
    total = session.scalar(select(func.count()).select_from(Employee).where(missing)) or 0
    page = max(1, page)
    people = session.execute(select(Employee.id, Employee.name).where(missing)
                             .order_by(Employee.name, Employee.id)
                             .offset((page - 1) * per_page).limit(per_page)).all()
    return Pending([(i, n) for i, n in people], total, page, per_page)


def rate(session: Session, at: dt.datetime, site_id: int | None = None
         ) -> tuple[int, int] | None:
    """(accepted, expected) for the version in force at ``at`` (naive UTC): the people
    (of one site) who accepted it before ``at``, over the people it speaks to now. None
    when no charter was in force then."""
    found = session.execute(select(CharterVersion).where(CharterVersion.published_at < at)
                            .order_by(CharterVersion.version.desc()).limit(1)
                            ).scalar_one_or_none()
    if found is None:
        return None
    scope = _expected(site_id)
    expected = session.scalar(select(func.count()).select_from(Employee).where(scope)) or 0
    accepted = session.scalar(
        select(func.count()).select_from(CharterAcceptance)
        .join(Employee, Employee.id == CharterAcceptance.employee_id)
        .where(scope, CharterAcceptance.charter_id == found.id,
               CharterAcceptance.accepted_at < at)) or 0
    return int(accepted), int(expected)
