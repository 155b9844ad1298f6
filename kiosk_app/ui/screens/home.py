"""Home: conversations with the contacts HR allows (unread counts, last message), notices,
a new message. The person's name and "Terminer" are in the top bar above every screen."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk_app import sitetime
from kiosk_app.ui.i18n import tr
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.session import Conversation, Message


class ConversationRow(ButtonBehavior, BoxLayout):
    contact_id = NumericProperty(0)
    name = StringProperty("")
    preview = StringProperty("")
    stamp = StringProperty("")
    unread = NumericProperty(0)
    hr = BooleanProperty(False)


def preview(msg: Message | None) -> str:
    if msg is None:
        return tr._("No messages yet")
    prefix = tr._("You: ") if msg.mine else ""
    if msg.kind == "photo":
        return prefix + tr._("Photo")
    if msg.kind == "drawing":
        return prefix + tr._("Drawing")
    return prefix + msg.text.replace("\n", " ")


class HomeScreen(KioskScreen):
    notices_todo = NumericProperty(0)
    empty = BooleanProperty(False)

    def show(self, **_: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        box = self.ids.list
        box.clear_widgets()
        if self.session is None:
            return
        conversations = self.session.conversations()
        self.empty = not conversations
        for conv in conversations:
            box.add_widget(self._row(conv))
        self.notices_todo = self.session.notices_to_do()

    def _row(self, conv: Conversation) -> ConversationRow:
        last = conv.last
        stamp = tr.stamp(last.when, sitetime.now()) if last else ""
        row = ConversationRow(contact_id=conv.contact.id, name=conv.contact.name or "?",
                              preview=preview(last), stamp=stamp,
                              unread=conv.unread, hr=conv.contact.hr)
        row.bind(on_release=lambda r: self.nav.go("conversation", contact_id=r.contact_id))
        return row

    def clear(self) -> None:
        self.ids.list.clear_widgets()
        self.notices_todo = 0
