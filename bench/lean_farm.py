"""A lighter load-generating process for figure 9, where the relays, not the terminals, must
be what runs out of CPU.

Figure 9 caps each relay at 40 % of a core on a machine of two cores that also carries the
broker, the database and the load: three capped relays take 1.2 of them, so the rest has
0.8 core for everything else. The shipped link (``bench.farm``) spends about as much CPU
per message as the relay (its SQLite outbox, a thread and a resend timer per link), which
made the machine, not the relays, the limit of three capped relays. This one speaks the
same wire contract with the same credentials and the same obligations (a ``seq`` per
message, a ``received`` receipt for every tracked downlink, a resend of what the relay has
not answered), from one thread that drives every paho client through a selector; its
outbox is a dict in memory, which a benchmark may afford and a kiosk may not.

Same commands on stdin as ``bench.farm`` (``login``, ``closed``, ``arrivals``, ``pending``,
``stop``), so ``bench.load.Farms`` runs either.
"""

from __future__ import annotations

import contextlib
import json
import queue
import selectors
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.farm import Arrival, message_text, parse_text, serve, spec_from_argv
from kiosk_app.link.client import TRACKED  # what a kiosk confirms
from relais_wire import topics
from relais_wire.envelope import encode, envelope

RESEND_AFTER_S = 3.0  # the shipped link's resend timer
LOGIN_AGAIN_S = 15.0


@dataclass(eq=False)  # hashed by identity: kept in sets
class Terminal:
    """One terminal's connection and what it still owes or is owed."""

    name: str
    badge: str
    client: mqtt.Client
    sid: str | None = None
    employee: int | None = None
    synced: bool = False
    login_id: str | None = None
    login_at: float = 0.0
    seq: int = 0
    pending: dict[str, tuple[bytes, float]] = field(default_factory=dict)  # id -> (payload, sent)


