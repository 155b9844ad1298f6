"""The real kiosk App under Xvfb, against a real Mosquitto and relay, walked by real touches
(tests/kiosk/ui_walk.py). One process per window size: Kivy opens one window per process.

``make test`` walks French and offline at 800x480 and English at 1280x800 (about three
minutes on a quiet two-core machine); ``make test-long`` walks everything at both sizes and
writes the screenshots to build/screenshots/kiosk/ (``make screenshots`` copies them to docs/).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.build_output import SCREENSHOTS
from tests.kiosk.group_walk import SHOTS as GROUP_SHOTS
from tests.kiosk.group_walk import check_groups

ROOT = Path(__file__).resolve().parents[2]
SHOTS = SCREENSHOTS / "kiosk"

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None,
    reason="xvfb-run is missing: install Debian's xvfb and xauth (`make test` does it)")


class Walk:
    """One ui_walk process in its own X server, started at once and awaited later, so that
    the two window sizes walk side by side (most of a walk is waiting for the network)."""

    def __init__(self, tmp: Path, size: str, walks: str, shots: Path | None = None) -> None:
        self.size, self.out = size, tmp / f"walk-{size}.json"
        cmd = ["xvfb-run", "-a", "-s", f"-screen 0 {size}x24", sys.executable, "-m",
               "tests.kiosk.ui_walk", "--size", size, "--walks", walks, "--result", str(self.out)]
        if shots is not None:
            cmd += ["--shots", str(shots)]
        env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_HOME": str(tmp / f"kivy-{size}"),
               "SDL_AUDIODRIVER": "dummy", "KIVY_NO_CONSOLELOG": "1"}
        self.log = tmp / f"walk-{size}.log"
        with self.log.open("wb") as fh:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh,
                                         stderr=subprocess.STDOUT)

    def result(self, timeout: float = 900) -> dict[str, Any]:
        """The walk's JSON result; fails with the end of its log when it did not pass."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = "timeout"
        log = self.log.read_text(encoding="utf-8", errors="replace")[-6000:]
        assert self.out.exists(), f"the walk at {self.size} wrote no result ({code}):\n{log}"
        result = json.loads(self.out.read_text(encoding="utf-8"))
        steps = "\n".join(f"{s['t']:7.1f}s {s['step']}" for s in result.get("steps", [])[-8:])
        assert result.get("ok"), (f"walk at {self.size} failed on screen {result.get('screen')}:"
                                  f"\n{str(result.get('error'))[-1500:]}\nlast steps:\n{steps}"
                                  f"\nrelay and link:\n{json.dumps(result.get('diagnosis'), indent=1)}"
                                  f"\nthe walk's log, its end:\n{log[-2500:]}")
        return result

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def walks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Walk]]:
    tmp = tmp_path_factory.mktemp("ui")
    started = {"800x480": Walk(tmp, "800x480", "fr,offline"),
               "1280x800": Walk(tmp, "1280x800", "en")}
    yield started
    for walk in started.values():
        walk.stop()


@pytest.fixture(scope="module")
def walked_800(walks: dict[str, Walk]) -> dict[str, Any]:
    return walks["800x480"].result()


@pytest.fixture(scope="module")
def walked_1280(walks: dict[str, Walk]) -> dict[str, Any]:
    return walks["1280x800"].result()


# --- what each walk must have shown and done ---------------------------------------------------


def check_fr(c: dict[str, Any]) -> None:
    assert "badge" in c["unknown_badge_message"]
    assert c["pin_failures_to_lock"] >= 2 and c["locked_until"]
    assert "Trop de tentatives sur ce terminal. Réessayez dans" in c["wait_message"]
    assert 30 <= int(c["wait_message"].split("dans ")[1].split(" ")[0]) <= 40
    assert c["name_on_top_bar"] == "Sophie Martin"
    assert c["home_unread"] == c["home_row_unread"] == 3
    # Allowed contacts only: her team and the HR desk, not the other team.
    assert c["contacts"] == ["Claire Dubois (RH)", "Julie Moreau", "Karim Benali"]
    assert c["quick_reply_text_received"] == c["quick_replies"][0]
    assert c["keyboard_first_row"] == "azerty"
    assert c["typed"] == "Merci çà" and "Merci çà" in c["karim_texts"]
    assert "ne peut pas être envoyée" in c["photo_error"]
    assert 0 < c["photo_sent_bytes"] <= 250_000
    assert 0 < c["photo_received_bytes"] <= 250_000 and c["photo_received_jpeg"] is True
    assert c["drawing_strokes"] == 3 and c["drawing_received_equal"] is True
    assert c["notice_acknowledged"] is True
    assert c["warning_after_s"] < c["auto_logout_after_s"]
    assert c["idle_message_after_auto_logout"] == "inactivity"
    assert c["leaks_after_auto_logout"] == [] and c["link_sid_after_logout"] is None
    assert c["same_badge_logs_out"] is True and c["terminer_logs_out"] is True
    assert "urgent" in c["sounds"] and "message" in c["sounds"]
    assert set(c["db_sophie_states"]) <= {"delivered", "read"}
    assert c["keyword_state"] == "En attente des RH"
    assert c["keyword_refused"] == "Refusé par les RH : Parlez-en à votre responsable."
    assert c["keyword_in_db"] == "rejected" and c["keyword_not_at_karim"] is True


