"""New message: who may I write to? The workgroups the person may post in (a group one may
only read is reached from Home), then the contacts HR allows. Outside one's shift, the
contacts only an on-shift-only rule allows follow, greyed, saying from when: no compose
opens for them.

At a real site a worker may write to a hundred people or more (their team, a paired team,
supervisors, HR). The buttons are recycled (only those in view exist as widgets: the screen
opens as fast with 160 contacts as with 3) and, when the list is longer than a screen, a
row of initial ranges ("A–D", "E–K", …) jumps to the names a gloved finger is looking for
instead of scrolling through them all. When the badge-in sync had to cut the list (one
packet), its last cell says how many are missing and opens "Find someone by name"."""

from __future__ import annotations

from functools import partial
from typing import Any

from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty

from kiosk_app.ui import theme
from kiosk_app.ui.i18n import tr
from kiosk_app.ui.name_index import JUMPS_MAX, initial, jump_ranges
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.screens.offshift import short_reason
from kiosk_app.ui.widgets import IconButton, RecycledRow

JUMP_WIDTH = 84  # dp, room for one initial range ("A–D") without shortening it


class ContactButton(RecycledRow, IconButton):
    """One recycled cell: a group, a contact, or a contact greyed until their shift
    (``open`` None: a touch does nothing). Every field comes from the cell's data."""

    off_shift = BooleanProperty(False)


def _cell(text: str, icon: str, bg: Any, fg: Any, *, contact_id: int = 0, group_id: int = 0,
          off_shift: bool = False, action: Any = None) -> dict[str, Any]:
    return {"text": text, "icon": icon, "bg_color": bg, "fg_color": fg,
            "contact_id": contact_id, "group_id": group_id, "off_shift": off_shift,
            "open": action}


def contact_cell(contact: Any, nav: Any) -> dict[str, Any]:
    """A person's cell (here and in "Find someone by name"): a touch opens the conversation;
    greyed but readable when only their shift opens them (a disabled button's words fade to
    30 %: dark words on grey), and nothing done on a touch, so no compose opens."""
    if contact.allowed:
        return _cell(contact.name + (f"\n{contact.team}" if contact.team else ""), "person",
                     theme.PRIMARY_DARK if contact.hr else theme.PRIMARY, theme.ON_DARK,
                     contact_id=contact.id,
                     action=partial(nav.go, "conversation", contact_id=contact.id))
    return _cell(f"{contact.name}\n{short_reason(contact.opens, contact.opens_day)}", "clock",
                 theme.DIVIDER, theme.TEXT, contact_id=contact.id, off_shift=True)


class ContactsScreen(KioskScreen):
    CELL = 76  # dp, a cell's height in the grid (contacts.kv reads it, as the jumps do)
    SPACING = 8  # dp, between cells
    cols = NumericProperty(3)

    def __init__(self, **kwargs: Any) -> None:
        self._shown: list[tuple[str, int]] = []  # the jumps on screen: (label, cell index)
        super().__init__(**kwargs)

    def show(self, **_: Any) -> None:
        self.ids.grid.scroll_y = 1
        self.refresh()

    def on_cols(self, *_: Any) -> None:
        if self.ids:
            self.refresh()

    def relayout(self) -> None:
        """The list's height changed (the window, the header): the jumps follow."""
        self._jumps(self.ids.grid.data)

    def refresh(self) -> None:
        if self.session is None:
            self.clear()
            return
        cells: list[dict[str, Any]] = []
        for group in self.session.postable_groups():
            cells.append(_cell(f"{group.name}\n{tr._('Group')}", "message", theme.SUCCESS,
                                    theme.ON_DARK, group_id=group.id,
                                    action=partial(self.nav.go, "conversation",
                                                   group_id=group.id)))
        cells += [contact_cell(c, self.nav) for c in self.session.allowed_contacts()]
        cells += [contact_cell(c, self.nav) for c in self.session.off_shift_contacts()]
        if self.session.contacts_more:  # the sync could not list everyone (one packet)
            cells.append(self._more(self.session.contacts_more))
        self.ids.grid.data = cells
        self._jumps(cells)

    def _more(self, more: int) -> dict[str, Any]:
        """The last cell of a cut list: it opens "Find someone by name", or, on a terminal
        with no kiosk API to search, says they can be answered when they write."""
        cfg = self.kiosk.config if self.kiosk else None
        if cfg is None or not cfg.api_url:
            return _cell(tr.ngettext(
                "{n} more person is not listed here: answer them when they write.",
                "{n} more people are not listed here: answer them when they write.",
                more).format(n=tr.number(more)), "person", theme.DIVIDER, theme.TEXT, off_shift=True)
        return _cell(tr.ngettext(
            "{n} more person is not listed here: find them by name.",
            "{n} more people are not listed here: find them by name.",
            more).format(n=tr.number(more)), "zoom", theme.PRIMARY_DARK, theme.ON_DARK,
            action=partial(self.nav.go, "find"))

    def _jumps(self, cells: list[dict[str, Any]]) -> None:
        """The initial ranges of the people one may write to, when they do not all fit in
        view (the greyed ones, listed after them in an order of their own, are not
        indexed). Rebuilt only when the ranges change, not at every message."""
        rows = -(-len(cells) // max(1, int(self.cols)))
        fits = rows * dp(self.CELL + self.SPACING) <= self.ids.grid.height
        people = [(i, initial(c["text"])) for i, c in enumerate(cells)
                  if c["contact_id"] and not c["off_shift"]]
        box = self.ids.jumps
        most = min(JUMPS_MAX, int(box.width // dp(JUMP_WIDTH + 6)))  # as fit beside the title
        wanted = [] if fits or len(people) < 2 or most < 2 else [
            (label, people[first][0])
            for label, first in jump_ranges([letter for _i, letter in people], most)]
        if wanted == self._shown:
            return
        self._shown = wanted
        box.clear_widgets()
        for label, index in wanted:
            button = IconButton(text=label, halign="center", size_hint_max_x=dp(130),
                                bg_color=theme.PRIMARY_DARK)
            button.bind(on_release=partial(self._go_to, index))
            box.add_widget(button)

    def _go_to(self, index: int, *_: Any) -> None:
        """Scroll so that the cell ``index`` is in the top row."""
        grid = self.ids.grid
        row = index // max(1, int(self.cols))
        hidden = self.ids.cells.height - grid.height
        if hidden > 0:
            grid.scroll_y = max(0.0, min(1.0, 1 - row * dp(self.CELL + self.SPACING) / hidden))

    def clear(self) -> None:
        self.ids.grid.data = []
        self.ids.jumps.clear_widgets()
        self._shown = []
