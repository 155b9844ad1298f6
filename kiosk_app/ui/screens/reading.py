"""Screens that read the console's kiosk API as the badged-in person (a lead's notices, a
name search): off the UI thread; only the answer to the latest request is shown, one that
comes after the person left, or for an older request, is dropped."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk_app.link.api import KioskApi, KioskApiError
from kiosk_app.ui.screens.base import KioskScreen

FETCH_TIMEOUT = 5.0


class ReadingScreen(KioskScreen):
    loading = BooleanProperty(False)
    failed = StringProperty("")  # why the answer could not be read, translated
    generation = NumericProperty(0)  # bumped by every request: older answers are dropped

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._api: KioskApi | None = None

    def api(self) -> KioskApi | None:
        cfg = self.kiosk.config if self.kiosk else None
        if self._api is None and cfg is not None and cfg.api_url:
            self._api = KioskApi(cfg.api_url, cfg.terminal, cfg.password, timeout=FETCH_TIMEOUT,
                                 ca_file=cfg.tls_ca)
        return self._api

    def no_api(self) -> str:
        """What the screen says on a terminal configured without the kiosk API."""
        raise NotImplementedError

    def unreadable(self, error: KioskApiError) -> str:
        """What the screen says when the console did not answer as asked."""
        raise NotImplementedError

    def fetch(self, call: Callable[[KioskApi, str], Any], done: Callable[[Any], None]) -> None:
        """``call(api, sid)`` in a thread; ``done(result)`` on the UI thread if it is still
        wanted, ``failed`` set otherwise."""
        api, session = self.api(), self.session
        if session is None:
            return
        if api is None:
            self.failed = self.no_api()
            return
        self.generation += 1
        gen, sid = self.generation, session.sid
        self.loading, self.failed = True, ""

        def work() -> None:
            try:
                result, error = call(api, sid), None
            except KioskApiError as exc:
                result, error = None, exc
            Clock.schedule_once(lambda _dt: self._arrived(gen, sid, done, result, error))

        threading.Thread(target=work, name=f"read-{self.name}", daemon=True).start()

    def _arrived(self, gen: int, sid: str, done: Callable[[Any], None], result: Any,
                 error: KioskApiError | None) -> None:
        if gen != self.generation or self.session is None or self.session.sid != sid:
            return  # an older request, or the person left meanwhile
        self.loading = False
        if error is not None:
            self.failed = self.unreadable(error)
            return
        done(result)

    def forget(self) -> None:
        """Logout: whatever is on its way is for nobody now."""
        self.generation += 1
        self.loading = False
        self.failed = ""
