"""Whether a person is on shift at an instant: their team's shifts read in the site's time
zone, with a grace period before the start and after the end. Pure: the clock, the zone and
the shifts are given (``services.shifts`` reads them), so the rules are tested alone.

A shift is days of the week and a start and end wall time. An end at or before the start is
a night shift that ends the next day and belongs to the day it starts ("sun,mon" 22:00 to
06:00 covers Sunday night into Monday, and Monday night into Tuesday). Wall times are turned
into instants on their own date with ``zoneinfo``, so on a daylight-saving change day a
22:00 to 06:00 shift lasts 7 or 9 real hours and still ends at 06:00 on the clock. A wall
time the clock skips (02:30 on the spring change day in Paris) is read with the offset of
before the change (03:30 summer time); one it shows twice (02:30 in autumn) opens a window
at its first occurrence and closes it at its second: never shorter than the clock says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 8  # how far ahead the next shift is looked for (a week and the night before)


@dataclass(frozen=True)
class ShiftTimes:
    """One shift as the rules need it: weekdays (0 = Monday) and wall times."""

    days: frozenset[int]
    start: dt.time
    end: dt.time

    @classmethod
    def of(cls, days: str, start: dt.time, end: dt.time) -> ShiftTimes:
        """From the database's ``"mon,tue,..."`` (unknown words ignored: they name no day)."""
        names = {d.strip().lower() for d in (days or "").split(",")}
        return cls(frozenset(i for i, d in enumerate(DAYS) if d in names), start, end)


@dataclass(frozen=True)
class Window:
    """One occurrence of a shift, as instants in UTC: ``start``/``end`` are the shift's own,
    ``opens``/``closes`` with the grace period around them."""

    start: dt.datetime
    end: dt.datetime
    opens: dt.datetime
    closes: dt.datetime

    def holds(self, now: dt.datetime) -> bool:
        return self.opens <= now < self.closes


@dataclass(frozen=True)
class Status:
    """A person's shift state at an instant.

    ``scheduled``: their team has at least one shift; someone with none (an office, the HR
    desk, no team) is never *off* shift: on-shift-only rules and the off-shift notice are
    for people who work shifts. ``next_start``: when their next shift starts (local, aware),
    for "you can write from 06:00", None on shift or when none comes within the horizon."""

    scheduled: bool
    on_shift: bool
    next_start: dt.datetime | None = None

    @property
    def off_shift(self) -> bool:
        return self.scheduled and not self.on_shift


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("an instant must be aware (UTC or a zone)")
    return value.astimezone(dt.UTC)


def _at(day: dt.date, wall: dt.time, zone: ZoneInfo, *, last: bool = False) -> dt.datetime:
    """The instant of a wall time: its first occurrence, or with ``last`` its last one (they
    differ only in the hour the clock shows twice); a skipped time reads as after the jump."""
    local = dt.datetime.combine(day, wall, tzinfo=zone)
    first = local.astimezone(dt.UTC)
    return max(first, local.replace(fold=1).astimezone(dt.UTC)) if last else first


def windows(shifts: Iterable[ShiftTimes], zone: ZoneInfo, first: dt.date, last: dt.date,
            grace: dt.timedelta) -> Iterator[Window]:
    """Every occurrence of ``shifts`` that starts on a local date from ``first`` to ``last``."""
    shifts = list(shifts)
    day = first
    while day <= last:
        for sh in shifts:
            if day.weekday() not in sh.days:
                continue
            start = _at(day, sh.start, zone)
            end_day = day if sh.end > sh.start else day + dt.timedelta(days=1)
            end = _at(end_day, sh.end, zone, last=True)
            if end <= start:  # only where a skipped hour swallowed a very short shift
                continue
            yield Window(start, end, start - grace, end + grace)
        day += dt.timedelta(days=1)


def status(shifts: Iterable[ShiftTimes], zone: ZoneInfo, now: dt.datetime,
           grace: dt.timedelta) -> Status:
    """Whether someone with these shifts is on shift at ``now`` (aware), and if not, when
    their next shift starts (in ``zone``)."""
    shifts = [s for s in shifts if s.days]
    if not shifts:
        return Status(scheduled=False, on_shift=False)
    now = _utc(now)
    today = now.astimezone(zone).date()
    # Yesterday's night shift may still run; a grace period longer than a day is refused
    # by the settings, so two days back is always enough.
    found = list(windows(shifts, zone, today - dt.timedelta(days=2),
                         today + dt.timedelta(days=HORIZON_DAYS), grace))
    if any(w.holds(now) for w in found):
        return Status(scheduled=True, on_shift=True)
    upcoming = [w for w in found if w.opens > now]
    if not upcoming:
        return Status(scheduled=True, on_shift=False)
    nxt = min(upcoming, key=lambda w: w.opens)
    return Status(scheduled=True, on_shift=False, next_start=nxt.start.astimezone(zone))


def opening_words(start: dt.datetime | None, now: dt.datetime) -> tuple[str, str]:
    """("06:00", "") when the next shift starts on the local day of ``now``, else ("06:00",
    "tue"): what the kiosk turns into "from 06:00" or "from Tuesday 06:00". ("", "") when
    none is known."""
    if start is None:
        return "", ""
    local_now = _utc(now).astimezone(start.tzinfo)
    day = "" if start.date() == local_now.date() else DAYS[start.weekday()]
    return start.strftime("%H:%M"), day
