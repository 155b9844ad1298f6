"""The works council's report: which groups may be named, and which month is meant.

Pure rules, so the disclosure policy is tested in milliseconds and stays apart from the SQL
that counts (services.council_report). The report names no person; it names a team (or a
reason given to a team, or a keyword) only when at least ``minimum`` distinct people stand
behind the figure, so no small group can be singled out (docs/works-council-report.md).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Hashable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

MIN_PEOPLE = 5  # the smallest group a figure may be shown for; a report may ask for more
MAX_PEOPLE = 1000

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def shown(people: Mapping[K, int], minimum: int, *,
          eligible: set[K] | None = None) -> set[K]:
    """The keys whose figures may be shown by name; the others are pooled as "other".

    A key is shown when its group has at least ``minimum`` people (and it is ``eligible``,
    when given). The people of different keys must be distinct (a person is in one team),
    so the pool's size is their sum. A pool of one to ``minimum - 1`` people would be
    given away by subtraction (the total minus the named groups), so the smallest named
    groups join it until it is large enough, or everything is pooled."""
    keep = {k for k, n in people.items()
            if n >= minimum and (eligible is None or k in eligible)}
    pool = sum(n for k, n in people.items() if k not in keep)
    by_size = sorted(keep, key=lambda k: (people[k], str(k)))
    while 0 < pool < minimum and by_size:
        k = by_size.pop(0)
        keep.discard(k)
        pool += people[k]
    return keep


def minimum_people(value: str | int | None) -> int:
    """The report's threshold: ``MIN_PEOPLE`` unless a larger one is asked for. Raises
    ``ValueError`` for anything but a whole number from ``MIN_PEOPLE`` to ``MAX_PEOPLE``:
    a threshold can be raised for a report, never lowered."""
    if value is None or value == "":
        return MIN_PEOPLE
    text = str(value).strip()
    if not text.isdigit() or not MIN_PEOPLE <= int(text) <= MAX_PEOPLE:
        raise ValueError("bad_minimum")
    return int(text)


def parse_month(text: str | None, today: dt.date) -> tuple[int, int]:
    """``YYYY-MM`` (the month input's format) as (year, month); no text: last month.
    Raises ``ValueError`` for a malformed month or one that has not begun."""
    if not text:
        first = today.replace(day=1) - dt.timedelta(days=1)
        return first.year, first.month
    m = _MONTH.fullmatch(text.strip())
    if m is None:
        raise ValueError("bad_month")
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12 or year < 2000:
        raise ValueError("bad_month")
    if (year, month) > (today.year, today.month):
        raise ValueError("future_month")
    return year, month


def month_bounds(year: int, month: int, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The month from its first midnight to the next month's, on the clock of ``tz``, as
    naive UTC (what the database stores)."""
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)

    def utc(y: int, mo: int) -> dt.datetime:
        local = dt.datetime(y, mo, 1, tzinfo=tz)
        return local.astimezone(dt.UTC).replace(tzinfo=None)

    return utc(year, month), utc(*nxt)

