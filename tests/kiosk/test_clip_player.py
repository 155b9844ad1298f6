"""The kiosk's voice-message player keeps its place: pause holds the clip where it was (what
read-aloud does before it speaks, so that two voices never overlap), and taking it up again
goes on from there."""

from __future__ import annotations

import time

from kiosk_app.ui.sound import ClipPlayer


def test_pause_holds_a_playing_clip_where_it_was() -> None:
    player = ClipPlayer(enabled=False)  # no sound card needed: the clock keeps the place
    player.pause()
    assert player.msg_id is None and not player.paused  # nothing playing: nothing to hold
    player.toggle("m1", b"not a clip", 5.0)
    time.sleep(0.3)
    player.pause()
    held = player.position
    assert player.paused and not player.playing and 0.2 < held < 1.0
    time.sleep(0.2)
    player.pause()  # a second Listen changes nothing
    assert player.paused and player.position == held
    player.toggle("m1", b"not a clip", 5.0)  # Play again: on from where it was
    assert player.playing and player.position >= held
    player.stop()
    assert player.msg_id is None
