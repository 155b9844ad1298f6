"""The relay process: one paho client, one worker that commits uplinks in arrival order,
one deliverer that sends what the database says is owed.

paho calls back on its network thread; that thread only queues. The worker acknowledges
each uplink to the broker once its outcome is committed (manual ack, DESIGN.md decision 4).
Relays hold no broker session (decision 3): several can share ``$share/relais/...``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import update

from hr_console.config import Settings
from hr_console.relay.handlers import Publish, error_reply, handle
from hr_console.relay.meter import Meter
from hr_console.services import downlinks, notices
from hr_console.services.errors import ServiceError
from hr_console.store.db import Store
from hr_console.store.models import Terminal, utcnow
from relais_wire import topics
from relais_wire.envelope import encode

log = logging.getLogger("relais.relay")

RESEND_AFTER_S = 5.0  # a downlink not confirmed by then goes out again
DELIVERY_TICK_S = 0.25
DEFER_RETRY_S = 0.05
DEFER_MAX_TRIES = 20


@dataclass
class Inbound:
    mid: int
    qos: int
    topic: str
    payload: bytes
    tries: int = 0
    due: float = 0.0


@dataclass
class Counters:
    handled: int = 0
    errors: int = 0
    deferred: int = 0
    dropped_deferred: int = 0
    published: int = 0


class Relay:
    def __init__(self, cfg: Settings, store: Store, *, instance: int = 1,
                 meter: Meter | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.username = f"{cfg.relay_username}-{instance}"
        self.meter = meter or Meter()
        self.counters = Counters()
        self._inbox: queue.Queue[Inbound | None] = queue.Queue()
        self._deferred: deque[Inbound] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._threads: list[threading.Thread] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.username,
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        self.client.username_pw_set(self.username, cfg.relay_password)
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.2, 5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # --- lifecycle ------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 0
        self.client.connect_async(self.cfg.mqtt_host, self.cfg.relay_port, keepalive=15,
                                  clean_start=True, properties=props)
        self.client.loop_start()
        for target in (self._work, self._deliver):
            thread = threading.Thread(target=target, name=f"relay-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if not self._connected.wait(timeout):
            self.stop()
            raise RuntimeError(
                f"the relay could not connect to the broker on "
                f"{self.cfg.mqtt_host}:{self.cfg.relay_port} as {self.username}")

    def stop(self) -> None:
        self._stop.set()
        self._inbox.put(None)
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()

    def wait(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(1.0)

    # --- paho callbacks (network thread: queue only) ----------------------------------

    def _on_connect(self, client, _userdata, _flags, reason_code, _props) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            log.error("broker refused the relay: %s", reason_code)
            return
        client.subscribe([(topics.SHARED_UPLINKS, 1), (topics.ALL_STATUS, 1)])
        self._connected.set()
        self._wake.set()
        log.info("relay %s connected", self.username)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _props) -> None:  # noqa: ANN001
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("relay lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        self._inbox.put(Inbound(message.mid, message.qos, message.topic, message.payload))

    # --- worker -------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            item = self._next()
            if item is None:
                continue
            try:
                self._process(item)
            except Exception:  # one bad message must not stop the relay for everyone
                log.exception("failed to handle a message on %s", item.topic)
                self.counters.errors += 1
            finally:
                if item.tries == 0 and item.qos > 0:
                    self.client.ack(item.mid, item.qos)

    def _next(self) -> Inbound | None:
        if self._deferred and self._deferred[0].due <= time.monotonic():
            return self._deferred.popleft()
        try:
            return self._inbox.get(timeout=DEFER_RETRY_S if self._deferred else 0.5)
        except queue.Empty:
            return None

    def _process(self, item: Inbound) -> None:
        terminal = topics.terminal_of(item.topic)
        if terminal is None:
            return
        if item.topic.endswith("/status"):
            self._presence(terminal, item.payload)
            return
        if item.tries == 0 and not self.meter.allow(terminal):
            err = ServiceError("rate_limited", "Too many messages: this one will be sent again.")
            self._publish([error_reply(terminal, err, None)])
            return
        result = handle(self.store, self.cfg, terminal, item.payload)
        if result.deferred:
            self._defer(item)
            return
        self.counters.handled += 1
        self._publish(result.replies)
        if result.wake_delivery:
            self._wake.set()

    def _defer(self, item: Inbound) -> None:
        """An uplink that overtook an earlier one of its terminal waits a little for it (it
        may be committing on another relay); past that, the kiosk's outbox sends it again."""
        if item.tries == 0 and item.qos > 0:
            self.client.ack(item.mid, item.qos)  # never hold the broker's in-flight window
        item.tries += 1
        self.counters.deferred += 1
        if item.tries > DEFER_MAX_TRIES:
            self.counters.dropped_deferred += 1
            return
        item.due = time.monotonic() + DEFER_RETRY_S
        self._deferred.append(item)

    def _presence(self, terminal: str, payload: bytes) -> None:
        online = payload == topics.ONLINE
        with self.store.session() as s:
            s.execute(update(Terminal).where(Terminal.name == terminal)
                      .values(online=online, last_seen=utcnow()))

    def _publish(self, replies: list[Publish]) -> None:
        for reply in replies:
            self.client.publish(reply.topic, encode(reply.payload), qos=1)
            self.counters.published += 1

    # --- deliverer ------------------------------------------------------------------------

    def _deliver(self) -> None:
        last_notice_check = 0.0
        while not self._stop.is_set():
            self._wake.wait(DELIVERY_TICK_S)
            self._wake.clear()
            if not self._connected.is_set():
                continue
            try:
                with self.store.session() as s:
                    due = downlinks.claim_due(s, resend_after=RESEND_AFTER_S)
                    if time.monotonic() - last_notice_check > 5:
                        notices.publish_due(s)
                        last_notice_check = time.monotonic()
                self._publish([Publish(o.terminal, o.payload) for o in due])
            except Exception:
                log.exception("delivery round failed; retrying")
                time.sleep(0.5)
