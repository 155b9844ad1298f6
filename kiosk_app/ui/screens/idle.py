"""Idle: the clock, the site and "Présentez votre badge". The badge reader types here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kivy.clock import Clock
from kivy.properties import ListProperty, StringProperty

from kiosk_app.ui.i18n import N_, tr
from kiosk_app.ui.screens.base import KioskScreen

MESSAGES = {
    "bad_badge": N_("This badge is not recognised. Ask your supervisor."),
    "offline": N_("The terminal is offline. Try again in a moment."),
    "inactivity": N_("Logged out automatically: no activity."),
    "replaced": N_("You were logged out: your badge was used on another terminal."),
    "error": N_("Something went wrong. Please present your badge again."),
}


class IdleScreen(KioskScreen):
    personal = False
    clock = StringProperty("")
    today = StringProperty("")
    notice_key = StringProperty("")  # a key of MESSAGES, shown under the invitation
    board = ListProperty([])  # site notices anyone may read (see the report on the relay)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tick(0)
        Clock.schedule_interval(self._tick, 1)
        tr.bind(lang=lambda *_: self._tick(0))
        self._hide = None

    def _tick(self, _dt: float) -> None:
        now = dt.datetime.now()
        self.clock = tr.time(now)
        today = tr.date(now)
        self.today = today[:1].upper() + today[1:]  # "Lundi 23 novembre", "Monday 23 November"

    def show(self, message: str = "", **_: Any) -> None:
        self.say(message)

    def say(self, key: str) -> None:
        self.notice_key = key if key in MESSAGES else ""
        if self._hide is not None:
            self._hide.cancel()
        if self.notice_key:
            self._hide = Clock.schedule_once(lambda _dt: self.say(""), 12)

    def message_text(self, key: str) -> str:
        return tr._(MESSAGES[key]) if key in MESSAGES else ""
