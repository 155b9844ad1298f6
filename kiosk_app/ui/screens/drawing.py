"""Drawing: a finger-drawing canvas with a few colours and widths, undo and clear."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk_app import media
from kiosk_app.ui.i18n import N_
from kiosk_app.ui.screens.base import KioskScreen

COLOUR_NAMES = {"#111111": N_("Black"), "#d32f2f": N_("Red"), "#1565c0": N_("Blue"),
                "#2e7d32": N_("Green"), "#f9a825": N_("Yellow")}
WIDTH_NAMES = (N_("Thin"), N_("Medium"), N_("Thick"))


class DrawingScreen(KioskScreen):
    contact_id = NumericProperty(0)
    group_id = NumericProperty(0)  # a drawing posted to a workgroup
    urgent = BooleanProperty(False)  # asked for in the conversation's compose bar
    contact_name = StringProperty("")

    def show(self, contact_id: int = 0, group_id: int = 0, urgent: bool = False,
             **_: Any) -> None:
        if (contact_id, group_id) != (self.contact_id, self.group_id):
            self.ids.pad.clear()
        self.contact_id, self.group_id = contact_id, group_id
        self.urgent = bool(urgent and group_id)
        if self.session is not None:
            self.contact_name = (self.session.group_conversation(group_id).group.name if group_id
                                 else self.session.conversation(contact_id).contact.name)

    def colour(self, value: str) -> None:
        self.ids.pad.colour = value

    def pen(self, value: int) -> None:
        self.ids.pad.width_units = value

    def send(self) -> None:
        pad = self.ids.pad
        if not pad.strokes:
            return
        self.kiosk.send_drawing(self.contact_id, pad.to_drawing(), group=self.group_id,
                                urgent=self.urgent)
        self.urgent = False  # one urgent post, not every one after it
        pad.clear()
        self.back()

    def back(self) -> None:
        self.nav.go("conversation", contact_id=self.contact_id, group_id=self.group_id,
                    urgent=self.urgent)

    def clear(self) -> None:
        pad = self.ids.pad
        pad.clear()
        pad.colour, pad.width_units = PALETTE[0], WIDTHS[1]  # the next person starts afresh
        self.contact_id = self.group_id = 0
        self.urgent = False
        self.contact_name = ""


PALETTE = media.PALETTE
WIDTHS = media.WIDTHS
