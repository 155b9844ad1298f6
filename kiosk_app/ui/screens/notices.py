"""Notices: the current ones for this person, urgent first, with what is left to do.

A badge-in sync fits one packet: when a person has more notices than it could carry (a
lead's many long ones), it says how many it left out (``notices_more``) and this screen
reads them all from the console's kiosk API (``/notices``, as the sync lists them)."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk_app.link.api import KioskApiError
from kiosk_app.ui.i18n import tr
from kiosk_app.ui.screens.reading import ReadingScreen


class NoticeRow(ButtonBehavior, BoxLayout):
    uid = StringProperty("")
    title = StringProperty("")
    urgent = BooleanProperty(False)
    todo = StringProperty("")  # "ack", "new" or ""


class NoticesScreen(ReadingScreen):
    empty = BooleanProperty(False)
    more = StringProperty("")  # what is said of the notices the sync left out, translated

    def show(self, **_: Any) -> None:
        self.failed = ""
        self.refresh()

    def _read_the_rest(self) -> None:
        """Once per sync that left notices out, while the screen is shown (a failure waits
        for the screen to be opened again)."""
        session = self.session
        if session is None or not session.notices_more or self.loading or self.failed:
            return
        syncs = session.syncs
        self.fetch(lambda api, sid: api.notices(sid), lambda items: self._all(syncs, items))

    def _all(self, syncs: int, items: list[dict[str, Any]]) -> None:
        if self.session is None:
            return
        for item in items:
            self.session.add_notice(item)
        if self.session.syncs == syncs:  # a newer sync's count is its own
            self.session.notices_more = 0
        self.refresh()

    def no_api(self) -> str:
        return ""  # said by ``more``: they come with a later badge-in

    def unreadable(self, error: KioskApiError) -> str:
        return tr._("Some notices could not be loaded: try again in a moment.")

    def refresh(self) -> None:
        box = self.ids.list
        box.clear_widgets()
        if self.session is None:
            return
        notices = self.session.notice_list()
        self.empty = not notices
        left = self.session.notices_more
        self.more = "" if not left or self.api() is not None else tr.ngettext(
            "{n} more notice will be shown the next time you badge in.",
            "{n} more notices will be shown the next time you badge in.", left).format(n=tr.number(left))
        self._read_the_rest()
        for n in notices:
            todo = "ack" if n.needs_ack else ("" if n.seen else "new")
            row = NoticeRow(uid=n.id, title=n.title, urgent=n.urgent, todo=todo)
            row.bind(on_release=lambda r: self.nav.go("notice", uid=r.uid))
            box.add_widget(row)

    def clear(self) -> None:
        self.forget()
        self.more = ""
        self.ids.list.clear_widgets()
