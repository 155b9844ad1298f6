"""One notice, with "I have read it" when its author asked for an acknowledgement."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from kiosk_app.ui.screens.base import KioskScreen


class NoticeScreen(KioskScreen):
    uid = StringProperty("")
    title = StringProperty("")
    body = StringProperty("")
    urgent = BooleanProperty(False)
    needs_ack = BooleanProperty(False)
    acknowledged = BooleanProperty(False)

    def show(self, uid: str = "", **_: Any) -> None:
        self.uid = uid
        self.refresh()
        if uid:
            self.kiosk.see_notice(uid)

    def refresh(self) -> None:
        notice = self.session.notices.get(self.uid) if self.session else None
        if notice is None:
            self.clear()
            return
        self.title, self.body, self.urgent = notice.title, notice.body, notice.urgent
        self.needs_ack, self.acknowledged = notice.needs_ack, notice.acknowledged

    def acknowledge(self) -> None:
        self.kiosk.acknowledge(self.uid)
        self.refresh()

    def clear(self) -> None:
        self.uid = self.title = self.body = ""
        self.urgent = self.needs_ack = self.acknowledged = False
