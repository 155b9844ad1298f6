"""A team lead's notice from the terminal (issue 16): "Broadcast to my team" on Home.

One form of big rows (to whom, title, text, photo) with two toggles (urgent, ask for an
acknowledgement) and Send; each row opens its own step: the teams and shifts the person
leads (from the sync's ``me.leads``), the on-screen keyboard for the title and the text, or
the photo screen the conversations use (camera or image folder, normalised before it is
shown). What is sent goes through the link's outbox (``TerminalLink.send_broadcast``), so a
network cut delays it and loses nothing typed; the relay checks again that the person leads
the target and answers with how many people it reached, or a reason this screen shows.
"""

from __future__ import annotations

from typing import Any

from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk_app.ui import theme
from kiosk_app.ui.i18n import tr
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.widgets import IconButton
from relais_wire import limits

STEPS = ("form", "target", "title", "text", "sent")


def refusal(code: str | None) -> str:
    """Why the server did not take a lead's broadcast or reminder, in the person's words."""
    many = tr._("{n} notices an hour at most: wait a little before the next one.")
    known = {
        "not_a_lead": tr._("Only a team lead can send a notice from a terminal."),
        "out_of_scope": tr._("You can only send notices to the teams you lead."),
        "not_found": tr._("This notice is not one you can remind."),
        "not_current": tr._("This notice has ended: it cannot be reminded."),
        "too_soon": tr._("A reminder went out less than two minutes ago."),
        "bad_image": tr._("This photo cannot be sent."),
        "image_too_large": tr._("This photo cannot be sent."),
        "image_too_big_pixels": tr._("This photo cannot be sent."),
        "empty": tr._("The title is empty."),
        "too_many_notices": many.format(n=limits.MAX_LEAD_NOTICES_PER_HOUR),
    }
    return known.get(code or "", tr._("The server refused it ({code}).").format(code=code or "?"))


class BroadcastScreen(KioskScreen):
    step = StringProperty("form")
    team_id = NumericProperty(0)
    shift_id = NumericProperty(0)
    target_name = StringProperty("")
    title = StringProperty("")
    text = StringProperty("")
    urgent = BooleanProperty(False)
    ack = BooleanProperty(False)
    photo = ObjectProperty(None, allownone=True)  # a normalised JPEG from the photo screen
    sent_id = StringProperty("")
    outcome = StringProperty("")  # outbox | accepted | error
    reached = NumericProperty(0)
    reason = StringProperty("")  # the refusal, translated

    def show(self, photo: bytes | None = None, fresh: bool = False, **_: Any) -> None:
        if fresh and self.step == "sent":
            self._reset()
        if photo:
            self.photo = photo
        if not self.team_id:
            self._default_target()
        self.step = "form" if self.step != "sent" else "sent"
        self.refresh()

    def _default_target(self) -> None:
        """The first team the person leads (most lead exactly one)."""
        leads = self.session.leads if self.session is not None else []
        if leads:
            self.team_id, self.shift_id, self.target_name = leads[0].id, 0, leads[0].name

    # --- the steps -----------------------------------------------------------------------

    def open(self, step: str) -> None:
        if step not in STEPS or self.step == "sent":
            return
        self.step = step
        if step == "target":
            self._fill_targets()
        elif step in ("title", "text"):
            self.ids.keyboard.shift = not getattr(self, step)  # a capital to start with

    def _fill_targets(self) -> None:
        box = self.ids.targets
        box.clear_widgets()
        for lead in self.session.leads if self.session is not None else []:
            choices = [(0, tr._("{team} (whole team)").format(team=lead.name))]
            choices += [(sid, f"{lead.name} · {name}") for sid, name in lead.shifts]
            for shift_id, label in choices:
                chosen = lead.id == self.team_id and shift_id == self.shift_id
                button = IconButton(icon="ok" if chosen else "shift", text=label,
                                    size_hint_y=None, height=dp(72), font_size=sp(theme.FONT),
                                    bg_color=theme.SUCCESS if chosen else theme.PRIMARY)
                button.bind(on_release=lambda _b, t=lead.id, s=shift_id, n=label:
                            self.choose(t, s, n))
                box.add_widget(button)

    def choose(self, team_id: int, shift_id: int, name: str) -> None:
        self.team_id, self.shift_id, self.target_name = team_id, shift_id, name
        self.step = "form"

    def type(self, chars: str) -> None:
        limit = limits.MAX_NOTICE_TITLE_CHARS if self.step == "title" \
            else limits.MAX_NOTICE_BODY_CHARS
        if self.step in ("title", "text") and len(getattr(self, self.step)) + len(chars) <= limit:
            setattr(self, self.step, getattr(self, self.step) + chars)

    def backspace(self) -> None:
        if self.step in ("title", "text"):
            setattr(self, self.step, getattr(self, self.step)[:-1])

    def add_photo(self) -> None:
        self.nav.go("photos", for_broadcast=True)

    def remove_photo(self) -> None:
        self.photo = None

    def toggle(self, what: str) -> None:
        if what == "urgent":
            self.urgent = not self.urgent
        elif what == "ack":
            self.ack = not self.ack

    def send(self) -> None:
        if self.step != "form" or not self.team_id or not self.title.strip() \
                or self.session is None:
            return
        self.sent_id = self.kiosk.link.send_broadcast(
            self.team_id, self.title.strip(), self.text.strip(), image=self.photo,
            shift=self.shift_id or None, urgent=self.urgent, ack=self.ack or self.urgent)
        self.session.track_sent(self.sent_id)
        self.outcome, self.reason, self.reached = "outbox", "", 0
        self.step = "sent"

    def refresh(self) -> None:
        """The relay's answer to what was sent (kept in the session by the link's events)."""
        sent = self.session.sent_notices.get(self.sent_id) if self.session and self.sent_id \
            else None
        if sent is None:
            return
        self.outcome = sent.state if sent.state in ("accepted", "error") else "outbox"
        self.reached = sent.reached or 0
        self.reason = refusal(sent.reason) if sent.state == "error" else ""

    def back(self) -> None:
        if self.step in ("target", "title", "text"):
            self.step = "form"
        elif self.step == "sent" and self.outcome == "error":
            self.step, self.sent_id, self.outcome = "form", "", ""  # the draft is still here
        else:
            if self.step == "sent":
                self._reset()
            self.nav.go("home")

    def my_notices(self) -> None:
        if self.step == "sent" and self.outcome != "error":
            self._reset()
        self.nav.go("my_notices")

    def _reset(self) -> None:
        self.step = "form"
        self.title = self.text = self.sent_id = self.outcome = self.reason = ""
        self.urgent = self.ack = False
        self.photo = None
        self.reached = 0
        self.team_id = self.shift_id = 0
        self.target_name = ""
        self._default_target()

    def clear(self) -> None:
        self.step = "form"
        self.title = self.text = self.sent_id = self.outcome = self.reason = ""
        self.target_name = ""
        self.urgent = self.ack = False
        self.photo = None
        self.reached = self.team_id = self.shift_id = 0
        if "targets" in self.ids:
            self.ids.targets.clear_widgets()
