"""Urgent notices not yet acknowledged, then those the relay reminds of (issue 16), one at
a time, full screen, before anything else."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk_app.ui.screens.base import KioskScreen


class UrgentScreen(KioskScreen):
    uid = StringProperty("")
    title = StringProperty("")
    body = StringProperty("")
    urgent = BooleanProperty(True)  # False: a reminder of an ordinary notice
    position = NumericProperty(0)  # 1-based, of ``total``
    total = NumericProperty(0)
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
        self.uid, self.title, self.body = notice.id, notice.title, notice.body
        self.urgent = notice.urgent
        self.kiosk.see_notice(notice.id)
        return True

    def acknowledge(self) -> None:
        if self.uid:
            self.kiosk.acknowledge(self.uid)
            self._done += 1
        if not self._load():
            self.nav.home()  # an urgent group post, if any, then Home

    def clear(self) -> None:
        self.uid = self.title = self.body = ""
        self.urgent = True
        self.position = self.total = self._done = 0
