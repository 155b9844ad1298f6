"""The relay's login desk (hr_console/relay/logins.py) on a real database, SQLite and
PostgreSQL: badge-in's rules through the desk, replies and ack only after the commit, the
PIN checked with no transaction and no relay lock held, a check made stale by a console
change redone, a terminal's later uplinks held behind its login and given back in order;
then the whole relay (its desk wired in), a real
broker and kiosk links."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import event, select, text

from hr_console.config import Settings
from hr_console.relay import logins
from hr_console.relay.handlers import Publish
from hr_console.relay.logins import HASH_NICE, HELD_MAX, LoginDesk
from hr_console.relay.mqtt import Relay
from hr_console.services import settings
from hr_console.services.secrets import hash_secret
from hr_console.store.db import Store
from hr_console.store.models import AuditEntry, BadgeSession, Employee, Terminal, utcnow
from kiosk_app.link import events as ev
from relais_wire import topics
from relais_wire.envelope import encode, envelope
from tests.system_fixture import System, expect, make_system, prepared_home, relay_process


@dataclass
class Item:
    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 1
    tries: int = 0


class Desk:
    """A desk with recording callbacks, over the demo home on one database."""

    def __init__(self, cfg: Settings, store: Store, demo: Any, desk_cls: type = LoginDesk,
                 hashers: int = 0) -> None:
        self.cfg, self.store, self.demo = cfg, store, demo
        self.published: list[Publish] = []
        self.acked: list[Item] = []
        self.events: list[str] = []  # publish/ack, in order, with the commit state at the time
        self.db_lock = threading.Lock()
        self.wakes = 0
        # PINs checked in the desk's threads here (a process pool starts in a second);
        # the process pool has its own test below and runs in the whole relay's tests.
        self.desk = desk_cls(cfg, store, publish=self._publish, ack=self._ack,
                             wake_worker=self._wake, db_lock=self.db_lock, hashers=hashers)

    def _publish(self, replies: list[Publish]) -> None:
        self.published.extend(replies)
        self.events.extend(f"publish {r.payload['type']}" for r in replies)

    def _ack(self, item: Item) -> None:
        self.acked.append(item)
        self.events.append("ack")

    def _wake(self) -> None:
        self.wakes += 1

    def login(self, terminal: str, name: str | None, pin: str | None = None, *,
              badge: str | None = None, last_seq: int | None = 0) -> Item:
        badge = badge if badge is not None else self.demo.badges[name]
        env = envelope("login", badge=badge, pin=pin, last_seq=last_seq)
        return Item(topics.uplink(terminal), encode(env))

    def run(self, terminal: str, *items: Item) -> list[bool]:
        taken = [self.desk.route(terminal, item) for item in items]
        self.desk.dispatch()
        self.settle()
        return taken

    def settle(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.desk.working():
            assert time.monotonic() < deadline, "the desk never finished"
            time.sleep(0.01)

    def replies(self, terminal: str, kind: str) -> list[dict[str, Any]]:
        return [p.payload for p in self.published
                if p.terminal == terminal and p.payload["type"] == kind]

    def answer(self, terminal: str) -> dict[str, Any]:
        return self.replies(terminal, "login")[-1]

    def close(self) -> None:
        self.desk.stop()


@pytest.fixture
def desk(tmp_path: Path, db_url: str) -> Iterator[Desk]:
    cfg, demo = prepared_home(tmp_path, db_url)
    store = Store(cfg.database_url)
    d = Desk(cfg, store, demo)
    try:
        yield d
    finally:
        d.close()
        store.dispose()


def test_pins_are_checked_in_low_priority_processes(tmp_path: Path) -> None:
    cfg, demo = prepared_home(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}")
    store = Store(cfg.database_url)
    d = Desk(cfg, store, demo, hashers=1)
    try:
        d.run("kiosk-1", d.login("kiosk-1", "Julie Moreau", "0000"))
        assert d.answer("kiosk-1")["code"] == "bad_pin"
        d.run("kiosk-1", d.login("kiosk-1", "Julie Moreau", "4321"))
        assert d.answer("kiosk-1")["ok"] is True
        pool = d.desk._hash_pool
        assert pool is not None
        hashers = [psutil.Process(pid) for pid in pool._processes]  # noqa: SLF001
        assert hashers and all(p.nice() == HASH_NICE > 0 for p in hashers)
    finally:
        d.close()
        store.dispose()


def _open_sessions(store: Store, employee: int) -> list[BadgeSession]:
    with store.session() as s:
        return list(s.execute(select(BadgeSession).where(
            BadgeSession.employee_id == employee, BadgeSession.ended_at.is_(None))).scalars())


def test_a_badge_in_answers_login_then_sync_and_acks_after_its_commit(desk: Desk) -> None:
    item = desk.login("kiosk-1", "Karim Benali")
    assert desk.run("kiosk-1", item) == [True]
    ok = desk.answer("kiosk-1")
    assert ok["ok"] is True and ok["employee"]["name"] == "Karim Benali"
    sync = desk.replies("kiosk-1", "sync")[-1]
    assert sync["sid"] == ok["sid"] and sync["ref"] == ok["ref"]
    assert sync["contacts"], "the sync carries the contact list"
    assert desk.acked == [item]
    assert desk.events == ["publish login", "ack", "publish sync"]
    [row] = _open_sessions(desk.store, desk.demo.employees["Karim Benali"])
    assert row.id == ok["sid"]
    timing = desk.desk.timings[-1]
    assert timing.outcome == "ok" and timing.hash == 0.0  # Karim's badge asks for no PIN


def test_badge_in_elsewhere_logs_the_first_terminal_out(desk: Desk) -> None:
    desk.run("kiosk-1", desk.login("kiosk-1", "Sophie Martin"))
    first = desk.answer("kiosk-1")["sid"]
    desk.run("kiosk-2", desk.login("kiosk-2", "Sophie Martin"))
    [logout] = desk.replies("kiosk-1", "logout")
    assert logout["sid"] == first and logout["reason"] == "replaced"
    [row] = _open_sessions(desk.store, desk.demo.employees["Sophie Martin"])
    assert row.id == desk.answer("kiosk-2")["sid"]


def test_pin_rules_through_the_desk(desk: Desk) -> None:
    """Julie's badge asks for her PIN: pin_required, bad_pin four times, locked at the fifth
    with the right PIN refused while locked; each miss counted in the committed audit."""
    codes = []
    for pin in (None, "0000", "0000", "0000", "0000", "0000", "4321"):
        desk.run("kiosk-1", desk.login("kiosk-1", "Julie Moreau", pin))
        codes.append(desk.answer("kiosk-1")["code"])
    assert codes == ["pin_required", *["bad_pin"] * 4, "locked", "locked"]
    assert desk.answer("kiosk-1")["until"]
    with desk.store.session() as s:
        misses = s.scalar(select(text("count(*)")).select_from(AuditEntry).where(
            AuditEntry.action == "badge.wrong_pin"))
    assert misses == 5
    assert len(desk.acked) == 7
    assert [t.outcome for t in desk.desk.timings] == codes
    assert all(t.hash > 0 for t in list(desk.desk.timings)[1:6])  # the five wrong PINs


def test_pin_always_says_nothing_about_the_badge(desk: Desk) -> None:
    with desk.store.session() as s:
        settings.put(s, "pin_always", True)
    desk.run("kiosk-1", desk.login("kiosk-1", "Karim Benali"))  # no PIN typed
    assert desk.answer("kiosk-1")["code"] == "pin_required"
    desk.run("kiosk-1", desk.login("kiosk-1", None, "1234", badge="no-such-badge"))
    unknown = desk.answer("kiosk-1")
    desk.run("kiosk-1", desk.login("kiosk-1", "Julie Moreau", "0000"))
    wrong = desk.answer("kiosk-1")
    assert unknown["code"] == wrong["code"] == "bad_credentials"
    assert unknown["message"] == wrong["message"]
    # The unknown badge cost a (dummy) hash as well: the answer's time says nothing either.
    assert desk.desk.timings[-2].hash > 0 and desk.desk.timings[-1].hash > 0
    desk.run("kiosk-1", desk.login("kiosk-1", "Julie Moreau", "4321"))
    assert desk.answer("kiosk-1")["ok"] is True


def test_a_suspended_terminal_is_refused_before_any_check(desk: Desk) -> None:
    with desk.store.session() as s:
        s.execute(Terminal.__table__.update().where(Terminal.name == "kiosk-1")
                  .values(logins_suspended_at=utcnow()))
    desk.run("kiosk-1", desk.login("kiosk-1", "Julie Moreau", "4321"))
    assert desk.answer("kiosk-1")["code"] == "suspended"
    timing = desk.desk.timings[-1]
    assert timing.hash == 0 and timing.write == 0  # answered from the read: nothing written


def test_the_leaky_terminal_throttle_holds_through_the_desk(desk: Desk) -> None:
    codes = []
    for k in range(10):
        desk.run("kiosk-1", desk.login("kiosk-1", None, badge=f"guess-{k}"))
        codes.append(desk.answer("kiosk-1")["code"])
    assert codes[:8] == ["bad_badge"] * 8  # seven misses cost nothing, the eighth is counted
    assert codes[8] == "wait" and desk.answer("kiosk-1")["wait"] >= 1


def test_a_declared_last_seq_closes_the_previous_sessions_windows(desk: Desk) -> None:
    desk.run("kiosk-1", desk.login("kiosk-1", "Karim Benali", last_seq=0))
    first = desk.answer("kiosk-1")["sid"]
    desk.run("kiosk-1", desk.login("kiosk-1", "Sophie Martin", last_seq=7))
    with desk.store.session() as s:
        row = s.get(BadgeSession, first)
        assert row is not None and row.ended_at is not None and row.end_reason == "replaced"
        assert row.closed_seq == 7
        new = s.get(BadgeSession, desk.answer("kiosk-1")["sid"])
        assert new is not None and new.start_mark == 7


class Hooked(LoginDesk):
    """A desk that runs ``during`` while it checks a PIN (and records what it saw then)."""

    during: Any = None
    seen: list[Any]
    hold_commit = 0.0  # seconds each write transaction waits before its commit

    def _check(self, stored: str, pin: str) -> bool:
        if self.during is not None:
            self.seen.append(self.during())
        return super()._check(stored, pin)

    @contextmanager
    def _write(self) -> Iterator[Any]:
        with super()._write() as s:
            yield s
            time.sleep(self.hold_commit)


@pytest.fixture
def hooked(tmp_path: Path, db_url: str) -> Iterator[Desk]:
    cfg, demo = prepared_home(tmp_path, db_url)
    store = Store(cfg.database_url)
    d = Desk(cfg, store, demo, Hooked)
    d.desk.seen = []
    try:
        yield d
    finally:
        d.close()
        store.dispose()


def test_the_pin_check_holds_no_transaction_and_no_relay_lock(hooked: Desk) -> None:
    """While the PIN is being checked, the relay's lock is free and another writer commits
    at once (on SQLite: nobody holds the one write lock)."""
    other = Store(hooked.cfg.database_url)

    def probe() -> tuple[bool, float]:
        t0 = time.monotonic()
        with other.session() as s:  # BEGIN IMMEDIATE on SQLite: would wait on a writer
            s.execute(text("SELECT 1"))
            settings.put(s, "quick_replies", ["ok"])
        return hooked.db_lock.locked(), time.monotonic() - t0

    hooked.desk.during = probe
    try:
        hooked.run("kiosk-1", hooked.login("kiosk-1", "Julie Moreau", "4321"))
    finally:
        other.dispose()
    [(locked, _took)] = hooked.desk.seen
    assert not locked
    assert hooked.answer("kiosk-1")["ok"] is True


def _change_pin(store: Store, name_id: int, pin: str) -> None:
    with store.session() as s:
        emp = s.get(Employee, name_id)
        assert emp is not None
        emp.pin_hash = hash_secret(pin)


def test_a_pin_changed_during_the_check_is_checked_again(hooked: Desk) -> None:
    """HR resets Julie's PIN while her old one is being checked: the old PIN opens nothing."""
    julie = hooked.demo.employees["Julie Moreau"]
    hooked.desk.during = lambda: _change_pin(hooked.store, julie, "8888") \
        if not hooked.desk.seen else None
    hooked.run("kiosk-1", hooked.login("kiosk-1", "Julie Moreau", "4321"))
    assert hooked.answer("kiosk-1")["code"] == "bad_pin"
    assert hooked.desk.counters.stale == 1
    assert not _open_sessions(hooked.store, julie)


