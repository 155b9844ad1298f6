"""The site's time zone reaches the kiosk's clock: the console's ``timezone`` setting is
handed over at enrolment (tests/kiosk/test_enrol_tls.py) and the idle clock, message times
and "locked until" read it, whatever zone the terminal itself is set to; an unknown zone
falls back to the terminal's."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broker_config.ports import free_port
from kiosk_app import sitetime
from kiosk_app.ui.session import Message

ROOT = Path(__file__).resolve().parents[2]
SITE = "Pacific/Kiritimati"  # UTC+14: never the same wall time as a terminal left on UTC


@pytest.fixture
def terminal_on_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
    sitetime.use(None)


def test_times_are_the_sites_wall_time(terminal_on_utc: None) -> None:
    from kiosk_app.ui.screens.locked import local_time

    assert sitetime.use(SITE) == ZoneInfo(SITE)
    noon_utc = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    assert sitetime.local(noon_utc) == dt.datetime(2026, 12, 4, 2, 0)
    msg = Message(id="m", kind="text", sender=1, recipient=2, ts=noon_utc.timestamp(), mine=True)
    assert msg.when == dt.datetime(2026, 12, 4, 2, 0)
    assert local_time("2026-12-03T12:00:00") == dt.datetime(2026, 12, 4, 2, 0)  # relay: UTC
    before = dt.datetime.now(ZoneInfo(SITE)).replace(tzinfo=None)
    assert before <= sitetime.now() <= dt.datetime.now(ZoneInfo(SITE)).replace(tzinfo=None)


def test_an_unknown_zone_falls_back_to_the_terminals(terminal_on_utc: None,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "relais.kiosk"):
        assert sitetime.use("Mars/Olympus_Mons") is None
    assert "unknown time zone 'Mars/Olympus_Mons'" in caplog.text
    noon_utc = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    assert sitetime.local(noon_utc) == dt.datetime(2026, 12, 3, 12, 0)  # the terminal's: UTC


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is missing")
def test_the_idle_clock_of_the_real_app_shows_the_sites_time(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"terminal": "atelier-nord", "password": "x" * 24,
                                  "mqtt_port": free_port(), "timezone": SITE,
                                  "language": "en"}), encoding="utf-8")
    env = {**os.environ, "TZ": "UTC", "KIVY_NO_ARGS": "1", "KIVY_HOME": str(tmp_path / "kivy"),
           "SDL_AUDIODRIVER": "dummy", "KIVY_NO_CONSOLELOG": "1"}
    site = ZoneInfo(SITE)
    before = dt.datetime.now(site)
    proc = subprocess.run(["xvfb-run", "-a", sys.executable, "-m", "tests.kiosk.clock_probe",
                           str(config)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    after = dt.datetime.now(site)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    seen = json.loads(lines[-1])
    # The probe read the clock between `before` and `after` (a minute may have turned).
    assert seen["clock"] in {before.strftime("%H:%M"), after.strftime("%H:%M")}, seen
    assert seen["today"].split()[1] in {str(before.day), str(after.day)}, seen
