"""The badge is locked after repeated wrong PINs: say until when, then go back to idle."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kivy.clock import Clock
from kivy.properties import StringProperty

from kiosk_app import sitetime
from kiosk_app.ui.i18n import tr
from kiosk_app.ui.screens.base import KioskScreen

BACK_AFTER_S = 20


def local_time(iso: str | None) -> dt.datetime | None:
    """The relay sends UTC without an offset (its database's convention); shown as the
    site's wall time."""
    if not iso:
        return None
    try:
        when = dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    return sitetime.local(when)  # naive: UTC


class LockedScreen(KioskScreen):
    personal = False
    until = StringProperty("")  # local HH:MM, or "" when unknown

    def show(self, until: str | None = None, **_: Any) -> None:
        when = local_time(until)
        self.until = tr.time(when) if when else ""
        Clock.unschedule(self._back)
        Clock.schedule_once(self._back, BACK_AFTER_S)

    def _back(self, _dt: float = 0) -> None:
        if self.manager and self.manager.current == self.name:
            self.nav.go("idle")

    def clear(self) -> None:
        self.until = ""