class LeanFarm:
    """Every terminal of this process on one thread (``_loop``); commands from stdin are
    handed to it as calls and answered when they are done."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.terminals: dict[str, Terminal] = {}
        self.selector = selectors.DefaultSelector()
        self.dirty: set[Terminal] = set()  # published to since their last write
        self.calls: queue.Queue[Callable[[], None]] = queue.Queue()
        self.arrivals: list[Arrival] = []
        self.closed_loop: dict[str, Any] | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, name="lean-farm", daemon=True)

    # --- the network thread ----------------------------------------------------------------

    def _loop(self) -> None:
        last_misc = 0.0
        while not self.stopping:
            for key, _mask in self.selector.select(timeout=0.02):
                term = key.data
                if term.client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
                    self._drop(term)
                    continue
                self.dirty.add(term)  # paho queued its PUBACKs and our receipts
            while True:
                try:
                    self.calls.get_nowait()()
                except queue.Empty:
                    break
            now = time.monotonic()
            if now - last_misc >= 0.5:
                last_misc = now
                for term in list(self.terminals.values()):
                    term.client.loop_misc()
                    self._resend(term, now)
            self._flush()

    def _flush(self) -> None:
        still = set()
        for term in self.dirty:
            if term.client.want_write():
                term.client.loop_write()
                if term.client.want_write():
                    still.add(term)
        self.dirty = still

    def _drop(self, term: Terminal) -> None:
        sock = term.client.socket()
        if sock is not None:
            with contextlib.suppress(KeyError, ValueError):  # already dropped
                self.selector.unregister(sock)

    def _publish(self, term: Terminal, env: dict[str, Any]) -> None:
        term.client.publish(topics.uplink(term.name), encode(env), qos=1)
        self.dirty.add(term)

    def _queue(self, term: Terminal, env: dict[str, Any]) -> None:
        """An ordered item, kept until the relay answers it (its ``state`` or error)."""
        payload = encode(env)
        term.pending[env["id"]] = (payload, time.monotonic())
        term.client.publish(topics.uplink(term.name), payload, qos=1)
        self.dirty.add(term)

    def _resend(self, term: Terminal, now: float) -> None:
        if term.login_id and not term.sid and now - term.login_at > LOGIN_AGAIN_S:
            self._login(term)
        for item_id, (payload, sent) in sorted(term.pending.items(), key=lambda kv: kv[1][1]):
            if now - sent >= RESEND_AFTER_S:
                term.pending[item_id] = (payload, now)
                term.client.publish(topics.uplink(term.name), payload, qos=1)
                self.dirty.add(term)

    def _login(self, term: Terminal) -> None:
        env = envelope("login", badge=term.badge, last_seq=term.seq)
        term.login_id, term.login_at = env["id"], time.monotonic()
        self._publish(term, env)

    def _on_message(self, term: Terminal, payload: bytes) -> None:
        env = json.loads(payload)
        kind, ref = env.get("type"), env.get("ref")
        if kind in ("state", "logout", "error") and ref and env.get("code") != "rate_limited":
            term.pending.pop(ref, None)
        if kind == "login":
            if ref == term.login_id and env.get("ok"):
                term.sid, term.employee = env.get("sid"), int(env["employee"]["id"])
            return
        if env.get("sid") is not None and env.get("sid") != term.sid:
            return
        if kind == "sync":
            term.synced = True
        elif kind == "text":
            self._arrived(term, str(env.get("text", "")))
        if kind in TRACKED and not (kind == "state" and ref) and term.sid:
            self._publish(term, envelope("receipt", sid=term.sid, ref=env["id"],
                                         status="received"))

    def _arrived(self, term: Terminal, text: str) -> None:
        parsed = parse_text(text)
        if parsed is None:
            return
        self.arrivals.append(Arrival(parsed[0], parsed[1], time.monotonic()))
        loop = self.closed_loop
        if loop is not None and term.name in loop["reply"] and time.monotonic() < loop["end"]:
            self._next(*loop["reply"][term.name])

    def _next(self, sender: str, to: int) -> None:
        loop = self.closed_loop
        assert loop is not None
        term = self.terminals[sender]
        n = loop["counters"][sender] = loop["counters"].get(sender, -1) + 1
        tag = f"{loop['run']}:{sender}:{n}"
        term.seq += 1
        self._queue(term, envelope("text", sid=term.sid, seq=term.seq, to=to,
                                   text=message_text(tag, time.monotonic())))
        loop["sent"].append(tag)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the network thread; its result (or its exception, raised here)."""
        done: queue.Queue[tuple[bool, Any]] = queue.Queue()

        def run() -> None:
            try:
                done.put((True, fn()))
            except Exception as exc:  # noqa: BLE001 - the caller's command reports it
                done.put((False, exc))

        self.calls.put(run)
        ok, value = done.get()
        if not ok:
            raise value
        return value

    # --- commands ------------------------------------------------------------------------

    def _open(self, item: dict[str, Any]) -> Terminal:
        name = item["terminal"]
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        client.username_pw_set(name, item["password"])
        client.will_set(topics.status(name), topics.OFFLINE, qos=1, retain=True)
        client.max_queued_messages_set(0)
        term = Terminal(name, item["badge"], client)

        def on_connect(c, _u, _f, reason, _p) -> None:  # noqa: ANN001
            if not reason.is_failure:
                c.subscribe(topics.downlink(name), qos=1)
                c.publish(topics.status(name), topics.ONLINE, qos=1, retain=True)
                self._login(term)
                self.dirty.add(term)

        client.on_connect = on_connect
        client.on_message = lambda _c, _u, m: self._on_message(term, m.payload)
        client.connect(self.spec["host"], self.spec["port"], keepalive=60, clean_start=True)
        sock = client.socket()
        self.selector.register(sock, selectors.EVENT_READ, term)
        self.terminals[name] = term
        self.dirty.add(term)
        return term

    def login(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        self.thread.start()
        for item in self.spec["links"]:
            self.call(lambda item=item: self._open(item))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            ready = self.call(lambda: sum(t.synced for t in self.terminals.values()))
            if ready == len(self.terminals):
                break
            time.sleep(0.1)
        employees = self.call(lambda: {t.name: t.employee for t in self.terminals.values()
                                       if t.synced})
        failed = sorted(set(self.terminals) - set(employees))
        return {"employees": employees, "failed": failed, "seconds": time.monotonic() - started}

    def closed(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """As ``bench.farm.Farm.closed``: each pair keeps ``window`` messages on their way
        for ``seconds``, a delivery letting its sender send the next one."""
        window, seconds = int(cmd["window"]), float(cmd["seconds"])
        pairs = cmd["pairs"]  # [sender terminal, recipient employee, recipient terminal]

        def start() -> float:
            now = time.monotonic()
            self.closed_loop = {"run": cmd["run"], "reply": {b: (a, to) for a, to, b in pairs},
                                "counters": {}, "sent": [], "end": now + seconds}
            for a, to, _b in pairs:
                for _ in range(window):
                    self._next(a, to)
            return now

        started = self.call(start)
        time.sleep(seconds)

        def end() -> list[str]:
            loop, self.closed_loop = self.closed_loop, None
            return loop["sent"] if loop else []

        sent = self.call(end)
        return {"sent": sent, "started": started, "ended": time.monotonic()}

    def arrivals_of(self, cmd: dict[str, Any]) -> dict[str, Any]:
        prefix = f"{cmd['run']}:"
        mine = self.call(lambda: [a for a in self.arrivals if a.tag.startswith(prefix)])
        if cmd.get("count_only"):
            return {"count": len({a.tag for a in mine})}
        return {"arrivals": [[a.tag, a.sent, a.at] for a in mine]}

    def pending(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        return {"outbox": self.call(lambda: sum(len(t.pending) for t in self.terminals.values()))}

    def stop(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        def disconnect() -> None:
            for term in self.terminals.values():
                term.client.disconnect()
            self._flush()
            self.stopping = True

        if self.thread.is_alive():
            self.call(disconnect)
            self.thread.join(5)
        return {}


def main() -> None:
    farm = LeanFarm(spec_from_argv())
    serve({"login": farm.login, "closed": farm.closed, "arrivals": farm.arrivals_of,
           "pending": farm.pending, "stop": farm.stop})


if __name__ == "__main__":
    main()
