"""The kiosk App: builds the window, the screens and the kiosk controller, and moves
between screens when the controller says who came and who left. Kept thin on purpose:
state lives in ``Kiosk`` (controller.py), each screen in its own module and .kv file."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import NumericProperty, ObjectProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk_app import sitetime
from kiosk_app.config import KioskConfig
from kiosk_app.ui.controller import Kiosk
from kiosk_app.ui.i18n import tr
from kiosk_app.ui.screens import KV_DIR, SCREENS
from kiosk_app.ui.screens.base import KioskScreen

log = logging.getLogger("relais.kiosk")
UI_DIR = Path(__file__).parent
ENTER_KEYS = (13, 271)  # Return, keypad Enter


# Why a session ended, as the idle screen says it (a person's own logout: nothing to say).
LOGOUT_MESSAGES = {
    "inactivity": "inactivity", "idle": "inactivity", "replaced": "replaced",
    "expired": "ended", "deactivated": "ended", "badge_changed": "ended", "pin_changed": "ended",
    "terminal_revoked": "ended", "ended": "ended", "relay": "ended",
}


# Full-screen texts accepted at badge-in before anything personal (urgent notices wait).
GATES = ("charter", "offshift")


class KioskRoot(BoxLayout):
    kiosk = ObjectProperty(None)


class LogoutWarning(ModalView):
    kiosk = ObjectProperty(None)


class KioskApp(App):
    kiosk = ObjectProperty(None)
    taps = NumericProperty(0)  # every touch on the glass, for the tests' tap counting

    def __init__(self, config: KioskConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cfg = config
        sitetime.use(config.timezone)  # the clock and message times read the site's time
        self.title = f"Relais — {config.terminal}"
        self.sm: ScreenManager | None = None
        self._awaiting_sync = False
        self._warning: LogoutWarning | None = None

    # --- building ---------------------------------------------------------------------------

    def build(self) -> KioskRoot:
        tr.switch(self.cfg.language)
        self.kiosk = Kiosk(self.cfg)
        Builder.load_file(str(UI_DIR / "widgets.kv"))
        for _name, module, _cls in SCREENS:
            Builder.load_file(str(KV_DIR / f"{module}.kv"))
        Builder.load_file(str(UI_DIR / "app.kv"))
        root = KioskRoot(kiosk=self.kiosk)
        self.sm = root.ids.sm
        self.sm.transition = NoTransition()
        for name, module, cls in SCREENS:
            screen_cls = getattr(importlib.import_module(f"kiosk_app.ui.screens.{module}"), cls)
            self.sm.add_widget(screen_cls(name=name, kiosk=self.kiosk, nav=self))
        self.sm.current = "idle"
        self._bind()
        return root

    def _bind(self) -> None:
        k = self.kiosk
        k.bind(on_changed=self._changed, on_logged_in=self._logged_in, on_synced=self._synced,
               on_logged_out=self._logged_out, on_login_failed=self._login_failed,
               on_urgent=self._urgent, on_urgent_group=self._urgent_group, warning=self._warn)
        Window.bind(on_touch_down=self._touch, on_textinput=self._text, on_key_down=self._key)

    def on_start(self) -> None:
        self.kiosk.start()
        # An event `relais up` shows on its terminal (hr_console/cli/logs.py, EVENTS).
        logging.getLogger("relais.events").info("%s: kiosk window open", self.cfg.terminal)

    def on_stop(self) -> None:
        if self.kiosk is not None:
            self.kiosk.stop()

    # --- navigation -----------------------------------------------------------------------------

    def screen(self, name: str) -> KioskScreen:
        return self.sm.get_screen(name)

    def go(self, name: str, **params: Any) -> None:
        screen = self.screen(name)
        if screen.personal and self.kiosk.session is None:
            name, screen, params = "idle", self.screen("idle"), {}
        screen.show(**params)
        self.sm.current = name

    @property
    def current(self) -> str:
        return self.sm.current if self.sm else ""

    # --- what the kiosk tells ---------------------------------------------------------------------

    def _changed(self, _kiosk: Kiosk) -> None:
        screen = self.sm.current_screen
        if isinstance(screen, KioskScreen) and screen.personal:
            screen.refresh()

    def _logged_in(self, _kiosk: Kiosk) -> None:
        self._awaiting_sync = True
        self.go("idle")  # "Please wait…" until the sync arrives

    def _synced(self, _kiosk: Kiosk) -> None:
        if not self._awaiting_sync:
            self._changed(self.kiosk)  # a sync after a reconnect: just redraw, unless HR
            if self.current == "home" and self.kiosk.session.charter_pending():
                self.go("charter")  # published a new charter (nothing typed is lost on Home)
            return
        self._awaiting_sync = False
        self.after_charter()

    def after_charter(self) -> None:
        """A badge-in's gates, in order (Session.next_gate): the messaging charter to accept,
        then the off-shift notice, then urgent notices and the rest (after_off_shift)."""
        session = self.kiosk.session
        gate = session.next_gate() if session is not None else ""
        if gate in GATES:
            self.go(gate)  # accepted first (screens/charter.py, offshift.py), then the rest
        else:
            self.after_off_shift()

    def after_off_shift(self) -> None:
        """What a badge-in shows once the off-shift notice is accepted (or when none)."""
        if self.kiosk.session is None:
            self.go("idle")
        elif self.kiosk.session.first_pending():  # urgent, then reminded: before anything
            self.go("urgent")
        else:
            self.home()

    def home(self) -> None:
        """Home, unless a workgroup holds an urgent post not yet read: that group first
        (after the urgent notices, which come before everything)."""
        session = self.kiosk.session
        group = session.urgent_group() if session is not None else None
        if group is not None:
            self.go("conversation", group_id=group.id)
        else:
            self.go("home")

    def _urgent(self, _kiosk: Kiosk, _notice: Any) -> None:
        if not self._awaiting_sync and self.current not in GATES:  # shown once accepted
            self.go("urgent")

    def _urgent_group(self, _kiosk: Kiosk, group_id: int) -> None:
        """An urgent post arrived while the person is in: shown at once, as an urgent notice
        is, unless an urgent notice is on the screen (the post comes after it)."""
        if self._awaiting_sync or self.current in ("urgent", *GATES):
            return
        self.go("conversation", group_id=group_id)

    def _login_failed(self, kiosk: Kiosk, code: str, until: str | None) -> None:
        if code in ("pin_required", "bad_pin", "bad_credentials"):
            self.go("pin", error="" if code == "pin_required" else code)
        elif code == "locked":
            self.go("locked", until=until)
        elif code in ("wait", "busy"):  # a throttled guess, or a terminal badged too often
            self.go("idle", message=code, wait=int(kiosk.login_wait))
        else:
            known = ("bad_badge", "offline", "suspended")
            self.go("idle", message=code if code in known else "error")

    def _logged_out(self, _kiosk: Kiosk, reason: str) -> None:
        """Privacy on a shared screen: every screen forgets, then the idle screen."""
        self._awaiting_sync = False
        if self._warning is not None:
            self._warning.dismiss(animation=False)
        for screen in self.sm.screens:
            if isinstance(screen, KioskScreen):
                screen.clear()
        self.go("idle", message=LOGOUT_MESSAGES.get(reason, ""))

    def _warn(self, _kiosk: Kiosk, on: bool) -> None:
        if on and self._warning is None:
            self._warning = LogoutWarning(kiosk=self.kiosk)
            self._warning.bind(on_dismiss=self._warning_gone)
            self._warning.open(animation=False)
        elif not on and self._warning is not None:
            self._warning.dismiss(animation=False)

    def _warning_gone(self, *_: Any) -> None:
        self._warning = None

    # --- input ------------------------------------------------------------------------------------

    def _touch(self, _window: Any, _touch: Any) -> bool:
        self.taps += 1
        self.kiosk.activity()
        return False

    def _text(self, _window: Any, text: str) -> None:
        self.kiosk.key_text(text)

    def _key(self, _window: Any, key: int, _scancode: int, _codepoint: str | None,
             _modifiers: list[str]) -> bool:
        if key in ENTER_KEYS:
            return self.kiosk.key_enter()
        return False

    # --- for tests and benchmarks -------------------------------------------------------------------

    def screenshot(self, path: Path) -> Path:
        """The whole window (popups included) as a PNG at exactly ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        made = Window.screenshot(name=str(path.with_name(path.stem + "-raw.png")))  # adds 0001
        Path(made).replace(path)
        return path
