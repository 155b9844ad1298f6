"""``relais broker``, the process a service manager runs: SIGHUP (``systemctl reload``)
re-renders and reloads without dying, SIGTERM and even SIGKILL leave no Mosquitto behind, a
second one never steals the first's pid file, and starting never makes a TLS listener log an
error. Plus ``reload`` telling a broker that refused its files from one that took them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from broker_config import hash_password, new_password
from broker_config.ports import free_port
from broker_config.render import ReloadError, read_pid, reload
from broker_config.tls import make_local_ca
from hr_console.cli import main
from hr_console.config import Settings, load
from hr_console.services import broker as broker_service
from hr_console.services import demo, directory
from relais_wire import topics
from tests.broker_fixture import start_broker
from tests.mosquitto_clients import pub


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Path:
    h = tmp_path / "home"
    result = CliRunner().invoke(main, ["--home", str(h), "--db-url", db_url, "--mqtt-port",
                                       str(free_port()), "init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["--home", str(h), "demo-data", "--password",
                                       "Demo-password-123"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return h


def _relais(home: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hr_console.cli", "--home", str(home), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


@pytest.fixture
def wrapper(home: Path) -> Iterator[subprocess.Popen[str]]:
    proc = _relais(home, "broker")
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("broker: terminals on"), first + proc.stderr.read()  # type: ignore[union-attr]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        pid = read_pid(broker_service.broker_settings(load(home)))
        if pid is not None:  # an orphan of a failed test: never leave it running
            os.kill(pid, signal.SIGKILL)


def _mosquitto_pid(home: Path) -> int:
    pid = read_pid(broker_service.broker_settings(load(home)))
    assert pid is not None
    return pid


def _gone(pid: int, wait: float = 10.0) -> bool:
    """Whether ``pid`` ended (or is a zombie) within ``wait`` seconds (a bound, not a speed)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _new_terminal_in_the_database_only(cfg: Settings, name: str) -> dict[str, str]:
    """A terminal the broker files do not know yet (no ``broker.apply``)."""
    from hr_console.store.db import Store

    store = Store(cfg.database_url)
    try:
        with store.session() as s:
            _, creds = directory.terminal(s, name, directory.site_by_name(s, demo.SITE_NAME),
                                          actor="test")
            return creds.as_json()
    finally:
        store.dispose()


def _connects(cfg: Settings, creds: dict[str, str]) -> bool:
    name = creds["username"]
    return pub(cfg.mqtt_port, name, creds["password"], topics.uplink(name)).returncode == 0


def test_sighup_reloads_from_the_database_and_sigterm_leaves_no_broker(
        home: Path, wrapper: subprocess.Popen[str]) -> None:
    cfg = load(home)
    mosquitto = _mosquitto_pid(home)
    creds = _new_terminal_in_the_database_only(cfg, "atelier-hup")
    assert not _connects(cfg, creds)

    wrapper.send_signal(signal.SIGHUP)
    assert wrapper.stdout is not None
    assert wrapper.stdout.readline().strip() == "broker: configuration reloaded"
    assert wrapper.poll() is None and _mosquitto_pid(home) == mosquitto
    assert _connects(cfg, creds)

    wrapper.send_signal(signal.SIGTERM)
    assert wrapper.wait(30) == 0
    assert _gone(mosquitto, wait=0)  # stopped and reaped before the wrapper exited


def test_a_killed_wrapper_takes_its_broker_with_it(home: Path, wrapper: subprocess.Popen[str]) -> None:
    mosquitto = _mosquitto_pid(home)
    wrapper.kill()
    wrapper.wait()
    assert _gone(mosquitto)


