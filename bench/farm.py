"""A load-generating process: many terminal links (``kiosk_app.link``, as they ship), badged
in, sending text messages on a plan and noting when each one reaches its recipient.

Run as ``python -m bench.farm SPEC.json``; it reads one JSON command per line on
stdin and answers one JSON line on stdout. Several farms spread the links over processes
(and cores). Times are ``time.monotonic()``, which is one clock for every process of the
machine, so a message's latency is its arrival time minus the send time it carries.
"""

from __future__ import annotations

import heapq
import json
import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink

TEXT_CHARS = 64  # a typical shop-floor message ("Il manque des palettes au quai 2, ...")


def message_text(tag: str, sent: float) -> str:
    head = f"{tag}|{sent:.6f}|"
    return head + "x" * max(0, TEXT_CHARS - len(head))


def parse_text(text: str) -> tuple[str, float] | None:
    parts = text.split("|", 2)
    if len(parts) < 3:
        return None
    try:
        return parts[0], float(parts[1])
    except ValueError:
        return None


@dataclass
class Arrival:
    tag: str
    sent: float
    at: float


@dataclass
class Farm:
    spec: dict[str, Any]
    links: dict[str, TerminalLink] = field(default_factory=dict)
    employees: dict[str, int] = field(default_factory=dict)  # terminal -> employee id
    arrivals: list[Arrival] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # links that never connected
    synced: dict[str, float] = field(default_factory=dict)  # terminal -> its last sync
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: dict[str, Any] | None = None  # closed-loop state: recipient terminal -> sender

    # --- links --------------------------------------------------------------------------

    def _on_event(self, terminal: str, event: ev.Event) -> None:
        if isinstance(event, ev.Synced):
            with self._lock:
                self.synced[terminal] = time.monotonic()  # the broker-restart figure
            return
        if not isinstance(event, ev.MessageArrived):
            return
        now = time.monotonic()
        parsed = parse_text(str(event.message.get("text", "")))
        if parsed is None:
            return
        arrival = Arrival(parsed[0], parsed[1], now)
        with self._lock:
            self.arrivals.append(arrival)
            closed = self._closed
        if closed is not None and terminal in closed["reply"]:
            closed["queue"].put(terminal)

    def _open(self, item: dict[str, Any]) -> None:
        name = item["terminal"]
        link = TerminalLink(terminal=name, password=item["password"], host=self.spec["host"],
                            port=self.spec["port"],
                            outbox_path=Path(self.spec["outbox_dir"]) / f"{name}.db",
                            on_event=lambda e, n=name: self._on_event(n, e))
        link.start()
        if not link.wait_connected(120):
            self.failed.append(name)  # reported as not connected; the figure goes on
            link.stop()
            return
        link.login(item["badge"])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                event = link.events.get(timeout=1)
            except queue.Empty:
                continue
            if isinstance(event, ev.LoginOk):
                self.employees[name] = int(event.employee["id"])
            elif isinstance(event, ev.LoginFailed) and event.code == "no_answer":
                link.login(item["badge"])  # a thousand at once: the relay answers late
            elif isinstance(event, ev.LoginFailed):
                raise RuntimeError(f"{name}: login refused ({event.code})")
            elif isinstance(event, ev.Synced):
                break
        else:
            raise RuntimeError(f"{name}: no login answer")
        self.links[name] = link

    def login(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(self._open, self.spec["links"]))
        return {"employees": self.employees, "failed": self.failed,
                "seconds": time.monotonic() - started}

    def _drain_events(self) -> None:
        """Events also pile up in each link's queue, which nobody reads here."""
        for link in self.links.values():
            while True:
                try:
                    link.events.get_nowait()
                except queue.Empty:
                    break

    # --- sending ---------------------------------------------------------------------------

    def _send(self, terminal: str, to: int, tag: str) -> None:
        self.links[terminal].send_text(to, message_text(tag, time.monotonic()))

    def send(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """``plan``: [terminal, recipient employee, count, first offset s, interval s] from
        ``at`` (a monotonic time) or now. Returns once everything is handed to the links."""
        start = float(cmd.get("at") or time.monotonic())
        run = cmd["run"]
        heap: list[tuple[float, int, str, int, int]] = []
        for n, (terminal, to, count, offset, interval) in enumerate(cmd["plan"]):
            for i in range(count):
                heap.append((start + offset + i * interval, n, terminal, to, i))
        heapq.heapify(heap)
        sent = []
        late = 0.0
        while heap:
            due, _n, terminal, to, i = heapq.heappop(heap)
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                late = max(late, -wait)
            tag = f"{run}:{terminal}:{i}"
            self._send(terminal, to, tag)
            sent.append(tag)
        self._drain_events()
        return {"sent": sent, "max_late": late}

    def closed(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Closed loop: each pair keeps ``window`` messages on their way for ``seconds``; a
        delivery lets its sender send the next one. Measures what the relay can sustain."""
        run, window, seconds = cmd["run"], int(cmd["window"]), float(cmd["seconds"])
        pairs = cmd["pairs"]  # [sender terminal, recipient employee, recipient terminal]
        wake: queue.Queue[str] = queue.Queue()
        reply = {b: (a, to) for a, to, b in pairs}
        counters = dict.fromkeys((a for a, _to, _b in pairs), 0)
        with self._lock:
            self._closed = {"reply": reply, "queue": wake}
        sent = []

        def one(sender: str, to: int) -> None:
            tag = f"{run}:{sender}:{counters[sender]}"
            counters[sender] += 1
            self._send(sender, to, tag)
            sent.append(tag)

        started = time.monotonic()
        for a, to, _b in pairs:
            for _ in range(window):
                one(a, to)
        end = started + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                b = wake.get(timeout=left)
            except queue.Empty:
                break
            one(*reply[b])
        with self._lock:
            self._closed = None
        self._drain_events()
        return {"sent": sent, "started": started, "ended": time.monotonic()}

    def arrivals_of(self, cmd: dict[str, Any]) -> dict[str, Any]:
        prefix = f"{cmd['run']}:"
        with self._lock:
            mine = [a for a in self.arrivals if a.tag.startswith(prefix)]
        if cmd.get("count_only"):
            return {"count": len({a.tag for a in mine})}
        return {"arrivals": [[a.tag, a.sent, a.at] for a in mine]}

    def synced_after(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """When each link last got a sync, for those that got one after ``at``."""
        with self._lock:
            return {"synced": {t: at for t, at in self.synced.items() if at > cmd["at"]}}

    def pending(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        return {"outbox": sum(link.outbox.pending_count() for link in self.links.values())}

    def stop(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        with ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(lambda link: link.stop(), self.links.values()))
        return {}


def spec_from_argv() -> dict[str, Any]:
    return json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))


def serve(commands: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
    """Answer the coordinator (``bench.load``): one JSON command a line on stdin, one JSON
    answer a line on stdout, until ``stop``. Every load process speaks it."""
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            answer = {"ok": True, **commands[cmd["cmd"]](cmd)}
        except Exception as exc:  # the coordinator reports it and stops the run
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
        if cmd["cmd"] == "stop":
            break


def main() -> None:
    farm = Farm(spec_from_argv())
    serve({"login": farm.login, "send": farm.send, "closed": farm.closed,
           "arrivals": farm.arrivals_of, "pending": farm.pending, "stop": farm.stop,
           "synced_after": farm.synced_after})


if __name__ == "__main__":
    main()
