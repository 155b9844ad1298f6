"""A badge-in whose uplink or answer is lost (no relay subscribed for a moment: a partition
changing relays, a relay or broker restart, a terminal enrolled a second ago) still
succeeds: the kiosk sends the same login again until answered, and the relay answers a
login it already handled with the same session, or the same refusal, never a second
session or a second miss. Real broker, relay and database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hr_console.services import sessions
from hr_console.store.models import BadgeSession, Employee
from hr_console.store.models import Terminal as TerminalRow
from kiosk_app.link import events as ev
from relais_wire import topics
from relais_wire.envelope import encode, envelope
from tests.system_fixture import System, expect


class Terminal:
    """A plain client with a terminal's credentials: publishes exactly what it is given."""

    def __init__(self, system: System, name: str) -> None:
        self.name = name
        self.answers: queue.Queue[dict[str, Any]] = queue.Queue()
        self.passed: list[dict[str, Any]] = []  # what ``login`` read past, waiting for its answer
        creds = system.demo.terminals[name]
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name,
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(name, creds["password"])
        subscribed: queue.Queue[bool] = queue.Queue()
        self.client.on_message = lambda _c, _u, m: self.answers.put(json.loads(m.payload))
        self.client.on_subscribe = lambda *_a: subscribed.put(True)
        self.client.connect("127.0.0.1", system.cfg.mqtt_port)
        self.client.loop_start()
        self.client.subscribe(topics.downlink(name), qos=1)
        subscribed.get(timeout=10)

    def login(self, env: dict[str, Any]) -> dict[str, Any]:
        self.client.publish(topics.uplink(self.name), encode(env), qos=1)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                answer = self.answers.get(timeout=0.5)
            except queue.Empty:
                continue
            if answer["type"] == "login" and answer.get("ref") == env["id"]:
                return answer
            self.passed.append(answer)
        raise AssertionError("no answer to the login")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _wait(cond: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.02)


def _open_sessions(system: System, name: str) -> int:
    with system.store.session() as s:
        return s.scalar(select(func.count()).select_from(BadgeSession).where(
            BadgeSession.employee_id == system.employee(name),
            BadgeSession.ended_at.is_(None))) or 0


def test_the_same_login_twice_is_one_session(system: System) -> None:
    term = Terminal(system, "kiosk-1")
    try:
        env = envelope("login", badge=system.demo.badges["Sophie Martin"], pin=None, last_seq=0)
        first, again = term.login(env), term.login(env)
        assert first["ok"] and again["ok"]
        assert first["sid"] == again["sid"]
        assert _open_sessions(system, "Sophie Martin") == 1
        other = term.login(envelope("login", badge=system.demo.badges["Sophie Martin"],
                                    pin=None, last_seq=0))
        assert other["ok"] and other["sid"] != first["sid"]  # a new badge-in: new session
        assert _open_sessions(system, "Sophie Martin") == 1
    finally:
        term.close()


def test_a_login_answered_again_leaves_another_badge_in_s_hold_alone(system: System) -> None:
    """Until a badge-in's sync is out, the relay holds that person's downlinks back (the
    desk's ``withheld``). A login sent again is answered with its session and its sync
    again; it used to release a hold it never took, the hold of another badge-in of the
    same person still under way, whose downlinks could then overtake its sync."""
    term = Terminal(system, "kiosk-1")
    desk = system.relays[0].logins
    sophie = system.employee("Sophie Martin")
    try:
        env = envelope("login", badge=system.demo.badges["Sophie Martin"], pin=None, last_seq=0)
        # A login's timing is kept once its sync is out, released: counted before the
        # login, as its sync may be out before the answer is read here.
        done = len(desk.timings)
        first = term.login(env)
        _wait(lambda: len(desk.timings) > done)
        desk._hold(sophie)  # another badge-in of hers, its sync not out yet
        again = term.login(env)
        assert first["sid"] == again["sid"] and desk.counters.replayed >= 1
        _wait(lambda: len(desk.timings) > done + 1)
        assert sophie in desk.withheld()
        desk._release(sophie)
        assert sophie not in desk.withheld()
    finally:
        term.close()


