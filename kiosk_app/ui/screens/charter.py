"""The messaging charter at badge-in (issue 17): what HR does with the person's messages,
why, for how long and whom to ask, read full screen and accepted before anything personal
is shown (the relay records one acceptance per person and version). Signing out instead
ends the session. Also the sections' widget and headings the handling screen reuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk_app.ui.i18n import N_, tr
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.session import CHARTER_SECTIONS, Charter

HEADINGS = {"purpose": N_("Why this messaging exists"),
            "moderation": N_("Who reads your messages"),
            "retention": N_("What is kept, and for how long"),
            "contact": N_("Whom to ask")}


class CharterSection(BoxLayout):
    """One section: its heading, then HR's words (as long as they are, wrapped)."""

    heading = StringProperty("")
    text = StringProperty("")


def long_date(day: dt.date) -> str:
    """"vendredi 4 décembre 2026" / "Friday 4 December 2026"."""
    return f"{tr.date(day)} {day.year}"  # type: ignore[arg-type] - a date has what it reads


def version_line(charter: Charter) -> str:
    if charter.published is None:
        return tr._("Version {version}").format(version=charter.version)
    return tr._("Version {version}, published on {date}").format(
        version=charter.version, date=long_date(charter.published))


def fill_sections(box: Any, charter: Charter | None) -> None:
    """The four sections, in the order HR wrote them, into ``box`` (emptied first)."""
    box.clear_widgets()
    for name in CHARTER_SECTIONS if charter is not None else ():
        if charter.sections.get(name):
            box.add_widget(CharterSection(heading=tr._(HEADINGS[name]),
                                          text=charter.sections[name]))


class CharterScreen(KioskScreen):
    version = StringProperty("")  # "Version 2, published on Friday 4 December 2026"

    def show(self, **_: Any) -> None:
        s = self.session
        if s is None or s.charter is None:
            return
        self.version = version_line(s.charter)
        fill_sections(self.ids.sections, s.charter)
        self.ids.scroll.scroll_y = 1

    def accept(self) -> None:
        """Accepted: told to the relay (recorded), then the badge-in's next gate or Home."""
        self.kiosk.accept_charter()
        self.nav.after_charter()

    def clear(self) -> None:
        self.version = ""
        self.ids.sections.clear_widgets()
