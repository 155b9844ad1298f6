"""Drawing: a finger-drawing canvas with a few colours and widths, undo and clear."""

from __future__ import annotations

from typing import Any

from kivy.properties import NumericProperty, StringProperty

from kiosk_app import media
from kiosk_app.ui.i18n import N_
from kiosk_app.ui.screens.base import KioskScreen

COLOUR_NAMES = {"#111111": N_("Black"), "#d32f2f": N_("Red"), "#1565c0": N_("Blue"),
                "#2e7d32": N_("Green"), "#f9a825": N_("Yellow")}
WIDTH_NAMES = (N_("Thin"), N_("Medium"), N_("Thick"))


class DrawingScreen(KioskScreen):
    contact_id = NumericProperty(0)
    contact_name = StringProperty("")

    def show(self, contact_id: int = 0, **_: Any) -> None:
        if contact_id != self.contact_id:
            self.ids.pad.clear()
        self.contact_id = contact_id
        if self.session is not None:
            self.contact_name = self.session.conversation(contact_id).contact.name

    def colour(self, value: str) -> None:
        self.ids.pad.colour = value

    def pen(self, value: int) -> None:
        self.ids.pad.width_units = value

    def send(self) -> None:
        pad = self.ids.pad
        if not pad.strokes:
            return
        self.kiosk.send_drawing(self.contact_id, pad.to_drawing())
        pad.clear()
        self.nav.go("conversation", contact_id=self.contact_id)

    def clear(self) -> None:
        pad = self.ids.pad
        pad.clear()
        pad.colour, pad.width_units = PALETTE[0], WIDTHS[1]  # the next person starts afresh
        self.contact_id = 0
        self.contact_name = ""


PALETTE = media.PALETTE
WIDTHS = media.WIDTHS
