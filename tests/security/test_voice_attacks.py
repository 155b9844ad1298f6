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

import datetime as dt
import uuid

from sqlalchemy import func, select

from hr_console.store.models import BadgeSession, Message, Terminal, utcnow
from kiosk_app.link import events as ev
from relais_wire import topics
from relais_wire.envelope import b64, decode_uplink, encode, envelope
from tests.security.test_bad_input_corpus import RawTerminal, ended_long_ago
from tests.system_fixture import System, expect
from tests.wire.hostile_audio import clip


def _voice(sid: str, seq: int, seconds: float, *, tail: bytes = b"", **target: int) -> dict:
    """A voice uplink; ``tail``: bytes after the clip, which the decoder refuses."""
    return envelope("voice", id=str(uuid.uuid4()), sid=sid, seq=seq,
                    audio=b64(clip(seconds) + tail), duration_ms=int(seconds * 1000),
                    codec="opus", **target)


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
    old_sid = ended_long_ago(system, k1, "Sophie Martin")
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
        answers = thief.answers(ids)
    finally:
        thief.close()
    assert sorted(answers.values()) == ["no_session"] * 3 + ["session_ended"] * 6
    assert (desk.made, desk.unwanted, desk._pool, desk.check_failed) == (0, 9, None, 0)
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
        answers = thief.answers({env["id"] for env in sent})
    finally:
        thief.close()
    assert [answers.get(env["id"]) for env in sent] == ["refused"] * 4
    assert (desk.made, desk.unwanted, desk._pool, desk.check_failed) == (0, 4, None, 0)
    assert _stored(system, {env["id"] for env in sent[:3]}) == 3  # refused, kept as texts are


def test_clips_the_decoder_refuses_are_bounded_per_terminal(system: System, monkeypatch) -> None:  # noqa: ANN001
    """The console ended Sophie's session an hour ago while kiosk-1 was offline: what its
    outbox still holds may come (a late item, held for HR), so a clip in that session's
    name is decoded. One the decoder refuses is stored nowhere and spends none of the late
    items, so the same seq served again and again: the thief's junk clips are now counted
    by the CPU they took, and past the allowance for late items on that terminal (lowered
    here to three refusals' worth) its next clips are answered "rate_limited" with their
    ref, by their batch, so that the terminal's later messages do not wait for them. The
    person badged in there next has a budget of their own, and another terminal's clip is
    made at once."""
    from hr_console.relay import voices
    from hr_console.services import sessions

    monkeypatch.setattr(voices, "REFUSED_CPU_S", 3 * voices.REFUSED_MIN_CPU_S)
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    sid = k1.sid
    k1.stop()
    with system.store.session() as s:
        sessions.end_for_employee(s, system.employee("Sophie Martin"), "deactivated")
        s.get(BadgeSession, sid).ended_at = utcnow() - dt.timedelta(hours=1)
        mark = s.get(BadgeSession, sid).end_mark
    karim = system.employee("Karim Benali")
    desk = system.relays[0].voices
    thief = RawTerminal(system, "kiosk-1")
    try:
        answers = []
        for i in range(6):  # one at a time: the same free seq each time
            env = _voice(sid, mark + 1, 1.0, tail=b"<?php %d ?>" % i, to=karim)
            thief.client.publish(topics.uplink("kiosk-1"), encode(env), qos=1)
            answers.append(thief.answers({env["id"]}).get(env["id"]))
    finally:
        thief.close()
    assert answers == ["bad_audio"] * 3 + ["rate_limited"] * 3
    assert (desk.made, desk.turned_away, desk.check_failed) == (3, 3, 0)

    k1 = system.link("kiosk-1")  # the next person badged in on that terminal
    system.badge_in(k1, "Sophie Martin")
    mine = k1.send_voice(karim, clip(1.2), 1200)
    expect(k1, ev.StateChanged, lambda e: e.msg == mine and e.state == "held", 60)
    system.badge_in(k2, "Karim Benali")
    honest = k2.send_voice(system.employee("Sophie Martin"), clip(1.5), 1500)
    expect(k2, ev.StateChanged, lambda e: e.msg == honest and e.state == "held", 60)
    assert desk.made == 5


def test_the_check_before_a_clip_reads_and_never_writes(system: System) -> None:
    """``handlers.clip_wanted`` runs on the relay's read-only snapshot: a session whose
    idle clock is due a touch (and the session check touches it) must not make the read
    try to write (on SQLite a query-only connection refuses it, and the check would fail
    open, making every clip). It answers, and the session stays as stored."""
    from hr_console.relay.handlers import clip_wanted
    from hr_console.relay.logins import read_sessions
    from hr_console.services import sessions

    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Sophie Martin")
    touched = utcnow() - sessions.TOUCH_EVERY * 4
    with system.store.session() as s:
        s.get(BadgeSession, k1.sid).last_active_at = touched
    seq = _next_seq(system, "kiosk-1")
    allowed = _voice(k1.sid, seq, 1.0, to=system.employee("Karim Benali"))
    refused = _voice(k1.sid, seq, 1.0, to=system.employee("Thomas Petit"))
    reader, engine = read_sessions(system.store)
    try:
        for env, wanted in ((allowed, True), (refused, False)):
            with reader() as r:
                budget = clip_wanted(r, "kiosk-1", decode_uplink(encode(env)))
                assert (budget.endswith("|live") if wanted else budget is None), budget
    finally:
        if engine is not None:
            engine.dispose()
    with system.store.session() as s:
        assert s.get(BadgeSession, k1.sid).last_active_at == touched
