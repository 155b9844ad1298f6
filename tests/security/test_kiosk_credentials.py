"""What an attacker holding a terminal's password (read off the kiosk's disk) can do, played
with a real paho client on that terminal's own topics, against a whole installation (broker,
relay, database, the console served by waitress for the kiosk API).

Badge numbers are often sequential employee numbers: guessing them must stop at the terminal.
A badge session must stop speaking for its person when it ends (logout, a console change, its
age or idleness), except for what was typed before the end. Each test asserts what the
attacker got: nothing; and that honest users are not affected.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import requests
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select, update

from hr_console.domain.throttle import TERMINAL_LOGINS
from hr_console.relay import mqtt as relay_mqtt
from hr_console.services import directory, messaging, notices, sessions, settings
from hr_console.store.models import (
    AuditEntry,
    BadgeSession,
    Employee,
    Message,
    NoticeReceipt,
    Terminal,
    Throttle,
    utcnow,
)
from hr_console.web import create_app
from hr_console.web.extensions import limiter
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from relais_wire import topics
from relais_wire.envelope import encode, envelope
from tests.security import reporting
from tests.served import served
from tests.system_fixture import System, expect, expect_none
from tests.web_fixture import Console

REPORT: dict[str, Any] = {}


class Rogue:
    """A plain MQTT client logged in with a terminal's credentials, asking on its uplink and
    reading the relay's answers on its downlink, as anyone with the config file can."""

    def __init__(self, system: System, terminal: str) -> None:
        self.terminal = terminal
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        password = system.demo.terminals[terminal]["password"]
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=terminal,
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(terminal, password)
        subscribed = queue.Queue()
        self.client.on_message = lambda _c, _u, m: self.replies.put(json.loads(m.payload))
        self.client.on_subscribe = lambda *_a: subscribed.put(True)
        self.client.connect("127.0.0.1", system.cfg.mqtt_port)
        self.client.loop_start()
        self.client.subscribe(topics.downlink(terminal), qos=1)
        subscribed.get(timeout=10)

    def ask(self, kind: str, *, msg_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Publish one uplink (with id ``msg_id`` if given) and return the relay's answer to
        it (``ref`` is its id)."""
        env = envelope(kind, **fields)
        if msg_id is not None:
            env["id"] = msg_id
        self.client.publish(topics.uplink(self.terminal), encode(env), qos=1)
        deadline = dt.datetime.now() + dt.timedelta(seconds=15)
        while dt.datetime.now() < deadline:
            try:
                reply = self.replies.get(timeout=0.5)
            except queue.Empty:
                continue
            if reply.get("ref") == env["id"]:
                return reply
        raise AssertionError(f"no answer to {kind} {env['id']}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def rogue_on(system: System) -> Iterator[Callable[[str], Rogue]]:
    made: list[Rogue] = []

    def make(terminal: str) -> Rogue:
        made.append(Rogue(system, terminal))
        return made[-1]

    yield make
    for rogue in made:
        rogue.close()


def _terminal_id(system: System, name: str) -> int:
    with system.store.session() as s:
        return s.execute(select(Terminal.id).where(Terminal.name == name)).scalar_one()


def _sessions_on(system: System, terminal: str) -> int:
    with system.store.session() as s:
        return s.scalar(select(func.count()).select_from(BadgeSession).join(Terminal)
                        .where(Terminal.name == terminal)) or 0


def _wait_out(system: System, terminal: str) -> None:
    """A patient attacker: the wait the terminal earned has passed (its misses still count)."""
    with system.store.session() as s:
        s.execute(update(Throttle).where(Throttle.key == f"terminal-logins:{_terminal_id(system, terminal)}")
                  .values(wait_until=None))


def _console(system: System) -> Console:
    app = create_app(system.cfg, {"TESTING": True, "WTF_CSRF_ENABLED": False,
                                  "RATELIMIT_ENABLED": False})
    return Console(app, system.cfg, system.demo)


# --- badge guessing ---------------------------------------------------------------------------


def test_hammering_guesses_are_answered_wait_unchecked(system, rogue_on) -> None:  # noqa: ANN001
    rogue = rogue_on("kiosk-1")
    answers = [rogue.ask("login", badge=str(100000 + i))["code"] for i in range(40)]
    checked = answers.count("bad_badge")
    assert checked == TERMINAL_LOGINS.free  # then every attempt must wait, unchecked
    assert set(answers[checked:]) == {"wait"}
    wait = rogue.ask("login", badge=system.demo.badges["Sophie Martin"])
    assert wait["code"] == "wait" and wait["wait"] >= 1 and "employee" not in wait
    assert _sessions_on(system, "kiosk-1") == 0  # even a real badge opened nothing meanwhile
    REPORT["hammer"] = (len(answers) + 1, checked)


def test_patient_guessing_suspends_the_terminal_and_alerts_hr(system, rogue_on) -> None:  # noqa: ANN001
    rogue = rogue_on("kiosk-1")
    honest = system.link("kiosk-2")
    answers: list[str] = []
    for i in range(200):
        code = rogue.ask("login", badge=str(200000 + i))["code"]
        answers.append(code)
        if code == "wait":
            _wait_out(system, "kiosk-1")
        if code == "suspended":
            break
    checked = answers.count("bad_badge")
    assert answers[-1] == "suspended" and checked == TERMINAL_LOGINS.suspend_at
    # Suspended: a real badge opens nothing on this terminal, even after the wait.
    _wait_out(system, "kiosk-1")
    assert rogue.ask("login", badge=system.demo.badges["Sophie Martin"])["code"] == "suspended"
    assert _sessions_on(system, "kiosk-1") == 0
    # Other terminals are not affected.
    system.badge_in(honest, "Sophie Martin")
    # HR sees it on the dashboard and in the audit log, and lets the terminal take badges again.
    console = _console(system)
    hr = console.client("hr")
    page = hr.get("/dashboard/").get_data(as_text=True)
    assert 'id="suspended-terminals"' in page and "kiosk-1" in page
    with system.store.session() as s:
        actions = list(s.execute(select(AuditEntry.action)).scalars())
    assert actions.count("terminal.logins_suspended") == 1
    assert actions.count("badge.unknown") == checked
    resp = hr.post(f"/terminals/{_terminal_id(system, 'kiosk-1')}/resume")
    assert resp.status_code == 302
    assert 'id="suspended-terminals"' not in hr.get("/dashboard/").get_data(as_text=True)
    assert rogue.ask("login", badge=system.demo.badges["Karim Benali"])["ok"] is True
    console.app.extensions["relais_store"].dispose()
    REPORT["patient"] = (len(answers), checked, answers.count("wait"))


def test_a_guesser_pacing_under_the_suspension_is_still_shown_to_hr(system, rogue_on) -> None:  # noqa: ANN001
    rogue = rogue_on("kiosk-1")
    answers = []
    for i in range(sessions.DAILY_MISSES_ALERT):
        answers.append(rogue.ask("login", badge=str(300000 + i))["code"])
        with system.store.session() as s:  # ten quiet minutes pass between two guesses
            for row in s.execute(select(Throttle)).scalars():
                row.last_failure_at -= dt.timedelta(minutes=10)
    assert set(answers) == {"bad_badge"}  # never slowed, never suspended...
    console = _console(system)
    page = console.client("hr").get("/dashboard/").get_data(as_text=True)
    assert 'id="guessing-terminals"' in page and "kiosk-1" in page  # ...but HR sees it
    assert 'id="suspended-terminals"' not in page
    console.app.extensions["relais_store"].dispose()


def test_pin_guesses_are_limited_per_terminal_not_only_per_badge(system, rogue_on) -> None:  # noqa: ANN001
    with system.store.session() as s:
        settings.put(s, "pin_always", True)
    rogue = rogue_on("kiosk-1")
    people = ["Sophie Martin", "Karim Benali", "Julie Moreau", "Thomas Petit"]
    answers = []
    for round_ in range(3):  # never more than 3 guesses on one badge: no badge lock to hit
        for name in people:
            answers.append(rogue.ask("login", badge=system.demo.badges[name],
                                     pin=f"{1000 + round_}")["code"])
    checked = answers.count("bad_credentials")
    assert checked == TERMINAL_LOGINS.free and set(answers[checked:]) == {"wait"}
    with system.store.session() as s:
        assert not s.scalar(select(func.count()).select_from(Employee)
                            .where(Employee.locked_until.is_not(None)))
    assert _sessions_on(system, "kiosk-1") == 0
    REPORT["pins"] = (len(answers), checked)


def test_a_valid_badge_reveals_nothing_before_its_pin(system, rogue_on) -> None:  # noqa: ANN001
    with system.store.session() as s:
        settings.put(s, "pin_always", True)
        directory.set_pin(s, s.get(Employee, system.employee("Sophie Martin")), "2468", "test")
    rogue = rogue_on("kiosk-1")

    def shape(reply: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in reply.items() if k not in ("id", "ts", "ref")}

    real, fake = system.demo.badges["Sophie Martin"], "31337"
    assert shape(rogue.ask("login", badge=real)) == shape(rogue.ask("login", badge=fake))
    wrong_pin = shape(rogue.ask("login", badge=real, pin="1111"))
    assert wrong_pin == shape(rogue.ask("login", badge=fake, pin="1111"))
    assert wrong_pin["code"] == "bad_credentials" and "employee" not in wrong_pin
    ok = rogue.ask("login", badge=real, pin="2468")
    assert ok["ok"] is True  # the right badge and PIN still open a session


def test_pin_at_every_badge_in_hides_even_a_locked_badge(system, rogue_on) -> None:  # noqa: ANN001
    with system.store.session() as s:
        settings.put(s, "pin_always", True)
    rogue = rogue_on("kiosk-1")
    julie, fake = system.demo.badges["Julie Moreau"], "424242"
    on_real = [rogue.ask("login", badge=julie, pin="0000")["code"] for _ in range(5)]
    on_fake = [rogue.ask("login", badge=fake, pin="0000")["code"] for _ in range(3)]
    assert set(on_real) == set(on_fake) == {"bad_credentials"}  # her badge is locked by now
    _wait_out(system, "kiosk-1")
    assert rogue.ask("login", badge=julie, pin="0000")["code"] == "bad_credentials"
    _wait_out(system, "kiosk-1")
    assert rogue.ask("login", badge=julie, pin="4321")["code"] == "locked"  # only with her PIN


# --- sessions that really end -------------------------------------------------------------------


def _deactivate(s, emp: Employee, _pepper: str) -> None:  # noqa: ANN001
    directory.set_employee_active(s, emp, False, "hr")


def _remove_badge(s, emp: Employee, pepper: str) -> None:  # noqa: ANN001
    directory.set_badge(s, emp, None, pepper=pepper, actor="hr")


def _change_badge(s, emp: Employee, pepper: str) -> None:  # noqa: ANN001
    directory.set_badge(s, emp, "77777", pepper=pepper, actor="hr")


def _reset_pin(s, emp: Employee, _pepper: str) -> None:  # noqa: ANN001
    directory.set_pin(s, emp, "8642", "hr")


@pytest.mark.parametrize(("change", "reason"), [
    (_deactivate, "deactivated"), (_remove_badge, "badge_changed"),
    (_change_badge, "badge_changed"), (_reset_pin, "pin_changed")])
def test_a_console_change_ends_the_open_session(system, rogue_on, change, reason) -> None:  # noqa: ANN001
    k2 = system.link("kiosk-2")
    system.badge_in(k2, "Sophie Martin")
    sid = k2.sid
    with system.store.session() as s:
        change(s, s.get(Employee, system.employee("Sophie Martin")), system.cfg.badge_pepper)
    # The kiosk is told at once, without anyone touching it.
    assert expect(k2, ev.LoggedOut).reason == reason
    # It answers with the last seq it gave out, which closes the session to anything later.
    _wait_for(lambda: _closed_seq(system, sid) is not None)
    k2.stop()
    # Whoever holds kiosk-2's password and the old session id gets nothing more.
    rogue = rogue_on("kiosk-2")
    assert rogue.ask("sync", sid=sid)["code"] == "session_ended"
    before = _count_from(system, "Sophie Martin")
    refused = rogue.ask("text", sid=sid, seq=_next_seq(system, "kiosk-2"),
                        to=system.employee("Karim Benali"), text="Encore moi")
    assert refused["code"] == "session_ended"
    assert _count_from(system, "Sophie Martin") == before
    console = _console(system)
    with served(console.app) as base:
        auth = (system.demo.terminals["kiosk-2"]["username"],
                system.demo.terminals["kiosk-2"]["password"])
        for path in ("history", "notices"):
            resp = requests.get(f"{base}/api/kiosk/v1/{path}", auth=auth,
                                headers={"X-Relais-Session": sid}, timeout=10)
            assert resp.status_code == 401, path
    REPORT.setdefault("ended", []).append(reason)


def _closed_seq(system: System, sid: str) -> int | None:
    with system.store.session() as s:
        return s.get(BadgeSession, sid).closed_seq


def _next_seq(system: System, terminal: str) -> int:
    """The seq the relay expects next from the terminal (an attacker reads it off the outbox)."""
    with system.store.session() as s:
        return s.execute(select(Terminal.last_seq).where(Terminal.name == terminal)).scalar_one() + 1


def _count_from(system: System, name: str) -> int:
    with system.store.session() as s:
        return s.scalar(select(func.count()).select_from(Message)
                        .where(Message.sender_id == system.employee(name))) or 0


def test_revoking_the_terminal_ends_its_sessions(system) -> None:  # noqa: ANN001
    from hr_console.services import terminals

    k2 = system.link("kiosk-2")
    system.badge_in(k2, "Sophie Martin")
    sid = k2.sid
    with system.store.session() as s:
        row = s.execute(select(Terminal).where(Terminal.name == "kiosk-2")).scalar_one()
        assert terminals.revoke(s, row, "admin") == 1
    console = _console(system)
    with served(console.app) as base:
        auth = (system.demo.terminals["kiosk-2"]["username"],
                system.demo.terminals["kiosk-2"]["password"])
        resp = requests.get(f"{base}/api/kiosk/v1/history", auth=auth,
                            headers={"X-Relais-Session": sid}, timeout=10)
        assert resp.status_code == 401
    with system.store.session() as s:
        assert s.get(BadgeSession, sid).end_reason == "terminal_revoked"


def test_looping_on_the_kiosk_api_is_metered_per_terminal(system) -> None:  # noqa: ANN001
    """Whoever holds kiosk-1's password asks the console's kiosk API as fast as four
    connections go (no badge needed for the idle board): past the meter they get 429 without
    a query, while kiosk-2's idle board and HR's sign-in page still answer."""
    app = create_app(system.cfg, {"TESTING": True, "WTF_CSRF_ENABLED": False,
                                  "RATELIMIT_ENABLED": True})
    creds = system.demo.terminals
    limiter.reset()
    try:
        with served(app) as base:
            board = f"{base}/api/kiosk/v1/site-notices"

            def loop(_i: int) -> list[int]:
                with requests.Session() as web:
                    web.auth = (creds["kiosk-1"]["username"], creds["kiosk-1"]["password"])
                    return [web.get(board, timeout=10).status_code for _ in range(50)]

            with ThreadPoolExecutor(4) as pool:
                codes = [c for batch in pool.map(loop, range(4)) for c in batch]
            other = requests.get(board, timeout=10, auth=(creds["kiosk-2"]["username"],
                                                          creds["kiosk-2"]["password"]))
            sign_in = requests.get(f"{base}/auth/login", timeout=10)
    finally:
        limiter.reset()
    assert codes.count(200) == 60 and codes.count(429) == len(codes) - 60, codes
    assert other.status_code == 200 and sign_in.status_code == 200
    REPORT["api_loop"] = (len(codes), codes.count(200))


def test_the_server_ends_sessions_past_their_age_or_idle_limit(system, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(relay_mqtt, "EXPIRY_CHECK_S", 0.2)
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    with system.store.session() as s:  # Sophie's terminal went quiet half an hour ago
        s.execute(update(BadgeSession).where(BadgeSession.id == k1.sid).values(
            last_active_at=utcnow() - dt.timedelta(minutes=31)))
    assert expect(k1, ev.LoggedOut).reason == "idle"  # the relay's own round, not the kiosk
    with system.store.session() as s:  # Karim's session began 13 hours ago
        s.execute(update(BadgeSession).where(BadgeSession.id == k2.sid).values(
            started_at=utcnow() - dt.timedelta(hours=13)))
    assert expect(k2, ev.LoggedOut).reason == "expired"
    system.badge_in(k2, "Karim Benali")  # a new badge-in opens a new session at once


# --- after logout, only what was typed before it -------------------------------------------------


def test_after_logout_the_terminal_speaks_no_more_for_her(system, rogue_on) -> None:  # noqa: ANN001
    k1 = system.link("kiosk-1", resend_after=0.5)
    k2 = system.link("kiosk-2")
    system.badge_in(k2, "Karim Benali")
    with system.store.session() as s:
        settings.put(s, "default_moderation", "none")
        notice = notices.create(s, title="Consigne", body="Lire et signer", target_kind="everyone",
                                ack_required=True)
        notice_uid = notice.uid
    system.badge_in(k1, "Sophie Martin")
    sid = k1.sid
    # The relay is down: what Sophie types waits in the outbox, then she badges out.
    relay = system.relays.pop()
    relay.stop()
    typed = [k1.send_text(system.employee("Karim Benali"), f"Avant de partir {i}") for i in (1, 2)]
    k1.logout()
    last_seq = k1.outbox.last_seq()
    system.start_relay()
    arrived = {expect(k2, ev.MessageArrived, timeout=60).message["msg"] for _ in typed}
    assert arrived == set(typed)  # nothing typed before the logout is lost
    k1.stop()
    system.links.remove(k1)
    rogue = rogue_on("kiosk-1")
    karim = system.employee("Karim Benali")
    later = rogue.ask("text", sid=sid, seq=last_seq + 1, to=karim, text="Écrit après")
    replayed = rogue.ask("text", sid=sid, seq=last_seq, to=karim, text="Rejoué")
    below = rogue.ask("text", sid=sid, seq=0, to=karim, text="Avant tout")
    acked = rogue.ask("receipt", sid=sid, ref=notice_uid, status="acknowledged")
    read = rogue.ask("receipt", sid=sid, ref=typed[0], status="read")
    # A resend of her stored message learns nothing of what became of it.
    resent = rogue.ask("text", msg_id=typed[0], sid=sid, seq=last_seq - 1, to=karim,
                       text="Avant de partir 1")
    answers = (later, replayed, below, acked, read, resent)
    assert [r.get("code") for r in answers] == ["session_ended"] * len(answers)
    assert all("state" not in r and "reason" not in r for r in answers)
    assert _count_from(system, "Sophie Martin") == len(typed)
    with system.store.session() as s:
        receipt = s.execute(select(NoticeReceipt).where(
            NoticeReceipt.employee_id == system.employee("Sophie Martin"))).scalar_one()
        assert receipt.acknowledged_at is None
    expect_none(k2, ev.MessageArrived)
    REPORT["after_logout"] = (len(answers), 0)


def _few_and_held_in_sophies_name(system: System) -> list[str]:
    """What is stored in Sophie's name after forged late items: at most LATE_ITEMS_MAX, all
    held for HR. Returns their states."""
    with system.store.session() as s:
        states = list(s.execute(select(Message.state).where(
            Message.sender_id == system.employee("Sophie Martin"))).scalars())
    assert len(states) <= sessions.LATE_ITEMS_MAX and set(states) <= {"held"}, states
    return states


def _sophie_ended_while_her_kiosk_is_off(system: System) -> str:
    """Sophie badges in on kiosk-2, the kiosk goes off, HR resets her PIN: her session ends
    on the server and no kiosk answers. Returns its id."""
    k2 = system.link("kiosk-2")
    system.badge_in(k2, "Sophie Martin")
    sid = k2.sid
    k2.stop()
    system.links.remove(k2)
    with system.store.session() as s:
        directory.set_pin(s, s.get(Employee, system.employee("Sophie Martin")), "8642", "hr")
    return sid


def test_late_items_of_a_session_no_kiosk_closed_are_held_for_hr(system, rogue_on) -> None:  # noqa: ANN001
    """HR resets Sophie's PIN while her kiosk is off (it never answers the end); whoever holds
    the terminal's password, having pushed its seq mark up beforehand, writes in her name."""
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Karim Benali")
    rogue = rogue_on("kiosk-2")
    inflated = envelope("text", sid=str(uuid.uuid4()), seq=5000, to=1, text="")  # refused, seq read
    rogue.client.publish(topics.uplink("kiosk-2"), encode(inflated), qos=1)
    _wait_for(lambda: _next_seq(system, "kiosk-2") == 5001)
    rogue.close()
    sid = _sophie_ended_while_her_kiosk_is_off(system)
    rogue = rogue_on("kiosk-2")
    karim = system.employee("Karim Benali")
    answers = [rogue.ask("text", sid=sid, seq=5000 + i, to=karim, text=f"Faux {i}").get("state",
               "refused") for i in range(1, 31)]
    with system.store.session() as s:
        forged = list(s.execute(select(Message.state).where(
            Message.sender_id == system.employee("Sophie Martin"))).scalars())
    assert len(forged) == sessions.LATE_ITEMS_MAX and set(forged) == {"held"}  # bounded; HR decides
    assert answers.count("held") == len(forged)
    expect_none(k1, ev.MessageArrived)  # Karim got none of them
    # The terminal's next real badge-in declares its outbox mark: the window shuts.
    rogue.close()
    k2 = system.link("kiosk-2")
    system.badge_in(k2, "Julie Moreau", "4321")
    k2.stop()
    system.links.remove(k2)
    rogue = rogue_on("kiosk-2")
    assert rogue.ask("text", sid=sid, seq=5000 + 31, to=karim, text="Encore")["code"] == \
        "session_ended"
    REPORT["undeclared"] = (len(answers), len(forged))


def test_a_logout_forged_after_the_server_ended_her_session_vouches_for_nothing(
        system, rogue_on) -> None:  # noqa: ANN001
    """HR resets Sophie's PIN while her kiosk is off. Whoever holds kiosk-2's password then
    declares her session's end far ahead (a logout with a huge ``last_seq``), and an insider
    with that password and their own badge does the same with a badge-in: neither opens the
    week of late items a kiosk's own logout would. What still arrives in her name is few and
    held for HR, and Karim gets none of it."""
    karim = system.employee("Karim Benali")
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Karim Benali")
    sid = _sophie_ended_while_her_kiosk_is_off(system)
    rogue = rogue_on("kiosk-2")
    assert rogue.ask("logout", sid=sid, last_seq=10**9)["type"] == "logout"
    start = _next_seq(system, "kiosk-2")
    answers = [rogue.ask("text", sid=sid, seq=start + i, to=karim, text=f"Faux {i}").get(
        "state", "refused") for i in range(30)]
    _few_and_held_in_sophies_name(system)
    assert "accepted" not in answers
    # The insider badges in with their own badge on kiosk-2, declaring the outbox far ahead.
    rogue.close()
    insider = rogue_on("kiosk-2")
    login = insider.ask("login", badge=system.demo.badges["Julie Moreau"], pin="4321",
                        last_seq=10**9)
    assert login.get("ok"), login
    with system.store.session() as s:
        row = s.get(BadgeSession, sid)
        assert row.closed_seq == 10**9 and row.closed_late  # narrowed nothing, vouched nothing
    more = [insider.ask("text", sid=sid, seq=_next_seq(system, "kiosk-2"), to=karim,
                        text=f"Encore {i}").get("state", "refused") for i in range(5)]
    assert "accepted" not in more
    states = _few_and_held_in_sophies_name(system)
    expect_none(k1, ev.MessageArrived)  # Karim got none of them
    REPORT["late_declaration"] = (len(answers) + len(more), len(states))


def _sophies_kiosk_taken_over(system: System, rogue_on: Callable[[str], Rogue]
                              ) -> tuple[TerminalLink, str, Rogue]:
    """Karim badged in on kiosk-1, Sophie on kiosk-2, whose connection whoever holds its
    password then takes. Returns Karim's link, Sophie's session id and the attacker."""
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Karim Benali")
    k2 = system.link("kiosk-2")
    system.badge_in(k2, "Sophie Martin")
    sid = k2.sid
    k2.stop()
    system.links.remove(k2)
    return k1, sid, rogue_on("kiosk-2")


def _nothing_unheld_later(system: System, k1: TerminalLink, sid: str, rogue: Rogue,
                          since: dt.timedelta, seq: Callable[[int], int]) -> None:
    """``since`` after Sophie's session ended, 25 texts in her name to Karim (``seq(i)``
    for the i-th): none accepted, what is stored few and held, none delivered."""
    with system.store.session() as s:
        s.execute(update(BadgeSession).where(BadgeSession.id == sid).values(
            ended_at=utcnow() - since))
    answers = [rogue.ask("text", sid=sid, seq=seq(i), to=system.employee("Karim Benali"),
                         text=f"Faux {i}").get("state", "refused") for i in range(25)]
    assert "accepted" not in answers
    _few_and_held_in_sophies_name(system)
    expect_none(k1, ev.MessageArrived)


def test_a_logout_forged_far_ahead_while_her_session_is_open_vouches_only_while_an_outbox_flushes(
        system, rogue_on) -> None:  # noqa: ANN001
    """Whoever holds kiosk-2's password reads Sophie's session id off its downlink and, while
    she is still badged in, ends it with a logout whose ``last_seq`` runs far past anything
    the terminal sent. For the time an honest outbox takes to flush, that is what the
    password gave them while her session was open; after it, no week of unheld messages in
    her name follows."""
    k1, sid, rogue = _sophies_kiosk_taken_over(system, rogue_on)
    assert rogue.ask("logout", sid=sid, last_seq=10**9)["type"] == "logout"
    _nothing_unheld_later(system, k1, sid, rogue, sessions.DECLARED_FLUSH + dt.timedelta(seconds=1),
                          lambda _i: _next_seq(system, "kiosk-2"))


def _inflate_mark(system: System, rogue: Rogue, terminal: str, to: int) -> None:
    """One malformed uplink (an empty text): refused, but its seq takes its place, and the
    terminal's seq mark jumps to ``to`` (no session needed)."""
    bad = envelope("text", sid=str(uuid.uuid4()), seq=to, to=1, text="")
    rogue.client.publish(topics.uplink(terminal), encode(bad), qos=1)
    _wait_for(lambda: _next_seq(system, terminal) == to + 1)


@pytest.mark.parametrize("ends_it", ["logout", "badge_in"])
def test_an_end_declared_on_a_mark_pushed_ahead_vouches_only_while_an_outbox_flushes(
        system, rogue_on, ends_it) -> None:  # noqa: ANN001
    """Whoever holds kiosk-2's password first pushes the terminal's seq mark to 10^9 with
    one refused uplink, so that the end they then declare for Sophie's open session (a
    forged logout, or an insider's badge-in with their own badge, which sends her kiosk no
    logout to answer) is never "far past the mark". Two days later, what they write in her
    name is still few and held for HR, and Karim gets none of it."""
    k1, sid, rogue = _sophies_kiosk_taken_over(system, rogue_on)
    _inflate_mark(system, rogue, "kiosk-2", 10**9)
    if ends_it == "logout":
        assert rogue.ask("logout", sid=sid, last_seq=10**9 + 20)["type"] == "logout"
    else:
        assert rogue.ask("login", badge=system.demo.badges["Julie Moreau"], pin="4321",
                         last_seq=10**9 + 20).get("ok")
    _nothing_unheld_later(system, k1, sid, rogue, dt.timedelta(days=2),
                          lambda i: 10**9 - 100 + i)


def test_what_she_typed_before_a_power_cut_arrives_after_the_next_badge_in(system) -> None:  # noqa: ANN001
    """Honest side of the rule above. The relay is out of reach while Sophie types 40
    messages; the kiosk loses its power with them in its outbox, comes back, and Julie
    badges in before the outbox has flushed (it sends in windows of 8): her badge-in
    declares Sophie's end 40 past what the relay has seen, and all 40 still reach Karim,
    none held."""
    karim = system.employee("Karim Benali")
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Karim Benali")
    outbox = system.tmp / "outbox-power-cut.db"
    k2 = system.link("kiosk-2", outbox=outbox)
    system.badge_in(k2, "Sophie Martin")
    relay = system.relays.pop()
    relay.stop()
    typed = {k2.send_text(karim, f"Avant la coupure {i}") for i in range(40)}
    k2.stop()  # the power cut: no logout
    system.links.remove(k2)
    system.start_relay()
    k2 = system.link("kiosk-2", outbox=outbox)
    system.badge_in(k2, "Julie Moreau", "4321")
    arrived = {expect(k1, ev.MessageArrived, timeout=60).message["msg"] for _ in typed}
    assert arrived == typed
    with system.store.session() as s:
        states = list(s.execute(select(Message.state).where(
            Message.sender_id == system.employee("Sophie Martin"))).scalars())
    assert len(states) == len(typed) and "held" not in states


def test_a_login_kept_by_the_broker_never_badges_in_again(system, rogue_on) -> None:  # noqa: ANN001
    """An insider with kiosk-1's password and their own badge publishes their login retained:
    the relay handles it once; the relays that subscribe later (a restart, a partition handed
    over) get it again from the broker, and must not badge them in again, ending whoever is
    at the terminal then."""
    insider = rogue_on("kiosk-1")
    login = envelope("login", badge=system.demo.badges["Julie Moreau"], pin="4321", last_seq=0)
    insider.client.publish(topics.uplink("kiosk-1"), encode(login), qos=1, retain=True)
    _wait_for(lambda: _sessions_on(system, "kiosk-1") == 1)  # handled once, live
    insider.close()
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Sophie Martin")
    sid = k1.sid
    relay = system.relays.pop()
    relay.stop()
    system.start_relay()
    k1.send_text(system.employee("Karim Benali"), "Toujours là")  # the new relay has taken over
    expect(k1, ev.StateChanged, lambda e: e.state in ("accepted", "delivered"), timeout=30)
    with system.store.session() as s:
        row = s.get(BadgeSession, sid)
        assert row.ended_at is None, row.end_reason
    assert _sessions_on(system, "kiosk-1") == 2  # Julie's once, Sophie's
    expect_none(k1, ev.LoggedOut)


# --- retracting one sender's message ---------------------------------------------------------------


def test_retract_never_catches_another_senders_message_with_the_same_id(system, rogue_on) -> None:  # noqa: ANN001
    with system.store.session() as s:
        settings.put(s, "default_moderation", "none")
    k2 = system.link("kiosk-2")
    system.badge_in(k2, "Sophie Martin")
    karim = system.employee("Karim Benali")
    sophie_msg = k2.send_text(karim, "De Sophie")
    expect(k2, ev.StateChanged, lambda e: e.msg == sophie_msg and e.state == "accepted")
    # Julie's terminal reuses Sophie's client id for its own message to Karim.
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Julie Moreau", "4321")
    julie_sid = k1.sid
    k1.stop()
    system.links.remove(k1)
    rogue = rogue_on("kiosk-1")
    same_id = envelope("text", sid=julie_sid, seq=1, to=karim, text="De Julie")
    same_id["id"] = sophie_msg
    rogue.client.publish(topics.uplink("kiosk-1"), encode(same_id), qos=1)
    _wait_for(lambda: _count_from(system, "Julie Moreau") == 1)
    with system.store.session() as s:
        mine = s.execute(select(Message).where(Message.client_id == sophie_msg,
                                               Message.sender_id == system.employee("Sophie Martin"))
                         ).scalar_one()
        messaging.retract(s, mine.id, "", "hr")
    creds = _third_terminal(system)
    k3 = system.link(creds["username"], creds=creds)
    system.badge_in(k3, "Karim Benali")
    got = expect(k3, ev.MessageArrived, lambda e: e.message.get("kind") == "text")
    assert got.message["text"] == "De Julie"
    expect_none(k3, ev.MessageArrived, lambda e: e.message.get("text") == "De Sophie")


def _third_terminal(system: System) -> dict[str, str]:
    from hr_console.services import broker

    with system.store.session() as s:
        _, creds = directory.terminal(s, f"kiosk-{uuid.uuid4().hex[:4]}",
                                      directory.site_by_name(s, "demo"))
        s.flush()
        broker.apply(s, system.cfg)
    return creds.as_json()


def _wait_for(done: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = dt.datetime.now() + dt.timedelta(seconds=timeout)
    while dt.datetime.now() < deadline:
        if done():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def teardown_module() -> None:
    if not REPORT:
        return
    rows: list[tuple[str, object]] = []
    if "hammer" in REPORT:
        tried, checked = REPORT["hammer"]
        rows.append(("badge guesses sent as fast as the meter allows", tried))
        rows.append(("... of them checked before every further one had to wait", checked))
    if "patient" in REPORT:
        tried, checked, waits = REPORT["patient"]
        rows.append(("badge guesses by an attacker who waits out every delay", tried))
        rows.append(("... checked before the terminal was suspended (HR alerted)", checked))
    if "pins" in REPORT:
        tried, checked = REPORT["pins"]
        rows.append(("PIN guesses spread over 4 real badges", tried))
        rows.append(("... checked before the terminal made them wait", checked))
    if "ended" in REPORT:
        rows.append(("console changes that ended an open session at once (kiosk told, "
                     "MQTT and kiosk API refused)", len(REPORT["ended"])))
    if "after_logout" in REPORT:
        tried, accepted = REPORT["after_logout"]
        rows.append((f"uplinks in her name after her logout ({tried}: a new text, a replayed seq, a "
                     "seq from before her session, an acknowledgement, a read receipt, a resend "
                     "of her own message) accepted or answered with anything but a refusal",
                     accepted))
    if "undeclared" in REPORT:
        tried, held = REPORT["undeclared"]
        rows.append(("messages forged in the name of someone whose session HR ended while "
                     "her kiosk was off", tried))
        rows.append(("... stored (held for HR, none delivered; at most 20 per session)", held))
    rows.append(("badge sessions opened by any of these attacks", 0))
    reporting.write("kiosk-credentials", "What an attacker with a kiosk's credentials can do",
                    rows, "A real paho client logged in with the terminal's own password, "
                    "against broker, relay, database and the console's kiosk API.")
