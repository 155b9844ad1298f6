"""The terminal link: one terminal's MQTT session to the relay, with its outbox.

The Kivy screens and the tests drive terminals through this class, so both exercise the
same path. It never imports Kivy; events go to one callback (or the ``events`` queue).

Reliability (docs/architecture.md, decisions 2 and 4): a persistent session (clean_start
False, an explicit session expiry), every typed message written to the outbox before it is
published, resent on a timer with backoff and at every reconnect, until the relay's own
``state`` (or a final ``error``) for its id arrives. Every downlink the relay tracks is
confirmed with a ``received`` receipt. Downlinks for another badge session are dropped
(decision 7).
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk_app.link import events as ev
from kiosk_app.link.outbox import Outbox
from relais_wire import topics
from relais_wire.envelope import WireError, b64, decode_downlink, encode, envelope

log = logging.getLogger("relais.link")

SESSION_EXPIRY_S = 7 * 24 * 3600
TRACKED = frozenset({"text", "photo", "drawing", "voice", "notice", "state", "retract"})
TRANSIENT_ERRORS = frozenset({"rate_limited"})
# The relay's word that the session this terminal speaks for is over (ended by the console,
# its age or idleness): the kiosk logs out as if it had received the logout.
SESSION_GONE = frozenset({"session_ended", "no_session"})


def _count(value: Any) -> int | None:
    """A non-negative integer field of a downlink, or None (absent or not a number)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _short(value: Any) -> str:
    """A short word of a downlink ("06:00", "tue"), or "" (absent, or not a short string)."""
    return value if isinstance(value, str) and len(value) <= 8 else ""


def _tracked(kind: str, body: dict[str, Any]) -> bool:
    """Whether the relay waits for this downlink's ``received`` receipt. A ``state`` that
    carries ``ref`` is the relay's direct answer to one of our uplinks, not a downlink row:
    if it is lost, the outbox sends the message again and gets another, so a receipt would
    cost the relay an uplink and change nothing."""
    return kind in TRACKED and not (kind == "state" and body.get("ref"))


def _target(to: int | None, group: int | None, reply_to: str | None,
            urgent: bool = False) -> dict[str, Any]:
    if group:
        return {"group": int(group), "reply_to": reply_to or None, "urgent": True if urgent else None}
    if not to or reply_to or urgent:
        raise ValueError("a message goes to one person (to) or to a group, with reply_to "
                         "and urgent only in a group")
    return {"to": int(to)}


# A login or a sync request with no answer yet is sent again (same id) this often, for at most
# this long: the first may have reached no relay (a partition changing relays, a broker or
# relay restart). The relay answers a login sent again with the session it already opened.
ASK_AGAIN_S = 2.0
ASK_AGAIN_MAX_S = 8.0
ASK_GIVE_UP_S = {"login": 20.0, "sync": 60.0}  # a person waits in front of a login

# Outbox items (re)sent per resend tick (0.5 s) at most: well within the relay's per-terminal
# rate, so a long queue drains in order instead of being refused in bulk.
RESEND_WINDOW = 8

# paho's own log, for the one line that matters: a callback that raised (suppressed, so that
# its network thread goes on). Its other lines are DEBUG, skipped before they are built.
_PAHO = logging.getLogger("relais.link.paho")
_PAHO.setLevel(logging.ERROR)
_PAHO.addFilter(lambda record: record.getMessage().startswith("Caught exception"))


