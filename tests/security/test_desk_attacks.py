"""Attacks on the relay's login desk and the kiosk's login resend, by whoever holds a
terminal's password (found by the issue 14 review; each test failed before its fix):

- ``type`` spelled with a JSON escape (``"\\u006cogin"``) is the same login: it must go to
  the desk, or one terminal's flood of its own person's logins puts a scrypt and a sync in
  the worker's batch for every one, holding every other terminal's messages up;
- a refusal is replayed only to the very same login (terminal, id and badge);
- a login the person gave up on never opens their session later on a kiosk they left;
- one terminal's badge-ins, each a session and a sync, are bounded (``LOGIN_RATE``, answered
  ``busy``), and no other terminal's are; a suspended one hears that it is suspended.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hr_console.relay import logins
from hr_console.services import sessions
from hr_console.store.models import BadgeSession, Terminal, Throttle, utcnow
from kiosk_app.link import events as ev
from relais_wire import topics
from relais_wire.envelope import encode, envelope
from tests.security.test_kiosk_credentials import Rogue, rogue_on  # noqa: F401 - fixture
from tests.system_fixture import System, expect, expect_none, make_system


def _escaped(kind: str, **fields: Any) -> tuple[str, bytes]:
    """The envelope with its type written \\u-escaped: the same JSON, other bytes."""
    env = envelope(kind, **fields)
    escaped = f'"\\u{ord(kind[0]):04x}{kind[1:]}"'
    raw = encode(env).decode().replace(f'"{kind}"', escaped)
    assert f'"{kind}"' not in raw and json.loads(raw)["type"] == kind
    return env["id"], raw.encode()


def _answer(rogue: Rogue, msg_id: str, raw: bytes) -> dict[str, Any]:
    rogue.client.publish(topics.uplink(rogue.terminal), raw, qos=1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            reply = rogue.replies.get(timeout=0.5)
        except Exception:  # noqa: BLE001 - queue.Empty: keep waiting
            continue
        if reply.get("ref") == msg_id:
            return reply
    raise AssertionError(f"no answer to {msg_id}")


def test_an_escaped_login_or_sync_still_goes_to_the_desk(system: System, rogue_on) -> None:  # noqa: ANN001, F811
    desk = system.relays[0].logins.counters
    rogue = rogue_on("kiosk-1")
    logins, syncs = desk.logins, desk.syncs
    lid, raw = _escaped("login", badge=system.demo.badges["Julie Moreau"], pin="4321")
    reply = _answer(rogue, lid, raw)
    assert reply["type"] == "login" and reply["ok"] is True
    sid_id, raw = _escaped("sync", sid=reply["sid"])
    assert _answer(rogue, sid_id, raw)["type"] == "sync"
    assert (desk.logins, desk.syncs) == (logins + 1, syncs + 1)  # neither ran in the worker


def test_a_refusal_is_replayed_only_to_the_same_login(system: System, rogue_on) -> None:  # noqa: ANN001, F811
    a, b = rogue_on("kiosk-1"), rogue_on("kiosk-2")
    same = str(uuid.uuid4())
    assert a.ask("login", msg_id=same, badge="999999")["code"] == "bad_badge"
    assert a.ask("login", msg_id=same, badge="999999")["code"] == "bad_badge"  # replayed
    other = b.ask("login", msg_id=same, badge=system.demo.badges["Sophie Martin"])
    assert other["ok"] is True  # another terminal and badge: checked, not kiosk-1's answer


def test_one_terminals_badge_ins_are_bounded_and_no_other_terminal_is(
        system: System, rogue_on) -> None:  # noqa: ANN001, F811
    """Whoever holds kiosk-1's password and a badge badges in again and again, each time
    as soon as answered (the review made 185 in 10 s: a session and a sync each). A queue
    of people at a shift change gets in; past it kiosk-1 is answered ``busy`` with the
    seconds to wait, which opens nothing and counts no miss (a login sent again is decided
    again, not answered a stale wait); kiosk-2 is not held up, and misses (a PIN asked for,
    an unknown badge) never spend the bound."""
    rogue, other = rogue_on("kiosk-1"), rogue_on("kiosk-2")
    badge = system.demo.badges["Sophie Martin"]
    desk = system.relays[0].logins.counters
    for _ in range(5):  # misses: the throttle's, not the bound's
        assert rogue.ask("login", badge=system.demo.badges["Julie Moreau"])["code"] == \
            "pin_required"
    began = time.monotonic()
    answers = [rogue.ask("login", badge=badge) for _ in range(int(logins.LOGIN_BURST) + 12)]
    took = time.monotonic() - began
    opened = [a for a in answers if a.get("ok") is True]
    busy = [a for a in answers if a.get("code") == "busy"]
    assert len(opened) + len(busy) == len(answers), answers
    assert logins.LOGIN_BURST <= len(opened) <= logins.LOGIN_BURST + 1 + took * logins.LOGIN_RATE
    assert len(busy) >= 12 - 1 - took * logins.LOGIN_RATE and desk.throttled_logins == len(busy)
    assert all(1 <= a["wait"] <= 1 / logins.LOGIN_RATE for a in busy), busy
    assert not any(a.get("sid") for a in busy)  # no session
    with system.store.session() as s:
        term = s.execute(select(Terminal).where(Terminal.name == "kiosk-1")).scalar_one()
        assert s.get(Throttle, sessions.throttle_key(term)) is None  # no miss counted
        sessions_opened = s.scalar(select(func.count()).select_from(BadgeSession)
                                   .where(BadgeSession.terminal_id == term.id))
    assert sessions_opened == len(opened)
    # Another terminal badges in at once; kiosk-1's refused login, sent again once its wait
    # is over, opens.
    assert other.ask("login", badge=system.demo.badges["Karim Benali"])["ok"] is True
    again = str(uuid.uuid4())
    while (first := rogue.ask("login", msg_id=again, badge=badge)).get("ok"):
        again = str(uuid.uuid4())  # a slow machine gave a turn back meanwhile: use it
    assert first["code"] == "busy"
    time.sleep(first["wait"])
    assert rogue.ask("login", msg_id=again, badge=badge)["ok"] is True
    # Past its bound again, then suspended: the terminal hears that it is suspended, not
    # that it is busy (a kiosk would count down to nothing).
    while rogue.ask("login", badge=badge).get("ok"):
        pass
    with system.store.session() as s:
        s.execute(select(Terminal).where(Terminal.name == "kiosk-1")).scalar_one() \
            .logins_suspended_at = utcnow()
    assert rogue.ask("login", badge=badge)["code"] == "suspended"


def test_a_login_given_up_on_never_opens_later(tmp_path: Path, db_url: str) -> None:
    system = make_system(tmp_path, db_url, relay=False)
    try:
        link = system.link("kiosk-1")
        link.login(system.demo.badges["Julie Moreau"], "4321")  # reaches no relay
        time.sleep(1.0)
        link.cancel_login()  # Julie walked away; the kiosk went back to its idle screen
        system.start_relay()
        expect_none(link, ev.LoginOk, wait=6.0)  # three resend periods: nothing was sent
        assert link.sid is None
        link.login(system.demo.badges["Sophie Martin"])  # the next person is served
        assert expect(link, ev.LoginOk).employee["name"] == "Sophie Martin"
    finally:
        system.close()


def test_a_login_nobody_answers_is_given_up_and_said(tmp_path: Path, db_url: str) -> None:
    system = make_system(tmp_path, db_url, relay=False)
    try:
        link = system.link("kiosk-1")
        link.login(system.demo.badges["Julie Moreau"], "4321")
        failed = expect(link, ev.LoginFailed, timeout=40)
        assert failed.code == "no_answer"  # the idle screen asks to badge again
        system.start_relay()
        expect_none(link, ev.LoginOk, wait=5.0)
    finally:
        system.close()
