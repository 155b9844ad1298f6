"""``relais up --demo`` and ``relais console`` as processes, the way ``make run`` and an
operator start them: they print where they listen, serve, and stop cleanly on SIGTERM."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest
import requests

from broker_config.ports import free_port

EXE = [sys.executable, "-m", "hr_console.cli"]


def _start(home: Path, *args: str, mqtt: int, web: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "RELAIS_DEMO_PASSWORD")}
    return subprocess.Popen([*EXE, "--home", str(home), "--mqtt-port", str(mqtt),
                             "--console-port", str(web), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float = 60) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if marker in line:
            return lines
    proc.kill()
    raise AssertionError(f"no {marker!r} in output: {lines}")


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    return out


def test_up_demo_serves_and_shows_the_logins_again_next_time(tmp_path) -> None:  # noqa: ANN001
    home, mqtt, web = tmp_path / "var", free_port(), free_port()
    proc = _start(home, "up", "--demo", mqtt=mqtt, web=web)
    first = _read_until(proc, "Demo terminals:")
    logins = next(x for x in first if x.startswith("Demo console logins"))
    assert f"console: http://127.0.0.1:{web}/" in first
    page = requests.get(f"http://127.0.0.1:{web}/auth/login", timeout=10)
    assert page.status_code == 200 and "csrf_token" in page.text
    assert "stopped" in _stop(proc)
    assert oct((home / "demo-logins.txt").stat().st_mode & 0o777) == "0o600"

    again = _start(home, "up", "--demo", mqtt=mqtt, web=web)
    second = _read_until(again, "Demo terminals:")
    assert logins in second, "the second `make run` must show the same working logins"
    _stop(again)


def test_console_alone_serves_until_sigterm(tmp_path) -> None:  # noqa: ANN001
    home, mqtt, web = tmp_path / "var", free_port(), free_port()
    init = subprocess.run([*EXE, "--home", str(home), "--mqtt-port", str(mqtt), "init"],
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    proc = _start(home, "console", mqtt=mqtt, web=web)
    _read_until(proc, f"console: http://127.0.0.1:{web}/")
    assert requests.get(f"http://127.0.0.1:{web}/auth/login", timeout=10).status_code == 200
    _stop(proc)


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is missing (make test installs it)")
def test_up_demo_with_a_display_opens_kiosks_on_this_runs_ports(tmp_path) -> None:  # noqa: ANN001
    """`make run` on a machine with a screen: the two demo kiosks open, reach the broker on
    the port of this run (not the one recorded when the demo was made), and close with it."""
    home = tmp_path / "var"
    first = _start(home, "up", "--demo", mqtt=free_port(), web=free_port())
    _read_until(first, "Demo terminals:")
    _stop(first)

    mqtt, web = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    wrapper = subprocess.Popen(["xvfb-run", "-a", "-s", "-screen 0 1024x768x24", *EXE, "--home", str(home),
                                "--mqtt-port", str(mqtt), "--console-port", str(web), "up", "--demo"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 180  # two Kivy start-ups on a busy CI machine
        online: set[str] = set()
        while time.monotonic() < deadline and online != {"kiosk-1", "kiosk-2"}:
            time.sleep(1)
            with sqlite3.connect(home / "relais.db") as db:
                online = {n for (n,) in db.execute("SELECT name FROM terminals WHERE online")}
        assert online == {"kiosk-1", "kiosk-2"}, "the kiosk windows did not come online"
        relais = next(p for p in psutil.Process(wrapper.pid).children(recursive=True)
                      if p.cmdline()[-1:] == ["--demo"])
        kiosks = [p for p in relais.children() if "kiosk" in p.cmdline()]
        assert len(kiosks) == 2 and all(str(mqtt) in p.cmdline() for p in kiosks)
        relais.terminate()
        relais.wait(timeout=30)
        gone, alive = psutil.wait_procs(kiosks, timeout=10)
        assert not alive, "kiosk windows outlived `relais up`"
    finally:
        for p in psutil.Process(wrapper.pid).children(recursive=True) if wrapper.poll() is None else []:
            with contextlib.suppress(psutil.NoSuchProcess):  # it may end between the listing and the kill
                p.kill()
        wrapper.wait(timeout=30)


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is missing (make test installs it)")
def test_up_demo_shows_each_event_once_and_keeps_the_detail_in_files(tmp_path) -> None:  # noqa: ANN001
    """`make run` on a machine with a screen, then Ctrl-C: the terminal shows where the parts
    listen, the demo logins, one line per event (a kiosk window open, a terminal connected,
    a message held for HR) and nothing twice, no DEBUG, no traceback; the relay's and each
    kiosk's log are files under the home, named in what it printed, and Kivy's lines are in
    a kiosk's file once (they were printed two or three times: Kivy's handlers and ours)."""
    from sqlalchemy import select

    from hr_console.store.db import Store
    from hr_console.store.models import Employee, Message

    home = tmp_path / "var"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "RELAIS_DEMO_PASSWORD", "RELAIS_LOG")}
    # A group of its own, as a terminal's foreground job: Ctrl-C is SIGINT to all of it.
    wrapper = subprocess.Popen(["xvfb-run", "-a", "-s", "-screen 0 1024x768x24", *EXE, "--home", str(home),
                                "--mqtt-port", str(free_port()), "--console-port", str(free_port()),
                                "up", "--demo"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                               process_group=0)
    lines: list[str] = []
    assert wrapper.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(x.rstrip("\n") for x in wrapper.stdout),
                              daemon=True)
    reader.start()

    def wait_for(*texts: str) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if all(any(t in x for x in list(lines)) for t in texts):
                return
            time.sleep(0.5)
        raise AssertionError(f"no {texts} in output: {lines}")

    try:
        wait_for("kiosk-1: terminal connected", "kiosk-2: terminal connected")
        store = Store(f"sqlite:///{home / 'relais.db'}")
        try:
            with store.session() as s:
                karim, sophie = (s.scalar(select(Employee.id).where(Employee.name == n))
                                 for n in ("Karim Benali", "Sophie Martin"))
                s.add(Message(client_id=str(uuid.uuid4()), sender_id=karim, recipient_id=sophie,
                              kind="text", body="à voir", state="held"))
        finally:
            store.dispose()
        wait_for("(text from Karim Benali) held for HR")
    finally:
        os.killpg(wrapper.pid, signal.SIGINT)
        try:
            wrapper.wait(timeout=60)
        finally:
            if wrapper.poll() is None:
                os.killpg(wrapper.pid, signal.SIGKILL)
        reader.join(timeout=10)
    printed = [x for x in lines if x.strip()]
    assert printed[-1] == "stopped", printed
    assert not [x for x in printed if " DEBUG " in x or "Traceback" in x or "KeyboardInterrupt" in x], \
        "\n".join(printed)
    twice = {x for x in printed if printed.count(x) > 1}
    assert not twice, f"printed more than once: {twice}"
    assert sum("kiosk window open" in x for x in printed) == 2, printed
    logs = [home / "logs" / f for f in ("relais.log", "kiosk-1.log", "kiosk-2.log")]
    for log in logs:
        assert log.exists() and any(str(log) in x for x in printed), (log, printed)
    for log in logs[1:]:
        assert log.read_text(encoding="utf-8").count("Start application main loop") == 1, log
    assert len(printed) <= 20, f"{len(printed)} lines: the terminal should stay readable: {printed}"


def test_a_busy_relay_port_in_the_outgoing_range_says_what_to_do(tmp_path) -> None:  # noqa: ANN001
    """A home made before ``init`` chose its relay port below the kernel's range for outgoing
    connections may hold one inside it: the day a connection holds it, the broker does not
    start, and the IT person reads why and what to change, in their language."""
    import re
    import socket

    from broker_config.ports import ephemeral_range

    home = tmp_path / "var"
    init = subprocess.run([*EXE, "--home", str(home), "--mqtt-port", str(free_port()), "init"],
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    low, high = ephemeral_range()
    toml = home / "relais.toml"
    # The port held as it is in life: the local end of some program's connection.
    with socket.create_server(("127.0.0.1", 0)) as server, \
            socket.create_connection(server.getsockname()) as taken:
        port = taken.getsockname()[1]
        assert low <= port <= high  # the kernel drew it from that range
        text = re.sub(r"(?m)^relay_port = \d+$", f"relay_port = {port}",
                      toml.read_text(encoding="utf-8"))
        assert f"relay_port = {port}" in text
        toml.write_text(text, encoding="utf-8")
        said = {}
        for lang in ("C", "fr"):
            env = {**os.environ, "LANGUAGE": lang}
            done = subprocess.run([*EXE, "--home", str(home), "broker"], env=env,
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode != 0
            said[lang] = done.stderr
    assert "Address already in use" in said["C"]
    assert f"relay_port {port} in relais.toml lies in the range" in said["C"]
    suggested = int(re.search(r"for example (\d+)", said["C"])[1])
    assert not low <= suggested <= high
    assert f"Le relay_port {port} de relais.toml est dans la plage" in said["fr"]
    assert "s'est arrêté avec le code 1 au démarrage" in said["fr"]  # the line, in French,
    assert "Address already in use" in said["fr"]  # then the broker's own log, as it is
    assert "hors de cette plage (par exemple " in said["fr"]
