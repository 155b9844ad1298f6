"""The lines a person watching ``relais up`` wants: a kiosk window opened, a terminal
connected or left, a message held for HR. Read from the database and the kiosks' output
(nothing in the relay changes for it), written through ``logs.event``."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from hr_console.cli import logs

# A kiosk's log line: "2026-12-03 17:20:15,777 LEVEL logger: message" (logs.FORMAT).
_LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) (?P<name>[\w.]+): (?P<message>.*)$")


class Watcher(threading.Thread):
    """Polls the terminals' presence and the held messages once a second."""

    def __init__(self, store: Any, console_url: str, every: float = 1.0) -> None:
        super().__init__(name="events", daemon=True)
        self.store, self.console_url, self.every = store, console_url.rstrip("/"), every
        self.stop = threading.Event()
        self._online: dict[str, bool] | None = None
        self._last_held = 0

    def run(self) -> None:
        while not self.stop.wait(self.every):
            try:
                self.poll()
            except Exception as exc:  # noqa: BLE001 - a busy or closing database: next time
                logging.getLogger("relais").debug("events: %s", exc)

    def poll(self) -> None:
        from sqlalchemy import func, select

        from hr_console.store.models import Employee, Message, Terminal

        with self.store.session() as s:
            online = dict(s.execute(select(Terminal.name, Terminal.online)).tuples().all())
            first = self._online is None
            if first:
                held = s.scalar(select(func.count()).where(Message.state == "held")) or 0
                self._last_held = s.scalar(select(func.max(Message.id))) or 0
                if held:
                    logs.event("%d message(s) wait for HR: %s/moderation/", held, self.console_url)
                rows = []
            else:
                rows = s.execute(select(Message.id, Message.kind, Employee.name, Message.group_id)
                                 .join(Employee, Employee.id == Message.sender_id)
                                 .where(Message.id > self._last_held, Message.state == "held")
                                 .order_by(Message.id)).tuples().all()
                self._last_held = max([self._last_held, *(r[0] for r in rows)])
        before = self._online or {}
        for name, now in sorted(online.items()):
            if now != before.get(name, False) and not (first and not now):
                logs.event("%s: terminal %s", name, "connected" if now else "disconnected")
        self._online = online
        for msg_id, kind, sender, group in rows:
            logs.event("message %d (%s%s from %s) held for HR: %s/moderation/", msg_id, kind,
                       " to a workgroup" if group else "", sender, self.console_url)


def _relay(stream: IO[str], log_file: Path, name: str, verbose: bool) -> None:
    """A kiosk's output, line by line, into its log file; its events (and errors) on to
    this terminal as ours, everything when verbose."""
    with open(log_file, "a", encoding="utf-8") as out:
        for line in stream:
            out.write(line)
            out.flush()
            text = line.rstrip("\n")
            if verbose:
                sys.stderr.write(f"{name}| {text}\n")
                continue
            match = _LINE.match(text)
            if match and match["name"] == logs.EVENTS:
                logs.event("%s", match["message"])
            elif match and match["level"] in ("ERROR", "CRITICAL"):
                logging.getLogger(f"relais.{name}").error("%s (see %s)", match["message"], log_file)


def follow(proc: subprocess.Popen[str], log_file: Path, name: str, verbose: bool) -> threading.Thread:
    """Start copying ``proc``'s output (stdout with stderr) to ``log_file``."""
    assert proc.stdout is not None
    thread = threading.Thread(target=_relay, args=(proc.stdout, log_file, name, verbose),
                              name=f"{name}-log", daemon=True)
    thread.start()
    return thread
