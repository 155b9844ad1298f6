"""Find someone by name: for a contact list the badge-in sync had to cut (it fits one
packet: the HR desk of a company of 16,000 is sent about 11,000 names). "New message" ends
with a cell saying how many are not listed; a touch on it opens this screen.

The big-key keyboard types a few letters of a name (case and accents do not matter); a
moment after the last key the console's kiosk API (``/contacts``) answers with the people
the rules let this person write to whose name holds them, the first few by name. A touch
on one opens the conversation: they may be written to until the next sync says again who
may (``Session.add_found``), and the cells here follow it. Nobody else is ever named: the
console searches only the person's own contacts, and the relay judges every message as
always."""

from __future__ import annotations

from functools import partial
from typing import Any

from kivy.clock import Clock
from kivy.properties import NumericProperty, StringProperty

from kiosk_app.link.api import KioskApiError
from kiosk_app.ui.i18n import tr
from kiosk_app.ui.screens.contacts import contact_cell
from kiosk_app.ui.screens.reading import ReadingScreen
from relais_wire import limits

PAUSE_S = 0.4  # after the last key: a search per name typed, not per letter


class FindScreen(ReadingScreen):
    cols = NumericProperty(2)
    query = StringProperty("")
    note = StringProperty("")  # what the search found, or what to do, translated
    searched = StringProperty("")  # the words of the results shown

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pending = None
        self._found: list[int] = []  # the people shown, in the search's order
        self._total = 0

    def show(self, **_: Any) -> None:
        if not self.query:
            self.note = tr._("Type a few letters of their name.")
        if self.api() is None:  # said before anyone types for nothing, and kept
            self.failed = self.no_api()
        self.ids.keyboard.shift = False
        self.refresh()

    def type(self, chars: str) -> None:
        if len(self.query) + len(chars) <= limits.MAX_FIND_CHARS:
            self.query += chars
            self._later()

    def backspace(self) -> None:
        self.query = self.query[:-1]
        self._later()

    def _later(self) -> None:
        """Search once the typing pauses; an answer for words typed before is not wanted."""
        if self._pending is not None:
            self._pending.cancel()
        self.generation += 1
        self.loading = False
        self._pending = Clock.schedule_once(lambda _dt: self.search(), PAUSE_S)

    def search(self) -> None:
        self._pending = None
        words = self.query.strip()
        if words == self.searched or self.api() is None:
            return  # what is shown is for these words, or nothing can be asked
        if len(words) < limits.MIN_FIND_CHARS:
            self.searched, self._found = "", []
            self.ids.grid.data = []
            self.note = tr._("Type a few letters of their name.")
            return
        syncs = self.session.syncs if self.session is not None else 0
        self.fetch(lambda api, sid: api.find_contacts(sid, words),
                   partial(self._arrived_for, words, syncs))

    def _arrived_for(self, words: str, syncs: int,
                     answer: tuple[list[dict[str, Any]], int]) -> None:
        if self.session is None or self.session.syncs != syncs:
            return  # a sync came meanwhile: it says who may be written to, not this answer
        found, self._total = answer
        self.searched = words
        self._found = [c.id for c in self.session.add_found(found)]
        self.ids.grid.scroll_y = 1
        self.refresh()

    def refresh(self) -> None:
        """The cells of the people found, as the session now says: a sync that no longer
        lets this person write to one of them takes them off."""
        session = self.session
        if session is None or not self.searched:
            return
        people = [session.contacts[i] for i in self._found if i in session.contacts]
        cells = [contact_cell(c, self.nav) for c in people if c.allowed or c.off_shift]
        self.ids.grid.data = cells
        if not cells:
            self.note = tr._("Nobody you may write to has a name with “{words}”.").format(
                words=self.searched)
        elif self._total > len(cells):
            self.note = tr._("{shown} of {total} shown: type more of the name.").format(
                shown=len(cells), total=tr.number(self._total))
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
        self._found, self._total = [], 0
        self.ids.grid.data = []
        self.ids.keyboard.shift = self.ids.keyboard.symbols = False
