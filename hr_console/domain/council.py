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
from dataclasses import dataclass
from typing import Any, TypeVar

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



# --- one plan for every report of a month ---------------------------------------------------


S = TypeVar("S", bound=Hashable)


@dataclass(frozen=True)
class Plan:
    """What every report of one month may show: the same for the company's report and
    each site's, so that no comparison of them singles out a small group.

    ``named``: the teams (keys) any report may name; a site's report names those of its
    teams, the company's all of them. ``withheld``: the sites whose own report shows no
    moderation figure (they count in the company's)."""

    named: frozenset[Any]
    withheld: frozenset[Any]


def plan(people: Mapping[K, int], site_of: Mapping[K, S | None], minimum: int, *,
         floor: int = MIN_PEOPLE) -> Plan:
    """The plan at ``minimum`` (people per team, each team's site; ``None``: a group on no
    site, such as the people without a team).

    Every report is a sum over the month's teams: the company's names some teams and pools
    the rest, a site's names some of its own and pools the rest. Anyone holding all of them
    can subtract, so what counts is the finest groups the reports cut the people into:
    each named team, each shown site's unnamed teams (its "other teams" row once the named
    ones are taken off), and the rest of the company (the unnamed teams of withheld sites
    and of no site: the company's total minus every site's). Each must hold 0 or at least
    ``minimum`` people. A site's unnamed part of 1 to ``minimum - 1`` people is fixed by
    pooling its smallest named teams (in every report); a rest of that size by pooling the
    team-less group, else withholding the site with the smallest unnamed part (which has
    ``minimum`` or more), else pooling a named team and withholding its site.

    A reader chooses ``minimum`` (from ``MIN_PEOPLE`` up): the plan at ``floor`` bounds
    every other (names only what the floor's names, withholds at least what it withholds),
    so reports at different thresholds cut no finer than the floor's, which is checked."""
    if minimum < floor:
        raise ValueError("bad_minimum")
    base = None if minimum == floor else plan(people, site_of, floor, floor=floor)
    return _plan(people, site_of, minimum,
                 None if base is None else set(base.named),
                 set() if base is None else set(base.withheld))


def _plan(people: Mapping[K, int], site_of: Mapping[K, S | None], minimum: int,
          allowed: set[K] | None, withheld: set[S]) -> Plan:
    named = shown(people, minimum, eligible=allowed)
    sites: dict[S, list[K]] = {}
    for k in people:
        s = site_of.get(k)
        if s is not None:
            sites.setdefault(s, []).append(k)
    withheld = set(withheld) | {s for s, keys in sites.items()
                                if 0 < sum(people[k] for k in keys) < minimum}

    def unnamed(s: S) -> int:
        return sum(people[k] for k in sites[s] if k not in named)

    def smallest(keys: Any) -> K:
        return min(keys, key=lambda k: (people[k], str(k)))

    for s in sorted(sites, key=str):  # each shown site's "other teams": 0 or >= minimum
        while s not in withheld and 0 < unnamed(s) < minimum:
            named.discard(smallest([k for k in sites[s] if k in named]))
    while True:  # the rest of the company: 0 or >= minimum
        rest = sum(n for k, n in people.items() if k not in named
                   and (site_of.get(k) is None or site_of.get(k) in withheld))
        if rest == 0 or rest >= minimum:
            break
        siteless = [k for k in named if site_of.get(k) is None]
        open_sites = [s for s in sites if s not in withheld and unnamed(s) > 0]
        hidden = [k for k in named if site_of.get(k) in withheld]
        if siteless:
            named.discard(smallest(siteless))
        elif open_sites:
            withheld.add(min(open_sites, key=lambda s: (unnamed(s), str(s))))
        elif hidden:
            named.discard(smallest(hidden))
        elif named:
            k = smallest(named)
            named.discard(k)
            withheld.add(site_of[k])
        else:
            break  # everyone is in the rest: the company's own total, never withheld
    return Plan(frozenset(named), frozenset(withheld))


def sites_shown(people: Mapping[S, int], rest: int, minimum: int, *,
                floor: int = MIN_PEOPLE) -> set[S]:
    """The sites whose own figure about their ``people`` may be shown when the company's
    covers them all and ``rest`` people on no site: each shown site has 0 or ``minimum``
    people or more, and so does what the company's figure minus the shown sites' leaves
    (the withheld sites and the rest). Bounded by the plan at ``floor``, as ``plan``."""
    if minimum < floor:
        raise ValueError("bad_minimum")
    withheld = set() if minimum == floor else set(people) - sites_shown(people, rest, floor)
    withheld |= {s for s, n in people.items() if 0 < n < minimum}
    while 0 < rest + sum(people[s] for s in withheld) < minimum:
        open_sites = [s for s, n in people.items() if s not in withheld and n > 0]
        if not open_sites:
            break
        withheld.add(min(open_sites, key=lambda s: (people[s], str(s))))
    return set(people) - withheld
