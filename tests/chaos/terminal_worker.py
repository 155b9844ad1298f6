"""One terminal in its own process, so that a chaos test's kill -9 is a real one.

It badges a person in through the real ``TerminalLink`` (and its SQLite outbox), types
``--count`` numbered messages at a steady pace, and writes everything it sees to a journal
(JSON lines, flushed per line, so a kill -9 loses nothing already written). Started again
on the same outbox and journal it carries on where it was: the outbox resends what was
typed but never confirmed, and typing resumes at the next number.

    python -m tests.chaos.terminal_worker --terminal kiosk-1 --password PW --port 1884 \
        --outbox o.db --journal j.jsonl --badge 1001 --to 3 --to 4 --count 100
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink

_TEXT = re.compile(r"^chaos (?P<terminal>[a-z0-9-]+) #(?P<n>\d+)$")
LOGIN_WAIT_S = 10.0  # a late answer to a login that was sent again is ignored


def text_for(terminal: str, n: int) -> str:
    return f"chaos {terminal} #{n}"


def parse_text(text: object) -> tuple[str, int] | None:
    """(terminal, number) of a message this harness typed, else None."""
    match = _TEXT.match(text) if isinstance(text, str) else None
    return (match["terminal"], int(match["n"])) if match else None


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete line (a kill -9 can cut the last one short)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


class Journal:
    def __init__(self, path: Path) -> None:
        self._fh = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"ev": kind, "t": time.time(), "pid": os.getpid(), **fields})
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()


class Terminal:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.journal = Journal(Path(args.journal))
        self.typed = {e["n"]: e["msg"] for e in read_journal(Path(args.journal)) if e["ev"] == "typed"}
        self.link = TerminalLink(terminal=args.terminal, password=args.password, host=args.host,
                                 port=args.port, outbox_path=args.outbox,
                                 resend_after=args.resend_after)
        self.stop = threading.Event()
        self.logged_in = threading.Event()
        self.synced = threading.Event()

    def recover(self) -> None:
        """A kill -9 between the outbox write and the journal line: the outbox knows."""
        for item in self.link.outbox.pending():
            parsed = parse_text(item.payload.get("text"))
            if parsed and parsed[0] == self.args.terminal and parsed[1] not in self.typed:
                self.typed[parsed[1]] = item.id
                self.journal.write("typed", n=parsed[1], msg=item.id, recovered=True)

    def pump(self) -> None:
        while True:
            event = self.link.events.get()
            self._record(event)

    def _record(self, e: ev.Event) -> None:  # noqa: C901 - one branch per event kind
        j = self.journal.write
        if isinstance(e, ev.LoginOk):
            j("login", sid=e.sid, me=e.employee.get("id"))
            self.logged_in.set()
        elif isinstance(e, ev.Synced):
            for h in e.history:
                j("history", msg=h.get("msg"), frm=h.get("from"), to=h.get("to"),
                  state=h.get("state"), text=h.get("text"), ts=h.get("sent_ts"))
            j("synced", n=len(e.history))
            self.synced.set()
        elif isinstance(e, ev.MessageArrived):
            m = e.message
            j("arrived", msg=m.get("msg"), frm=m.get("from"), to=m.get("to"), text=m.get("text"),
              ts=m.get("sent_ts"))
        elif isinstance(e, ev.StateChanged):
            j("state", msg=e.msg, state=e.state, reason=e.reason)
        elif isinstance(e, ev.LoggedOut):
            self.logged_in.clear()
            self.synced.clear()
            j("logout", reason=e.reason)
        elif isinstance(e, ev.LoginFailed):
            j("login_failed", code=e.code)
        elif isinstance(e, ev.ErrorReceived):
            j("error", code=e.code, ref=e.ref)
        elif isinstance(e, ev.LinkUp | ev.LinkDown):
            j("link", up=isinstance(e, ev.LinkUp))

    def ensure_login(self) -> None:
        """Badge in (again): a login is not kept in the outbox, so a lost one is retried."""
        while not self.stop.is_set() and not self.link.sid:
            if not self.link.wait_connected(1.0):
                continue
            self.logged_in.clear()
            self.synced.clear()
            self.link.login(self.args.badge, self.args.pin)
            if self.logged_in.wait(LOGIN_WAIT_S):
                self.synced.wait(LOGIN_WAIT_S)

    def type_all(self) -> None:
        n = max(self.typed) + 1 if self.typed else 0
        while n < self.args.count and not self.stop.is_set():
            self.ensure_login()
            if self.stop.wait(self.args.interval):
                break
            to = self.args.to[n % len(self.args.to)]
            try:
                msg = self.link.send_text(to, text_for(self.args.terminal, n))
            except RuntimeError:  # the relay ended the session meanwhile: badge in again
                continue
            self.typed[n] = msg
            self.journal.write("typed", n=n, msg=msg, to=to, online=self.link.connected)
            n += 1
        if n >= self.args.count:
            self.journal.write("typed_all", count=n)

    def run(self) -> None:
        self.journal.write("start")
        self.recover()
        threading.Thread(target=self.pump, name="journal", daemon=True).start()
        self.link.start()
        self.type_all()
        while not self.stop.is_set():  # stay badged in: receive, confirm, see states
            self.ensure_login()
            self.stop.wait(0.5)
        self.link.stop()
        self.journal.write("stopped")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--terminal", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--outbox", required=True)
    p.add_argument("--journal", required=True)
    p.add_argument("--badge", required=True)
    p.add_argument("--pin", default=None)
    p.add_argument("--to", type=int, action="append", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--resend-after", type=float, default=1.0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    terminal = Terminal(parse_args(argv))
    signal.signal(signal.SIGTERM, lambda *_: terminal.stop.set())
    signal.signal(signal.SIGINT, lambda *_: terminal.stop.set())
    terminal.run()


if __name__ == "__main__":
    main()
