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
from relais_wire.names import fold

PAUSE_S = 0.7  # after the last key: a search per pause in the typing, not per letter
RETRY_S = 3.0  # after the console said too many searches (ten in ten seconds)


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
        self._syncs = 0  # the session's syncs when they were found
        # The last answer that named everyone matching its words, folded, and them: more
        # letters typed after them narrow it here, without asking the console again.
        self._whole: tuple[str, list[dict[str, Any]]] | None = None

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
        if words == self.searched or self.api() is None or self.session is None:
            return  # what is shown is for these words, or nothing can be asked
        if len(fold(words)) < limits.MIN_FIND_CHARS:
            self.searched, self._found = "", []
            self.ids.grid.data = []
            self.note = tr._("Type a few letters of their name.")
            return
        whole = self._whole
        if whole is not None and whole[0] in fold(words) and self._syncs == self.session.syncs:
            narrowed = [c for c in whole[1] if fold(words) in fold(str(c.get("name")))]
            self._show(words, narrowed, len(narrowed))  # no need to ask: a subset
            return
        syncs = self.session.syncs
        self.fetch(lambda api, sid: api.find_contacts(sid, words),
                   partial(self._arrived_for, words, syncs))

    def _arrived_for(self, words: str, syncs: int,
                     answer: tuple[list[dict[str, Any]], int]) -> None:
        if self.session is None:
            return
        if self.session.syncs != syncs:  # it says who may be written to: ask again after it
            self.searched = ""
            self.search()
            return
        found, total = answer
        self._whole = (fold(words), found) if total <= len(found) else None
        self._show(words, found, total)

    def _show(self, words: str, found: list[dict[str, Any]], total: int) -> None:
        assert self.session is not None
        self.searched, self._total, self._syncs = words, total, self.session.syncs
        self._found = [c.id for c in self.session.add_found(found)]
        self.ids.grid.scroll_y = 1
        self.refresh()

    def refresh(self) -> None:
        """The cells of the people found, as the session now says. After a sync (which
        says again who may be written to, and leaves a cut list's people out) the same
        words are asked again, and the answer shown."""
        session = self.session
        if session is None or not self.searched:
            return
        if session.syncs != self._syncs:
            if not self.loading:
                self.searched, self._whole = "", None
                self.search()
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
        if error.code == "rate_limited":  # the console's bound: once more in a moment
            self._pending = Clock.schedule_once(lambda _dt: self.search(), RETRY_S)
            self.loading = True  # "Searching…" meanwhile, not a failure
            return ""
        return tr._("The search could not be done: try again in a moment.")

    def back(self) -> None:
        self.nav.go("contacts")

    def clear(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self.forget()
        self.query = self.searched = self.note = ""
        self._found, self._total, self._whole, self._syncs = [], 0, None, 0
        self.ids.grid.data = []
        self.ids.keyboard.shift = self.ids.keyboard.symbols = False
