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


def test_decoded_sound_a_crashed_run_left_is_deleted_at_start_and_only_this_terminals(
        tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """A kiosk killed while a colleague's voice message played left it decoded in a WAV
    file (and a text read aloud in another): the next start of that terminal deletes them,
    and leaves alone those of another kiosk of the same machine, even one whose name starts
    with this one's, and those of a second kiosk of the same name still running."""
    import os
    import tempfile
    import time

    from kiosk_app.ui.sound import LIVE, ReadAloud

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    running = ClipPlayer(enabled=False, terminal="kiosk-7")  # holds its folder's lock
    live = running._dir
    (live / "clip-1.wav").write_bytes(b"RIFF playing now")
    left = {name: tmp_path / name for name in (
        "relais-voice-kiosk-7-abcd1234", "relais-read-aloud-kiosk-7-zz_9y8x7",
        "relais-voice-kiosk-7-a-abcd1234", "relais-voice-kiosk-8-abcd1234")}
    hour_ago = time.time() - 3600
    for path in left.values():
        path.mkdir()
        (path / "clip-3.wav").write_bytes(b"RIFF a colleague's voice")
        (path / LIVE).touch()  # its kiosk died: nobody holds the lock
        os.utime(path, (hour_ago, hour_ago))
    player = ClipPlayer(enabled=False, terminal="kiosk-7")
    reader = ReadAloud(enabled=False, terminal="kiosk-7")
    assert not left["relais-voice-kiosk-7-abcd1234"].exists()
    assert not left["relais-read-aloud-kiosk-7-zz_9y8x7"].exists()
    assert (left["relais-voice-kiosk-7-a-abcd1234"] / "clip-3.wav").exists()
    assert (left["relais-voice-kiosk-8-abcd1234"] / "clip-3.wav").exists()
    assert (live / "clip-1.wav").exists()  # in use by the other instance
    made = {p for p in tmp_path.iterdir() if p not in left.values() and p != live}
    assert made == {player._dir, reader._dir}
    assert all(p.stat().st_mode & 0o077 == 0 for p in made)  # private
    for each in (player, reader, running):
        each.close()
    assert {p.name for p in tmp_path.iterdir()} == {"relais-voice-kiosk-7-a-abcd1234",
                                                     "relais-voice-kiosk-8-abcd1234"}
