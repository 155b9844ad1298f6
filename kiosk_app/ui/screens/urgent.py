"""Urgent notices not yet acknowledged, then those the relay reminds of (issue 16), one at
a time, full screen, before anything else. A notice's photo, a safety alert's above all
(the danger as the person who raised it saw it), is fetched from the console's kiosk API
off the UI thread and shown large beside the words."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk_app.ui.screens.base import KioskScreen


class UrgentScreen(KioskScreen):
    uid = StringProperty("")
    title = StringProperty("")
    body = StringProperty("")
    urgent = BooleanProperty(True)  # False: a reminder of an ordinary notice
    position = NumericProperty(0)  # 1-based, of ``total``
    total = NumericProperty(0)
    photo = ObjectProperty(None, allownone=True)  # JPEG bytes, once the console sent them
    can_listen = BooleanProperty(False)  # the terminal reads aloud (kiosk_app.speech)
    _done = 0

    def show(self, **_: Any) -> None:
        if self.manager is None or self.manager.current != self.name:
            self._done = 0
        self._load()

    def _load(self) -> bool:
        pending = self.session.first_pending() if self.session else []
        if not pending:
            return False
        notice = pending[0]
        self.total = self._done + len(pending)
        self.position = self._done + 1
        opened = notice.id != self.uid
        if opened:
            self.photo = None
        self.uid, self.title, self.body = notice.id, notice.title, notice.body
        self.urgent = notice.urgent
        self.can_listen = bool(self.kiosk and self.kiosk.can_read_aloud)
        if opened and notice.urgent and self.can_listen and self.session.read_urgent_aloud:
            self.listen(tapped=False)  # HR's setting: an urgent notice speaks as it opens
        if notice.photo and self.photo is None:
            self.photo = self.kiosk.remote_photo(
                "notice", notice.id, lambda jpeg, u=notice.id: self._photo_came(u, jpeg))
        self.kiosk.see_notice(notice.id)
        return True

    def _photo_came(self, uid: str, jpeg: bytes) -> None:
        if uid == self.uid:
            self.photo = jpeg

    def listen(self, tapped: bool = True) -> None:
        if self.uid:
            self.kiosk.listen_notice(self.title, self.body, tapped=tapped)

    def acknowledge(self) -> None:
        if self.uid:
            self.kiosk.acknowledge(self.uid)
            self._done += 1
        if not self._load():
            self.nav.home()  # an urgent group post, if any, then Home

    def clear(self) -> None:
        self.uid = self.title = self.body = ""
        self.photo = None
        self.urgent = True
        self.position = self.total = self._done = 0
