"""What every screen has: the kiosk (state and actions), the navigator, and the three
moments of its life: ``show`` (before it appears), ``refresh`` (the session changed while
it is shown) and ``clear`` (logout: forget everything personal)."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen


class KioskScreen(Screen):
    kiosk = ObjectProperty(None)
    nav = ObjectProperty(None)
    personal = True  # shows a person's data: only reachable while someone is badged in

    def show(self, **params: Any) -> None:
        """Called with the navigation's parameters before the screen appears."""

    def refresh(self) -> None:
        """The session changed while this screen is shown."""

    def clear(self) -> None:
        """Logout: drop every widget and reference that holds the person's data."""

    @property
    def session(self):  # noqa: ANN201 - kiosk_app.ui.session.Session | None
        return self.kiosk.session if self.kiosk else None
