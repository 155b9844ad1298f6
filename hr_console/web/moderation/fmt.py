"""Formatting shared by the console areas built on the moderation queue: times on the
site's clock (the ``timezone`` setting, as Flask-Babel's own date filters) and waiting times
people read at a glance."""

from __future__ import annotations

import datetime as dt

from flask_babel import get_timezone
from flask_babel import gettext as _


def local(value: dt.datetime | None, with_date: bool = True) -> str:
    """A UTC time from the database, on the site's clock."""
    if value is None:
        return ""
    here = value.replace(tzinfo=dt.UTC).astimezone(get_timezone())
    return here.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def duration(seconds: float | dt.timedelta | None) -> str:
    """'45 s', '12 min', '3 h 05', '2 d 4 h'."""
    if seconds is None:
        return "–"
    if isinstance(seconds, dt.timedelta):
        seconds = seconds.total_seconds()
    s = max(0, int(seconds))
    if s < 60:
        return _("%(n)d s", n=s)
    if s < 3600:
        return _("%(n)d min", n=s // 60)
    if s < 86400:
        return _("%(h)d h %(m)02d", h=s // 3600, m=(s % 3600) // 60)
    return _("%(d)d d %(h)d h", d=s // 86400, h=(s % 86400) // 3600)
