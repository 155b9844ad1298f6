"""Compose: an on-screen keyboard (AZERTY in French, QWERTY in English) with big keys.
For a person, a workgroup, or a reply to one post of a workgroup."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk_app.ui.i18n import tr
from kiosk_app.ui.screens.base import KioskScreen
from relais_wire import limits


def recipient_line(session: Any, contact_id: int, group_id: int, reply_to: str) -> str:
    """"To: Karim Benali", "To: Ligne 3", "Reply to Marc Leroy (Ligne 3)"."""
    if session is None:
        return ""
    if group_id:
        name = session.group_conversation(group_id).group.name
        original = session.messages.get(reply_to) if reply_to else None
        if original is not None:
            author = tr._("you") if original.mine else (original.from_name or "?")
            return tr._("Reply to {name} ({group})").format(name=author, group=name)
        return tr._("To: {name}").format(name=name)
    return tr._("To: {name}").format(name=session.conversation(contact_id).contact.name)


class ComposeScreen(KioskScreen):
    contact_id = NumericProperty(0)
    group_id = NumericProperty(0)
    reply_to = StringProperty("")  # the group post this one answers
    urgent = BooleanProperty(False)  # asked for in the conversation's compose bar
    contact_name = StringProperty("")
    to_line = StringProperty("")
    text = StringProperty("")

    def show(self, contact_id: int = 0, group_id: int = 0, reply_to: str = "",
             urgent: bool = False, **_: Any) -> None:
        if (contact_id, group_id, reply_to) != (self.contact_id, self.group_id, self.reply_to):
            self.text = ""
        self.contact_id, self.group_id, self.reply_to = contact_id, group_id, reply_to or ""
        self.urgent = bool(urgent and group_id)
        if self.session is not None:
            self.contact_name = (self.session.group_conversation(group_id).group.name if group_id
                                 else self.session.conversation(contact_id).contact.name)
        self.to_line = recipient_line(self.session, contact_id, group_id, self.reply_to)
        if self.urgent:
            self.to_line = tr._("{to} (urgent)").format(to=self.to_line)
        self.ids.keyboard.shift = not self.text  # a capital to start a message

    def type(self, chars: str) -> None:
        if len(self.text) + len(chars) <= limits.MAX_TEXT_CHARS:
            self.text += chars

    def backspace(self) -> None:
        self.text = self.text[:-1]

    def send(self) -> None:
        if not self.text.strip():
            return
        self.kiosk.send_text(self.contact_id, self.text, group=self.group_id,
                             reply_to=self.reply_to or None, urgent=self.urgent)
        self.text = ""
        self.urgent = False  # one urgent post, not every one after it
        self.back()

    def back(self) -> None:
        self.nav.go("conversation", contact_id=self.contact_id, group_id=self.group_id,
                    urgent=self.urgent)

    def clear(self) -> None:
        self.text = ""
        self.contact_id = self.group_id = 0
        self.reply_to = ""
        self.urgent = False
        self.contact_name = self.to_line = ""
