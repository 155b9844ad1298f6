"""Voice messages end to end: link -> real Mosquitto -> relay (re-encoded beside its worker)
-> database -> HR's decision -> the other link, byte for byte what the server stored.

Runs on SQLite and, when RELAIS_TEST_PG_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import base64
import time

import pytest
from sqlalchemy import func, select

from hr_console.services import messaging, settings
from hr_console.store.models import Media, Message
from kiosk_app.link import events as ev
from relais_wire import audio
from tests.system_fixture import expect, expect_none
from tests.wire.hostile_audio import clip, corpus


def _state(link, msg_id, state, timeout=20.0):  # noqa: ANN001
    return expect(link, ev.StateChanged, lambda e: e.msg == msg_id and e.state == state, timeout)


def _pair(system, *, held: bool = True):  # noqa: ANN001, ANN202
    """Sophie on kiosk-1 and Karim on kiosk-2, badged in; ``held``: the default setting."""
    if not held:
        with system.store.session() as s:
            settings.put(s, "voice_always_held", False)
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    return k1, k2


def _stored(system, sender: int, msg: str) -> tuple[Message, Media]:  # noqa: ANN001
    with system.store.session() as s:
        row = messaging.find(s, sender, msg)
        media = s.get(Media, row.media_id)
        s.expunge_all()
        return row, media


def test_a_voice_message_is_held_approved_and_arrives_as_the_server_stored_it(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")  # her text to Karim would be delivered at once
    system.badge_in(k2, "Karim Benali")
    sophie, karim = system.employee("Sophie Martin"), system.employee("Karim Benali")
    sent = clip(2.5)
    msg = k1.send_voice(karim, sent, 2500)
    _state(k1, msg, "held")  # "voice messages always held" is on by default
    expect_none(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg, 1.0)

    row, media = _stored(system, sophie, msg)
    assert row.kind == "voice" and row.state == "held"
    assert abs(row.duration_ms - 2500) <= 50
    assert media.mime == "audio/ogg"
    assert media.data != sent  # made again on the server from the samples alone
    assert abs(audio.duration_ms(audio.decode(media.data)) - 2500) <= 50

    with system.store.session() as s:
        messaging.approve(s, row.id, actor="hr")
    _state(k1, msg, "approved")
    arrived = expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg).message
    assert arrived["kind"] == "voice" and arrived["from"] == sophie
    assert base64.b64decode(arrived["audio"]) == media.data
    assert arrived["duration_ms"] == row.duration_ms
    _state(k1, msg, "delivered")


def test_with_the_setting_off_a_voice_message_goes_like_a_text(system) -> None:  # noqa: ANN001
    k1, k2 = _pair(system, held=False)
    msg = k1.send_voice(system.employee("Karim Benali"), clip(1.0), 1000)
    _state(k1, msg, "accepted")
    arrived = expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg).message
    assert audio.duration_ms(audio.decode(base64.b64decode(arrived["audio"]))) >= 950
    _state(k1, msg, "delivered")


def test_a_hostile_clip_is_refused_with_its_error_and_nothing_is_stored(system) -> None:  # noqa: ANN001
    k1, k2 = _pair(system)
    with system.store.session() as s:
        before = (s.scalar(select(func.count()).select_from(Message)),
                  s.scalar(select(func.count()).select_from(Media)))
    karim = system.employee("Karim Benali")
    cases = corpus()
    for name in ("trailing_payload", "second_stream", "garbage_packets", "ten_hour_header"):
        data, code = cases[name]
        msg = k1.send_voice(karim, data, 2000)
        err = expect(k1, ev.ErrorReceived, lambda e, m=msg: e.ref == m, timeout=20)
        assert err.code == code, name
    after_text = k1.send_text(karim, "Et un texte après")  # the terminal's order goes on
    expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == after_text)
    with system.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Media)) == before[1]
        assert s.scalar(select(func.count()).select_from(Message)) == before[0] + 1


def test_a_text_typed_after_a_voice_message_arrives_after_it(system) -> None:  # noqa: ANN001
    """The clip is made beside the worker: what the terminal sent behind it waits for it."""
    k1, k2 = _pair(system, held=False)
    karim = system.employee("Karim Benali")
    first = k1.send_voice(karim, clip(20.0), 20_000)
    second = k1.send_text(karim, "Tu as écouté ?")
    got = [expect(k2, ev.MessageArrived, timeout=30).message["msg"] for _ in range(2)]
    assert got == [first, second]


def test_recorded_offline_it_leaves_once_when_the_link_is_back(system) -> None:  # noqa: ANN001
    k1, k2 = _pair(system)
    system.broker.stop()
    expect(k1, ev.LinkDown)
    msg = k1.send_voice(system.employee("Karim Benali"), clip(3.0), 3000)
    assert k1.outbox.pending_count() == 1
    system.broker.start()
    expect(k1, ev.LinkUp, timeout=30)
    _state(k1, msg, "held", timeout=30)
    with system.store.session() as s:
        rows = s.execute(select(Message).where(Message.client_id == msg)).scalars().all()
        assert len(rows) == 1
        messaging.approve(s, rows[0].id, actor="hr")
    expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg, timeout=30)
    _state(k1, msg, "delivered")
    assert k1.outbox.pending_count() == 0


def test_a_relay_killed_while_the_clip_is_made_loses_nothing(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1", resend_after=1.0), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    relay = system.relays.pop()
    msg = k1.send_voice(system.employee("Karim Benali"), clip(30.0), 30_000)
    time.sleep(0.3)  # taken, acked and being re-encoded: not committed
    relay.stop()
    system.start_relay()
    _state(k1, msg, "held", timeout=60)
    with system.store.session() as s:
        rows = s.execute(select(Message).where(Message.client_id == msg)).scalars().all()
        assert len(rows) == 1 and abs(rows[0].duration_ms - 30_000) <= 50


def test_past_the_relays_bound_a_clip_is_turned_away_then_sent_again(system, monkeypatch) -> None:  # noqa: ANN001
    """Clips are made a bounded few at a time: one more is answered "rate_limited" (acked,
    nothing stored) and the kiosk's outbox sends it again, so it is late, not lost."""
    from hr_console.relay import voices

    monkeypatch.setattr(voices, "MAX_PENDING", 1)
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2", resend_after=1.0)
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    first = k1.send_voice(system.employee("Karim Benali"), clip(40.0), 40_000)
    time.sleep(0.2)  # taken: its clip is being made
    second = k2.send_voice(system.employee("Sophie Martin"), clip(1.0), 1000)
    expect(k2, ev.ErrorReceived, lambda e: e.code == "rate_limited", timeout=10)
    _state(k1, first, "held", timeout=60)
    _state(k2, second, "held", timeout=60)
    assert system.relays[0].voices.turned_away >= 1
    with system.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)
                        .where(Message.client_id.in_((first, second)))) == 2


