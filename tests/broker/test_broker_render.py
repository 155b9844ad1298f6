"""The rendered files, the settings' validation and the broker process lifecycle."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from broker_config import (
    RELAY_GRANTS,
    Account,
    BrokerProcess,
    BrokerSettings,
    free_port,
    hash_password,
    new_password,
    reload,
    render,
)
from broker_config.render import render_acl
from tests.broker_fixture import RunningBroker, start_broker
from tests.mosquitto_clients import Sub, pub


def _settings(directory: Path, **options: object) -> BrokerSettings:
    return BrokerSettings(directory, free_port(), free_port(), **options)  # type: ignore[arg-type]


def _conf_lines(settings: BrokerSettings) -> list[str]:
    return [
        line.strip()
        for line in settings.conf_path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


RELAY = Account("_relay", hash_password("r"))
T1 = Account("t1", hash_password("1"))
T2 = Account("t2", hash_password("2"))


def test_render_writes_conf_passwd_and_acl(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home" / "broker")
    render(settings, [RELAY], [T1, T2])

    assert settings.directory.is_dir()
    for path in (settings.conf_path, settings.passwd_path, settings.acl_path):
        assert path.parent == settings.directory
        assert path.is_file()
    assert stat.S_IMODE(settings.passwd_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.acl_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.conf_path.stat().st_mode) == 0o600
    # The subscription check next to them, and named by the conf.
    assert stat.S_IMODE(settings.plugin_path.stat().st_mode) == 0o600
    assert f"plugin {settings.plugin_path}" in settings.conf_path.read_text().splitlines()
    # Nothing half-written left behind.
    assert sorted(p.name for p in settings.directory.iterdir()) == \
        ["acl", "mosquitto.conf", "passwd", "relais_subscribe.so"]

    assert settings.passwd_path.read_text().splitlines() == [
        f"_relay:{RELAY.password_hash}",
        f"t1:{T1.password_hash}",
        f"t2:{T2.password_hash}",
    ]


def test_conf_has_the_options_relais_relies_on(tmp_path: Path) -> None:
    settings = _settings(tmp_path, run_as_user="nobody")
    render(settings, [RELAY], [T1])
    text = settings.conf_path.read_text()
    lines = _conf_lines(settings)

    assert "per_listener_settings" not in text
    for expected in [
        "allow_anonymous false",
        f"password_file {settings.passwd_path}",
        f"acl_file {settings.acl_path}",
        f"pid_file {settings.pid_path}",
        "user nobody",
        "persistence true",
        "autosave_on_changes false",
        "max_packet_size 1048576",
        "set_tcp_nodelay true",
        "persistent_client_expiration 14d",
        f"log_dest file {settings.log_path}",
    ]:
        assert expected in lines, expected
    assert lines.count("password_file " + str(settings.passwd_path)) == 1
    assert lines.count("acl_file " + str(settings.acl_path)) == 1
    assert int(next(x for x in lines if x.startswith("max_queued_messages ")).split()[1]) >= 100_000
    assert int(next(x for x in lines if x.startswith("memory_limit ")).split()[1]) > 0
    # No one client may queue the broker's whole memory (tests/broker/test_broker_queue.py).
    per_client = int(next(x for x in lines if x.startswith("max_queued_bytes ")).split()[1])
    memory = int(next(x for x in lines if x.startswith("memory_limit ")).split()[1])
    assert 0 < per_client <= memory // 8

    # Both listeners, each with use_username_as_clientid (a listener option in 2.0).
    relay_at = lines.index(f"listener {settings.relay_port} 127.0.0.1")
    terminal_at = lines.index(f"listener {settings.terminal_port} 127.0.0.1")
    assert lines[relay_at + 1] == "use_username_as_clientid true"
    assert lines[terminal_at + 1] == "use_username_as_clientid true"
    assert lines.count("use_username_as_clientid true") == 2
    assert not any(x.startswith(("certfile", "keyfile", "cafile")) for x in lines)


def test_conf_defaults_user_to_the_invoking_user(tmp_path: Path) -> None:
    import pwd

    settings = _settings(tmp_path)
    render(settings, [], [])
    assert f"user {pwd.getpwuid(os.geteuid()).pw_name}" in _conf_lines(settings)


def test_acl_is_keyed_on_username_and_nothing_else(tmp_path: Path) -> None:
    relay = Account("_relay-1", hash_password("r"), RELAY_GRANTS)
    acl = render_acl([relay, Account("_idle", hash_password("c"))])
    lines = [x for x in acl.splitlines() if x and not x.startswith("#")]
    assert lines == [
        "pattern write relais/v1/t/%u/up",
        "pattern readwrite relais/v1/t/%u/status",
        "pattern read relais/v1/t/%u/down/#",
        # A relay reads uplinks and presence and writes downlinks: it cannot forge a terminal.
        "user _relay-1",
        "topic read relais/v1/t/+/up",
        "topic read relais/v1/t/+/status",
        "topic write relais/v1/t/+/down/#",
        # No grants, no topics: nothing is readwrite on the whole tree any more.
        "user _idle",
    ]
    assert "%c" not in acl
    assert "relais/v1/#" not in acl


@pytest.mark.parametrize(
    "grants",
    [
        (("readwrite ", "relais/v1/#"),),  # not an access word
        (("read", "relais/v1/t/+/up\ntopic readwrite #"),),  # would inject an ACL line
        (("read", "relais/v1 #"),),
        (("read", ""),),
    ],
)
def test_a_grant_that_would_bend_the_acl_is_refused(tmp_path: Path, grants: tuple) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(ValueError):
        render(settings, [Account("_relay-1", hash_password("r"), grants)], [])
    assert not settings.acl_path.exists()


def test_terminals_take_no_grants(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no grants"):
        render(_settings(tmp_path), [], [Account("t1", hash_password("1"), (("read", "#"),))])


def test_rendering_again_replaces_the_files(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    render(settings, [RELAY], [T1, T2])
    render(settings, [RELAY], [T1])
    assert "t2:" not in settings.passwd_path.read_text()
    assert stat.S_IMODE(settings.passwd_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ["acl", "mosquitto.conf", "passwd", "relais_subscribe.so"]


@pytest.mark.parametrize(
    ("servers", "terminals"),
    [
        ([Account("relay", hash_password("x"))], []),  # server accounts start with "_"
        ([], [Account("_t1", hash_password("x"))]),  # terminals never do
        ([], [Account("T1", hash_password("x"))]),
        ([], [Account("t1/#", hash_password("x"))]),
        ([], [Account("t1\nuser _relay", hash_password("x"))]),
        ([Account("_relay\ntopic readwrite #", hash_password("x"))], []),
        ([], [Account("t1", "plaintext")]),
        ([], [Account("t1", hash_password("x") + "\nt2:" + hash_password("y"))]),
        ([], [T1, Account("t1", hash_password("y"))]),
    ],
)
def test_bad_accounts_are_refused_and_change_nothing(
    tmp_path: Path, servers: list[Account], terminals: list[Account]
) -> None:
    settings = _settings(tmp_path)
    render(settings, [RELAY], [T1])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(ValueError):
        render(settings, servers, terminals)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(ValueError):
        BrokerSettings(tmp_path, port, port)
    with pytest.raises(ValueError):
        BrokerSettings(tmp_path, 0, port)
    with pytest.raises(ValueError):
        BrokerSettings(tmp_path, port, port + 1, tls_cert=tmp_path / "c.pem")
    with pytest.raises(ValueError):
        BrokerSettings(tmp_path, port, port + 1, tls_ca=tmp_path / "ca.pem")
    with pytest.raises(ValueError):
        BrokerSettings(tmp_path, port, port + 1, terminal_bind="0.0.0.0\nlistener 1883")
    with pytest.raises(ValueError):
        BrokerSettings(tmp_path, port, port + 1, run_as_user="root\nlistener 1883")
    with pytest.raises(ValueError):
        render(BrokerSettings(tmp_path / "a\nb", port, port + 1), [], [])


def test_paths_are_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = BrokerSettings(Path("rel"), free_port(), free_port())
    assert settings.directory == tmp_path / "rel"
    assert settings.conf_path == tmp_path / "rel" / "mosquitto.conf"


def test_the_rendered_broker_runs_and_stops(broker: RunningBroker) -> None:
    process = broker.process
    assert process.running
    assert process.pid is not None
    assert int(broker.settings.pid_path.read_text()) == process.pid
    log = broker.settings.log_path.read_text()
    assert "mosquitto version 2.0" in log
    assert "port 1883." not in log  # no implicit default listener (a system broker has it)
    process.stop()
    assert not process.running
    assert process.pid is None
    assert reload(broker.settings) is False  # nobody to signal
    process.start()  # restartable on the same ports
    assert process.running
    assert reload(broker.settings) is True


def test_kill_leaves_a_stale_pid_file_that_reload_ignores(broker: RunningBroker) -> None:
    broker.process.kill()
    assert not broker.process.running
    assert broker.settings.pid_path.exists()  # SIGKILL: no cleanup
    assert reload(broker.settings) is False


def test_reload_without_pid_file(tmp_path: Path) -> None:
    assert reload(_settings(tmp_path)) is False


def test_start_failure_reports_the_broker_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = BrokerSettings(tmp_path, taken.getsockname()[1], free_port())
        render(settings, [RELAY], [T1])
        process = BrokerProcess(settings)
        with pytest.raises(RuntimeError, match="Address already in use"):
            process.start(timeout=10)
        assert not process.running


def test_start_without_rendered_conf_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="render"):
        BrokerProcess(_settings(tmp_path)).start()


def test_context_manager_stops_the_broker(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    render(settings, [], [T1])
    with BrokerProcess(settings) as process:
        assert process.running
        assert pub(settings.terminal_port, "t1", "1", "relais/v1/t/t1/up").returncode == 0
    assert not process.running


def _make_cert(directory: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 that is its own CA (test only)."""
    cert, key = directory / "server.pem", directory / "server.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=relais test",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-addext", "basicConstraints=critical,CA:TRUE",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI missing")
