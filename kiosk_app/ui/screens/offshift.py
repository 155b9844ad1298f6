"""The off-shift notice: someone who badges in outside their shift reads HR's words ("this
time is not counted as working time") full screen and accepts them before anything else;
the relay audits the acceptance. Also the words every screen uses for "from 06:00"."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from kiosk_app.ui.i18n import N_, tr
from kiosk_app.ui.screens.base import KioskScreen

DAY_NAMES = {"mon": N_("Monday"), "tue": N_("Tuesday"), "wed": N_("Wednesday"),
             "thu": N_("Thursday"), "fri": N_("Friday"), "sat": N_("Saturday"),
             "sun": N_("Sunday")}


def when(hhmm: str, day: str = "") -> str:
    """"06:00", or "Tuesday 06:00" when the shift starts on another day."""
    return f"{tr._(DAY_NAMES[day])} {hhmm}" if day in DAY_NAMES else hhmm


def may_write_from(name: str, hhmm: str, day: str = "") -> str:
    """Why a contact is greyed: "Outside your shift: you can write to X from 06:00"."""
    if not hhmm:
        return tr._("Outside your shift: you can write to {name} during your shift.").format(
            name=name)
    return tr._("Outside your shift: you can write to {name} from {time}.").format(
        name=name, time=when(hhmm, day))


def short_reason(hhmm: str, day: str = "") -> str:
    """A greyed contact's second line: "Off shift: from 06:00"."""
    if not hhmm:
        return tr._("Outside your shift")
    return tr._("Off shift: from {time}").format(time=when(hhmm, day))


class OffShiftScreen(KioskScreen):
    text = StringProperty("")  # HR's words, in the person's language
    starts = StringProperty("")  # "Your shift starts at 06:00", or ""

    def show(self, **_: Any) -> None:
        s = self.session
        if s is None:
            return
        self.text = s.off_shift_notice
        self.starts = tr._("Your shift starts at {time}.").format(
            time=when(s.opens, s.opens_day)) if s.opens else ""

    def accept(self) -> None:
        """Accepted: told to the relay (audited), then what a badge-in shows next."""
        self.kiosk.accept_off_shift()
        self.nav.after_off_shift()

    def clear(self) -> None:
        self.text = self.starts = ""
