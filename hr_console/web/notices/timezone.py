"""The console shows and reads times in the installation's time zone (``timezone`` in
relais.toml, e.g. "Europe/Paris"; else the server's); the database keeps naive UTC."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hr_console.web.db import settings


def _zone() -> dt.tzinfo | None:
    name = settings().extra.get("timezone") if isinstance(settings().extra, dict) else None
    if not name:
        return None  # the server's own zone (astimezone() without argument)
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def to_utc(local: dt.datetime | None) -> dt.datetime | None:
    if local is None:
        return None
    zone = _zone()
    aware = local.replace(tzinfo=zone) if zone else local.astimezone()
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


def to_local(utc: dt.datetime | None) -> dt.datetime | None:
    if utc is None:
        return None
    aware = utc.replace(tzinfo=dt.UTC)
    zone = _zone()
    return (aware.astimezone(zone) if zone else aware.astimezone()).replace(tzinfo=None)


def when(utc: dt.datetime | None) -> str:
    local = to_local(utc)
    return local.strftime("%Y-%m-%d %H:%M") if local else "—"
