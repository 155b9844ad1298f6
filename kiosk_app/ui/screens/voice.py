"""Voice message: one big button to hold while speaking (or tap to start, tap again to stop,
for gloves), a level meter and the time while recording, at most a minute; then listen to
it again, send it or throw it away. Nothing leaves the terminal before "Send"; sent, it
goes through the outbox like a photo."""

from __future__ import annotations

import threading
import time
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk_app import voice
from kiosk_app.ui.screens.base import KioskScreen

TAP_S = 0.6  # let go sooner than this: a tap (recording goes on until the next tap)
PREVIEW = "voice-preview"  # the clip player's name for the clip not sent yet
MAX_S = voice.MAX_SAMPLES / voice.RATE


class VoiceScreen(KioskScreen):
    contact_id = NumericProperty(0)
    group_id = NumericProperty(0)
    urgent = BooleanProperty(False)  # asked for in the conversation's compose bar
    contact_name = StringProperty("")
    mode = StringProperty("ready")  # ready | recording | working | preview
    tapped = BooleanProperty(False)  # started by a tap: the next tap stops it
    elapsed = NumericProperty(0.0)  # seconds recorded (recording) or heard again (preview)
    level = NumericProperty(0.0)  # 0..1, the meter
    length = NumericProperty(0.0)  # the clip's seconds
    too_short = BooleanProperty(False)  # the last try was a slip of the finger
    clip = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pressed = 0.0
        self._ticker = None
        self._turn = 0

    def show(self, contact_id: int = 0, group_id: int = 0, urgent: bool = False,
             **_: Any) -> None:
        if (contact_id, group_id) != (self.contact_id, self.group_id):
            self._reset()
        self.contact_id, self.group_id = contact_id, group_id
        self.urgent = bool(urgent and group_id)
        if self.session is not None:
            self.contact_name = (self.session.group_conversation(group_id).group.name if group_id
                                 else self.session.conversation(contact_id).contact.name)

    # --- recording ---------------------------------------------------------------------

    def press(self) -> None:
        if self.mode == "ready" and self.kiosk.microphone is not None:
            self.kiosk.clips.stop()
            self.kiosk.microphone.start()
            self._pressed = time.monotonic()
            self.mode, self.tapped, self.too_short = "recording", False, False
            self.elapsed = self.level = 0.0
            self._ticker = Clock.schedule_interval(self._tick, 0.1)
        elif self.mode == "recording" and self.tapped:
            self.stop()

    def release(self) -> None:
        if self.mode != "recording" or self.tapped:
            return
        if time.monotonic() - self._pressed < TAP_S:
            self.tapped = True  # a tap: go on until the next one
        else:
            self.stop()

    def _tick(self, _dt: float) -> None:
        mic = self.kiosk.microphone
        if self.mode == "recording" and mic is not None:
            self.elapsed, self.level = min(mic.elapsed(), MAX_S), mic.level()
            self.kiosk.watch.touch()  # someone is speaking to the terminal
            if self.elapsed >= MAX_S:
                self.stop()
        elif self.mode == "preview":
            player = self.kiosk.clips
            self.elapsed = player.position if player.msg_id == PREVIEW else 0.0
            player.tick()

    def stop(self) -> None:
        """The recording ends: its clip is made off the UI thread (a minute: ~0.3 s)."""
        mic = self.kiosk.microphone
        if self.mode != "recording" or mic is None:
            return
        pcm = mic.stop()
        self.mode, self.level = "working", 0.0
        turn = self._turn

        def work() -> None:
            clip = voice.make_clip(pcm)
            Clock.schedule_once(lambda _dt: self._made(turn, clip), 0)

        threading.Thread(target=work, name="voice-clip", daemon=True).start()

    def _made(self, turn: int, clip: voice.Clip | None) -> None:
        if turn != self._turn:
            return  # thrown away, or the person left, meanwhile
        if clip is None:
            self.mode, self.too_short = "ready", True
            self._stop_ticker()
            return
        self.clip, self.length, self.elapsed = clip, clip.duration_ms / 1000.0, 0.0
        self.mode = "preview"

    # --- preview ------------------------------------------------------------------------

    def replay(self) -> None:
        if self.clip is not None:
            self.kiosk.clips.toggle(PREVIEW, self.clip.ogg, self.length)

    def send(self) -> None:
        if self.clip is None:
            return
        self.kiosk.send_voice(self.contact_id, self.clip, group=self.group_id,
                              urgent=self.urgent)
        self.urgent = False
        self._reset()
        self.back()

    def discard(self) -> None:
        self._reset()

    def back(self) -> None:
        if self.mode != "preview":  # leaving mid-recording throws it away
            self._reset()
        self.nav.go("conversation", contact_id=self.contact_id, group_id=self.group_id,
                    urgent=self.urgent)

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def _reset(self) -> None:
        self._turn += 1
        if self.mode == "recording" and self.kiosk and self.kiosk.microphone is not None:
            self.kiosk.microphone.stop()
        if self.kiosk and self.kiosk.clips.msg_id == PREVIEW:
            self.kiosk.clips.stop()
        self._stop_ticker()
        self.clip = None
        self.mode, self.tapped, self.too_short = "ready", False, False
        self.elapsed = self.level = self.length = 0.0

    def clear(self) -> None:
        self._reset()
        self.contact_id = self.group_id = 0
        self.urgent = False
        self.contact_name = ""