def check_offline(c: dict[str, Any]) -> None:
    assert c["offline_outbox_states"] == ["outbox"] * 4
    assert c["offline_outbox_kinds"] == ["drawing", "photo", "text", "text"]
    assert c["offline_outbox_count"] >= 4
    assert c["offline_delivered"] == 4 and c["offline_ack_arrived"] is True
    assert set(c["offline_db_states"]) <= {"delivered", "read"}
    assert c["outbox_after_logout_offline"] >= 1  # typed, then logged out, still offline
    assert c["late_message_arrived"] is True
    assert c["duplicates_at_karim"] == 0


def check_en(c: dict[str, Any]) -> None:
    assert c["en_locked_until"]
    assert c["en_language_after_badge"] == "en" and c["en_name_on_top_bar"] == "Amina Diallo"
    assert c["en_keyboard_first_row"] == "qwerty"
    assert c["en_quick_reply_text"] == c["en_quick_reply_received"] == "OK, got it"
    assert c["en_state_held"] == "Waiting for HR"
    assert c["en_state_rejected"] == "Refused by HR: Please ask your team lead in person."
    assert c["en_rejected_in_db"] == "rejected"
    assert c["en_retracted_gone"] is True
    assert c["en_photo_error"].startswith("This photo cannot be sent.")
    assert c["en_media_received"] == ["drawing", "photo"]
    assert c["en_contacts"] == ["Claire Dubois (RH)", "Lucas Bernard", "Thomas Petit"]
    assert c["en_notice_acknowledged"] is True
    assert c["en_offline_state"] == "outbox" and c["en_offline_received"] == "On my way"
    assert c["en_leaks_after_auto_logout"] == [] and c["en_duplicates_at_thomas"] == 0


def check_screens(result: dict[str, Any]) -> None:
    """Every screen the walk looked at: no target under 48 dp, no word of the interface
    cut short (names and messages may be; they are not in the catalogue)."""
    small = {k: v for k, v in result.get("small_targets", {}).items() if v}
    assert small == {}
    from tests.kiosk.i18n_extract import msgids

    words = msgids() | {_t(m) for m in msgids()}
    cut = {k: [t for t in v if t in words] for k, v in result.get("cut_texts", {}).items()}
    assert {k: v for k, v in cut.items() if v} == {}


WALK_SIZES = ("800x480", "1280x800")


def walk_both_sizes(tmp: Path, walk: str, timeout: float, shots: Path | None = None,
                    mine: str = "kiosk-*.png") -> Iterator[dict[str, tuple[Any, Path]]]:
    """A feature's walk at both window sizes side by side (a module fixture's body): each
    size's result and the folder its screenshots went to (``shots``: a build folder, emptied
    of the walk's earlier shots first, so none passes for one it made; ``mine`` names them
    when the folder is shared with other walks, e.g. ``kiosk-*-charter-*.png``)."""
    if shots is None:
        shots = tmp / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob(mine):
        old.unlink()
    started = {size: Walk(tmp, size, walk, shots=shots) for size in WALK_SIZES}
    try:
        yield {size: (w.result(timeout=timeout), shots) for size, w in started.items()}
    finally:
        for w in started.values():
            w.stop()


def check_shots(size: str, result: dict[str, Any], shots: Path, names: Any, word: str,
                shared: bool = False) -> None:
    """The screens are sound (``check_screens``) and the walk made exactly its screenshots,
    in both languages, each named with ``word`` (``shared``: the folder holds other walks'
    shots too, so only ``kiosk-SIZE-LANG-word-*`` ones are this walk's)."""
    check_screens(result)  # every target >= 48 dp, no word of the interface cut short
    made = sorted(p.name for p in shots.glob(
        f"kiosk-{size}-*-{word}-*.png" if shared else f"kiosk-{size}-*.png"))
    assert made == sorted(result["shots"])
    assert made == sorted(f"kiosk-{size}-{lang}-{name}.png" for lang in ("fr", "en")
                          for name in names)
    assert all(word in name for name in made)


