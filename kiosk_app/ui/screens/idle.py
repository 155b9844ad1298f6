"""Idle: the clock, the site, the site's current notices and "Présentez votre badge". The
badge reader types here.

The notices come from the kiosk controller (``Kiosk.site_notices``, polled from the
console's kiosk API every minute while nobody is badged in): titles only, urgent ones
marked, as many as fit under the invitation; nothing at all without a kiosk API.

When HR allows it (``Kiosk.alert_on_idle``, from the same board), the header holds Home's
red "Danger / accident" button: the alert screens, sent with no badge session (the relay
checks the setting again and audits the terminal)."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk_app import sitetime
from kiosk_app.ui.i18n import N_, tr
from kiosk_app.ui.screens.base import KioskScreen

MESSAGES = {
    "bad_badge": N_("This badge is not recognised. Ask your supervisor."),
    "offline": N_("The terminal is offline. Try again in a moment."),
    "inactivity": N_("Logged out automatically: no activity."),
    "replaced": N_("You were logged out: your badge was used on another terminal."),
    "error": N_("Something went wrong. Please present your badge again."),
    "ended": N_("You were logged out: your session was closed. Present your badge again."),
    "wait": N_("Too many attempts on this terminal. Try again in {seconds} s."),
    "busy": N_("This terminal is busy. Try again in {seconds} s."),
    "suspended": N_("This terminal no longer accepts badges. Ask HR or your supervisor."),
    "alert_refused": N_("Alert NOT sent: badge in first, then press Danger / accident."),
}
COUNTED_DOWN = ("wait", "busy")  # shown until their countdown ends
# How long a message stays (s).
SHOWN_S = {"suspended": 60, "alert_refused": 60}
SHOWN_DEFAULT_S = 12


class IdleNoticeRow(BoxLayout):
    """One title of the idle board (laid out in idle.kv)."""

    title = StringProperty("")
    urgent = BooleanProperty(False)


class IdleScreen(KioskScreen):
    personal = False
    clock = StringProperty("")
    today = StringProperty("")
    notice_key = StringProperty("")  # a key of MESSAGES, shown under the invitation
    wait_left = NumericProperty(0)  # a "wait" or "busy" message's countdown (s)
    board = ListProperty([])  # site notices anyone may read: [{uid, title, urgent, excerpt}]
    board_hidden = NumericProperty(0)  # notices that did not fit on the screen
    alert_on = BooleanProperty(False)  # the safety alert button without a badge-in

    # What the rest of the screen needs (dp), to work out how many notice rows fit.
    ROW = 52  # one notice row and the space under it
    RESERVED = 16 * 2 + 96 + 12 * 3 + 150 + 36  # padding, header, spacing, invitation, heading
    BANNER = 64 + 12
    MAX_ROWS = 5

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tick(0)
        Clock.schedule_interval(self._tick, 1)
        tr.bind(lang=lambda *_: self._tick(0))
        self._hide = None
        self._layout = Clock.create_trigger(self._lay_out_board, 0)
        self.bind(board=self._layout, height=self._layout, notice_key=self._layout)
        if self.kiosk is not None:
            self.kiosk.bind(site_notices=self._board_changed,
                            alert_on_idle=lambda _k, on: setattr(self, "alert_on", bool(on)),
                            on_error=self._error)
            self.board = list(self.kiosk.site_notices)
            self.alert_on = bool(self.kiosk.alert_on_idle)

    def _error(self, _kiosk: Any, code: str, _message: str) -> None:
        """An alert sent from here that the relay refused because HR turned the setting off
        since the last board: said here, whatever screen the alert left the kiosk on."""
        if code == "badge_needed" and self.kiosk.session is None:
            self.nav.go("idle", message="alert_refused")

    def raise_alert(self) -> None:
        """The alert screens, as the terminal alone (nobody is badged in on this screen)."""
        if self.alert_on and self.kiosk.session is None:
            self.nav.go("alert")

    def _board_changed(self, _kiosk: Any, notices: list[dict[str, Any]]) -> None:
        self.board = list(notices)

    def rows_that_fit(self) -> int:
        free = self.height - dp(self.RESERVED) - (dp(self.BANNER) if self.notice_key else 0)
        return max(1, min(self.MAX_ROWS, int(free // dp(self.ROW))))

    def _lay_out_board(self, _dt: float = 0) -> None:
        box = self.ids.get("board_rows")
        if box is None:
            return
        box.clear_widgets()
        # Urgent first (newest first within each): what someone walking past must not miss.
        shown = sorted(self.board, key=lambda n: not n.get("urgent"))[:self.rows_that_fit()]
        for notice in shown:
            box.add_widget(IdleNoticeRow(title=str(notice.get("title", "")),
                                         urgent=bool(notice.get("urgent"))))
        self.board_hidden = len(self.board) - len(shown)

    def more_text(self, hidden: int) -> str:
        if hidden <= 0:
            return ""
        return tr.ngettext("+ {n} more notice", "+ {n} more notices", hidden).format(n=hidden)

    def _tick(self, _dt: float) -> None:
        now = sitetime.now()  # the site's time, as the console shows it
        self.clock = tr.time(now)
        today = tr.date(now)
        self.today = today[:1].upper() + today[1:]  # "Lundi 23 novembre", "Monday 23 November"

    def show(self, message: str = "", wait: int = 0, **_: Any) -> None:
        self.say(message, wait=wait)

    def say(self, key: str, *, wait: int = 0) -> None:
        self.notice_key = key if key in MESSAGES else ""
        self.wait_left = max(0, int(wait)) if key in COUNTED_DOWN else 0
        if self._hide is not None:
            self._hide.cancel()
            self._hide = None
        if self.notice_key in COUNTED_DOWN:
            self._hide = Clock.schedule_interval(self._count_down, 1)
        elif self.notice_key:
            shown = SHOWN_S.get(self.notice_key, SHOWN_DEFAULT_S)
            self._hide = Clock.schedule_once(lambda _dt: self.say(""), shown)

    def _count_down(self, _dt: float) -> bool:
        self.wait_left = max(0, self.wait_left - 1)
        if self.wait_left <= 0:
            self.say("")
            return False
        return True

    def message_text(self, key: str, seconds: float = 0) -> str:
        if key not in MESSAGES:
            return ""
        return tr._(MESSAGES[key]).format(seconds=int(seconds))