def test_an_employee_deactivated_during_the_check_is_not_let_in(hooked: Desk) -> None:
    julie = hooked.demo.employees["Julie Moreau"]

    def deactivate() -> None:
        with hooked.store.session() as s:
            emp = s.get(Employee, julie)
            assert emp is not None
            emp.active = False

    hooked.desk.during = deactivate
    hooked.run("kiosk-1", hooked.login("kiosk-1", "Julie Moreau", "4321"))
    assert hooked.answer("kiosk-1")["code"] == "bad_badge"
    assert not _open_sessions(hooked.store, julie)


def test_a_terminal_suspended_during_the_check_is_refused(hooked: Desk) -> None:
    def suspend() -> None:
        with hooked.store.session() as s:
            s.execute(Terminal.__table__.update().where(Terminal.name == "kiosk-1")
                      .values(logins_suspended_at=utcnow()))

    hooked.desk.during = suspend
    hooked.run("kiosk-1", hooked.login("kiosk-1", "Julie Moreau", "4321"))
    assert hooked.answer("kiosk-1")["code"] == "suspended"


def test_one_person_badging_in_at_two_terminals_at_once_keeps_one_session(hooked: Desk) -> None:
    """Both PIN checks end together and both write at once (two desk threads): the second
    waits for the first's commit (the employee's row) and ends its session."""
    both = threading.Barrier(2, timeout=10)
    hooked.desk.during = both.wait
    hooked.desk.hold_commit = 0.5  # each transaction open long enough to overlap the other
    julie = hooked.demo.employees["Julie Moreau"]
    for terminal in ("kiosk-1", "kiosk-2"):
        assert hooked.desk.route(terminal, hooked.login(terminal, "Julie Moreau", "4321"))
    hooked.desk.dispatch()
    hooked.settle()
    assert hooked.answer("kiosk-1")["ok"] and hooked.answer("kiosk-2")["ok"]
    [open_row] = _open_sessions(hooked.store, julie)
    assert open_row.id in {hooked.answer("kiosk-1")["sid"], hooked.answer("kiosk-2")["sid"]}
    assert len(hooked.replies("kiosk-1", "logout") + hooked.replies("kiosk-2", "logout")) == 1


