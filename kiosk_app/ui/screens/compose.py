"""Compose: an on-screen keyboard (AZERTY in French, QWERTY in English) with big keys."""

from __future__ import annotations

from typing import Any

from kivy.properties import NumericProperty, StringProperty

from kiosk_app.ui.screens.base import KioskScreen
from relais_wire import limits


class ComposeScreen(KioskScreen):
    contact_id = NumericProperty(0)
    contact_name = StringProperty("")
    text = StringProperty("")

    def show(self, contact_id: int = 0, **_: Any) -> None:
        if contact_id != self.contact_id:
            self.text = ""
        self.contact_id = contact_id
        if self.session is not None:
            self.contact_name = self.session.conversation(contact_id).contact.name
        self.ids.keyboard.shift = not self.text  # a capital to start a message

    def type(self, chars: str) -> None:
        if len(self.text) + len(chars) <= limits.MAX_TEXT_CHARS:
            self.text += chars

    def backspace(self) -> None:
        self.text = self.text[:-1]

    def send(self) -> None:
        if not self.text.strip():
            return
        self.kiosk.send_text(self.contact_id, self.text)
        self.text = ""
        self.nav.go("conversation", contact_id=self.contact_id)

    def clear(self) -> None:
        self.text = ""
        self.contact_id = 0
        self.contact_name = ""
