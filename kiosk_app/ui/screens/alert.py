"""A safety alert from the Home screen (issue 16): a pictogram, a confirmation, sent.

Gloves-sized on purpose: six big choices, then one big red button. No text to type: the
pictogram and who is badged in say enough, and the relay adds the terminal. What is sent
goes through the link's outbox (``TerminalLink.send_alert``), so a network cut delays the
alert and never loses it; the relay skips moderation and contact rules.

From the idle screen too, when HR allows it (``Kiosk.alert_on_idle``): the same screens,
reachable with nobody badged in, sent with no session (the terminal's alone); back, done or
left untouched, they return to the idle screen, and a badge presented meanwhile goes on as
on the idle screen (the login takes over the screen).

An optional photo of the danger (badged in): "Add a photo" on the confirmation opens the
photo screen the conversations and the broadcast use (camera or image folder, normalised
before it is shown), which hands the JPEG back here; a thumbnail shows it with a button to
remove it, and it leaves with the alert through the same outbox. The relay normalises it
again; the recipients' kiosks show it on the urgent screen.
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from kiosk_app.ui.i18n import tr
from kiosk_app.ui.screens.base import KioskScreen

PICTOGRAMS = ("fall", "fire", "injury", "machine", "chemical", "other")
# Opened from the idle screen, nobody badged in: left alone this long, the screen goes back
# to the idle one (the badge invitation); "Alert sent" stays a little less.
IDLE_RETURN_S = 60.0
SENT_SHOWN_S = 20.0


def label(pictogram: str) -> str:
    """The word under each pictogram, in the person's language."""
    return {"fall": tr._("Fall"), "fire": tr._("Fire"), "injury": tr._("Injury"),
            "machine": tr._("Machine"), "chemical": tr._("Chemical"),
            "other": tr._("Other danger")}.get(pictogram, pictogram)


class AlertScreen(KioskScreen):
    step = StringProperty("choose")  # choose | confirm | sent
    pictogram = StringProperty("")
    sent_id = StringProperty("")
    from_idle = BooleanProperty(False)  # opened from the idle screen, nobody badged in
    photo = ObjectProperty(None, allownone=True)  # a normalised JPEG from the photo screen
    _timer: Any = None

    @property
    def personal(self) -> bool:  # type: ignore[override]
        """Only with a badge-in, unless HR lets the idle screen raise alerts: it shows
        nothing of anyone either way."""
        kiosk = self.kiosk
        return not (kiosk is not None and kiosk.session is None and kiosk.alert_on_idle)

    def show(self, photo: bytes | None = None, keep: bool = False, **_: Any) -> None:
        """``keep``: back from the photo screen, the chosen pictogram stays (with ``photo``
        when one was taken); otherwise a fresh alert."""
        if keep and self.step == "confirm" and self.pictogram:
            if photo:
                self.photo = photo
            return
        self.step, self.pictogram, self.sent_id = "choose", "", ""
        self.photo = None
        self.from_idle = self.kiosk is not None and self.kiosk.session is None
        self._arm(IDLE_RETURN_S)

    def choose(self, pictogram: str) -> None:
        if pictogram in PICTOGRAMS:
            self.pictogram, self.step = pictogram, "confirm"
            self._arm(IDLE_RETURN_S)

    def send(self) -> None:
        if self.step != "confirm" or not self.pictogram:
            return
        # No session on the link when it comes from the idle screen: the relay takes it
        # as the terminal's alone (while HR's setting allows it).
        self.sent_id = self.kiosk.link.send_alert(self.pictogram, image=self.photo)
        self.photo = None
        self.step = "sent"
        self._arm(SENT_SHOWN_S)

    def add_photo(self) -> None:
        """The photo screen, badged in only (its image folder and camera are the person's
        to use; from the idle screen the alert goes at once, without one)."""
        if self.step == "confirm" and not self.from_idle:
            self.nav.go("photos", for_alert=True)

    def remove_photo(self) -> None:
        self.photo = None

    def back(self) -> None:
        if self.step == "confirm":
            self.step = "choose"
            self.photo = None
            self._arm(IDLE_RETURN_S)
        elif self.from_idle:
            self._to_idle()
        else:
            self.nav.home()

    def _arm(self, seconds: float) -> None:
        """From the idle screen only: back to it if nobody touches this one meanwhile."""
        self._disarm()
        if self.from_idle:
            self._timer = Clock.schedule_once(lambda _dt: self._to_idle(), seconds)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _to_idle(self) -> None:
        self._disarm()
        if self.nav is not None and self.nav.current == self.name and self.kiosk.session is None:
            self.nav.go("idle")

    def on_leave(self, *_: Any) -> None:
        self._disarm()

    def clear(self) -> None:
        self._disarm()
        self.step, self.pictogram, self.sent_id = "choose", "", ""
        self.photo = None
        self.from_idle = False