def test_later_uplinks_of_the_terminal_wait_behind_its_login_in_order(hooked: Desk) -> None:
    """Routed while the login is at the desk (here: while its PIN is checked), kiosk-1's
    next uplinks are held and given back in their order once it is done, before anything
    else of kiosk-1; another terminal's uplinks and kiosk-1's presence are never held."""
    gate = threading.Event()
    hooked.desk.during = lambda: gate.wait(10)
    first = hooked.login("kiosk-1", "Julie Moreau", "4321")
    later = [Item(topics.uplink("kiosk-1"), encode(envelope("logout", sid=f"s{k}", last_seq=k)))
             for k in range(3)]
    again = hooked.login("kiosk-1", "Karim Benali")
    assert hooked.desk.route("kiosk-1", first)
    hooked.desk.dispatch()
    assert [hooked.desk.route("kiosk-1", item) for item in [*later, again]] == [True] * 4
    other = Item(topics.uplink("kiosk-2"), encode(envelope("logout", sid="x", last_seq=1)))
    status = Item(topics.status("kiosk-1"), topics.ONLINE)
    assert not hooked.desk.route("kiosk-2", other)
    assert not hooked.desk.route("kiosk-1", status)
    assert hooked.desk.released() == []  # not before the login is done
    gate.set()
    hooked.settle()
    assert hooked.answer("kiosk-1")["ok"] is True
    assert hooked.wakes >= 1
    back = hooked.desk.released()
    assert back == [*later, again]
    # Routed again by the worker: the second login is taken, and holds what follows it.
    assert [hooked.desk.route("kiosk-1", item) for item in back] == [False] * 3 + [True]
    tail = Item(topics.uplink("kiosk-1"), encode(envelope("sync", sid="y")))
    assert hooked.desk.route("kiosk-1", tail)
    hooked.desk.dispatch()
    hooked.settle()
    assert hooked.answer("kiosk-1")["employee"]["name"] == "Karim Benali"
    assert hooked.desk.released() == [tail]


