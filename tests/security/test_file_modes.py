"""Another local account reads nothing of a home: not the database (messages, photos, PIN
hashes), its -wal/-shm, the broker's files and log, the kiosks' configurations.

Each command runs as a process under umask 022, the usual default that made every file
0644 in a 0755 home, and the test walks the home afterwards.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from broker_config.ports import free_port
from tests.cli.test_up import _read_until, _stop

EXE = [sys.executable, "-m", "hr_console.cli"]


def _loose_umask() -> None:
    os.umask(0o022)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith("RELAIS_") and k != "DISPLAY"}


def _run(home: Path, *args: str) -> None:
    done = subprocess.run([*EXE, "--home", str(home), *args], capture_output=True, text=True,
                          timeout=120, env=_env(), preexec_fn=_loose_umask)
    assert done.returncode == 0, done.stderr


def _start(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*EXE, "--home", str(home), "--mqtt-port", str(free_port()),
         "--console-port", str(free_port()), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(),
        preexec_fn=_loose_umask)


def _readable_by_others(home: Path) -> list[str]:
    """Every path under ``home`` (and itself) with a group or other permission bit."""
    paths = [home, *home.rglob("*")]
    return [f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p}" for p in paths
            if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & 0o077]


def test_init_makes_a_private_home_whatever_the_umask(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _run(home, "--mqtt-port", str(free_port()), "init")
    _run(home, "demo-data", "--password", "demo-password-1")
    for name in ("relais.db", "relais.toml", "broker/passwd", "broker/acl",
                 "broker/mosquitto.conf", "kiosks/kiosk-1/config.json"):
        assert (home / name).exists(), name
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert _readable_by_others(home) == []


def test_a_running_demo_home_is_private(tmp_path: Path) -> None:
    """`relais up --demo` makes the home and runs broker, relay and console: the database's
    -wal/-shm, the broker's log, pid and output files exist while it runs."""
    home = tmp_path / "home"
    proc = _start(home, "up", "--demo")
    try:
        _read_until(proc, "Demo terminals:")
        for name in ("relais.db-wal", "relais.db-shm", "broker/mosquitto.log",
                     "broker/mosquitto.pid", "broker/mosquitto.out"):
            assert (home / name).exists(), name
        assert _readable_by_others(home) == []
    finally:
        _stop(proc)
    assert _readable_by_others(home) == []  # and the broker's persistence file saved at stop
    assert (home / "broker" / "mosquitto.db").exists()


def test_an_existing_open_home_is_made_private_at_its_next_start(tmp_path: Path) -> None:
    """A home made by an earlier version (0644 files in 0755 directories) is fixed when the
    broker (or relay, console, up, init) starts next."""
    home = tmp_path / "home"
    _run(home, "--mqtt-port", str(free_port()), "init")
    for path in [home, *home.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert len(_readable_by_others(home)) > 5
    proc = _start(home, "broker")
    try:
        _read_until(proc, "broker: terminals on")
        assert _readable_by_others(home) == []
    finally:
        _stop(proc)
