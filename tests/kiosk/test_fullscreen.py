"""``relais kiosk --fullscreen`` fills the screen it is on, also in an X session without a
window manager (a kiosk's usual setup), where SDL's desktop fullscreen alone left an
800x480 window centred and cropped on a 1280x800 screen."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from broker_config.ports import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None or shutil.which("xwininfo") is None,
    reason="xvfb-run and xwininfo are needed (Debian's xvfb, xauth and x11-utils)")


@pytest.mark.parametrize("screen", ["1280x800", "1024x600"])
def test_fullscreen_fills_a_screen_without_window_manager(tmp_path: Path, screen: str) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"terminal": "atelier-nord", "password": "x" * 24,
                                  "mqtt_host": "127.0.0.1", "mqtt_port": free_port(),
                                  "width": 800, "height": 480}), encoding="utf-8")
    env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_HOME": str(tmp_path / "kivy"),
           "SDL_AUDIODRIVER": "dummy", "KIVY_NO_CONSOLELOG": "1"}
    proc = subprocess.run(["xvfb-run", "-a", "-s", f"-screen 0 {screen}x24", sys.executable,
                           "-m", "tests.kiosk.fullscreen_probe", str(config)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    seen = json.loads(lines[-1])
    assert seen["root"] == screen
    assert seen["window"] == {"size": screen, "x": 0, "y": 0}, seen