def test_a_clip_whose_kind_is_spelled_with_escapes_is_still_made_beside_the_worker(system) -> None:  # noqa: ANN001
    """An attacker with the terminal's password writes "\\u0076oice": the JSON says voice
    all the same, and the relay's worker never re-encodes a clip itself (it would hold up
    every terminal): the clip goes to the voice desk like any other."""
    import json
    import uuid

    from relais_wire import topics
    from relais_wire.envelope import b64, envelope

    k1, _k2 = _pair(system)
    msg = str(uuid.uuid4())
    env = envelope("voice", id=msg, sid=k1.sid, seq=1, to=system.employee("Karim Benali"),
                   audio=b64(clip(2.0)), duration_ms=2000, codec="opus")
    raw = json.dumps(env).replace('"voice"', '"\\u0076oice"').encode()
    assert b'"voice"' not in raw
    k1.client.publish(topics.uplink("kiosk-1"), raw, qos=1)
    _state(k1, msg, "held")
    assert system.relays[0].voices.made == 1


def test_the_relays_worker_never_encodes_a_clip_itself(system) -> None:  # noqa: ANN001
    from hr_console.services import voice

    with system.store.session() as s:
        voice.made_beside(s)
        with pytest.raises(voice.NotReady):
            voice.clip(s, clip(0.7))


def test_a_clip_that_keeps_the_decoder_busy_is_stopped_and_refused_and_no_other_is_blamed(
        system, monkeypatch) -> None:  # noqa: ANN001
    """An attacker with a terminal's password sends a clip that keeps FFmpeg busy: its
    process is stopped by the kernel once past the desk's CPU allowance, twice, and then the
    clip is refused; a colleague's clip queued behind it in the same process is made again,
    never refused for it, and voice messages go on. The allowance is lowered so that a
    minute of real speech-like sound (about half a second of CPU) stands for the hostile
    clip, while a one-second clip stays far under it."""
    from hr_console.relay import voices
    from hr_console.services import voice

    monkeypatch.setattr(voices, "CLIP_CPU_S", 0.15)
    k1, k2 = _pair(system)
    karim, sophie = system.employee("Karim Benali"), system.employee("Sophie Martin")
    hostile = clip(60.0)
    slow = k1.send_voice(karim, hostile, 60_000)
    time.sleep(0.2)  # taken: being made
    quick = k2.send_voice(sophie, clip(1.0), 1000)
    err = expect(k1, ev.ErrorReceived, lambda e: e.ref == slow, timeout=60)
    assert err.code == "bad_audio"
    _state(k2, quick, "held", timeout=60)
    desk = system.relays[0].voices
    assert desk.killed == voices.CRASHES_REFUSED  # the slow clip's two tries, nobody else's
    with system.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)
                        .where(Message.client_id == slow)) == 0
    after = k1.send_voice(karim, clip(1.5), 1500)  # the desk works on: a new process
    _state(k1, after, "held", timeout=60)
    # Sent again once its refusal is forgotten (the desk keeps the latest few): refused at
    # once, not made (and its process killed) twice more.
    for n in range(voice.PREPARED_KEPT):
        voice.prepared.put(f"another clip {n}", ("bad_audio", "the audio cannot be decoded"))
    again = k1.send_voice(karim, hostile, 60_000)
    err = expect(k1, ev.ErrorReceived, lambda e: e.ref == again, timeout=30)
    assert err.code == "bad_audio" and desk.killed == voices.CRASHES_REFUSED
