"""Home: conversations with the contacts HR allows and the person's workgroups (unread
counts, last message; a group with an urgent unread post first), notices, a new message.
The person's name and "Terminer" are in the top bar above every screen."""

from __future__ import annotations

from functools import partial
from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk_app import sitetime
from kiosk_app.ui.i18n import tr
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.session import Conversation, GroupConversation, Message
from kiosk_app.ui.widgets import RecycledRow


class ConversationRow(RecycledRow, ButtonBehavior, BoxLayout):
    """One row of Home's list, recycled (only the rows in view exist as widgets, so Home
    costs the same with 3 contacts or 300): every field comes from the row's data, and
    each row's data gives them all."""

    name = StringProperty("")
    preview = StringProperty("")
    stamp = StringProperty("")
    unread = NumericProperty(0)
    hr = BooleanProperty(False)
    urgent = BooleanProperty(False)  # a group with an urgent post not yet read


# Every field of a row: a recycled widget keeps whatever its last row's data set, so each
# row's data starts from all of them.
ROW: dict[str, Any] = {"contact_id": 0, "group_id": 0, "name": "", "preview": "", "stamp": "",
                       "unread": 0, "hr": False, "urgent": False, "open": None}


def preview(msg: Message | None) -> str:
    if msg is None:
        return tr._("No messages yet")
    prefix = tr._("You: ") if msg.mine else (f"{msg.from_name}: " if msg.group else "")
    if msg.kind == "photo":
        return prefix + tr._("Photo")
    if msg.kind == "drawing":
        return prefix + tr._("Drawing")
    if msg.kind == "voice":
        return prefix + tr._("Voice message")
    return prefix + msg.text.replace("\n", " ")


def sync_preview(last: dict[str, Any]) -> str:
    """A group's last post as the sync sums it up: {from_name, kind, text | caption}."""
    kind = str(last.get("kind") or "text")
    words = {"photo": tr._("Photo"), "drawing": tr._("Drawing"),
             "voice": tr._("Voice message")}.get(kind, "")
    text = str(last.get("text") or last.get("caption") or "").replace("\n", " ")
    body = f"{words} · {text}" if words and text else (words or text)
    name = str(last.get("from_name") or "")
    return f"{name}: {body}" if name else body


class HomeScreen(KioskScreen):
    notices_badge = StringProperty("")  # notices to do: "3", or "3+" while a cut sync's rest is unread
    empty = BooleanProperty(False)
    lead = BooleanProperty(False)  # leads a team: "Broadcast to my team" (screens/broadcast)

    def show(self, **_: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        if self.session is None:
            self.ids.list.data = []
            return
        conversations = self.session.threads()
        self.empty = not conversations
        self.ids.list.data = [self._row(conv) for conv in conversations]
        todo = self.session.notices_to_do()
        more = "+" if self.session.notices_to_do_more() else ""
        self.notices_badge = f"{tr.number(todo)}{more}" if todo or more else ""
        self.lead = bool(self.session.leads)

    def _row(self, conv: Conversation | GroupConversation) -> dict[str, Any]:
        if isinstance(conv, GroupConversation):
            return self._group_row(conv)
        last, contact_id = conv.last, conv.contact.id
        return {**ROW, "contact_id": contact_id, "name": conv.contact.name or "?",
                "preview": preview(last),
                "stamp": tr.stamp(last.when, sitetime.now()) if last else "",
                "unread": conv.unread, "hr": conv.contact.hr,
                "open": partial(self.nav.go, "conversation", contact_id=contact_id)}

    def _group_row(self, conv: GroupConversation) -> dict[str, Any]:
        """The last post held here, or the one the sync summed up when it is newer."""
        group, last = conv.group, conv.last
        if last is not None and last.ts >= group.last_ts:
            text, when = preview(last), last.when
        elif group.last is not None:
            text, when = sync_preview(group.last), sitetime.from_timestamp(group.last_ts)
        else:
            text, when = tr._("No messages yet"), None
        return {**ROW, "group_id": group.id, "name": group.name or "?", "preview": text,
                "stamp": tr.stamp(when, sitetime.now()) if when else "",
                "unread": conv.unread, "urgent": group.urgent_unread,
                "open": partial(self.nav.go, "conversation", group_id=group.id)}

    def clear(self) -> None:
        self.ids.list.data = []
        self.notices_badge = ""
        self.lead = False