def test_what_waits_behind_a_login_is_bounded(hooked: Desk) -> None:
    """A terminal alternating logins and big uplinks must not make the relay hold more and
    more of them: past HELD_MAX behind one login, an uplink is acked and dropped (its
    kiosk's outbox sends it again), the rest come back in order."""
    gate = threading.Event()
    hooked.desk.during = lambda: gate.wait(10)
    assert hooked.desk.route("kiosk-1", hooked.login("kiosk-1", "Julie Moreau", "4321"))
    hooked.desk.dispatch()
    junk = [Item(topics.uplink("kiosk-1"), b"x" * 1000 + bytes([k % 256])) for k in range(100)]
    assert all(hooked.desk.route("kiosk-1", item) for item in junk)
    assert hooked.desk.counters.dropped == 100 - HELD_MAX
    assert hooked.acked[-(100 - HELD_MAX):] == junk[HELD_MAX:]
    gate.set()
    hooked.settle()
    assert hooked.desk.released() == junk[:HELD_MAX]


def test_a_broken_login_stays_with_the_worker(desk: Desk) -> None:
    broken = Item(topics.uplink("kiosk-1"), b'{"type": "login", "v": 1}')
    assert desk.desk.route("kiosk-1", broken) is False
    message = Item(topics.uplink("kiosk-1"), encode(envelope("text", sid="x", seq=1, to=1,
                                                             text="Bonjour")))
    assert desk.desk.route("kiosk-1", message) is False