def _t(msgid: str) -> str:
    from babel.messages.pofile import read_po

    global _FR
    if not _FR:
        path = ROOT / "kiosk_app/ui/locales/fr/LC_MESSAGES/kiosk.po"
        with path.open("rb") as fh:
            _FR.update({m.id: m.string for m in read_po(fh) if isinstance(m.id, str)})
    return _FR.get(msgid, msgid)


_FR: dict[str, str] = {}


# --- make test ----------------------------------------------------------------------------------


def test_walk_french_800x480(walked_800: dict[str, Any]) -> None:
    check_fr(walked_800["checks"])


def test_walk_offline_then_reconnected_800x480(walked_800: dict[str, Any]) -> None:
    check_offline(walked_800["checks"])


def test_taps_from_badge_to_sent_quick_reply(walked_800: dict[str, Any]) -> None:
    """Badge, "J'ai lu" on the urgent notice, the conversation, the quick reply: the badge is
    not a tap, so at most three touches on the glass, and the reply reached the colleague."""
    c = walked_800["checks"]
    assert 1 <= c["taps_badge_to_quick_reply"] <= 3
    assert c["quick_reply_text_received"] == "OK, bien reçu"


def test_walk_english_1280x800(walked_1280: dict[str, Any]) -> None:
    check_en(walked_1280["checks"])


def test_screens_big_targets_and_whole_words(walked_800: dict[str, Any],
                                             walked_1280: dict[str, Any]) -> None:
    check_screens(walked_800)
    check_screens(walked_1280)


# --- make test-long: everything at both sizes, and the screenshots --------------------------


@pytest.mark.long
@pytest.mark.parametrize("size", ["800x480", "1280x800"])
def test_full_walk_with_screenshots(size: str, tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    walk = Walk(tmp_path, size, "fr,offline,en,groups", shots=shots)
    try:
        result = walk.result(timeout=1800)
    finally:
        walk.stop()
    c = result["checks"]
    check_fr(c)
    check_offline(c)
    check_en(c)
    check_groups(c)
    check_screens(result)
    made = sorted(p.name for p in shots.glob(f"kiosk-{size}-*.png"))
    assert made == sorted(result["shots"])
    # Only a walk that passed replaces the screenshots (in build/, for `make screenshots`).
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob(f"kiosk-{size}-*.png"):
        old.unlink()
    for name in made:
        shutil.copyfile(shots / name, SHOTS / name)
    write_index()
    for lang in ("fr", "en"):
        for screen in ("idle", "pin", "pin-error", "locked", "urgent", "home", "conversation",
                       "conversation-held", "conversation-refused", "viewer",
                       "compose", "photos", "photo-error", "photo-preview", "drawing",
                       "contacts", "notices", "notice", "logout-warning", "offline",
                       "conversation-offline", *GROUP_SHOTS):
            assert f"kiosk-{size}-{lang}-{screen}.png" in made


def write_index(folder: Path = SHOTS) -> None:
    """README.md beside the kiosk screenshots: every screen, French beside English, per size
    (``make screenshots-kiosk`` writes it again in docs/ once every walk's shots are in)."""
    names = sorted(p.name for p in folder.glob("kiosk-*.png"))
    lines = ["# Kiosk screenshots", "",
             "Written by `make screenshots` (tests/kiosk/test_ui_walk.py), which walks the real "
             "app under Xvfb against a real broker and relay. French on the left, English on "
             "the right.", ""]
    for size in ("800x480", "1280x800"):
        screens: list[str] = []
        for name in names:
            parts = name.removeprefix(f"kiosk-{size}-")
            if parts != name and parts[:3] in ("fr-", "en-"):
                screen = parts[3:].removesuffix(".png")
                if screen not in screens:
                    screens.append(screen)
        if not screens:
            continue
        lines += [f"## {size.replace('x', '×')}", "", "| screen | français | English |",
                  "|---|---|---|"]
        for screen in screens:
            cells = []
            for lang in ("fr", "en"):
                file = f"kiosk-{size}-{lang}-{screen}.png"
                cells.append(f"![{screen} ({lang})]({file})" if file in names else "")
            lines.append(f"| {screen} | {cells[0]} | {cells[1]} |")
        lines.append("")
    (folder / "README.md").write_text("\n".join(lines), encoding="utf-8")
