"""Notices: the current ones for this person, urgent first, with what is left to do."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk_app.ui.screens.base import KioskScreen


class NoticeRow(ButtonBehavior, BoxLayout):
    uid = StringProperty("")
    title = StringProperty("")
    urgent = BooleanProperty(False)
    todo = StringProperty("")  # "ack", "new" or ""


class NoticesScreen(KioskScreen):
    empty = BooleanProperty(False)

    def show(self, **_: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        box = self.ids.list
        box.clear_widgets()
        if self.session is None:
            return
        notices = self.session.notice_list()
        self.empty = not notices
        for n in notices:
            todo = "ack" if n.needs_ack else ("" if n.seen else "new")
            row = NoticeRow(uid=n.id, title=n.title, urgent=n.urgent, todo=todo)
            row.bind(on_release=lambda r: self.nav.go("notice", uid=r.uid))
            box.add_widget(row)

    def clear(self) -> None:
        self.ids.list.clear_widgets()
