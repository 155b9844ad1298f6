"""New message: who may I write to? Only the contacts HR allows."""

from __future__ import annotations

from typing import Any

from kivy.metrics import dp

from kiosk_app.ui import theme
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.widgets import IconButton


class ContactsScreen(KioskScreen):
    def show(self, **_: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        grid = self.ids.grid
        grid.clear_widgets()
        if self.session is None:
            return
        for contact in self.session.allowed_contacts():
            label = contact.name + (f"\n{contact.team}" if contact.team else "")
            button = IconButton(icon="person", text=label, size_hint_y=None, height=dp(76),
                                bg_color=theme.PRIMARY_DARK if contact.hr else theme.PRIMARY)
            button.contact_id = contact.id
            button.bind(on_release=lambda b: self.nav.go("conversation", contact_id=b.contact_id))
            grid.add_widget(button)

    def clear(self) -> None:
        self.ids.grid.clear_widgets()
