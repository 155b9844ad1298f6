"""Voice messages on the real kiosk App (issue 19), walked by tests/kiosk/ui_walk.py
(``--walks voice``) against the real broker and relay, in French and English.

The terminal's microphone is file-fed (``kiosk_app.voice.FileMicrophone``): a WAV of real
speech made by espeak-ng, heard as if spoken while the button is held. In each language a
teammate's voice message waits for HR, who approves it; the person badges in, opens the
conversation and plays it (the bar moves, the time counts). Then they record one by holding
the big button (level meter and time while speaking), listen to it again and send it: it
waits for HR. Then they start one with a tap, stop it with another tap and delete it:
nothing leaves. Screenshots are named ``voice-...``.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

SHOTS = ("voice-playing", "voice-recording", "voice-preview", "voice-sent")
CAST = {"fr": ("Karim Benali", "Sophie Martin"), "en": ("Thomas Petit", "Amina Diallo")}
SPOKEN = {"fr": "Bonjour, la palette de la ligne trois est prête, tu peux venir la chercher "
                "quand tu veux. Merci.",
          "en": "Hello, the pallet for line three is ready, you can come and get it "
                "whenever you like. Thanks."}
HOLD_S = 3.0  # how long the walk holds the button
CLIP_S = 20  # the colleague's clip, in s: long enough to outlast a slow screenshot before Pause


def microphone_file(folder: Path) -> Path:
    """A WAV of speech for the file-fed microphone: espeak-ng's voice, mono 16 kHz."""
    import av

    from kiosk_app import speech
    from relais_wire import limits

    folder.mkdir(parents=True, exist_ok=True)
    spoken = speech.synthesize(" ".join(SPOKEN.values()), "fr")
    pcm = bytearray()
    resampler = av.AudioResampler(format="s16", layout="mono", rate=limits.VOICE_RATE)
    with av.open(io.BytesIO(spoken), format="wav") as src:
        for frame in src.decode(src.streams.audio[0]):
            for out in resampler.resample(frame):
                pcm += bytes(out.planes[0])[:out.samples * 2]
    path = folder / "microphone.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(limits.VOICE_RATE)
        w.writeframes(bytes(pcm))
    return path


def _rms(pcm: bytes) -> float:
    samples = memoryview(pcm).cast("h")
    return (sum(v * v for v in samples) / len(samples)) ** 0.5 if len(samples) else 0.0


def _stored(back: Any, client_id: str) -> dict[str, Any]:
    from sqlalchemy import select

    from hr_console.store.models import Media, Message
    from relais_wire import audio

    with back.system.store.session() as s:
        msg, data = s.execute(select(Message, Media.data).join(
            Media, Media.id == Message.media_id).where(Message.client_id == client_id)).one()
        pcm = audio.decode(data)
        return {"kind": msg.kind, "state": msg.state, "duration_ms": msg.duration_ms,
                "decoded_ms": audio.duration_ms(pcm), "rms": round(_rms(pcm))}


async def _hold(d: Any, w: Any, seconds: float, shot: str) -> float:
    """A finger on ``w`` for about ``seconds`` (the screenshot is taken while it is still
    down); how long it really was (a loaded machine's frames stretch it)."""
    import asyncio
    import time

    from kivy.tests.common import UnitTestTouch

    x, y = w.to_window(*w.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    down = time.monotonic()
    await asyncio.sleep(seconds * 0.7)
    await d.shot(shot)
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - down)))
    touch.touch_up()
    held = time.monotonic() - down
    await d.frames(2)
    d.step(f"held the button {held:.2f} s")
    return held


async def _quick_tap(d: Any, w: Any, what: str) -> None:
    """A finger down and up at once, as a glove taps: ``d.tap`` waits a frame in between,
    which a loaded machine stretched past the tap's 0.6 s (the start became a hold)."""
    from kivy.tests.common import UnitTestTouch

    d._visible(w)
    touch = UnitTestTouch(*w.to_window(*w.center))
    touch.touch_down()
    touch.touch_up()
    await d.frames(2)
    d.step(f"tap {what}")


async def walk_voice(d: Any) -> None:
    for lang in ("fr", "en"):
        await _walk(d, lang)


