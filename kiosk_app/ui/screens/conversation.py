"""One conversation: bubbles with times, photos (tap to enlarge), drawings, the state of
every message sent, and the quickest answers: one tap on a quick reply sends it.

The same screen shows a workgroup (``group_id`` set): each post names its author, one's own
posts say "seen by N of M", a group one may not post in has no compose bar but a line that
says why, and where members may answer a lead's post each post has a Reply button."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from kiosk_app import sitetime, voice
from kiosk_app.link.api import KioskApiError
from kiosk_app.ui import theme
from kiosk_app.ui.i18n import N_, tr
from kiosk_app.ui.screens.offshift import may_write_from, when
from kiosk_app.ui.screens.reading import ReadingScreen
from kiosk_app.ui.session import Message
from kiosk_app.ui.widgets import (
    Bubble,
    BubbleRow,
    DrawingView,
    IconButton,
    KLabel,
    LevelBar,
    PhotoThumb,
    StateLine,
)

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
EARLIER_PAGE = 30  # messages a touch on "Earlier messages" brings
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
    "bad_audio": N_("the voice message could not be read"),
    "too_long": N_("the voice message is longer than a minute"),
    "not_member": N_("you are no longer in this group"),
    "read_only": N_("only some people may post in this group"),
    "archived": N_("this group is closed for new posts"),
    "group_closed": N_("this group no longer exists"),
    "reply_only": N_("you may only reply to a post in this group"),
    "off_shift": N_("outside your shift"),
}
# Where a group post has reached its members: "seen by N of M" replaces the state word.
FANNED_OUT = frozenset({"accepted", "approved", "delivered", "read"})


def state_view(msg: Message) -> tuple[str, str, tuple]:
    if msg.group and msg.members is not None and msg.state in FANNED_OUT:
        seen = msg.seen or 0
        text = tr._("Seen by {seen} of {members}").format(seen=seen, members=msg.members)
        return ("read" if seen else "delivered"), text, theme.SUCCESS
    icon, words, colour = STATES.get(msg.state, STATES["outbox"])
    text = tr._(words)
    if msg.reason and msg.state in ("refused", "rejected", "error", "retracted"):
        reason = tr._(REASONS[msg.reason]) if msg.reason in REASONS else msg.reason
        if msg.reason == "off_shift" and msg.opens:
            reason = tr._("outside your shift, you can write again from {time}").format(
                time=when(msg.opens, msg.opens_day))
        text = f"{text} : {reason}" if tr.lang == "fr" else f"{text}: {reason}"
    return icon, text, colour


def may_reply(group: Any) -> bool:
    """Members answer a lead's post where the group allows it and is not read-only for
    them (``read_only``: not even a reply, e.g. an archived group)."""
    return bool(group.members_reply and not group.read_only)


def group_note(group: Any) -> str:
    """Why a group has no compose bar, in the person's words."""
    if may_reply(group):
        return tr._("Only team leads and HR post here. You can reply to a post.")
    return tr._("You can read this group but not post in it.")


