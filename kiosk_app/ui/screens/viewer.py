"""A photo or a drawing, as large as the screen allows."""

from __future__ import annotations

from typing import Any

from kivy.properties import DictProperty, NumericProperty, StringProperty

from kiosk_app import media
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.widgets import texture_from


class ViewerScreen(KioskScreen):
    back = StringProperty("conversation")
    contact_id = NumericProperty(0)
    group_id = NumericProperty(0)
    drawing = DictProperty({})

    def show(self, msg_id: str = "", back: str = "conversation", **_: Any) -> None:
        self.back = back
        self.clear()
        msg = self.session.messages.get(msg_id) if self.session else None
        if msg is None:
            return
        self.contact_id = 0 if msg.group else (msg.recipient if msg.mine else msg.sender)
        self.group_id = msg.group
        if msg.image:
            try:
                side = int(max(self.width, self.height, 800))
                self.ids.photo.texture = texture_from(media.pixels_for_display(msg.image, side))
            except media.PhotoError:
                self.ids.photo.texture = None
        elif msg.drawing:
            self.drawing = msg.drawing

    def close(self) -> None:
        self.nav.go(self.back, contact_id=self.contact_id, group_id=self.group_id)

    def clear(self) -> None:
        self.ids.photo.texture = None
        self.drawing = {}
