"""Urgent notices not yet acknowledged, one at a time, full screen, before anything else."""

from __future__ import annotations

from typing import Any

from kivy.properties import NumericProperty, StringProperty

from kiosk_app.ui.screens.base import KioskScreen


class UrgentScreen(KioskScreen):
    uid = StringProperty("")
    title = StringProperty("")
    body = StringProperty("")
    position = NumericProperty(0)  # 1-based, of ``total``
    total = NumericProperty(0)
    _done = 0

    def show(self, **_: Any) -> None:
        if self.manager is None or self.manager.current != self.name:
            self._done = 0
        self._load()

    def _load(self) -> bool:
        pending = self.session.urgent_pending() if self.session else []
        if not pending:
            return False
        notice = pending[0]
        self.total = self._done + len(pending)
        self.position = self._done + 1
        self.uid, self.title, self.body = notice.id, notice.title, notice.body
        self.kiosk.see_notice(notice.id)
        return True

    def acknowledge(self) -> None:
        if self.uid:
            self.kiosk.acknowledge(self.uid)
            self._done += 1
        if not self._load():
            self.nav.go("home")

    def clear(self) -> None:
        self.uid = self.title = self.body = ""
        self.position = self.total = self._done = 0
