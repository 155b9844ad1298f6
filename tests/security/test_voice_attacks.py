"""Voice clips bought with a terminal's password, through the real broker and relay.

A voice message is decoded and encoded again in a process of the relay's own (one for the
whole company), a few hundred milliseconds of CPU each and up to ``voices.CLIP_CPU_S``
for a clip made to keep the decoder busy. With the password read off a kiosk's disk and no
one badged in there (a session that ended a month ago, or none), every clip sent used to be
decoded before anything said it would be refused: honest clips waited behind the thief's.
Now a message its transaction would refuse before its clip (no session, an ended one, a
person its sender may not write to, a group that does not exist) is refused without its
clip being made, and no process is started for it; an honest clip then is made at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import queue
import time
import uuid

from sqlalchemy import func, select

from hr_console.store.models import BadgeSession, Message, Terminal, utcnow
from kiosk_app.link import events as ev
from relais_wire import topics
from relais_wire.envelope import b64, encode, envelope
from tests.security.test_bad_input_corpus import RawTerminal
from tests.system_fixture import System, expect
from tests.wire.hostile_audio import clip


def _voice(sid: str, seq: int, seconds: float, **target: int) -> dict:
    return envelope("voice", id=str(uuid.uuid4()), sid=sid, seq=seq,
                    audio=b64(clip(seconds)), duration_ms=int(seconds * 1000), codec="opus",
                    **target)


def _answers(thief: RawTerminal, ids: set[str], timeout: float = 20.0) -> dict[str, str]:
    """Each sent id's answer: its state, or the error's code."""
    answers: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(answers) < len(ids) and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            reply = json.loads(thief.inbox.get(timeout=0.5))
            ref = reply.get("ref")
            if ref in ids:
                answers[ref] = reply.get("state") or reply.get("code")
    return answers


def _next_seq(system: System, name: str) -> int:
    """The terminal's next seq (a later one waits for the gap to fill, ``handlers``)."""
    with system.store.session() as s:
        return s.scalar(select(Terminal.last_seq).where(Terminal.name == name)) + 1


def _stored(system: System, ids: set[str]) -> int:
    with system.store.session() as s:
        return s.scalar(select(func.count()).select_from(Message)
                        .where(Message.client_id.in_(ids))) or 0


def test_a_terminals_password_alone_buys_no_clip(system: System) -> None:
    """The thief sends clips in the name of a session the terminal hosted a month ago, and
    of sessions that never were: each is refused with its error, none is decoded, no process is started.
    Karim's clip on another terminal is then made and held as usual."""
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    old_sid = k1.sid
    k1.logout()
    with system.store.session() as s:
        s.get(BadgeSession, old_sid).ended_at = utcnow() - dt.timedelta(days=30)
    k1.stop()
    karim = system.employee("Karim Benali")
    desk = system.relays[0].voices
    thief = RawTerminal(system, "kiosk-1")
    try:
        seq = _next_seq(system, "kiosk-1")
        sent = [_voice(old_sid, seq + i, 2.0 + i / 10, to=karim) for i in range(6)]
        sent += [_voice(str(uuid.uuid4()), seq + 6 + i, 3.0 + i / 10, to=karim)
                 for i in range(3)]
        for env in sent:
            thief.client.publish(topics.uplink("kiosk-1"), encode(env), qos=1)
        ids = {env["id"] for env in sent}
        answers = _answers(thief, ids)
    finally:
        thief.close()
    assert sorted(answers.values()) == ["no_session"] * 3 + ["session_ended"] * 6
    assert (desk.made, desk.unwanted, desk._pool) == (0, 9, None)
    assert _stored(system, ids) == 0

    system.badge_in(k2, "Karim Benali")
    honest = k2.send_voice(system.employee("Sophie Martin"), clip(1.5), 1500)
    expect(k2, ev.StateChanged, lambda e: e.msg == honest and e.state == "held", 60)
    assert desk.made == 1


def test_a_live_session_buys_no_clip_for_someone_it_may_not_write_to(system: System) -> None:
    """With a session open on the terminal (its sid comes down the terminal's own topic),
    clips to a person the contact rules keep from Sophie, or to a group that does not
    exist, are refused as her texts would be, without being decoded."""
    k1 = system.link("kiosk-1")
    synced = system.badge_in(k1, "Sophie Martin")
    sid = k1.sid
    thomas = system.employee("Thomas Petit")
    assert thomas not in {c["id"] for c in synced.contacts}
    k1.stop()
    desk = system.relays[0].voices
    thief = RawTerminal(system, "kiosk-1")
    try:
        seq = _next_seq(system, "kiosk-1")
        sent = [_voice(sid, seq + i, 2.0 + i / 10, to=thomas) for i in range(3)]
        sent.append(_voice(sid, seq + 3, 2.5, group=987_654))
        for env in sent:
            thief.client.publish(topics.uplink("kiosk-1"), encode(env), qos=1)
        answers = _answers(thief, {env["id"] for env in sent})
    finally:
        thief.close()
    assert [answers.get(env["id"]) for env in sent] == ["refused"] * 4
    assert (desk.made, desk.unwanted, desk._pool) == (0, 4, None)
    assert _stored(system, {env["id"] for env in sent[:3]}) == 3  # refused, kept as texts are
