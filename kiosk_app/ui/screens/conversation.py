"""One conversation: bubbles with times, photos (tap to enlarge), drawings, the state of
every message sent, and the quickest answers: one tap on a quick reply sends it."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk_app import sitetime
from kiosk_app.ui import theme
from kiosk_app.ui.i18n import N_, tr
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.session import Message
from kiosk_app.ui.widgets import Bubble, BubbleRow, DrawingView, IconButton, KLabel, PhotoThumb, StateLine

# state -> (pictogram, words, colour). Words and a pictogram: never colour alone.
STATES: dict[str, tuple[str, str, tuple]] = {
    "outbox": ("outbox", N_("Waiting to be sent"), theme.TEXT_MUTED),
    "accepted": ("sent", N_("Sent"), theme.TEXT_MUTED),
    "held": ("held", N_("Waiting for HR"), theme.PRIMARY),
    "approved": ("held", N_("Approved by HR"), theme.SUCCESS),
    "delivered": ("delivered", N_("Delivered"), theme.SUCCESS),
    "read": ("read", N_("Read"), theme.SUCCESS),
    "refused": ("refused", N_("Refused"), theme.DANGER),
    "rejected": ("refused", N_("Refused by HR"), theme.DANGER),
    "retracted": ("retracted", N_("Withdrawn by HR"), theme.DANGER),
    "error": ("warning", N_("Not sent"), theme.DANGER),
}
# Reasons the relay gives as codes; HR's own reasons are shown as written.
REASONS = {
    "not_allowed": N_("you may not write to this person"),
    "unknown_recipient": N_("this person no longer exists"),
    "too_large": N_("too large"),
    "rate_limited": N_("too many messages, wait a moment"),
    "session_ended": N_("your session had ended"),
    "no_session": N_("your session had ended"),
    "bad_image": N_("the photo could not be read"),
    "bad_drawing": N_("the drawing could not be read"),
}


def state_view(msg: Message) -> tuple[str, str, tuple]:
    icon, words, colour = STATES.get(msg.state, STATES["outbox"])
    text = tr._(words)
    if msg.reason and msg.state in ("refused", "rejected", "error", "retracted"):
        reason = tr._(REASONS[msg.reason]) if msg.reason in REASONS else msg.reason
        text = f"{text} : {reason}" if tr.lang == "fr" else f"{text}: {reason}"
    return icon, text, colour


class ConversationScreen(KioskScreen):
    contact_id = NumericProperty(0)
    contact_name = StringProperty("")
    can_write = BooleanProperty(True)
    replies = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._bubbles: dict[str, tuple[BubbleRow, StateLine]] = {}
        self._order: list[str] = []
        self._waiting: dict[str, tuple[Bubble, KLabel]] = {}  # photos asked of the console

    def show(self, contact_id: int = 0, **_: Any) -> None:
        if contact_id != self.contact_id:
            self._reset()
        self.contact_id = contact_id
        self._quick_replies()
        self.refresh()
        Clock.schedule_once(lambda _dt: self._to_bottom(), 0)

    def refresh(self) -> None:
        if self.session is None:
            return
        conv = self.session.conversation(self.contact_id)
        self.contact_name = conv.contact.name
        self.can_write = conv.contact.allowed
        ids = [m.id for m in conv.messages]
        if ids[:len(self._order)] != self._order:
            self._reset()
        added = False
        for msg in conv.messages:
            if msg.id not in self._bubbles:
                self._add(msg)
                added = True
            else:
                self._update(msg)
        if added:
            Clock.schedule_once(lambda _dt: self._to_bottom(), 0)
        if conv.unread and self.manager and self.manager.current == self.name:
            self.kiosk.read_conversation(self.contact_id)

    def _quick_replies(self) -> None:
        strip = self.ids.replies
        strip.clear_widgets()
        lang = self.session.language if self.session else tr.lang
        for reply in (self.session.quick_replies if self.session else []):
            text = str(reply.get(lang) or reply.get("fr") or "")
            if not text:
                continue
            button = IconButton(icon=str(reply.get("icon") or "message"), text=text,
                                halign="center", size_hint_x=None, font_size=dp(theme.FONT),
                                bg_color=theme.SUCCESS)
            button.width = button.content_width
            button.bind(content_width=button.setter("width"))
            button.reply = reply
            button.bind(on_release=self._quick)
            strip.add_widget(button)

    def _quick(self, button: IconButton) -> None:
        self.kiosk.send_quick_reply(self.contact_id, button.reply)

    def _add(self, msg: Message) -> None:
        row = BubbleRow(mine=msg.mine)
        bubble = Bubble(mine=msg.mine, msg_id=msg.id, size_hint_x=0.78)
        if msg.kind == "text" or msg.text:
            bubble.add_widget(KLabel(text=msg.text, font_size=dp(theme.FONT)))
        if msg.kind == "photo" and msg.image is None and msg.has_image and self.kiosk:
            # An older photo the sync did not carry inline: asked of the console's kiosk API.
            msg.image = self.kiosk.remote_photo("message", msg.id,
                                                lambda jpeg, m=msg.id: self._photo_came(m, jpeg))
        if msg.kind == "photo" and msg.image is None:
            # Not here (yet): the label stays unless the console sends the photo.
            label = KLabel(text=tr._("Photo not shown on this terminal"),
                           font_size=dp(theme.FONT_SMALL), color=theme.TEXT_MUTED)
            bubble.add_widget(label)
            if msg.has_image:
                self._waiting[msg.id] = (bubble, label)
        elif msg.kind == "photo":
            for widget in self._photo_widgets(msg):
                bubble.add_widget(widget)
        if msg.kind == "drawing" and msg.drawing:
            view = DrawingView(size_hint_y=None, height=dp(150))
            view.drawing = msg.drawing
            bubble.add_widget(view)
        meta = KLabel(text=tr.stamp(msg.when, sitetime.now()), font_size=dp(theme.FONT_SMALL),
                      color=theme.TEXT_MUTED, halign="right" if msg.mine else "left")
        bubble.add_widget(meta)
        state = StateLine(pos_hint={"right": 1})
        if msg.mine:
            bubble.add_widget(state)
        if msg.mine:
            row.add_widget(Widget())
        row.add_widget(bubble)
        if not msg.mine:
            row.add_widget(Widget())
        self.ids.bubbles.add_widget(row)
        self._bubbles[msg.id] = (row, state)
        self._order.append(msg.id)
        self._update(msg)

    def _photo_widgets(self, msg: Message) -> list[Widget]:
        thumb = PhotoThumb(size_hint_y=None, height=dp(150), max_side=int(dp(300)))
        thumb.photo = msg.image
        thumb.bind(on_release=lambda _t, m=msg.id: self.nav.go("viewer", msg_id=m,
                                                               back="conversation"))
        widgets: list[Widget] = [thumb]
        if msg.caption:
            widgets.append(KLabel(text=msg.caption, font_size=dp(theme.FONT)))
        return widgets

    def _photo_came(self, msg_id: str, jpeg: bytes) -> None:
        """The console sent a photo this screen asked for: it takes the label's place."""
        msg = self.session.messages.get(msg_id) if self.session else None
        waiting = self._waiting.pop(msg_id, None)
        if msg is None:
            return
        msg.image = jpeg  # the viewer enlarges it from here; logout forgets it with the rest
        if waiting is None or msg_id not in self._bubbles:
            return
        bubble, label = waiting
        if label.parent is not bubble:
            return
        index = bubble.children.index(label)
        bubble.remove_widget(label)
        for widget in self._photo_widgets(msg):  # children run bottom-up: insert in order
            bubble.add_widget(widget, index=index)

    def _update(self, msg: Message) -> None:
        if not msg.mine:
            return
        _row, state = self._bubbles[msg.id]
        state.icon, state.text, state.color = state_view(msg)

    def _to_bottom(self) -> None:
        self.ids.scroll.scroll_y = 0

    def _reset(self) -> None:
        for row, _state in self._bubbles.values():
            for bubble in row.children:
                for child in bubble.children:
                    if isinstance(child, PhotoThumb):
                        child.photo = None
                        child.texture = None
                    elif isinstance(child, DrawingView):
                        child.drawing = {}
        self.ids.bubbles.clear_widgets()
        self._bubbles.clear()
        self._order.clear()
        self._waiting.clear()

    def compose(self) -> None:
        self.nav.go("compose", contact_id=self.contact_id)

    def photo(self) -> None:
        self.nav.go("photos", contact_id=self.contact_id)

    def draw(self) -> None:
        self.nav.go("drawing", contact_id=self.contact_id)

    def clear(self) -> None:
        self._reset()
        self.ids.replies.clear_widgets()
        self.contact_id = 0
        self.contact_name = ""
