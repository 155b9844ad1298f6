"""One notice, with "I have read it" when its author asked for an acknowledgement, and its
photo when it has one (fetched from the console's kiosk API, off the UI thread)."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from kiosk_app.ui.screens.base import KioskScreen


class NoticeScreen(KioskScreen):
    uid = StringProperty("")
    title = StringProperty("")
    body = StringProperty("")
    urgent = BooleanProperty(False)
    needs_ack = BooleanProperty(False)
    acknowledged = BooleanProperty(False)
    photo = ObjectProperty(None, allownone=True)  # JPEG bytes, once the console sent them
    can_listen = BooleanProperty(False)  # the terminal reads aloud (kiosk_app.speech)

    def show(self, uid: str = "", **_: Any) -> None:
        if uid != self.uid:
            self.photo = None
        self.uid = uid
        self.refresh()
        notice = self.session.notices.get(uid) if self.session and uid else None
        if notice is not None and notice.photo and self.photo is None:
            self.photo = self.kiosk.remote_photo("notice", uid,
                                                 lambda jpeg, u=uid: self._photo_came(u, jpeg))
        if uid:
            self.kiosk.see_notice(uid)

    def refresh(self) -> None:
        notice = self.session.notices.get(self.uid) if self.session else None
        if notice is None:
            self.clear()
            return
        self.title, self.body, self.urgent = notice.title, notice.body, notice.urgent
        self.can_listen = bool(self.kiosk and self.kiosk.can_read_aloud)
        self.needs_ack, self.acknowledged = notice.needs_ack, notice.acknowledged

    def _photo_came(self, uid: str, jpeg: bytes) -> None:
        if uid == self.uid:
            self.photo = jpeg

    def listen(self) -> None:
        if self.uid:
            self.kiosk.listen_notice(self.title, self.body)

    def acknowledge(self) -> None:
        self.kiosk.acknowledge(self.uid)
        self.refresh()

    def clear(self) -> None:
        self.uid = self.title = self.body = ""
        self.urgent = self.needs_ack = self.acknowledged = False
        self.photo = None
