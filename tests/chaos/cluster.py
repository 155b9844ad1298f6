"""A Relais site made of real processes, for killing: Mosquitto (broker_config's
BrokerProcess, the home's own configuration and persistence), relays (``relais relay
--instance N``) and terminals (tests/chaos/terminal_worker.py, each on its own outbox).

Every process can be killed with SIGKILL and started again on the same files. At the end
``outcome()`` reads the database and the terminals' journals and counts what was typed,
delivered, duplicated, lost or reordered.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hr_console.services import broker as broker_service
from hr_console.services import directory
from hr_console.store.models import Employee, Message, Site
from tests.chaos.terminal_worker import parse_text, read_journal
from tests.system_fixture import System, child_env, make_system

ROOT = Path(__file__).resolve().parents[2]
RELAIS = Path(sys.executable).parent / "relais"

# Three people of the demo's workshop team, each at their own terminal; all of them may
# write to each other. Moderation is off for them: the chaos is in the plumbing, not in HR.
PEOPLE = (("Sophie Martin", "kiosk-1"), ("Karim Benali", "kiosk-2"), ("Julie Moreau", "kiosk-3"))
PINS = {"Julie Moreau": "4321"}
SEEN_DELIVERED = frozenset({"delivered", "read"})


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _outbox_head(path: Path, most: int = 10) -> list[tuple[Any, ...]]:
    """What a terminal's outbox still holds, oldest first: why a sender is still waiting."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT seq, attempts, next_try FROM outbox WHERE state='pending' "
                              "ORDER BY created, rowid LIMIT ?", (most,)).fetchall()
    except sqlite3.Error as exc:
        return [("unreadable", str(exc))]
    return [(seq, attempts, round(next_try - time.time(), 1)) for seq, attempts, next_try in rows]


