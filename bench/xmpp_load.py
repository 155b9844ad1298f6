"""A load-generating process for the Prosody peer: slixmpp clients, each a user of a
private Prosody, sending 1:1 chat messages to a partner and noting when each one arrives.

Run as ``python -m bench.xmpp_load SPEC.json``; like :mod:`bench.farm`
it reads one JSON command per line on stdin and answers one JSON line on stdout. The message
body is the relay benchmark's (:func:`bench.farm.message_text`: a tag, the send
time, padding to 64 characters), so both carry the same text. Times are
``time.monotonic()``, one clock for every process of the machine.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import slixmpp

from bench.farm import message_text, parse_text, serve, spec_from_argv


class _Client(slixmpp.ClientXMPP):
    def __init__(self, jid: str, password: str, farm: XmppFarm) -> None:
        super().__init__(jid, password)
        self.farm = farm
        self.ready = asyncio.Event()
        # A private server on the loopback: no TLS (the relay's benchmark has none either).
        self.enable_starttls = False
        self.enable_direct_tls = False
        self.enable_plaintext = True
        self.use_ipv6 = False
        mechanisms = self.plugin["feature_mechanisms"]
        mechanisms.unencrypted_plain = True
        mechanisms.unencrypted_scram = True
        self.add_event_handler("session_start", self._started)
        self.add_event_handler("message", self._message)

    async def _started(self, _event: Any) -> None:
        self.send_presence()  # available: the server routes messages to a bare JID here
        self.ready.set()

    def _message(self, msg: Any) -> None:
        if msg["type"] in ("chat", "normal") and msg["body"]:
            self.farm.arrived(self.boundjid.user, str(msg["body"]))


class XmppFarm:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.clients: dict[str, _Client] = {}
        self.arrivals: list[tuple[str, float, float]] = []
        self.closed: dict[str, Any] | None = None
        self.stanza_bytes = 0

    def jid(self, user: str) -> str:
        return f"{user}@{self.spec['domain']}"

    def arrived(self, user: str, body: str) -> None:
        now = time.monotonic()
        parsed = parse_text(body)
        if parsed is None:
            return
        self.arrivals.append((parsed[0], parsed[1], now))
        closed = self.closed
        if closed is not None and user in closed["reply"] and now < closed["end"]:
            self._send(*closed["reply"][user], closed)

    def _send(self, sender: str, to: str, closed: dict[str, Any]) -> None:
        n = closed["counters"][sender]
        closed["counters"][sender] = n + 1
        tag = f"{closed['run']}:{sender}:{n}"
        self.send_one(sender, to, tag)
        closed["sent"].append(tag)

    def send_one(self, sender: str, to: str, tag: str) -> None:
        msg = self.clients[sender].make_message(mto=self.jid(to),
                                                mbody=message_text(tag, time.monotonic()),
                                                mtype="chat")
        if not self.stanza_bytes:
            self.stanza_bytes = len(str(msg).encode())
        msg.send()

    async def login(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        for user in self.spec["users"]:
            client = _Client(f"{self.jid(user)}/bench", self.spec["password"], self)
            self.clients[user] = client
            client.connect(self.spec["host"], self.spec["port"])
        await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in self.clients.values())),
                               120)
        return {"users": len(self.clients)}

    async def closed_loop(self, cmd: dict[str, Any]) -> dict[str, Any]:
        pairs = cmd["pairs"]  # [sender user, recipient user]
        started = time.monotonic()
        closed = {"run": cmd["run"], "reply": {b: (a, b) for a, b in pairs},
                  "counters": dict.fromkeys((a for a, _b in pairs), 0), "sent": [],
                  "end": started + float(cmd["seconds"])}
        self.closed = closed
        for a, b in pairs:
            for _ in range(int(cmd["window"])):
                self._send(a, b, closed)
        await asyncio.sleep(max(0.0, closed["end"] - time.monotonic()))
        self.closed = None
        return {"sent": closed["sent"], "started": started, "ended": time.monotonic()}

    async def paced(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """``plan`` rows: [sender, recipient, count, offset, interval] from ``at``."""
        at = float(cmd["at"])
        sends = sorted((at + offset + k * interval, sender, to)
                       for sender, to, count, offset, interval in cmd["plan"]
                       for k in range(int(count)))
        tags = []
        for n, (when, sender, to) in enumerate(sends):
            delay = when - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tag = f"{cmd['run']}:{sender}:{n}"
            self.send_one(sender, to, tag)
            tags.append(tag)
        return {"sent": tags}

    async def arrivals_of(self, cmd: dict[str, Any]) -> dict[str, Any]:
        prefix = f"{cmd['run']}:"
        mine = [a for a in self.arrivals if a[0].startswith(prefix)]
        if cmd.get("count_only"):
            return {"count": len({a[0] for a in mine})}
        return {"arrivals": mine, "stanza_bytes": self.stanza_bytes}

    async def stop(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        for client in self.clients.values():
            client.disconnect()
        await asyncio.sleep(0.2)
        return {}


def main() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    farm = XmppFarm(spec_from_argv())
    commands = {"login": farm.login, "closed": farm.closed_loop, "paced": farm.paced,
                "arrivals": farm.arrivals_of, "stop": farm.stop}
    serve({name: (lambda cmd, f=fn: asyncio.run_coroutine_threadsafe(f(cmd), loop).result())
           for name, fn in commands.items()})


if __name__ == "__main__":
    main()