async def _walk(d: Any, lang: str) -> None:
    import asyncio
    import time

    from tests.kiosk.ui_walk import _t
    from tests.wire.hostile_audio import clip

    app, back, k = d.app, d.back, d.app.kiosk
    sender, me = CAST[lang]
    d.lang, d.t = lang, _t(lang)
    back.other_badge_in(sender)
    theirs = back.other.send_voice(back.employee(me), clip(float(CLIP_S)), CLIP_S * 1000)
    await d.until("their clip stored", lambda: theirs in back.message_states(sender), 20)
    back.approve_held()  # voice messages are always held, by default
    await d.badge(back.badge(me))
    await d.until("home", lambda: app.current == "home" and k.session is not None, 30)
    await d.until("their clip here", lambda: k.session.messages.get(theirs) is not None, 20)

    row = await d.recycled(d.screen("home").ids.list, "the sender's row",
                           contact_id=back.employee(sender))
    await d.tap(row, "the conversation")
    await d.until("conversation", lambda: app.current == "conversation")
    conv = d.screen("conversation")
    d.check(f"{lang}_voice_button", conv.ids.voice.opacity == 1 and not conv.ids.voice.disabled)
    await d.tap(d.button(d.t("Play"), conv), "Play")
    await d.until("playing", lambda: k.clips.msg_id == theirs and k.clips.position > 1.5, 10)
    await d.frames(2)  # the bar's tick has seen that position
    button, bar, label = conv._clips[theirs]
    # Read before the screenshot: at 1280x800 on a loaded machine its frames took long
    # enough for the clip to end (its clock runs on) and be forgotten.
    d.check(f"{lang}_playing", {"position": round(k.clips.position, 1), "bar": round(bar.value, 2),
                                "label": label.text, "button": button.text,
                                "played": list(k.clips.played)})
    await d.shot("voice-playing")
    await d.tap(button, "Pause")
    paused_at = k.clips.position
    await asyncio.sleep(0.5)
    d.check(f"{lang}_paused", {"paused": k.clips.paused,
                               "still": round(k.clips.position - paused_at, 2),
                               "position": round(k.clips.position, 2),
                               "bar": round(bar.value, 3)})

    # Hold to talk.
    await d.tap(conv.ids.voice, "Voice")
    await d.until("voice screen", lambda: app.current == "voice")
    screen = d.screen("voice")
    held = await _hold(d, screen.ids.talk, HOLD_S, "voice-recording")
    await d.until("preview", lambda: screen.mode == "preview", 15)
    d.check(f"{lang}_recorded", {"length": round(screen.length, 2), "mode": screen.mode,
                                 "held": round(held, 2)})
    await d.tap(screen.ids.replay, "Listen again")
    await d.until("heard again", lambda: k.clips.position > 1.0, 10)
    await d.shot("voice-preview")
    await d.tap(screen.ids.send, "Send")
    await d.until("back in the conversation", lambda: app.current == "conversation")
    mine = next(m for m in reversed(list(k.session.messages.values()))
                if m.mine and m.kind == "voice")
    await d.until("held", lambda: mine.state == "held", 20)
    await d.shot("voice-sent")
    d.check(f"{lang}_sent", _stored(back, mine.id))

    # Tap to start, tap to stop, then delete: nothing leaves.
    before = len(back.message_states(me))
    await d.tap(conv.ids.voice, "Voice")
    await d.until("voice screen", lambda: app.current == "voice")
    first = time.monotonic()
    await _quick_tap(d, screen.ids.talk, "tap to start")
    started = time.monotonic()
    await asyncio.sleep(1.5)
    recording = (screen.mode, screen.tapped)
    stopping = time.monotonic()
    await _quick_tap(d, screen.ids.talk, "tap to stop")
    stopped = time.monotonic()
    await d.until("preview", lambda: screen.mode == "preview", 15)
    length = round(screen.length, 1)
    await d.tap(screen.ids.discard, "Delete")
    await asyncio.sleep(1.0)
    # The recording runs from one tap to the other: at least the time between the end
    # of the first and the start of the second, at most from the first's start to the
    # second's end (a loaded machine's frames stretch both).
    d.check(f"{lang}_tapped", {"recording": list(recording), "length": length,
                               "between": [round(stopping - started, 2),
                                           round(stopped - first, 2)],
                               "mode": screen.mode,
                               "sent": len(back.message_states(me)) - before})
    await d.tap(d.button(d.t("Back"), screen), "Back")
    await d.until("conversation", lambda: app.current == "conversation")
    await d.badge(back.badge(me))  # the same badge: logout
    await d.until("logged out", lambda: k.session is None and app.current == "idle")
    d.check(f"{lang}_after_logout", {"played": len(k.clips.played),
                                     "files": len(list(k.clips._dir.glob("*.wav")))})


def check_voice(checks: dict[str, Any]) -> None:
    """What the walk saw and what the server stored."""
    for lang in ("fr", "en"):
        assert checks[f"{lang}_voice_button"] is True
        playing = checks[f"{lang}_playing"]
        # The bar moves with the clip, never ahead of it (read while playing, it may be a
        # tick behind, and a tick of a loaded machine is long) ...
        assert playing["position"] >= 1.5, playing
        assert 0 < playing["bar"] <= playing["position"] / CLIP_S + 0.01, playing
        assert playing["label"].endswith(f"/ 0:{CLIP_S:02d}") and len(playing["played"]) == 1, \
            playing
        paused = checks[f"{lang}_paused"]
        assert paused["paused"] and abs(paused["still"]) < 0.05, paused
        # ... and stands where the clip paused.
        assert abs(paused["bar"] - paused["position"] / CLIP_S) < 0.01, paused
        recorded = checks[f"{lang}_recorded"]
        # As long as the finger was down (give or take a frame of the loaded machine).
        assert recorded["held"] >= HOLD_S and abs(recorded["length"] - recorded["held"]) < 0.4, \
            recorded
        sent = checks[f"{lang}_sent"]
        assert sent["kind"] == "voice" and sent["state"] == "held", sent
        assert abs(sent["duration_ms"] - recorded["length"] * 1000) <= 60, (sent, recorded)
        assert abs(sent["decoded_ms"] - sent["duration_ms"]) <= 50, sent
        assert sent["rms"] > 300, sent  # the speech the microphone heard, not silence
        tapped = checks[f"{lang}_tapped"]
        assert tapped["recording"] == ["recording", True], tapped
        shortest, longest = tapped["between"]
        assert shortest - 0.2 <= tapped["length"] <= longest + 0.2, tapped
        assert tapped["length"] >= 1.0 and tapped["mode"] == "ready", tapped
        assert tapped["sent"] == 0, tapped  # deleted: nothing left the terminal
        assert checks[f"{lang}_after_logout"] == {"played": 0, "files": 0}
