"""People's shift state for the relay: their team's shifts and their site's time zone read in
one indexed query, judged by ``domain.shifts``, once per person per relay batch.

``now`` is the clock every shift decision reads: a seam tests replace to cross a shift's
start without sleeping (tests/e2e/test_off_shift.py). The installation's zone (``timezone``
in relais.toml) is where a site without its own zone reads its shifts; the relay sets it at
start (``use_zone``)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hr_console.domain.shifts import ShiftTimes, Status, opening_words, status
from hr_console.services import audit, settings
from hr_console.store.db import batch_cache
from hr_console.store.models import AuditEntry, BadgeSession, Employee, Shift, Site, Team, Terminal

GRACE_MAX_MINUTES = 240  # the domain looks two days back: any grace below a day is safe
NOTICE_ACTION = "shift.off_shift_accepted"
_zone_name = "Europe/Paris"  # hr_console.config.Settings.timezone's default


def now() -> dt.datetime:
    """The instant shift decisions are taken at (aware, UTC)."""
    return dt.datetime.now(dt.UTC)


def use_zone(name: str) -> None:
    """The installation's zone, for sites without their own (the relay calls it at start)."""
    global _zone_name
    zone(name)  # a bad name fails here, at start, not at a badge-in
    _zone_name = name


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def valid_zone(name: str) -> bool:
    """Whether ``name`` is a time zone zoneinfo knows (``Europe/Paris``), for the forms."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _site_zone(name: str | None) -> ZoneInfo:
    try:
        return zone(name) if name else zone(_zone_name)
    except (ZoneInfoNotFoundError, ValueError):  # a zone removed from tzdata since it was set
        return zone(_zone_name)


# One person's team's shifts and their site's zone: employee, team and site by primary key,
# shifts by their team (ix_shifts_team_id).
_SHIFTS_OF = (
    select(Employee.id, Site.timezone, Shift.days, Shift.start_time, Shift.end_time)
    .join(Team, Team.id == Employee.team_id)
    .join(Site, Site.id == Team.site_id)
    .outerjoin(Shift, Shift.team_id == Team.id)
    .where(Employee.id.in_(bindparam("ids", expanding=True))))


def statuses(session: Session, *employee_ids: int, at: dt.datetime | None = None
             ) -> dict[int, Status]:
    """Each person's shift state at ``at`` (default: ``now()``), in one query; cached for
    the relay's batch, so a batch reads a sender's shifts once whatever they send."""
    cache = batch_cache(session)
    known: dict[int, Status] = cache.setdefault("shift_status", {}) \
        if cache is not None and at is None else {}
    missing = [i for i in dict.fromkeys(employee_ids) if i not in known]
    if missing:
        when = at or now()
        grace = dt.timedelta(minutes=int(settings.get(session, "shift_grace_minutes") or 0))
        found: dict[int, tuple[str | None, list[ShiftTimes]]] = {}
        for emp, tz, days, start, end in session.execute(_SHIFTS_OF, {"ids": missing}):
            entry = found.setdefault(emp, (tz, []))
            if days is not None:
                entry[1].append(ShiftTimes.of(days, start, end))
        for emp in missing:
            tz, times = found.get(emp, (None, []))
            known[emp] = status(times, _site_zone(tz), when, grace)
    return {i: known[i] for i in employee_ids if i in known}


def status_of(session: Session, employee_id: int) -> Status:
    return statuses(session, employee_id)[employee_id]


def opening(state: Status) -> dict[str, str]:
    """``{"from": "06:00"}`` (and ``"from_day": "tue"`` when it is not today): when an
    off-shift person may write again, as the kiosk says it. Empty when unknown."""
    hhmm, day = opening_words(state.next_start, now())
    if not hhmm:
        return {}
    return {"from": hhmm, **({"from_day": day} if day else {})}


def notice_text(session: Session, language: str) -> str:
    """The off-shift notice in the person's language (French when it has no such text)."""
    words = settings.get(session, "off_shift_notice_text") or {}
    default = settings.DEFAULTS["off_shift_notice_text"]
    return str(words.get(language) or words.get("fr") or default.get(language)
               or default["fr"])


def for_sync(session: Session, employee_id: int, language: str, state: Status | None
             ) -> dict[str, Any]:
    """What the sync's ``me`` says about shifts: ``off_shift`` (and when the next shift
    starts) for someone outside theirs, and the notice to accept when HR turned it on."""
    if state is None or not state.off_shift:
        return {}
    out: dict[str, Any] = {"off_shift": True, **opening(state)}
    if settings.get(session, "off_shift_notice"):
        out["off_shift_notice"] = notice_text(session, language)
    return out


def accepted_notice(session: Session, terminal: Terminal, row: BadgeSession, client_id: str
                    ) -> bool:
    """The person badged in on ``row`` read the off-shift notice and went on: audited once
    per badge session (the kiosk's outbox may send it again). False when already recorded.
    The look-up is bounded by the session's start (audit_log's ``ts`` index), not the log's
    size."""
    target = f"badge_session:{row.id}"
    seen = session.execute(
        select(AuditEntry.id).where(AuditEntry.ts >= row.started_at,
                                    AuditEntry.action == NOTICE_ACTION,
                                    AuditEntry.target == target).limit(1)).first()
    if seen is not None:
        return False
    state = status_of(session, row.employee_id)
    audit.record(session, f"employee:{row.employee_id}", NOTICE_ACTION, target,
                 chain=audit.terminal_chain(terminal.id),
                 terminal=terminal.name, employee=row.employee_id, uplink=client_id,
                 off_shift=state.off_shift,
                 next_start=state.next_start.isoformat(timespec="minutes") if state.next_start
                 else None)
    return True
