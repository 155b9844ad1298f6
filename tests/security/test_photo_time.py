"""Slow photos bought with a terminal's password, through the real broker and relay.

A terminal's photo is decoded and encoded again inside the relay's transaction, while
every other terminal's messages wait. A photo larger than a kiosk makes its photos (4000 x
4000 of one colour in 244 KB took 300 ms) is now refused from its header; one within the
kiosk's size can still be made slow (noise that must be encoded again to fit: about 90 ms
here, against 10 to 25 ms for what a kiosk's camera sends), and the meter lets 20 uplinks a
second through. With the terminal's password and the session open on it, a thief's photos
share a budget of that time (``photo_time``, lowered here): past it they are answered
``rate_limited`` with their ref (a kiosk's outbox sends them again), and another
terminal's photo goes through.
"""

from __future__ import annotations

import io
import random
import time

from PIL import Image
from sqlalchemy import func, select

from hr_console.services import photo_time
from hr_console.store.models import Message, Terminal
from kiosk_app.link import events as ev
from relais_wire import limits, topics
from relais_wire.envelope import b64, encode, envelope
from tests.security.test_bad_input_corpus import RawTerminal
from tests.system_fixture import System, expect

# A budget one slow photo spends whole on any machine (75 ms here, 90 on a slower VM):
# exactly one gets in. With 0.15 s, two or three did, and four would have on a machine
# twice as fast.
ONE_PHOTO_S = 0.01


def _slow_jpeg(seed: int) -> bytes:
    """1280 x 1280 pixels of noise, as large as a kiosk's photo may be: long to decode and to
    encode again within the wire's size."""
    noise = random.Random(seed).randbytes(1280 * 1280 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (1280, 1280), noise).save(out, "JPEG", quality=14)
    assert len(out.getvalue()) <= limits.MAX_PHOTO_BYTES
    return out.getvalue()


def _huge_jpeg() -> bytes:
    """4000 x 4000 pixels of one colour in 244 KB: larger than any kiosk sends."""
    out = io.BytesIO()
    Image.new("RGB", (4000, 4000), (120, 30, 200)).save(out, "JPEG", quality=5)
    assert len(out.getvalue()) <= limits.MAX_PHOTO_BYTES
    return out.getvalue()


def _small_jpeg() -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((640, 480)).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def test_a_terminals_slow_photos_cannot_hold_the_relay(system: System, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(photo_time, "BURST_S", ONE_PHOTO_S)
    monkeypatch.setattr(photo_time, "PER_MINUTE_S", 0.0)  # no refill: the count is the budget's
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    sid = k1.sid
    k1.stop()
    with system.store.session() as s:
        seq = s.scalar(select(Terminal.last_seq).where(Terminal.name == "kiosk-1")) + 1
    karim = system.employee("Karim Benali")
    thief = RawTerminal(system, "kiosk-1")
    try:
        huge = envelope("photo", sid=sid, seq=seq, to=karim, caption="", image=b64(_huge_jpeg()))
        sent = [envelope("photo", sid=sid, seq=seq + 1 + i, to=karim, caption="",
                         image=b64(_slow_jpeg(i))) for i in range(8)]
        thief.client.publish(topics.uplink("kiosk-1"), encode(huge), qos=1)
        answers = thief.answers({huge["id"]}, timeout=60)
        # Its header check took a little of the budget (0.3 ms, more on a machine that
        # stalls): the slow ones start from a whole one, so that exactly one gets in.
        with photo_time._lock:  # noqa: SLF001 - the budget under test
            photo_time._buckets.clear()  # noqa: SLF001
        for env in sent:
            thief.client.publish(topics.uplink("kiosk-1"), encode(env), qos=1)
        answers |= thief.answers({env["id"] for env in sent}, timeout=60)
    finally:
        thief.close()
    assert answers[huge["id"]] == "image_too_big_pixels"  # from its header, not decoded
    got = [answers.get(env["id"]) for env in sent]
    made = [a for a in got if a in ("accepted", "held")]
    assert len(made) == 1 and got.count("rate_limited") == len(sent) - 1, got
    with system.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)
                        .where(Message.client_id.in_([env["id"] for env in sent]))) == len(made)

    honest = k2.send_photo(system.employee("Sophie Martin"), _small_jpeg())
    expect(k2, ev.StateChanged, lambda e: e.msg == honest and e.state in ("accepted", "held"),
           10)


def test_a_safety_alerts_slow_photos_are_dropped_never_the_alert(system: System, monkeypatch) -> None:  # noqa: ANN001
    """An alert's photo is decoded in the worker too. Past the terminal's budget the alert
    still goes at once, without its picture (audited as dropped): an alert is never held."""
    from hr_console.store.models import AuditEntry, SafetyAlert

    monkeypatch.setattr(photo_time, "BURST_S", ONE_PHOTO_S)
    # No refill while the five are handled: on a loaded machine three seconds between two
    # alerts refilled the bucket, and a later alert kept its photo (CI saw it).
    monkeypatch.setattr(photo_time, "PER_MINUTE_S", 0.0)
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Sophie Martin")
    sid = k1.sid
    k1.stop()
    thief = RawTerminal(system, "kiosk-1")
    try:
        sent = [envelope("alert", sid=sid, pictogram="fire", text=f"alerte {i}",
                         image=b64(_slow_jpeg(i))) for i in range(5)]  # the live budget
        for env in sent:
            thief.client.publish(topics.uplink("kiosk-1"), encode(env), qos=1)
        answers = thief.answers({env["id"] for env in sent}, timeout=60)
    finally:
        thief.close()
    assert sorted(answers.values()) == ["accepted"] * 5
    with system.store.session() as s:
        photos = [a.media_id is not None for a in
                  s.scalars(select(SafetyAlert).order_by(SafetyAlert.id))]
        dropped = [e.detail.get("photo_dropped", False) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.action == "safety.alert")
            .order_by(AuditEntry.id))]
    assert photos == [True] + [False] * 4
    assert dropped == [not p for p in photos]


def test_a_leads_slow_notice_photos_wait_their_turn(system: System, monkeypatch) -> None:  # noqa: ANN001
    """A team lead's notice from a terminal carries a photo decoded in the worker too: past
    the terminal's share a notice is answered ``rate_limited`` and stays in the kiosk's
    outbox, which sends it again once the share allows: late, never lost, and meanwhile it
    does not hold everyone's messages."""
    from tests.e2e.test_supervisor_broadcast import team_id

    monkeypatch.setattr(photo_time, "BURST_S", ONE_PHOTO_S)
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Sophie Martin")  # she leads the Atelier team
    atelier = team_id(system, "Atelier")
    items = [k1.send_broadcast(atelier, f"Consigne {i}", image=_slow_jpeg(i)) for i in range(4)]
    limited: set[str] = set()
    done: set[str] = set()
    deadline = time.monotonic() + 90
    while done != set(items) and time.monotonic() < deadline:
        event = expect(k1, (ev.StateChanged, ev.ErrorReceived),
                       lambda e: getattr(e, "msg", None) in items or getattr(e, "ref", None)
                       in items, 90)
        if isinstance(event, ev.ErrorReceived):
            assert event.code == "rate_limited", event
            limited.add(event.ref)
        elif event.state == "accepted":
            done.add(event.msg)
    assert limited and done == set(items) and k1.outbox.pending_count() == 0
