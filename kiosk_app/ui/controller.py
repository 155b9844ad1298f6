"""The kiosk's state between the terminal link and the screens.

The link calls back on paho's thread; every event is queued and handled on Kivy's main
thread by one trigger, so a burst (a sync, a reconnect) redraws once. The screens read
``session`` and call the methods here; they learn about changes through Kivy events:
``on_changed`` (redraw), ``on_logged_in``, ``on_synced``, ``on_logged_out``,
``on_login_failed``, ``on_urgent``, ``on_urgent_group`` (an urgent unread post in a
workgroup: shown first, as an urgent notice is), ``on_arrived`` and ``on_photo_ready``. Photos the sync
did not carry and notice photos come from the console's kiosk API (``remote_photo``) when the
config names it, off this thread. The idle screen's board (``site_notices``: current notices
for the site or everyone, no personal data) is asked from the same API every minute while
nobody is badged in, also off this thread.

Privacy (docs/architecture.md, decision 7): logout drops the session object, the badge, the
receipts not yet sent, any personal event still queued and the photos fetched for that
person; the screens clear themselves on ``on_logged_out``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.event import EventDispatcher
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)

from kiosk_app import media, voice
from kiosk_app.config import KioskConfig
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from kiosk_app.link.media_cache import RemoteMedia
from kiosk_app.link.site_board import POLL_SECONDS, Board, SiteBoard
from kiosk_app.ui.i18n import tr
from kiosk_app.ui.inactivity import BadgeReader, InactivityWatch
from kiosk_app.ui.session import Session
from kiosk_app.ui.sound import ClipPlayer, ReadAloud, Sounds

log = logging.getLogger("relais.kiosk")

PERSONAL = (ev.Synced, ev.MessageArrived, ev.StateChanged, ev.NoticeArrived, ev.Retracted,
            ev.ErrorReceived)


class Kiosk(EventDispatcher):
    online = BooleanProperty(False)
    person = StringProperty("")  # the name of who is badged in, "" on the idle screen
    busy = BooleanProperty(False)  # a badge is being checked
    idle_left = NumericProperty(0)  # seconds before the automatic logout, while warning
    warning = BooleanProperty(False)
    session = ObjectProperty(None, allownone=True)
    outbox_count = NumericProperty(0)
    site_notices = ListProperty([])  # the idle board: [{uid, title, urgent, excerpt}]
    alert_on_idle = BooleanProperty(False)  # the idle board: HR allows alerts without a badge
    login_wait = NumericProperty(0)  # after a refused badge-in: seconds before trying again

    __events__ = ("on_changed", "on_logged_in", "on_synced", "on_logged_out", "on_login_failed",
                  "on_urgent", "on_urgent_group", "on_arrived", "on_photo_ready", "on_error")

    def __init__(self, config: KioskConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self._events: queue.Queue[ev.Event] = queue.Queue()
        self.link = TerminalLink(
            terminal=config.terminal, password=config.password, host=config.mqtt_host,
            port=config.mqtt_port, outbox_path=config.outbox_path(), tls_ca=config.tls_ca,
            on_event=self._from_link)
        self.remote = RemoteMedia.from_config(config)  # None: no kiosk API configured
        self.board = SiteBoard.from_config(config)  # None: no kiosk API, no board
        self._board_timer = None
        self.sounds = Sounds(enabled=config.sound)
        # Decoded sound lives in directories of this terminal's, emptied at start (a crash
        # left them): ui.sound.scratch.
        self.read_aloud = ReadAloud(enabled=config.sound, terminal=config.terminal)
        self.clips = ClipPlayer(enabled=config.sound, terminal=config.terminal)
        self.microphone = voice.microphone(config.microphone)  # None: no voice button
        self.watch = InactivityWatch(config.idle_timeout, config.idle_warning)
        self.reader = BadgeReader()
        self._badge_salt = os.urandom(16)
        self._badge_hash: bytes | None = None  # the badge of who is in, never the badge itself
        self._pending_badge: str | None = None  # between "PIN required" and the PIN
        self._receipts: list[tuple[str, str]] = []  # (kind, ref) to send once back online
        self._drain = Clock.create_trigger(self._drain_events, 0)
        self._changed = Clock.create_trigger(lambda _dt: self.dispatch("on_changed"), 0)
        self._ticker = None
        self._stopped = False

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.link.start()
        self._ticker = Clock.schedule_interval(self._tick, 0.5)
        if self.board is not None:
            self.poll_board()
            self._board_timer = Clock.schedule_interval(lambda _dt: self.poll_board(),
                                                        POLL_SECONDS)

    def stop(self) -> None:
        if self._stopped:
            return
        if self._ticker is not None:
            self._ticker.cancel()
        if self._board_timer is not None:
            self._board_timer.cancel()
        self.logout("shutdown")
        self._stopped = True
        self.read_aloud.close()
        self.clips.close()
        self.link.stop()
        if self.remote is not None:
            self.remote.close()
        if self.board is not None:
            self.board.close()

    # --- events from the link (any thread) -------------------------------------------------

    def _from_link(self, event: ev.Event) -> None:
        self._events.put(event)
        self._drain()

    def _drain_events(self, _dt: float = 0) -> None:
        while not self._stopped:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            try:
                self._handle(event)
            except Exception:  # one bad event must not stop the kiosk
                log.exception("kiosk could not handle %s", type(event).__name__)  # not its content
        if not self._stopped:
            self.outbox_count = self.link.outbox.pending_count()

    def _handle(self, event: ev.Event) -> None:
        if isinstance(event, ev.LinkUp):
            self.online = True
            self._flush_receipts()
        elif isinstance(event, ev.LinkDown):
            self.online = False
        elif isinstance(event, ev.LoginOk):
            self._logged_in(event)
        elif isinstance(event, ev.LoginFailed):
            self.busy = False
            self.login_wait = event.wait or 0
            if event.code in ("pin_required", "bad_pin", "bad_credentials"):
                pass  # keep the badge for the PIN pad
            else:
                self._pending_badge = None
            self.dispatch("on_login_failed", event.code, event.until)
        elif isinstance(event, ev.LoggedOut):
            if self.session is not None:
                self._clear(event.reason)
        elif isinstance(event, ev.ErrorReceived) and self.session is None:
            if event.code == "badge_needed":  # an idle-screen alert HR no longer allows
                self.alert_on_idle = False  # until the board, asked now, says otherwise
                if self.board is not None:
                    self.board.forget()
                self.poll_board()
                self.dispatch("on_error", event.code, event.message)
        elif self.session is not None:
            self._personal(event)

    def _personal(self, event: ev.Event) -> None:
        s: Session = self.session
        if isinstance(event, ev.Synced):
            first = not s.synced
            before = {g.id for g in s.groups.values() if g.urgent_unread}
            s.apply_sync(event.me, event.contacts, event.history, event.notices, event.quick_replies,
                         event.groups, contacts_more=event.contacts_more,
                         notices_more=event.notices_more, history_more=event.history_more)
            if first and (s.urgent_pending() or s.urgent_group()):
                self.sounds.play("urgent")  # the urgent notice or post is the first thing shown
            elif first and s.first_pending():
                self.sounds.play("message")  # a reminder of a notice not acknowledged
            tr.switch(s.language)
            self.person = s.name
            self.dispatch("on_synced")
            fresh = s.urgent_group()
            if not first and fresh is not None and fresh.id not in before:
                self.sounds.play("urgent")
                self.dispatch("on_urgent_group", fresh.id)
        elif isinstance(event, ev.MessageArrived):
            gid = event.message.get("group")
            unknown = isinstance(gid, int) and gid > 0 and gid not in s.groups
            msg = s.add_message(event.message)
            if unknown and s.synced:
                self.link.request_sync()  # a group joined since the sync: its rights and counts
            if msg is not None and not msg.mine and msg.group and msg.urgent:
                self.sounds.play("urgent")
                self.dispatch("on_arrived", msg)
                self.dispatch("on_urgent_group", msg.group)
            elif msg is not None and not msg.mine:
                self.sounds.play("message")
                self.dispatch("on_arrived", msg)
        elif isinstance(event, ev.StateChanged):
            s.set_state(event.msg, event.state, event.reason, event.seen, event.members,
                        opens=event.opens, opens_day=event.opens_day)
        elif isinstance(event, ev.NoticeArrived):
            notice = s.add_notice(event.notice)
            # A reminder (issue 16) of a notice already here opens it full screen too.
            reminded = s.notices.get(str(event.notice.get("notice") or "")) \
                if event.notice.get("reminder") else None
            shown = notice or reminded
            if shown is not None and shown.needs_ack and (shown.urgent or reminded is not None):
                self.sounds.play("urgent" if shown.urgent else "message")
                self.dispatch("on_urgent", shown)
            elif notice is not None:
                self.sounds.play("message")
        elif isinstance(event, ev.Retracted):
            s.retract(event.msg)
        elif isinstance(event, ev.ErrorReceived):
            self.dispatch("on_error", event.code, event.message)
        self._changed()

    # --- badge and PIN ----------------------------------------------------------------------

    def key_text(self, text: str) -> None:
        self.reader.feed(text)

    def key_enter(self) -> bool:
        badge = self.reader.enter()
        if badge:
            self.badge(badge)
        return badge is not None

    def _hash(self, badge: str) -> bytes:
        return hashlib.sha256(self._badge_salt + badge.encode()).digest()

    def badge(self, badge: str) -> None:
        """A badge was presented: log in, or out if it is the badge of who is in."""
        self.watch.touch()
        if self.session is not None:
            same = self._badge_hash == self._hash(badge)
            self.logout("badge")
            if same:
                return
        self._pending_badge = badge
        self.busy = True
        self.link.login(badge)

    def submit_pin(self, pin: str) -> None:
        if not self._pending_badge:
            return
        self.busy = True
        self.link.login(self._pending_badge, pin)

    def cancel_login(self) -> None:
        self._pending_badge = None
        self.busy = False
        self.link.cancel_login()

    def _logged_in(self, event: ev.LoginOk) -> None:
        self.busy = False
        badge, self._pending_badge = self._pending_badge, None
        self._badge_hash = self._hash(badge) if badge else None
        self.session = Session(event.sid, event.employee)
        self.person = self.session.name
        try:
            tr.switch(self.session.language)
        finally:  # whatever a label made of it (logged), the badge-in goes on to its screens
            self.watch.touch()
            self.dispatch("on_logged_in")

    # --- logout -----------------------------------------------------------------------------

    def logout(self, reason: str = "logout") -> None:
        if self.session is None:
            return
        self.link.logout(reason)
        self._clear(reason)

    def _clear(self, reason: str) -> None:
        self.read_aloud.forget()  # nobody's message goes on being read to the next person
        self.clips.forget()  # nor heard
        session, self.session = self.session, None
        if session is not None:
            session.clear()
        self._badge_hash = None
        self._pending_badge = None
        self._receipts.clear()
        self._drop_personal_events()
        if self.remote is not None:
            self.remote.clear()
        self.person = ""
        self.warning = False
        self.idle_left = 0
        tr.switch(self.config.language)
        self.dispatch("on_logged_out", reason)
        if reason != "shutdown":
            self.poll_board()  # back to the idle screen: its board as it is now

    def _drop_personal_events(self) -> None:
        """Events queued for the person who just left are never shown to the next one."""
        keep = []
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            if not isinstance(event, PERSONAL):
                keep.append(event)
        for event in keep:
            self._events.put(event)

    # --- inactivity -------------------------------------------------------------------------

    def activity(self) -> None:
        self.watch.touch()
        if self.warning:
            self.warning = False

    def _tick(self, _dt: float) -> None:
        if self.session is None:
            return
        idle = self.watch.check()
        if idle.state == "expired":
            self.logout("inactivity")
        elif idle.state == "warning":
            self.idle_left = int(idle.left + 0.99)
            self.warning = True
        elif self.warning:
            self.warning = False

    # --- what the person does -----------------------------------------------------------------

    # ``to`` a person, or ``group`` (then ``to`` is ignored) with ``reply_to`` the post
    # answered and ``urgent`` asked for (the relay decides whether it is): the same outbox,
    # states and screens either way. The local copy is not marked urgent: only the relay
    # knows whether this person may make it so, and says it in the next sync's history.

    def send_text(self, to: int, text: str, *, group: int = 0,
                  reply_to: str | None = None, urgent: bool = False) -> str | None:
        text = text.strip()
        if not text or self.session is None:
            return None
        msg_id = self.link.send_text(None if group else to, text, group=group or None,
                                     reply_to=reply_to if group else None,
                                     urgent=bool(urgent and group))
        self.session.add_sent(msg_id, "text", to, group=group, reply_to=reply_to, text=text)
        self._changed()
        return msg_id

    def send_quick_reply(self, to: int, reply: dict[str, Any], *, group: int = 0,
                         urgent: bool = False) -> str | None:
        lang = self.session.language if self.session else "fr"
        return self.send_text(to, str(reply.get(lang) or reply.get("fr") or ""), group=group,
                              urgent=urgent)

    def send_photo(self, to: int, jpeg: bytes, *, group: int = 0,
                   reply_to: str | None = None, urgent: bool = False) -> str | None:
        if self.session is None:
            return None
        msg_id = self.link.send_photo(None if group else to, jpeg, group=group or None,
                                      reply_to=reply_to if group else None,
                                      urgent=bool(urgent and group))
        self.session.add_sent(msg_id, "photo", to, group=group, reply_to=reply_to, image=jpeg)
        self._changed()
        return msg_id

    def send_drawing(self, to: int, drawing: dict[str, Any], *, group: int = 0,
                     reply_to: str | None = None, urgent: bool = False) -> str | None:
        if self.session is None:
            return None
        msg_id = self.link.send_drawing(None if group else to, drawing, group=group or None,
                                        reply_to=reply_to if group else None,
                                        urgent=bool(urgent and group))
        self.session.add_sent(msg_id, "drawing", to, group=group, reply_to=reply_to,
                              drawing=drawing)
        self._changed()
        return msg_id

    def send_voice(self, to: int, clip: voice.Clip, *, group: int = 0,
                   reply_to: str | None = None, urgent: bool = False) -> str | None:
        """A recorded clip, through the outbox like a photo (recorded offline, it leaves
        when the link is back)."""
        if self.session is None:
            return None
        msg_id = self.link.send_voice(None if group else to, clip.ogg, clip.duration_ms,
                                      group=group or None, reply_to=reply_to if group else None,
                                      urgent=bool(urgent and group))
        self.session.add_sent(msg_id, "voice", to, group=group, reply_to=reply_to,
                              audio=clip.ogg, duration_ms=clip.duration_ms)
        self._changed()
        return msg_id

    @property
    def can_record(self) -> bool:
        """Whether the conversation shows the voice button (this terminal has a microphone)."""
        return self.microphone is not None

    def play_clip(self, msg_id: str, done: Callable[[], None]) -> bool:
        """Play, pause or take up a voice message. A clip the sync left on the server is
        fetched first (``done()`` once it is here, to try again); False when there is nothing
        to play (yet)."""
        msg = self.session.messages.get(msg_id) if self.session is not None else None
        if msg is None:
            return False
        self.watch.touch()
        self.read_aloud.stop()  # one voice at a time
        if msg.audio is None and msg.has_audio:
            def came(ogg: bytes, m: Any = msg) -> None:
                m.audio = ogg
                done()
            msg.audio = self.remote_photo("clip", msg.id, came)
        if msg.audio is None:
            return False
        self.clips.toggle(msg.id, msg.audio, (msg.duration_ms or 0) / 1000.0)
        return True

    def prepare_photo(self, path: Path) -> None:
        """Normalise a photo off the main thread; ``on_photo_ready(path, jpeg, error)``."""
        def work() -> None:
            try:
                jpeg, error = media.normalise_photo(path.read_bytes()), None
            except media.PhotoError as exc:
                jpeg, error = None, exc
            except OSError as exc:
                jpeg, error = None, media.PhotoError("not_image", str(exc))
            Clock.schedule_once(lambda _dt: self.dispatch("on_photo_ready", path, jpeg, error))
        threading.Thread(target=work, name="photo", daemon=True).start()

    def remote_photo(self, kind: str, key: str, done: Callable[[bytes], None]) -> bytes | None:
        """A photo kept on the console (``kind``: "message" or "notice"): returned at once
        when already fetched for this person, else fetched off the UI thread and handed to
        ``done(jpeg)`` on it later, only if it came and the same person is still in. None
        when there is no kiosk API: the screen keeps its label."""
        session = self.session
        if session is None or self.remote is None or not session.sid:
            return None
        sid = session.sid

        def arrived(jpeg: bytes) -> None:  # on the fetching thread
            Clock.schedule_once(lambda _dt: self._remote_arrived(sid, done, jpeg))

        return self.remote.fetch(kind, sid, key, arrived)

    def poll_board(self) -> None:
        """Ask for the idle screen's board off this thread (only while nobody is badged
        in: the idle screen is not shown otherwise); ``site_notices`` and ``alert_on_idle``
        change when it comes."""
        if self.board is None or self.session is not None or self._stopped:
            return

        def arrived(board: Board) -> None:  # on the fetching thread
            Clock.schedule_once(lambda _dt: self._board_arrived(board))

        self.board.refresh(arrived)

    def _board_arrived(self, board: Board) -> None:
        if not self._stopped:
            self.site_notices = board.notices
            self.alert_on_idle = board.alert_on_idle

    def _remote_arrived(self, sid: str, done: Callable[[bytes], None], jpeg: bytes) -> None:
        if self.session is None or self.session.sid != sid:
            return  # the person left meanwhile
        done(jpeg)

    def read_conversation(self, contact_id: int) -> None:
        if self.session is None:
            return
        for ref in self.session.mark_read(contact_id):
            self._receipt("read", ref)
        self._changed()

    def read_group(self, group_id: int) -> None:
        """Opening a group reads its posts held here: a ``read`` receipt per post (the relay
        finds the member's receipt row by the post's client id) and the counts drop."""
        if self.session is None:
            return
        for ref in self.session.mark_group_read(group_id):
            self._receipt("read", ref)
        self._changed()

    def accept_off_shift(self) -> None:
        """The off-shift notice read and accepted: the relay audits it (outbox, resent)."""
        if self.session is not None and self.session.accept_off_shift():
            self.link.accept_off_shift()
            self._changed()

    def accept_charter(self) -> None:
        """The messaging charter read and accepted: the relay records it (outbox, resent)."""
        version = self.session.accept_charter() if self.session is not None else 0
        if version:
            self.link.accept_charter(version)
            self._changed()

    @property
    def can_read_aloud(self) -> bool:
        """Whether "Listen" buttons are shown (this terminal has the speech engine)."""
        return self.read_aloud.available

    def listen(self, text: str, *, tapped: bool = True) -> None:
        """Read ``text`` aloud, in its language when its words tell it, else the reader's.
        ``tapped``: someone asked for it (the person is here); an urgent notice read by
        itself is not a sign of anyone, and leaves the inactivity clock alone."""
        if self.session is None:
            return
        if tapped:
            self.watch.touch()
        self.clips.pause()  # one voice at a time: the clip waits where it was
        self.read_aloud.say(text, self.session.language)

    def listen_notice(self, title: str, body: str, *, tapped: bool = True) -> None:
        """A notice read aloud as its screens show it: the title, then the body."""
        self.listen(f"{title}.\n{body}", tapped=tapped)

    def see_notice(self, uid: str) -> None:
        if self.session is not None and self.session.see(uid):
            self._receipt("seen", uid)
            self._changed()

    def acknowledge(self, uid: str) -> None:
        if self.session is not None and self.session.acknowledge(uid):
            self._receipt("acknowledged", uid)
            self._changed()

    def _receipt(self, kind: str, ref: str) -> None:
        # The link publishes receipts only while connected: keep them until it is back.
        if self.link.connected and self.link.sid:
            self._send_receipt(kind, ref)
        else:
            self._receipts.append((kind, ref))

    def _send_receipt(self, kind: str, ref: str) -> None:
        {"read": self.link.mark_read, "seen": self.link.mark_seen,
         "acknowledged": self.link.acknowledge}[kind](ref)

    def _flush_receipts(self) -> None:
        if self.session is None:
            self._receipts.clear()
            return
        pending, self._receipts = self._receipts, []
        for kind, ref in pending:
            self._send_receipt(kind, ref)

    # --- default handlers -----------------------------------------------------------------------

    def on_changed(self) -> None:
        pass

    def on_logged_in(self) -> None:
        pass

    def on_synced(self) -> None:
        pass

    def on_logged_out(self, reason: str) -> None:
        pass

    def on_login_failed(self, code: str, until: str | None) -> None:
        pass

    def on_urgent(self, notice: Any) -> None:
        pass

    def on_arrived(self, msg: Any) -> None:
        pass

    def on_urgent_group(self, group_id: int) -> None:
        pass

    def on_photo_ready(self, path: Path, jpeg: bytes | None, error: Exception | None) -> None:
        pass

    def on_error(self, code: str, message: str) -> None:
        pass
