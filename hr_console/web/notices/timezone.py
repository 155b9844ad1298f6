"""The console shows and reads times on the site's clock (``timezone`` in relais.toml,
default Europe/Paris, the same zone as Flask-Babel's date filters); the database keeps
naive UTC."""

from __future__ import annotations

import datetime as dt

from flask_babel import get_timezone


def to_utc(local: dt.datetime | None) -> dt.datetime | None:
    """A time typed in a form (site's clock, naive) as naive UTC."""
    if local is None:
        return None
    return local.replace(tzinfo=get_timezone()).astimezone(dt.UTC).replace(tzinfo=None)


def to_local(utc: dt.datetime | None) -> dt.datetime | None:
    if utc is None:
        return None
    return utc.replace(tzinfo=dt.UTC).astimezone(get_timezone()).replace(tzinfo=None)


def when(utc: dt.datetime | None) -> str:
    local = to_local(utc)
    return local.strftime("%Y-%m-%d %H:%M") if local else "—"
