"""A team lead's own notices (issue 16): those they broadcast and those sent to the teams
they lead, each with how many have read and confirmed it; one tap reminds those who have
not, and opening one shows who has and who has not, by name.

Read from the console's kiosk API (``/my-notices``, as the badged-in person) off the UI
thread (``reading.ReadingScreen``).
The reminder goes through the link's outbox (``TerminalLink.send_remind``) like any uplink.
Without a kiosk API in the terminal's config the screen says the list is not available.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import (
    BooleanProperty,
    DictProperty,
    ListProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk_app.link.api import KioskApiError
from kiosk_app.ui.i18n import tr
from kiosk_app.ui.screens.broadcast import refusal
from kiosk_app.ui.screens.reading import ReadingScreen


def pending(notice: dict[str, Any]) -> int:
    """How many have not done what the notice asks (confirm it, or at least read it)."""
    counts = notice.get("counts") or {}
    done = counts.get("acknowledged" if notice.get("ack_required") else "seen") or 0
    return max(0, int(counts.get("audience") or 0) - int(done))


def counts_line(notice: dict[str, Any]) -> str:
    """"Atelier · Read 2 of 3 · Confirmed 1 of 3"."""
    c, target = notice.get("counts") or {}, notice.get("target") or {}
    name = str(target.get("name") or "")
    if target.get("team"):
        name = f"{target['team']} · {name}"
    total = int(c.get("audience") or 0)
    parts = [name, tr._("Read {n} of {total}").format(n=c.get("seen") or 0, total=total)]
    if notice.get("ack_required"):
        parts.append(tr._("Confirmed {n} of {total}").format(n=c.get("acknowledged") or 0,
                                                            total=total))
    return " · ".join(p for p in parts if p)


def state_word(state: str) -> str:
    return {"waiting": tr._("Not received yet"), "reached": tr._("Received, not read"),
            "seen": tr._("Read"), "acknowledged": tr._("Confirmed")}.get(state, state)


class MyNoticeRow(ButtonBehavior, BoxLayout):
    uid = StringProperty("")
    title = StringProperty("")
    line = StringProperty("")
    urgent = BooleanProperty(False)
    can_remind = BooleanProperty(False)
    screen = None  # the MyNoticesScreen, for the row's Remind button


class PersonLine(BoxLayout):
    name = StringProperty("")
    state = StringProperty("")
    done = BooleanProperty(False)


class MyNoticesScreen(ReadingScreen):
    mode = StringProperty("list")  # list | detail
    empty = BooleanProperty(False)
    notice = DictProperty({})  # the opened one, as the API answered
    # What the .kv shows of it (a rule on ``notice.get(...)`` would not follow it).
    heading = StringProperty("")
    may_remind = BooleanProperty(False)
    asks_ack = BooleanProperty(False)
    left = NumericProperty(0)  # who has not done what it asks
    people = ListProperty([])
    remind_id = StringProperty("")
    remind_note = StringProperty("")  # the reminder's outcome, translated

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows: list[dict[str, Any]] = []

    def no_api(self) -> str:
        return tr._("This terminal cannot show your notices: ask IT.")

    def unreadable(self, error: KioskApiError) -> str:
        return refusal(error.code) if error.code == "not_found" \
            else tr._("Your notices could not be read: try again in a moment.")

    # --- the list -------------------------------------------------------------------------

    def show(self, uid: str = "", **_: Any) -> None:
        self.remind_id = self.remind_note = ""
        if uid:
            self.open_notice(uid)
        else:
            self.mode = "list"
            self.reload()

    def reload(self) -> None:
        if self.mode == "detail" and self.notice.get("uid"):
            self.open_notice(self.notice["uid"])
        else:
            self.fetch(lambda api, sid: api.my_notices(sid), self._listed)

    def _listed(self, items: list[dict[str, Any]]) -> None:
        self._rows = items
        self.empty = not items
        box = self.ids.list
        box.clear_widgets()
        for n in items:
            row = MyNoticeRow(uid=n["uid"], title=str(n.get("title") or ""),
                              line=counts_line(n), urgent=bool(n.get("urgent")),
                              can_remind=n.get("status") == "active" and pending(n) > 0)
            row.screen = self
            row.bind(on_release=lambda r: self.open_notice(r.uid))
            box.add_widget(row)

    # --- one notice -----------------------------------------------------------------------

    def open_notice(self, uid: str) -> None:
        self.mode = "detail"
        self.fetch(lambda api, sid: api.my_notice(sid, uid), self._opened)

    def _opened(self, data: dict[str, Any]) -> None:
        self.notice = data
        self.heading = str(data.get("title") or "")
        self.may_remind = bool(data.get("may_remind"))
        self.asks_ack = bool(data.get("ack_required"))
        self.left = int(data.get("pending") or 0)
        self.people = [p for p in data.get("people", []) if isinstance(p, dict)]
        box = self.ids.people
        box.clear_widgets()
        for p in self.people:
            box.add_widget(PersonLine(name=str(p.get("name") or ""),
                                      state=state_word(str(p.get("state") or "")),
                                      done=bool(p.get("done"))))

    def remind(self, uid: str = "") -> None:
        """One tap: those who have not confirmed (or read) it get it again."""
        uid = uid or self.notice.get("uid", "")
        if not uid or self.session is None:
            return
        self.remind_id = self.kiosk.link.send_remind(uid)
        self.session.track_sent(self.remind_id)
        self.remind_note = tr._("Sending the reminder…")

    def refresh(self) -> None:
        sent = self.session.sent_notices.get(self.remind_id) if self.session and self.remind_id \
            else None
        if sent is None:
            return
        if sent.state == "accepted":
            n = sent.reached or 0
            self.remind_note = tr.ngettext("Reminder sent to {n} person.",
                                           "Reminder sent to {n} people.", n).format(n=n)
        elif sent.state == "error":
            self.remind_note = refusal(sent.reason)

    def back(self) -> None:
        if self.mode == "detail":
            self.mode = "list"
            self.remind_id = self.remind_note = ""
            self.reload()
        else:
            self.nav.go("broadcast")

    def clear(self) -> None:
        self.forget()
        self.mode = "list"
        self.notice = {}
        self.heading = ""
        self.may_remind = self.asks_ack = False
        self.left = 0
        self.people = []
        self._rows = []
        self.empty = False
        self.remind_id = self.remind_note = ""
        for name in ("list", "people"):
            if name in self.ids:
                self.ids[name].clear_widgets()