def test_a_sync_request_is_answered_by_the_desk_for_a_live_session_only(desk: Desk) -> None:
    """After a broker restart every kiosk asks for a sync at once: the desk builds them in
    read transactions, never the worker; a session that is not this terminal's live one
    gets the refusal the kiosk logs out on."""
    assert desk.run("kiosk-1", desk.login("kiosk-1", "Sophie Martin")) == [True]
    sid = desk.answer("kiosk-1")["sid"]
    before = len(desk.replies("kiosk-1", "sync"))
    ask = Item(topics.uplink("kiosk-1"), encode(envelope("sync", sid=sid)))
    assert desk.run("kiosk-1", ask) == [True]
    [sync] = desk.replies("kiosk-1", "sync")[before:]
    assert sync["sid"] == sid and sync["me"]["name"] == "Sophie Martin" and sync["contacts"]
    assert desk.run("kiosk-2", Item(topics.uplink("kiosk-2"),
                                    encode(envelope("sync", sid=sid)))) == [True]
    assert desk.replies("kiosk-2", "error")[-1]["code"] == "no_session"
    with desk.store.session() as s:
        s.get(BadgeSession, sid).ended_at = utcnow()
    assert desk.run("kiosk-1", Item(topics.uplink("kiosk-1"),
                                    encode(envelope("sync", sid=sid)))) == [True]
    assert desk.replies("kiosk-1", "error")[-1]["code"] == "session_ended"
    assert desk.desk.counters.syncs == 3