def test_a_second_broker_is_refused_and_keeps_the_first_ones_pid_file(
        home: Path, wrapper: subprocess.Popen[str]) -> None:
    cfg = load(home)
    mosquitto = _mosquitto_pid(home)
    second = _relais(home, "broker")
    _, err = second.communicate(timeout=60)
    assert second.returncode != 0
    assert err.strip().splitlines() == [
        f"Error: the broker of {cfg.broker_dir} already runs (pid {mosquitto})"]
    assert _mosquitto_pid(home) == mosquitto
    # So add and revoke still reach it: a new terminal is admitted at once.
    added = subprocess.run([sys.executable, "-m", "hr_console.cli", "--home", str(home),
                            "terminal", "add", "atelier-2", "--site", demo.SITE_NAME],
                           capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    assert _connects(cfg, json.loads(added.stdout.strip().splitlines()[-1]))
    assert wrapper.poll() is None


def test_starting_a_tls_broker_logs_no_tls_error(tmp_path: Path) -> None:
    files = make_local_ca(tmp_path / "tls", ["127.0.0.1"])
    terminals = {"t1": new_password()}
    process = start_broker(tmp_path / "broker", terminals, {"_relay": new_password()},
                           tls_cert=files.cert, tls_key=files.key, tls_ca=files.ca_cert)
    try:
        # Ready means every listener is open: a terminal gets in over TLS at once.
        port = process.settings.terminal_port
        assert pub(port, "t1", terminals["t1"], topics.uplink("t1"), cafile=files.ca_cert,
                   ).returncode == 0
    finally:
        process.stop()
    # What came before that terminal (its own going may log a TLS complaint: not ours).
    log = process.settings.log_path.read_text()
    start = log[:log.rindex("\n", 0, log.index(" as t1 "))]
    assert "SSL" not in start and "unexpected eof" not in start.lower(), start


def test_reload_raises_the_brokers_own_error_when_it_drops_the_password_file(
        tmp_path: Path) -> None:
    servers = {"_relay": new_password()}
    process = start_broker(tmp_path / "broker", {"t1": new_password()}, servers)
    settings = process.settings
    try:
        assert reload(settings) is True  # files it can read: taken
        # What an unreadable or half-restored file does: every entry dropped, logins refused.
        settings.passwd_path.write_text("t1:" + hash_password("x", salt=b"s" * 16) + "\n")
        with pytest.raises(ReloadError) as err:
            reload(settings)
        assert "Unable to decode password salt for user t1" in str(err.value)
        assert "\n" not in str(err.value)
        settings.passwd_path.unlink()
        with pytest.raises(ReloadError, match="Unable to open pwfile"):
            reload(settings)
    finally:
        process.stop()


def _spoil_a_broker_entry(home: Path) -> None:
    """kiosk-1's hash made one Mosquitto drops (its salt is not 12 bytes): the broker's next
    reload logs it and goes on without the entry."""
    from sqlalchemy import update

    from hr_console.store.db import Store
    from hr_console.store.models import Terminal

    store = Store(load(home).database_url)
    try:
        with store.session() as s:
            s.execute(update(Terminal).where(Terminal.name == "kiosk-1")
                      .values(password_hash=hash_password("x", salt=b"s" * 16)))
    finally:
        store.dispose()


def test_a_sighup_the_broker_refuses_says_why_and_keeps_it_running(
        home: Path, wrapper: subprocess.Popen[str]) -> None:
    _spoil_a_broker_entry(home)
    mosquitto = _mosquitto_pid(home)
    wrapper.send_signal(signal.SIGHUP)
    assert wrapper.stderr is not None
    line = next(x for x in iter(wrapper.stderr.readline, "") if x.startswith("broker:"))
    assert line.startswith("broker: reload failed: the broker did not take its new files: ")
    assert "kiosk-1" in line
    assert wrapper.poll() is None and _mosquitto_pid(home) == mosquitto


FRENCH = {"LANGUAGE": "", "LC_ALL": "fr_FR.UTF-8", "LC_MESSAGES": "", "LANG": "fr_FR.UTF-8"}
ENGLISH = {"LANGUAGE": "", "LC_ALL": "C", "LC_MESSAGES": "", "LANG": "C"}


def test_a_change_the_running_broker_refuses_is_said_in_french_and_as_ever_in_english(
        home: Path, wrapper: subprocess.Popen[str]) -> None:
    """The IT person enrols a terminal while the broker's files hold an entry Mosquitto drops:
    the command says so in the shell's language, with the broker's own words inside."""
    from sqlalchemy import select

    from hr_console.catalogues import write_all
    from hr_console.store.db import Store
    from hr_console.store.models import Terminal

    write_all()  # the tree's .mo, as `make test` leaves it
    _spoil_a_broker_entry(home)
    log = broker_service.broker_settings(load(home)).log_path
    for env, name, said in ((FRENCH, "kiosk-fr", "Erreur : le broker n'a pas pris ses nouveaux "
                             "fichiers : Unable to decode password salt for user kiosk-1"),
                            (ENGLISH, "kiosk-en", "Error: the broker did not take its new "
                             "files: Unable to decode password salt for user kiosk-1")):
        result = CliRunner().invoke(main, ["--home", str(home), "terminal", "add", name,
                                           "--site", "demo"], env=env,
                                    catch_exceptions=False)
        assert result.exit_code == 1, result.output
        assert result.output.startswith(said), result.output
        assert result.output.rstrip().endswith(str(log)), result.output
    store = Store(load(home).database_url)
    try:
        with store.session() as s:  # refused: nothing enrolled
            assert s.scalars(select(Terminal.name).where(
                Terminal.name.in_(("kiosk-fr", "kiosk-en")))).all() == []
    finally:
        store.dispose()
    assert wrapper.poll() is None