def _kill(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.kill()  # SIGKILL: no clean-up of any kind
        proc.wait()


@dataclass
class Member:
    name: str
    terminal: str
    badge: str
    pin: str | None
    employee_id: int
    password: str
    outbox: Path
    journal: Path
    log: Path
    count: int = 0
    targets: list[int] = field(default_factory=list)
    port: int | None = None  # None: the broker's terminal port; else e.g. a NetCut's
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def events(self) -> list[dict[str, Any]]:
        return read_journal(self.journal)


class Cluster:
    def __init__(self, tmp: Path, db_url: str, *, interval: float = 0.2,
                 resend_after: float = 1.0) -> None:
        self.tmp = tmp
        self.interval = interval
        self.resend_after = resend_after
        self.system: System = make_system(tmp, db_url, relay=False)
        self.kills: Counter[str] = Counter()
        self.relays: dict[int, subprocess.Popen[bytes]] = {}
        self.members: list[Member] = []
        self._enrol()
        self.started = time.monotonic()

    # --- set-up --------------------------------------------------------------------------

    def _enrol(self) -> None:
        """The demo has two terminals; add what PEOPLE needs and turn moderation off."""
        demo = self.system.demo
        with self.system.store.session() as s:
            site = s.execute(select(Site).where(Site.name == "demo")).scalar_one()
            for name, terminal in PEOPLE:
                if terminal not in demo.terminals:
                    _, creds = directory.terminal(s, terminal, site)
                    demo.terminals[terminal] = creds.as_json()
                s.get_one(Employee, demo.employees[name]).moderation_mode = "none"
            s.flush()
            broker_service.apply(s, self.system.cfg)  # new passwords: the broker reloads
        ids = [demo.employees[name] for name, _ in PEOPLE]
        for name, terminal in PEOPLE:
            me = demo.employees[name]
            self.members.append(Member(
                name=name, terminal=terminal, badge=demo.badges[name], pin=PINS.get(name),
                employee_id=me, password=demo.terminals[terminal]["password"],
                outbox=self.tmp / f"outbox-{terminal}.db", journal=self.tmp / f"{terminal}.jsonl",
                log=self.tmp / f"{terminal}.log", targets=[i for i in ids if i != me]))

    def member(self, terminal: str) -> Member:
        return next(m for m in self.members if m.terminal == terminal)

    # --- relays ------------------------------------------------------------------------

    def start_relay(self, instance: int = 1, timeout: float = 30.0) -> None:
        log = self.tmp / f"relay-{instance}.log"
        mark = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [str(RELAIS), "--home", str(self.system.cfg.home), "relay", "--instance", str(instance)],
                cwd=ROOT, env=child_env(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.relays[instance] = proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with log.open("rb") as fh:
                fh.seek(mark)
                if b" connected to " in fh.read():
                    return
            if proc.poll() is not None:
                raise RuntimeError(f"relay {instance} exited: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"relay {instance} did not connect within {timeout}s")

    def kill_relay(self, instance: int = 1) -> None:
        _kill(self.relays.pop(instance))
        self.kills["relay"] += 1

    # --- broker ------------------------------------------------------------------------

    def kill_broker(self) -> None:
        self.system.broker.kill()
        self.kills["broker"] += 1

    def start_broker(self) -> None:
        self.system.broker.start()

    # --- terminals ---------------------------------------------------------------------

    def start_terminal(self, m: Member) -> None:
        args = [sys.executable, "-m", "tests.chaos.terminal_worker", "--terminal", m.terminal,
                # "=": a generated password may begin with "-", which argparse reads as an option
                f"--password={m.password}", "--port", str(m.port or self.system.cfg.mqtt_port),
                "--outbox", str(m.outbox), "--journal", str(m.journal), "--badge", m.badge,
                "--count", str(m.count), "--interval", str(self.interval),
                "--resend-after", str(self.resend_after)]
        if m.pin:
            args += ["--pin", m.pin]
        for target in m.targets:
            args += ["--to", str(target)]
        with m.log.open("ab") as out:
            m.proc = subprocess.Popen(args, cwd=ROOT, env=child_env(), stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=subprocess.STDOUT)
        m.starts += 1

    def kill_terminal(self, m: Member) -> None:
        _kill(m.proc)
        m.proc = None
        self.kills["terminal"] += 1

    def start_terminals(self, total: int) -> None:
        """Share ``total`` messages between the members and start them all."""
        for i, m in enumerate(self.members):
            m.count = total // len(self.members) + (1 if i < total % len(self.members) else 0)
            self.start_terminal(m)

    # --- waiting -----------------------------------------------------------------------

    def typed(self, m: Member) -> int:
        return len({e["n"] for e in m.events() if e["ev"] == "typed"})

    def wait_until(self, what: str, cond: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            for m in self.members:
                if m.proc is not None and m.proc.poll() is not None:
                    raise AssertionError(f"{m.terminal} died: {m.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not {what} within {timeout}s: {self.progress()}")
            time.sleep(0.5)

    def settled(self) -> bool:
        """All typed, all delivered in the database, every sender has seen it."""
        if any(self.typed(m) < m.count for m in self.members):
            return False
        rows = self._rows()
        if sum(1 for r in rows if r["state"] in SEEN_DELIVERED) < sum(m.count for m in self.members):
            return False
        return all(not self._unseen_states(m) for m in self.members)

    def progress(self) -> str:
        rows = self._rows()
        states = Counter(r["state"] for r in rows)
        waiting = [len(self._unseen_states(m)) for m in self.members]
        heads = {m.terminal: _outbox_head(m.outbox) for m, n in zip(self.members, waiting,
                                                                       strict=True) if n}
        return (f"typed {[self.typed(m) for m in self.members]} of {[m.count for m in self.members]}, "
                f"stored {dict(states)}, senders still waiting {waiting}"
                + (f"; their outboxes (seq, attempts, next try in s): {heads}" if heads else ""))

    # --- the end -----------------------------------------------------------------------

    def close(self) -> None:
        for m in self.members:
            _stop(m.proc)
        for proc in self.relays.values():
            _stop(proc)
        with contextlib.suppress(Exception):
            self.system.close()

    def stop_terminals(self) -> None:
        for m in self.members:
            _stop(m.proc)
            if m.proc is not None and m.proc.returncode not in (0, -signal.SIGTERM):
                raise AssertionError(f"{m.terminal} ended with {m.proc.returncode}: "
                                     f"{m.log.read_text()[-3000:]}")

    def _rows(self) -> list[dict[str, Any]]:
        ids = [m.employee_id for m in self.members]
        with self.system.store.session() as s:
            rows = s.execute(select(Message.id, Message.client_id, Message.sender_id,
                                    Message.recipient_id, Message.body, Message.state,
                                    Message.sent_ts)
                             .where(Message.sender_id.in_(ids))).all()
        return [r._asdict() for r in rows]

    def _unseen_states(self, m: Member) -> list[str]:
        """Ids this member typed whose delivery it has not been told about (yet)."""
        events = m.events()
        typed = {e["msg"] for e in events if e["ev"] == "typed"}
        seen = {e["msg"] for e in events if e["ev"] in ("state", "history")
                and e.get("state") in SEEN_DELIVERED}
        return sorted(typed - seen)

    def outcome(self) -> dict[str, Any]:  # noqa: C901 - one pass per property checked
        """Counts over the whole run (call after stop_terminals)."""
        rows = self._rows()
        by_tag: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
        strays = 0
        for r in rows:
            tag = parse_text(r["body"])
            if tag is None:
                strays += 1
            else:
                by_tag[tag].append(r)
        expected = {(m.terminal, n) for m in self.members for n in range(m.count)}
        by_id = {m.employee_id: m for m in self.members}
        journals = {m.terminal: m.events() for m in self.members}
        typed = {(m.terminal, e["n"]): e["msg"] for m in self.members
                 for e in journals[m.terminal] if e["ev"] == "typed"}

        # What each recipient's screen got: per process lifetime (pid), in arrival order.
        shown: dict[int, dict[str, list[int]]] = {}  # employee -> msg id -> [pid per arrival]
        first_ts: dict[str, int] = {}
        arrival_inversions = 0
        for m in self.members:
            seen: dict[str, list[int]] = defaultdict(list)
            last_n: dict[tuple[int, int], int] = {}
            for e in journals[m.terminal]:
                if e["ev"] not in ("arrived", "history") or e.get("frm") == m.employee_id:
                    continue
                if e["ev"] == "arrived":
                    seen[e["msg"]].append(e["pid"])
                    tag = parse_text(e.get("text"))
                    key = (e["pid"], e.get("frm"))
                    if tag is not None:
                        if key in last_n and tag[1] < last_n[key]:
                            arrival_inversions += 1
                        last_n[key] = max(tag[1], last_n.get(key, -1))
                else:
                    seen.setdefault(e["msg"], [])
                first_ts.setdefault(e["msg"], e.get("ts") or 0)
            shown[m.employee_id] = seen

        delivered = lost = duplicated = wrong_id = 0
        for tag in expected:
            stored = by_tag.get(tag, [])
            duplicated += max(0, len(stored) - 1)
            row = stored[0] if stored else None
            if row is None or row["state"] not in SEEN_DELIVERED or row["client_id"] not in shown[
                    row["recipient_id"]]:
                lost += 1
                continue
            if typed.get(tag) != row["client_id"]:
                wrong_id += 1
            delivered += 1
        duplicated += sum(len(v) for k, v in by_tag.items() if k not in expected)
        # The same id shown twice by one process (a restart legitimately sees it again).
        for seen in shown.values():
            for pids in seen.values():
                duplicated += sum(c - 1 for c in Counter(pids).values() if c > 1)
        redelivered = sum(1 for seen in shown.values() for pids in seen.values()
                          if len(set(pids)) > 1)

        # Order: the relay's commit order per sender, and the kiosk's (sent time) per conversation.
        out_of_order = 0
        for m in self.members:
            mine = sorted((r for r in rows if r["sender_id"] == m.employee_id), key=lambda r: r["id"])
            ns = [t[1] for r in mine if (t := parse_text(r["body"]))]
            out_of_order += sum(1 for a, b in zip(ns, ns[1:], strict=False) if b < a)
            for other in m.targets:
                conv = sorted((r for r in mine if r["recipient_id"] == other),
                              key=lambda r: first_ts.get(r["client_id"], r["sent_ts"]))
                ns = [t[1] for r in conv if (t := parse_text(r["body"]))]
                out_of_order += sum(1 for a, b in zip(ns, ns[1:], strict=False) if b < a)

        unseen = sum(len(self._unseen_states(m)) for m in self.members)
        return {
            "sent": len(typed), "expected": len(expected), "delivered": delivered,
            "duplicated": duplicated, "lost": lost, "out_of_order": out_of_order,
            "sender_state_missing": unseen, "wrong_id": wrong_id, "strays": strays,
            "redelivered_after_restart": redelivered, "arrival_inversions": arrival_inversions,
            "killed": dict(self.kills), "terminal_starts": sum(m.starts for m in self.members),
            "typed_offline": sum(1 for m in self.members for e in journals[m.terminal]
                                 if e["ev"] == "typed" and e.get("online") is False),
            "unknown_recipients": [r for r in rows if r["recipient_id"] not in by_id][:3],
        }