def test_syncs_asked_over_and_over_are_answered_a_few_at_a_time(desk: Desk) -> None:
    """Whoever holds a terminal's password asks for its person's sync (history, photos: up
    to 384 KB each) as fast as the meter lets any uplink through: the desk builds a few,
    then one every two seconds; the rest are acked unanswered (a kiosk asks again)."""
    assert desk.run("kiosk-1", desk.login("kiosk-1", "Sophie Martin")) == [True]
    sid = desk.answer("kiosk-1")["sid"]
    before = len(desk.replies("kiosk-1", "sync"))
    acked = len(desk.acked)
    asks = [Item(topics.uplink("kiosk-1"), encode(envelope("sync", sid=sid)))
            for _ in range(19)]
    for ask in asks:  # one after the other, as they arrive
        assert desk.run("kiosk-1", ask) == [True]
    answered = len(desk.replies("kiosk-1", "sync")) - before
    assert answered <= logins.SYNC_BURST + 1, answered
    assert desk.desk.counters.throttled == len(asks) - answered
    assert len(desk.acked) - acked == len(asks)  # none left unacked at the broker
    # Another terminal's person is not held back by it.
    assert desk.run("kiosk-2", desk.login("kiosk-2", "Karim Benali")) == [True]
    other = desk.answer("kiosk-2")["sid"]
    assert desk.run("kiosk-2", Item(topics.uplink("kiosk-2"),
                                    encode(envelope("sync", sid=other)))) == [True]
    assert desk.replies("kiosk-2", "sync")[-1]["sid"] == other


def test_a_sync_reads_the_settings_once_and_afresh_each_time(desk: Desk) -> None:
    """The settings a sync shows are read in one query (they were six, one a key: a round
    trip each on PostgreSQL, for every terminal re-syncing after a broker restart), and
    never kept past its transaction: HR's change shows in the next sync."""
    reads: list[str] = []
    engine = desk.desk._read_engine or desk.store.engine

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM settings" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert desk.run("kiosk-1", desk.login("kiosk-1", "Sophie Martin")) == [True]
        sid = desk.answer("kiosk-1")["sid"]
        for aloud in (False, True):
            with desk.store.session() as s:
                settings.put(s, "read_urgent_aloud", aloud)
            reads.clear()
            ask = Item(topics.uplink("kiosk-1"), encode(envelope("sync", sid=sid)))
            assert desk.run("kiosk-1", ask) == [True]
            assert len(reads) == 1
            assert desk.replies("kiosk-1", "sync")[-1]["me"]["read_urgent_aloud"] is aloud
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- the whole relay, the desk composed in ---------------------------------------------------


@pytest.fixture
def desk_system(tmp_path: Path, db_url: str) -> Iterator[System]:
    system = make_system(tmp_path, db_url, relay=False)
    relay = Relay(system.cfg, system.store)  # PINs checked in the desk's processes
    relay.start()
    system.relays.append(relay)
    try:
        yield system
    finally:
        system.close()


def test_kiosks_badge_in_and_talk_through_the_desk(desk_system: System) -> None:
    system = desk_system
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    k1.login(system.demo.badges["Julie Moreau"], "0000")
    assert expect(k1, ev.LoginFailed).code == "bad_pin"
    synced = system.badge_in(k1, "Julie Moreau", pin="4321")
    assert synced.contacts
    system.badge_in(k2, "Sophie Martin")
    msg = k1.send_text(system.employee("Sophie Martin"), "Bonjour")  # sent right after the sync
    expect(k1, ev.StateChanged, lambda e: e.msg == msg and e.state in ("accepted", "held"))
    system.badge_in(k2, "Julie Moreau", pin="4321")
    assert expect(k1, ev.LoggedOut).reason == "replaced"
    relay = system.relays[0]
    assert relay.logins.counters.logins == 3 and relay.logins.counters.errors == 0


def test_logout_right_after_login_is_handled_after_it(desk_system: System) -> None:
    """A terminal badges in and logs out at once: the logout (held at the desk while the
    login's PIN is checked) ends the session the login opened."""
    system = desk_system
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Julie Moreau", pin="4321")
    sid = k1.sid
    k1.logout()
    k1.login(system.demo.badges["Julie Moreau"], "4321")  # straight behind the logout
    expect(k1, ev.LoginOk)
    with system.store.session() as s:
        row = s.get(BadgeSession, sid)
        assert row is not None and row.end_reason == "logout"


