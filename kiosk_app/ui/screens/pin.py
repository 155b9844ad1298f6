"""PIN pad, for the people who have a PIN on top of their badge."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from kiosk_app.ui.screens.base import KioskScreen


class PinScreen(KioskScreen):
    personal = False
    error = StringProperty("")  # "", "bad_pin" or "bad_credentials"

    def show(self, error: str = "", **_: Any) -> None:
        self.error = error
        self.ids.pad.code = ""

    def submit(self, code: str) -> None:
        self.error = ""
        self.kiosk.submit_pin(code)

    def cancel(self) -> None:
        self.kiosk.cancel_login()
        self.nav.go("idle")

    def clear(self) -> None:
        self.ids.pad.code = ""
        self.error = ""
