"""New message: who may I write to? Only the contacts HR allows, and the workgroups the
person may post in (a group one may only read is reached from Home). Outside one's shift,
the contacts only an on-shift-only rule allows follow, greyed, saying from when: no
compose opens for them."""

from __future__ import annotations

from typing import Any

from kivy.metrics import dp
from kivy.properties import BooleanProperty

from kiosk_app.ui import theme
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.screens.offshift import short_reason
from kiosk_app.ui.widgets import IconButton


class ContactsScreen(KioskScreen):
    has_groups = BooleanProperty(False)

    def show(self, **_: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        grid = self.ids.grid
        grid.clear_widgets()
        self.ids.groups.clear_widgets()
        self.has_groups = False
        if self.session is None:
            return
        for group in self.session.postable_groups():
            button = IconButton(icon="message", text=group.name, size_hint_y=None,
                                height=dp(76), bg_color=theme.SUCCESS)
            button.group_id = group.id
            button.bind(on_release=lambda b: self.nav.go("conversation", group_id=b.group_id))
            self.ids.groups.add_widget(button)
            self.has_groups = True
        for contact in self.session.allowed_contacts():
            label = contact.name + (f"\n{contact.team}" if contact.team else "")
            button = IconButton(icon="person", text=label, size_hint_y=None, height=dp(76),
                                bg_color=theme.PRIMARY_DARK if contact.hr else theme.PRIMARY)
            button.contact_id = contact.id
            button.bind(on_release=lambda b: self.nav.go("conversation", contact_id=b.contact_id))
            grid.add_widget(button)
        for contact in self.session.off_shift_contacts():
            label = f"{contact.name}\n{short_reason(contact.opens, contact.opens_day)}"
            # Greyed but readable (a disabled button's words fade to 30 %): dark words on
            # grey, and nothing bound to a touch, so no compose opens.
            button = IconButton(icon="clock", text=label, size_hint_y=None, height=dp(76),
                                bg_color=theme.DIVIDER, fg_color=theme.TEXT)
            button.contact_id = contact.id
            button.off_shift = True
            grid.add_widget(button)

    def clear(self) -> None:
        self.ids.grid.clear_widgets()
        self.ids.groups.clear_widgets()
        self.has_groups = False