def test_what_waited_for_a_person_arrives_after_their_badge_in(desk_system: System) -> None:
    """The desk wakes the deliverer after the sync: the backlog follows the badge-in."""
    system = desk_system
    with system.store.session() as s:
        settings.put(s, "default_moderation", "none")
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k2, "Sophie Martin")
    msg = k2.send_text(system.employee("Karim Benali"), "Tu es là ?")
    expect(k2, ev.StateChanged, lambda e: e.msg == msg and e.state == "accepted")
    system.badge_in(k1, "Karim Benali")
    assert expect(k1, ev.MessageArrived, lambda e: e.message["msg"] == msg)


def test_a_newer_login_takes_the_place_of_one_still_waiting_for_the_desk(hooked: Desk) -> None:
    """A kiosk gives up a login after 20 s and the person badges again. When the desk's queue
    is longer than that (a shift change, a broker restart under a thousand terminals), the
    older login must not be handled too, each behind the whole queue: the newer one takes
    its place, and a resend of it is answered once. Here the desk has one thread, busy with
    kiosk-1's PIN check while kiosk-2's logins wait."""
    from concurrent.futures import ThreadPoolExecutor

    hooked.desk._pool.shutdown()
    hooked.desk._pool = ThreadPoolExecutor(max_workers=1)
    gate = threading.Event()
    hooked.desk.during = lambda: gate.wait(10)
    assert hooked.desk.route("kiosk-1", hooked.login("kiosk-1", "Julie Moreau", "4321"))
    hooked.desk.dispatch()
    given_up = hooked.login("kiosk-2", "Karim Benali")
    awaited = hooked.login("kiosk-2", "Sophie Martin")
    assert hooked.desk.route("kiosk-2", given_up)
    hooked.desk.dispatch()
    assert hooked.desk.route("kiosk-2", awaited)
    assert hooked.desk.route("kiosk-2", awaited)  # asked again: the same answer will do
    assert hooked.desk.route("kiosk-2", given_up)  # a late copy of the one given up: dropped
    gate.set()
    hooked.settle()
    answers = hooked.replies("kiosk-2", "login")
    awaited_id = json.loads(awaited.payload)["id"]
    assert [(a["ref"], a["ok"], a["employee"]["name"]) for a in answers] == [
        (awaited_id, True, "Sophie Martin")]
    assert len(hooked.replies("kiosk-2", "sync")) == 1
    assert given_up in hooked.acked and awaited in hooked.acked
    assert hooked.desk.counters.superseded == 1 and hooked.desk.counters.repeats == 2
    assert _open_sessions(hooked.store, hooked.demo.employees["Karim Benali"]) == []
    assert hooked.desk.released() == []


def test_a_relay_killed_outright_leaves_no_helper_process(tmp_path: Path) -> None:
    """``relais relay`` SIGKILLed (the OOM killer, say): its PIN-checking processes, which
    wait for their next job on a pipe they hold themselves, see that the relay is gone and
    exit (they sat there idle for ever, two more at every restart)."""
    system = make_system(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}", relay=False)
    proc = None
    helpers: list[psutil.Process] = []
    try:
        proc = relay_process(system, tmp_path / "relay.log")
        relay = psutil.Process(proc.pid)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(helpers) < 2:  # the desk starts its two
            helpers = [p for p in relay.children(recursive=True)
                       if "resource_tracker" not in " ".join(p.cmdline())]
            time.sleep(0.2)
        assert len(helpers) >= 2, [p.cmdline() for p in helpers]
        proc.kill()
        proc.wait()
        gone, alive = psutil.wait_procs(helpers, timeout=10)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        for helper in helpers:  # none should be left; if the test failed, not by it
            with contextlib.suppress(psutil.Error):
                helper.kill()
        system.close()