class TerminalLink:
    def __init__(self, *, terminal: str, password: str, host: str, port: int,
                 outbox_path: str | Path, on_event: Callable[[ev.Event], None] | None = None,
                 tls_ca: str | None = None, resend_after: float = 3.0) -> None:
        self.terminal = topics.check_terminal_name(terminal)
        self.host, self.port = host, port
        self.outbox = Outbox(outbox_path, resend_after=resend_after)
        self.events: queue.Queue[ev.Event] = queue.Queue()
        self._on_event = on_event
        self.sid: str | None = None
        self.employee: dict[str, Any] | None = None
        self._pending_login: str | None = None
        # What is asked and not yet answered: (envelope, first sent, last sent).
        self._asked: dict[str, tuple[dict[str, Any], float, float]] = {}
        self._seen: set[str] = set()
        self._lock = threading.RLock()
        self._connected = threading.Event()
        self._stop = threading.Event()
        # Set by a (re)connection: the resend thread sends the whole outbox at once. One
        # thread sends, and stop() waits for it before closing the outbox (a thread started
        # per connection outlived stop() and read a closed outbox).
        self._reconnected = threading.Event()
        self._timer: threading.Thread | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=terminal,
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(terminal, password)
        if tls_ca:
            self.client.tls_set(ca_certs=tls_ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.will_set(topics.status(terminal), topics.OFFLINE, qos=1, retain=True)
        self.client.reconnect_delay_set(0.5, 10)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        # A callback that raises would end paho's network thread: the kiosk, still shown
        # online, would read nothing more until restarted. Logged and gone past instead.
        self.client.suppress_exceptions = True
        self.client.enable_logger(_PAHO)

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        self.client.connect_async(self.host, self.port, keepalive=10, clean_start=False,
                                  properties=props)
        self.client.loop_start()
        self._timer = threading.Thread(target=self._resend_loop, name="link-resend", daemon=True)
        self._timer.start()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        """A clean stop: the broker keeps the session and the outbox keeps what is unsent."""
        self._stop.set()
        self._reconnected.set()  # wakes the resend thread, which sees the stop
        if self._connected.is_set():
            info = self.client.publish(topics.status(self.terminal), topics.OFFLINE, qos=1,
                                       retain=True)
            info.wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()
        if self._timer:
            self._timer.join(timeout=2)
        self.outbox.close()

    # --- what the UI does ------------------------------------------------------------------

    def login(self, badge: str, pin: str | None = None) -> str:
        env = envelope("login", badge=badge, pin=pin, last_seq=self.outbox.last_seq())
        with self._lock:
            self._pending_login = env["id"]
            self._asked.pop("login", None)
        if not self.connected:
            self._emit(ev.LoginFailed("offline", "The terminal is offline."))
        else:
            self._ask("login", env)
        return env["id"]

    def logout(self, reason: str = "logout") -> None:
        """Ends the session locally at once (privacy first) and tells the relay reliably."""
        with self._lock:
            sid, self.sid, self.employee = self.sid, None, None
            self._seen.clear()
        if sid:
            self._declare_end(sid)
            self._emit(ev.LoggedOut(reason))

    def _declare_end(self, sid: str) -> None:
        """Tell the relay, reliably, that this session is over and which outbox items are
        its last: also the answer to a logout the relay sent."""
        self._queue(envelope("logout", sid=sid, last_seq=self.outbox.last_seq()), ordered=False)

    # A message goes to one person (``to``) or to a workgroup (``group``, with ``reply_to``
    # the client id of the post it answers, and ``urgent`` a post shown first at badge-in,
    # which the relay honours only from a lead of the group or the HR desk): never both, as
    # the wire contract says.

    def send_text(self, to: int | None, text: str, *, group: int | None = None,
                  reply_to: str | None = None, urgent: bool = False) -> str:
        return self._content("text", **_target(to, group, reply_to, urgent), text=text)

    def send_photo(self, to: int | None, jpeg: bytes, caption: str = "", *,
                   group: int | None = None, reply_to: str | None = None,
                   urgent: bool = False) -> str:
        return self._content("photo", **_target(to, group, reply_to, urgent), image=b64(jpeg),
                             caption=caption or None)

    def send_drawing(self, to: int | None, drawing: dict[str, Any], *, group: int | None = None,
                     reply_to: str | None = None, urgent: bool = False) -> str:
        return self._content("drawing", **_target(to, group, reply_to, urgent), drawing=drawing)

    def send_voice(self, to: int | None, ogg: bytes, duration_ms: int, *,
                   group: int | None = None, reply_to: str | None = None,
                   urgent: bool = False) -> str:
        """A recorded clip (Opus in Ogg, ``relais_wire.audio.encode``), through the outbox
        like a photo: recorded offline, it leaves when the link is back."""
        return self._content("voice", **_target(to, group, reply_to, urgent), audio=b64(ogg),
                             duration_ms=int(duration_ms), codec="opus")

    def send_alert(self, pictogram: str, text: str = "", *, image: bytes | None = None) -> str:
        """A safety alert, from whoever is badged in or from the terminal alone (the idle
        screen): an outbox item without ``seq`` (it waits for no earlier message), sent
        again until the relay answers. ``image``: an optional photo (a normalised JPEG)."""
        env = envelope("alert", sid=self.sid, pictogram=pictogram, text=text or None,
                       image=b64(image) if image else None)
        item = self._queue(env, ordered=False)
        self._emit(ev.StateChanged(item, "outbox"))
        return item

    def send_broadcast(self, team: int, title: str, text: str = "", *,
                       image: bytes | None = None, shift: int | None = None,
                       urgent: bool = False, ack: bool = False,
                       remind_every: int | None = None) -> str:
        """A team lead's notice to one team they lead or one of its shifts (issue 16): an
        outbox item without ``seq`` (like an alert), so what was typed waits out a network
        cut; the relay answers ``accepted`` with how many people it reached (``members``),
        or an error whose code says why it was refused."""
        if not self.sid:
            raise RuntimeError("nobody is badged in on this terminal")
        env = envelope("broadcast", sid=self.sid, team=int(team), title=title, text=text or None,
                       image=b64(image) if image else None, shift=int(shift) if shift else None,
                       urgent=True if urgent else None, ack=True if ack else None,
                       remind_every=remind_every)
        item = self._queue(env, ordered=False)
        self._emit(ev.StateChanged(item, "outbox"))
        return item

    def send_remind(self, notice: str) -> str:
        """A lead's one-tap reminder of their notice ``notice`` (its uid), through the outbox."""
        if not self.sid:
            raise RuntimeError("nobody is badged in on this terminal")
        item = self._queue(envelope("remind", sid=self.sid, ref=notice), ordered=False)
        self._emit(ev.StateChanged(item, "outbox"))
        return item

    def accept_off_shift(self) -> str:
        """The person read the off-shift notice and went on: the relay audits it. An outbox
        item without ``seq`` (nothing waits for it), sent again until the relay answers."""
        if not self.sid:
            raise RuntimeError("nobody is badged in on this terminal")
        return self._queue(envelope("offshift", sid=self.sid), ordered=False)

    def accept_charter(self, version: int) -> str:
        """The person read the messaging charter's ``version`` and went on: the relay records
        it once per person and version. An outbox item without ``seq``, as accept_off_shift,
        sent again until the relay answers (an unknown version gets an error reply)."""
        if not self.sid:
            raise RuntimeError("nobody is badged in on this terminal")
        return self._queue(envelope("charter", sid=self.sid, version=int(version)),
                           ordered=False)

    def mark_read(self, msg: str) -> None:
        self._receipt(msg, "read")

    def mark_seen(self, notice: str) -> None:
        self._receipt(notice, "seen")

    def acknowledge(self, notice: str) -> None:
        self._receipt(notice, "acknowledged")

    def request_sync(self) -> None:
        if self.sid and self.connected:
            self._ask("sync", envelope("sync", sid=self.sid))

    def _ask(self, what: str, env: dict[str, Any], *, again: bool = False) -> None:
        """Publish a request the relay answers (a login, a sync) and note it, so that the
        resend timer sends it again until the answer comes (``again``: that timer's, unless
        a newer request took its place meanwhile, a new login or the next session's sync,
        which would then never be sent again)."""
        now = time.monotonic()
        with self._lock:
            if again and self._asked.get(what, (None,))[0] is not env:
                return
            first = self._asked[what][1] if what in self._asked else now
            self._asked[what] = (env, first, now)
        self.client.publish(topics.uplink(self.terminal), encode(env), qos=1)

    def _answered(self, what: str, ref: str | None = None) -> None:
        with self._lock:
            asked = self._asked.get(what)
            if asked is not None and (ref is None or asked[0]["id"] == ref):
                del self._asked[what]

    def _ask_again(self) -> None:
        now = time.monotonic()
        gave_up = False
        with self._lock:
            # Every 2 s at first, then less and less often (at most every 8 s): a relay slow
            # to answer because a thousand kiosks ask at once is not asked ever more.
            due = [(what, env) for what, (env, first, last) in self._asked.items()
                   if now - last >= min(ASK_AGAIN_MAX_S, max(ASK_AGAIN_S, (last - first) * 2))]
            for what, _env in due:
                env, first, _last = self._asked[what]
                if what == "sync" and env.get("sid") != self.sid:
                    del self._asked[what]  # another session's
                elif now - first > ASK_GIVE_UP_S[what]:
                    del self._asked[what]
                    if what == "login" and self._pending_login == env["id"]:
                        self._pending_login = None
                        gave_up = True
        if gave_up:  # the person is told, and badges again; a late answer is ignored
            self._emit(ev.LoginFailed("no_answer", "The server did not answer."))
        for what, env in due:
            self._ask(what, env, again=True)

    def cancel_login(self) -> None:
        """The person walked away from the PIN screen, or the UI stopped waiting: the login
        is neither sent again nor accepted if its answer comes late (their session must
        not open on a kiosk they left)."""
        with self._lock:
            self._pending_login = None
            self._asked.pop("login", None)

    # --- internals -----------------------------------------------------------------------

    def _content(self, kind: str, **fields: Any) -> str:
        if not self.sid:
            raise RuntimeError("nobody is badged in on this terminal")
        item = self._queue(envelope(kind, sid=self.sid, **fields), ordered=True)
        self._emit(ev.StateChanged(item, "outbox"))
        return item

    def _queue(self, env: dict[str, Any], *, ordered: bool) -> str:
        item = self.outbox.add(env, ordered=ordered)
        if self.connected:
            self._publish_item(item.id, item.payload)
        return item.id

    def _publish_item(self, item_id: str, payload: dict[str, Any]) -> None:
        self.outbox.sent(item_id)
        self.client.publish(topics.uplink(self.terminal), encode(payload), qos=1)

    def _receipt(self, ref: str, status: str) -> None:
        if self.sid and self.connected:
            env = envelope("receipt", sid=self.sid, ref=ref, status=status)
            self.client.publish(topics.uplink(self.terminal), encode(env), qos=1)

    def _resend_loop(self) -> None:
        while not self._stop.is_set():
            reconnected = self._reconnected.wait(0.5)
            if reconnected:
                self._reconnected.clear()
            if self._stop.is_set() or not self.connected:
                continue
            if reconnected:
                self._flush(all_pending=True)
            else:
                self._ask_again()
                self._flush(all_pending=False)

    def _flush(self, *, all_pending: bool) -> None:
        for item in self.outbox.due(all_pending=all_pending, limit=RESEND_WINDOW):
            if not self.connected:
                return
            self._publish_item(item.id, item.payload)

    def _emit(self, event: ev.Event) -> None:
        self.events.put(event)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("event handler failed on %s", type(event).__name__)  # not its content

    # --- paho callbacks (network thread) ------------------------------------------------

    def _on_connect(self, client, _userdata, _flags, reason_code, _props) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            self._emit(ev.LinkDown(str(reason_code)))
            return
        client.subscribe(topics.downlink(self.terminal), qos=1)
        client.publish(topics.status(self.terminal), topics.ONLINE, qos=1, retain=True)
        self._connected.set()
        self._emit(ev.LinkUp())
        self.outbox.make_all_due()  # then the resend timer drains the queue from its head
        self._reconnected.set()
        if self.sid:
            self.request_sync()

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _props) -> None:  # noqa: ANN001
        was = self._connected.is_set()
        self._connected.clear()
        if was:
            self._emit(ev.LinkDown(str(reason_code)))

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        try:
            env = decode_downlink(message.payload)
        except WireError as err:
            log.warning("dropped a malformed downlink: %s", err.message)
            return
        body = env.body
        ref = body.get("ref")
        # The relay's answer to an outbox item settles it whoever is badged in now.
        if env.type in ("state", "logout") and ref:
            self.outbox.confirm(ref)
        if env.type == "error" and ref and body.get("code") not in TRANSIENT_ERRORS:
            self.outbox.confirm(ref)
        with self._lock:
            if env.type == "login":
                self._login_reply(env.sid, body, ref)
                return
            if env.sid is not None and env.sid != self.sid:
                return  # for a session that has ended here: never shown, never confirmed
            if env.id in self._seen and _tracked(env.type, body):
                self._confirm(env.id)
                return
            self._seen.add(env.id)
        try:
            self._dispatch(env.type, env.id, body)
        except Exception:
            log.exception("a %s downlink could not be handled", env.type)
            with self._lock:  # not confirmed: the relay sends it again, and then it is shown
                self._seen.discard(env.id)

    def _login_reply(self, sid: str | None, body: dict[str, Any], ref: str | None) -> None:
        if ref != self._pending_login:
            return
        self._pending_login = None
        self._answered("login")
        if body.get("ok") and sid:
            self.sid, self.employee = sid, body.get("employee") or {}
            self._seen.clear()
            # The sync follows the login; if it is lost, ask for one (not sent now: noted as
            # if just sent, so that the timer asks only when it does not come).
            now = time.monotonic()
            self._asked["sync"] = (envelope("sync", sid=sid), now, now)
            self._emit(ev.LoginOk(sid, self.employee))
        else:
            wait = body.get("wait")
            self._emit(ev.LoginFailed(str(body.get("code", "error")), str(body.get("message", "")),
                                      body.get("until"),
                                      wait if isinstance(wait, int) and wait > 0 else None))

    def _ended_by_relay(self, reason: str) -> None:
        with self._lock:
            sid = self.sid
            self.sid, self.employee = None, None
            self._seen.clear()
        if sid is not None:
            self._declare_end(sid)
            self._emit(ev.LoggedOut(reason))

    def _confirm(self, downlink_id: str) -> None:
        self._receipt(downlink_id, "received")

    def _dispatch(self, kind: str, env_id: str, body: dict[str, Any]) -> None:
        if kind in ("text", "photo", "drawing", "voice"):
            self._emit(ev.MessageArrived({**body, "kind": kind}))
        elif kind == "state":
            self._emit(ev.StateChanged(body.get("msg") or body.get("ref"), body.get("state", ""),
                                       body.get("reason"), _count(body.get("group")),
                                       _count(body.get("seen")), _count(body.get("members")),
                                       _short(body.get("from")), _short(body.get("from_day"))))
        elif kind == "notice":
            self._emit(ev.NoticeArrived(body))
        elif kind == "retract":
            self._emit(ev.Retracted(body.get("msg", ""), int(body.get("from", 0) or 0),
                                    _count(body.get("group"))))
        elif kind == "sync":
            synced = ev.Synced(body.get("me", {}), body.get("contacts", []),
                               body.get("history", []), body.get("notices", []),
                               body.get("quick_replies", []),
                               bool(body.get("history_more", False)),
                               body["groups"] if isinstance(body.get("groups"), list) else None,
                               _count(body.get("contacts_more")) or 0,
                               _count(body.get("notices_more")) or 0)
            self._answered("sync")  # once it could be read: else asked again (never resent)
            self._emit(synced)
        elif kind == "logout":
            self._ended_by_relay(str(body.get("reason") or "relay"))
        elif kind == "error" and body.get("code") in SESSION_GONE:
            self._ended_by_relay("ended")  # the logout itself was lost: the relay says so here
        elif kind == "error":
            ref = body.get("ref")
            if ref and body.get("code") not in TRANSIENT_ERRORS:
                self._emit(ev.StateChanged(ref, "error", body.get("code")))
            self._emit(ev.ErrorReceived(str(body.get("code", "")), str(body.get("message", "")),
                                        ref, body.get("field")))
        if _tracked(kind, body):
            self._confirm(env_id)