def test_a_login_sent_in_a_loop_gets_its_sync_within_the_sync_rate(system: System) -> None:
    """A login sent again is answered with its session each time, but its sync goes within
    the terminal's sync budget, as a sync request's does: the same envelope sent in a loop
    (two minutes long, a review found) built the HR desk's whole sync each time."""
    from hr_console.relay import logins

    term = Terminal(system, "kiosk-1")
    try:
        env = envelope("login", badge=system.demo.badges["Sophie Martin"], pin=None, last_seq=0)
        sid = term.login(env)["sid"]  # the first: its sync, whatever the budget
        started = time.monotonic()
        sent = 12
        for _ in range(sent):  # each once the last is answered (logins queued up are one)
            assert term.login(env)["sid"] == sid
        time.sleep(1.0)  # the last one's sync, if it has one
        while not term.answers.empty():
            term.passed.append(term.answers.get())
        syncs = sum(a["type"] == "sync" for a in term.passed)
        # The first login's sync, then the burst and what the rate earned meanwhile.
        earned = logins.SYNC_BURST + logins.SYNC_RATE * (time.monotonic() - started)
        assert 1 <= syncs <= 1 + earned, (syncs, earned)
        assert syncs < sent
    finally:
        term.close()


def test_a_wrong_pin_sent_twice_is_one_miss(system: System) -> None:
    term = Terminal(system, "kiosk-1")
    try:
        env = envelope("login", badge=system.demo.badges["Julie Moreau"], pin="0000", last_seq=0)
        first, again = term.login(env), term.login(env)
        assert first["code"] == again["code"] == "bad_pin"
        with system.store.session() as s:
            assert s.get(Employee, system.employee("Julie Moreau")).failed_logins == 1
    finally:
        term.close()


def test_a_badge_in_while_no_relay_listens_is_answered_when_one_does(system: System) -> None:
    link = system.link("kiosk-1")
    for relay in system.relays:  # the terminal's relay is gone; none has its partition yet
        relay.stop()
    system.relays.clear()
    link.login(system.demo.badges["Karim Benali"])
    time.sleep(3)  # the first login and a resend reach nobody
    system.start_relay()
    assert expect(link, ev.LoginOk, timeout=15).employee["name"] == "Karim Benali"
    assert expect(link, ev.Synced, timeout=15).contacts
    assert _open_sessions(system, "Karim Benali") == 1


def test_a_login_two_relays_handle_at_once_is_one_session(system: System) -> None:
    """While a partition changes hands both relays may hear a kiosk's login and its resend.
    The second waits on the terminal's row (the lock every badge-in takes) until the first
    commits, then answers the session the first opened. It used to open another one, which
    replaced the first: what the kiosk typed after its answer was refused as a session that
    had ended, and left its outbox (a scale-out run lost four messages so)."""
    badge, pepper = system.demo.badges["Sophie Martin"], system.cfg.badge_pepper
    ref = envelope("login", badge=badge, pin=None, last_seq=0)["id"]
    opened: dict[str, sessions.LoginResult] = {}
    holding = threading.Event()

    def locked(s: Session) -> TerminalRow:
        return s.execute(select(TerminalRow).where(TerminalRow.name == "kiosk-1")
                         .with_for_update()).scalar_one()

    def first_relay() -> None:
        with system.store.session() as s:
            opened["first"] = sessions.badge_in(s, locked(s), badge, None, pepper,
                                                declared_seq=0, login_ref=ref)
            holding.set()
            time.sleep(1.0)  # the other relay's badge-in waits for this commit meanwhile

    thread = threading.Thread(target=first_relay)
    thread.start()
    assert holding.wait(15)
    with system.store.session() as s:
        second = sessions.badge_in(s, locked(s), badge, None, pepper, declared_seq=0,
                                   login_ref=ref)
    thread.join(15)
    first = opened["first"]
    assert not first.replayed and second.replayed
    assert second.session_id == first.session_id and second.ended == []
    assert _open_sessions(system, "Sophie Martin") == 1
    with system.store.session() as s:  # a new login (another id) is a new badge-in
        again = sessions.badge_in(s, locked(s), badge, None, pepper, declared_seq=0,
                                  login_ref=envelope("login", badge=badge, pin=None,
                                                     last_seq=0)["id"])
    assert not again.replayed and again.session_id != first.session_id
    assert [e.session_id for e in again.ended] == [first.session_id]