def test_terminal_listener_speaks_tls_when_configured(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    cert = _make_cert(certs)
    terminals, servers = {"t1": new_password()}, {"_relay": new_password()}
    process = start_broker(
        tmp_path / "broker", terminals, servers,
        tls_cert=cert, tls_key=certs / "server.key", tls_ca=cert,
    )
    try:
        settings = process.settings
        lines = _conf_lines(settings)
        assert f"certfile {cert}" in lines and f"cafile {cert}" in lines
        t_port, r_port = settings.terminal_port, settings.relay_port
        with Sub(t_port, "t1", terminals["t1"], "relais/v1/t/t1/down", cafile=cert) as t1:
            # The relay stays on plain loopback.
            assert pub(r_port, "_relay", servers["_relay"], "relais/v1/t/t1/down", "hi").returncode == 0
            assert t1.wait_messages(1) == [("relais/v1/t/t1/down", "hi")]
        # Plain MQTT on the terminal listener does not get through.
        assert pub(t_port, "t1", terminals["t1"], "relais/v1/t/t1/up").returncode != 0
    finally:
        process.stop()


def _nobody_exists() -> bool:
    import pwd

    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return False
    return True


@pytest.mark.skipif(os.geteuid() != 0 or not _nobody_exists(), reason="needs root and 'nobody'")
def test_as_root_the_broker_runs_as_run_as_user_and_still_reloads() -> None:
    """Decision 5: started by root, Mosquitto drops privileges; its home must be its own."""
    import pwd

    # tmp_path's parents are private to root: the dropped broker could not even reach it.
    base = Path(tempfile.mkdtemp(prefix="relais-broker-"))
    try:
        base.chmod(0o755)
        settings = BrokerSettings(base / "broker", free_port(), free_port(), run_as_user="nobody")
        render(settings, [RELAY], [Account("t1", hash_password("old"))])
        with BrokerProcess(settings) as process:
            assert process.pid is not None
            owner = Path(f"/proc/{process.pid}").stat().st_uid
            assert owner == pwd.getpwnam("nobody").pw_uid
            assert pub(settings.terminal_port, "t1", "old", "relais/v1/t/t1/up").returncode == 0
            render(settings, [RELAY], [Account("t1", hash_password("new"))])
            assert reload(settings)
            assert pub(settings.terminal_port, "t1", "old", "relais/v1/t/t1/up").returncode != 0
            assert pub(settings.terminal_port, "t1", "new", "relais/v1/t/t1/up").returncode == 0
    finally:
        shutil.rmtree(base, ignore_errors=True)
