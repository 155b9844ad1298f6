"""Find someone by name: for a contact list the badge-in sync had to cut (it fits one
packet: the HR desk of a company of 16,000 is sent about 11,000 names). "New message" ends
with a cell saying how many are not listed; a touch on it opens this screen.

The big-key keyboard types a few letters of a name (case and accents do not matter); a
moment after the last key the console's kiosk API (``/contacts``) answers with the people
the rules let this person write to whose name holds them, the first few by name. A touch
on one opens the conversation: they may be written to for the rest of the badge-in
(``Session.add_found``). Nobody else is ever named: the console searches only the
person's own contacts, and the relay judges every message as always."""

from __future__ import annotations

from functools import partial
from typing import Any

from kivy.clock import Clock
from kivy.properties import NumericProperty, StringProperty

from kiosk_app.link.api import KioskApiError
from kiosk_app.ui import theme
from kiosk_app.ui.i18n import tr
from kiosk_app.ui.screens.offshift import short_reason
from kiosk_app.ui.screens.reading import ReadingScreen

MIN_CHARS = 2  # fewer letters would name half the company
MAX_CHARS = 60  # as the console searches at most (people.MAX_FIND_CHARS)
PAUSE_S = 0.4  # after the last key: a search per name typed, not per letter


class FindScreen(ReadingScreen):
    CELL = 76  # dp, as on "New message"
    SPACING = 8
    cols = NumericProperty(2)
    query = StringProperty("")
    note = StringProperty("")  # what the search found, or what to do, translated
    searched = StringProperty("")  # the words of the results shown

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pending = None

    def show(self, **_: Any) -> None:
        if not self.query:
            self.note = tr._("Type a few letters of their name.")
        if self.api() is None:  # said before anyone types for nothing
            self.failed = self.no_api()
        self.ids.keyboard.shift = False

    def type(self, chars: str) -> None:
        if len(self.query) + len(chars) <= MAX_CHARS:
            self.query += chars
            self._later()

    def backspace(self) -> None:
        self.query = self.query[:-1]
        self._later()

    def _later(self) -> None:
        """Search once the typing pauses."""
        if self._pending is not None:
            self._pending.cancel()
        self._pending = Clock.schedule_once(lambda _dt: self.search(), PAUSE_S)

    def search(self) -> None:
        self._pending = None
        words = self.query.strip()
        if words == self.searched:
            return
        if len(words) < MIN_CHARS:
            self.forget()  # an answer for longer words is no longer wanted
            self.searched = ""
            self.ids.grid.data = []
            self.note = tr._("Type a few letters of their name.")
            return
        self.fetch(lambda api, sid: api.find_contacts(sid, words),
                   partial(self._found, words))

    def _found(self, words: str, answer: tuple[list[dict[str, Any]], int]) -> None:
        found, total = answer
        self.searched = words
        people = self.session.add_found(found) if self.session is not None else []
        cells = []
        for c in people:
            if c.off_shift:  # only their shift opens them: greyed, saying when
                cells.append({"text": f"{c.name}\n{short_reason(c.opens, c.opens_day)}",
                              "icon": "clock", "bg_color": theme.DIVIDER,
                              "fg_color": theme.TEXT, "contact_id": c.id, "group_id": 0,
                              "off_shift": True, "open": None})
                continue
            cells.append({"text": c.name + (f"\n{c.team}" if c.team else ""), "icon": "person",
                          "bg_color": theme.PRIMARY_DARK if c.hr else theme.PRIMARY,
                          "fg_color": theme.ON_DARK, "contact_id": c.id, "group_id": 0,
                          "off_shift": False,
                          "open": partial(self.nav.go, "conversation", contact_id=c.id)})
        self.ids.grid.data = cells
        self.ids.grid.scroll_y = 1
        if not cells:
            self.note = tr._("Nobody you may write to has a name with “{words}”.").format(
                words=words)
        elif total > len(cells):
            self.note = tr._("{shown} of {total} shown: type more of the name.").format(
                shown=len(cells), total=total)
        else:
            self.note = tr.ngettext("{n} person found.", "{n} people found.",
                                    len(cells)).format(n=len(cells))

    def no_api(self) -> str:
        return tr._("This terminal cannot search: ask IT.")

    def unreadable(self, error: KioskApiError) -> str:
        return tr._("The search could not be done: try again in a moment.")

    def back(self) -> None:
        self.nav.go("contacts")

    def clear(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self.forget()
        self.query = self.searched = self.note = ""
        self.ids.grid.data = []