class ConversationScreen(ReadingScreen):
    contact_id = NumericProperty(0)
    group_id = NumericProperty(0)  # a workgroup's posts instead of a person's messages
    contact_name = StringProperty("")
    subtitle = StringProperty("")  # a group: how many members
    can_write = BooleanProperty(True)
    compose_bar = BooleanProperty(True)  # a read-only group shows none at all
    note = StringProperty("")  # why there is nothing to write with
    replies = ListProperty([])
    urgent_toggle = BooleanProperty(False)  # a group where this person may ask for urgent
    urgent = BooleanProperty(False)  # the next post is asked for urgent (one post only)
    can_record = BooleanProperty(False)  # the terminal has a microphone: a Voice button
    earlier = BooleanProperty(False)  # "Earlier messages": the sync's history left some out

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._bubbles: dict[str, tuple[BubbleRow, StateLine]] = {}
        self._order: list[str] = []
        self._waiting: dict[str, tuple[Bubble, KLabel]] = {}  # photos asked of the console
        self._clips: dict[str, tuple[IconButton, Widget, KLabel]] = {}  # voice messages shown
        self._clip_ticker: Any = None
        self._keep_in_view: str | None = None  # a page came: the message to show, not the end

    def show(self, contact_id: int = 0, group_id: int = 0, urgent: bool | None = None,
             **_: Any) -> None:
        """``urgent``: what the compose screens hand back (off once the post is sent, kept
        when the person comes back without sending); ``None`` keeps the toggle as it is."""
        if (contact_id, group_id) != (self.contact_id, self.group_id):
            self._reset()
            self.forget()  # a page asked for in the conversation left is not this one's
            self.urgent = False
        if urgent is not None:
            self.urgent = bool(urgent)
        self.contact_id, self.group_id = (0, group_id) if group_id else (contact_id, 0)
        self.can_record = bool(self.kiosk and self.kiosk.can_record)
        self._quick_replies()
        self.refresh()
        Clock.schedule_once(lambda _dt: self._to_bottom(), 0)

    def on_enter(self, *_: Any) -> None:
        """Shown: what is unread here is read now (``show`` runs before the switch)."""
        self.refresh()

    def _conversation(self) -> Any:
        """The person's conversation or the group's, and what the screen says about it."""
        if self.group_id:
            conv = self.session.group_conversation(self.group_id)
            group = conv.group
            self.contact_name = group.name
            self.subtitle = tr.ngettext("{n} member", "{n} members",
                                        group.members).format(n=group.members)
            self.can_write = group.can_post and not group.read_only
            self.compose_bar = self.can_write
            self.note = "" if self.can_write else group_note(group)
            self.urgent_toggle = self.can_write and group.can_urgent
            self.urgent = self.urgent and self.urgent_toggle
            return conv
        conv = self.session.conversation(self.contact_id)
        self.contact_name = conv.contact.name
        self.subtitle = ""
        self.can_write = conv.contact.allowed
        self.compose_bar = True  # shown, greyed, as it always was for a person
        self.urgent_toggle = self.urgent = False
        self.note = "" if self.can_write else tr._("You cannot write to this person.")
        if conv.contact.off_shift:
            self.note = may_write_from(conv.contact.name, conv.contact.opens,
                                       conv.contact.opens_day)
        return conv

    def refresh(self) -> None:
        if self.session is None:
            return
        conv = self._conversation()
        ids = [m.id for m in conv.messages]
        rebuilt = ids[:len(self._order)] != self._order  # earlier messages came above
        if rebuilt:
            self._reset()
        added = False
        for msg in conv.messages:
            if msg.id not in self._bubbles:
                self._add(msg)
                added = True
            else:
                self._update(msg)
        if rebuilt:
            self._resume_clip()
        self.earlier = self.session.may_have_earlier(self.contact_id, self.group_id) \
            and self.api() is not None
        if added:
            Clock.schedule_once(lambda _dt: self._to_bottom(), 0)
        if conv.unread and self.manager and self.manager.current == self.name:
            if self.group_id:
                self.kiosk.read_group(self.group_id)
            else:
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
        self.kiosk.send_quick_reply(self.contact_id, button.reply, group=self.group_id,
                                    urgent=self._urgent())
        self.urgent = False

    def _urgent(self) -> bool:
        return bool(self.group_id and self.urgent_toggle and self.urgent)

    def _post_header(self, bubble: Bubble, msg: Message) -> None:
        """A group post: who wrote it, whether it is urgent, which post it answers."""
        if not msg.mine:
            bubble.add_widget(KLabel(text=msg.from_name or "?", bold=True,
                                     font_size=dp(theme.FONT_SMALL), color=theme.PRIMARY_DARK))
        if msg.urgent:
            bubble.add_widget(KLabel(text=tr._("Urgent"), bold=True,
                                     font_size=dp(theme.FONT_SMALL), color=theme.DANGER))
        if msg.reply_to:
            bubble.add_widget(KLabel(text=self._replied(msg.reply_to), italic=True,
                                     font_size=dp(theme.FONT_SMALL), color=theme.TEXT_MUTED))

    def _replied(self, ref: str) -> str:
        original = self.session.messages.get(ref) if self.session else None
        if original is None:
            return tr._("In reply to an earlier post")
        name = tr._("you") if original.mine else (original.from_name or "?")
        excerpt = original.preview().replace("\n", " ")
        excerpt = excerpt if len(excerpt) <= 40 else excerpt[:39] + "…"
        if not excerpt:
            return tr._("In reply to {name}").format(name=name)
        return tr._("In reply to {name}: {excerpt}").format(name=name, excerpt=excerpt)

    @staticmethod
    def _bubble_button(msg: Message, icon: str, text: str, colour: Any,
                       action: Callable[[str], None]) -> IconButton:
        """A button under a received message, as wide as its words: ``action(msg.id)``."""
        button = IconButton(icon=icon, text=text, size_hint=(None, None),
                            height=dp(theme.TARGET), font_size=dp(theme.FONT), bg_color=colour)
        button.width = button.content_width
        button.bind(content_width=button.setter("width"))
        button.msg_id = msg.id
        button.bind(on_release=lambda b: action(b.msg_id))
        return button

    def _reply_button(self, msg: Message) -> IconButton:
        return self._bubble_button(msg, "message", tr._("Reply"), theme.PRIMARY, self.reply)

    def _listen_button(self, msg: Message) -> IconButton:
        """Reads the message aloud (``Kiosk.listen``): its text, or a photo's caption."""
        return self._bubble_button(msg, "listen", tr._("Listen"), theme.PRIMARY_DARK,
                                   self.listen)

    def listen(self, msg_id: str) -> None:
        msg = self.session.messages.get(msg_id) if self.session else None
        if msg is not None:
            self.kiosk.listen(msg.text or msg.caption)

    def _add(self, msg: Message) -> None:
        row = BubbleRow(mine=msg.mine)
        bubble = Bubble(mine=msg.mine, msg_id=msg.id, size_hint_x=0.78)
        if msg.group:
            self._post_header(bubble, msg)
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
        if msg.kind == "voice":
            bubble.add_widget(self._clip_strip(msg))
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
        group = self.session.groups.get(msg.group) if msg.group and self.session else None
        actions = []
        if not msg.mine and (msg.text or msg.caption) and self.kiosk and self.kiosk.can_read_aloud:
            actions.append(self._listen_button(msg))
        if group is not None and may_reply(group) and not msg.mine:
            actions.append(self._reply_button(msg))
        if actions:
            strip = BoxLayout(size_hint_y=None, height=dp(theme.TARGET), spacing=dp(8))
            for button in actions:
                strip.add_widget(button)
            strip.add_widget(Widget())
            bubble.add_widget(strip)
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

    def _clip_strip(self, msg: Message) -> Widget:
        """A voice message: play/pause and its length, then how far it has played."""
        if msg.audio is None and not msg.has_audio:
            return KLabel(text=tr._("Voice message not available on this terminal"),
                          font_size=dp(theme.FONT_SMALL), color=theme.TEXT_MUTED)
        box = BoxLayout(orientation="vertical", size_hint_y=None,
                        height=dp(theme.TARGET + 26), spacing=dp(8))
        top = BoxLayout(size_hint_y=None, height=dp(theme.TARGET), spacing=dp(12))
        button = self._bubble_button(msg, "play", tr._("Play"), theme.PRIMARY, self.play)
        length = KLabel(text=voice.clock((msg.duration_ms or 0) / 1000), font_size=dp(theme.FONT),
                        bold=True, pos_hint={"center_y": 0.5}, size_hint_x=None,
                        width=dp(120))
        for widget in (button, length):
            top.add_widget(widget)
        bar = LevelBar(colour=theme.PRIMARY, height=dp(18))
        box.add_widget(top)
        box.add_widget(bar)
        self._clips[msg.id] = (button, bar, length)
        return box

    def play(self, msg_id: str) -> None:
        """Play or pause a voice message (one at a time on the terminal)."""
        if self.kiosk is None:
            return
        if not self.kiosk.play_clip(msg_id, lambda m=msg_id: self.play(m)):
            return
        self._show_clip()

    def _resume_clip(self) -> None:
        """A clip still playing under bubbles built again keeps its Pause button and bar
        (it said Play while its sound went on)."""
        player = self.kiosk.clips if self.kiosk else None
        if player is not None and player.msg_id in self._clips:
            self._show_clip()

    def _show_clip(self) -> None:
        """The clip's button, bar and time follow it from now on."""
        if self._clip_ticker is None:
            self._clip_ticker = Clock.schedule_interval(self._clip_tick, 0.1)
        self._clip_tick(0)

    def _clip_tick(self, _dt: float) -> None:
        player = self.kiosk.clips if self.kiosk else None
        going = player is not None and player.tick()
        for msg_id, (button, bar, label) in self._clips.items():
            msg = self.session.messages.get(msg_id) if self.session else None
            length = (msg.duration_ms or 0) / 1000 if msg else 0
            mine = going and player is not None and player.msg_id == msg_id
            position = player.position if mine and player is not None else 0.0
            button.icon = "pause" if mine and player is not None and player.playing else "play"
            button.text = tr._("Pause") if button.icon == "pause" else tr._("Play")
            bar.value = position / length if mine and length else 0
            label.text = (f"{voice.clock(position)} / {voice.clock(length)}" if mine
                          else voice.clock(length))
        if not going and self._clip_ticker is not None:
            self._clip_ticker.cancel()
            self._clip_ticker = None

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

    def load_earlier(self) -> None:
        """The conversation's page before what is held, from the kiosk API; once it is
        here, the message that was at the top stays in view, the earlier ones above it."""
        if self.session is None or self.loading:
            return
        contact, group = self.contact_id, self.group_id
        before = self.session.earlier_cursor(contact, group)
        top = self._order[0] if self._order else None
        self.fetch(lambda api, sid: api.history(sid, contact, before, EARLIER_PAGE, group=group),
                   lambda page: self._earlier_came(contact, group, top, page))

    def _earlier_came(self, contact: int, group: int, top: str | None,
                      page: dict[str, Any]) -> None:
        if self.session is None:
            return
        try:
            added = self.session.add_earlier(page, contact, group)
        except (ValueError, OverflowError, TypeError):  # numbers no message has
            self.failed = self.unreadable(KioskApiError("bad_response", "unreadable page"))
            return
        if (contact, group) == (self.contact_id, self.group_id):
            self._keep_in_view = top if added else None
            self.refresh()

    def no_api(self) -> str:
        return ""  # the button is shown only with the kiosk API

    def unreadable(self, error: KioskApiError) -> str:
        session, contact, group = self.session, self.contact_id, self.group_id
        if session is not None and error.code == "not_member":  # left the group since
            session.no_earlier(contact, group)
            Clock.schedule_once(lambda _dt: self.refresh(), 0)
            return ""
        if session is not None and error.code == "bad_cursor" and \
                session.earlier_from_newest(contact, group):
            # The oldest message held is one the console never stored: from the newest.
            Clock.schedule_once(lambda _dt: self.load_earlier(), 0)
            return ""
        return tr._("Not loaded: touch to try again")

    def _to_bottom(self) -> None:
        scroll, keep = self.ids.scroll, self._keep_in_view
        self._keep_in_view = None
        if keep in self._bubbles:
            self.ids.bubbles.do_layout()  # the rows' places, before the view goes to one
            scroll.scroll_to(self._bubbles[keep][0], padding=dp(40), animate=False)
            return
        scroll.scroll_y = 0 if self.ids.bubbles.height > scroll.height else 1

    @staticmethod
    def keep_in_range(scroll: Any) -> None:
        """A conversation much shorter than the one shown before can leave the view's
        ``scroll_y`` far outside 0..1 (seen: 3e6 at 1280x800, every bubble out of sight)."""
        value = scroll.scroll_y
        if value != value:  # NaN
            scroll.scroll_y = 0
        elif not 0 <= value <= 1:
            scroll.scroll_y = min(max(value, 0), 1)

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
        self._clips.clear()
        if self._clip_ticker is not None:
            self._clip_ticker.cancel()
            self._clip_ticker = None

    def compose(self) -> None:
        self.nav.go("compose", contact_id=self.contact_id, group_id=self.group_id,
                    urgent=self._urgent())

    def reply(self, msg_id: str) -> None:
        """Answer one post of the group (the only way to write where members may reply)."""
        self.nav.go("compose", group_id=self.group_id, reply_to=msg_id, urgent=self._urgent())

    def photo(self) -> None:
        self.nav.go("photos", contact_id=self.contact_id, group_id=self.group_id,
                    urgent=self._urgent())

    def record(self) -> None:
        self.nav.go("voice", contact_id=self.contact_id, group_id=self.group_id,
                    urgent=self._urgent())

    def draw(self) -> None:
        self.nav.go("drawing", contact_id=self.contact_id, group_id=self.group_id,
                    urgent=self._urgent())

    def clear(self) -> None:
        self._reset()
        self.forget()
        self.earlier = False
        self._keep_in_view = None
        self.ids.replies.clear_widgets()
        self.contact_id = self.group_id = 0
        self.urgent = self.urgent_toggle = False
        self.contact_name = self.subtitle = self.note = ""
