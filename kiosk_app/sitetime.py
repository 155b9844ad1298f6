"""The site's time on the kiosk's screens: the idle clock, message times and "locked until"
read in the site's time zone (the console's ``timezone`` setting, handed over at
enrolment), so a terminal whose system zone is UTC or wrong shows what the console and the
people around it show. An unknown zone (a typo, or no tz database on the terminal) falls
back to the terminal's own zone, logged once.

No Kivy: the screens ask ``now()`` and ``local()``; ``use()`` is called once at start-up.
Wall times are naive datetimes in that zone, which is what the screens format.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger("relais.kiosk")

_zone: dt.tzinfo | None = None  # None: the terminal's own zone


def use(name: str | None) -> dt.tzinfo | None:
    """Show times in the zone ``name`` (e.g. "Europe/Paris"); None or unknown: the
    terminal's own. Returns the zone in use (None for the terminal's)."""
    global _zone
    _zone = None
    if name:
        try:
            _zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("kiosk: unknown time zone %r; the clock follows this terminal's zone", name)
    return _zone


def local(when: dt.datetime) -> dt.datetime:
    """``when`` (aware; naive is taken as UTC, the relay's convention) as the site's wall
    time, naive."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(_zone).replace(tzinfo=None)


def from_timestamp(ts: float) -> dt.datetime:
    """A POSIX time as the site's wall time, naive."""
    return local(dt.datetime.fromtimestamp(ts, dt.UTC))


def now() -> dt.datetime:
    """The site's wall time now, naive."""
    return local(dt.datetime.now(dt.UTC))
