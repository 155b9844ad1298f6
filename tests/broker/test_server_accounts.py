"""Server accounts as an attacker holding one of them: each has its own password, and a
relay's account does only what a relay does (read uplinks and presence, write downlinks).

Run against a real home (``relais init`` + demo data) with its broker rendered from the
database and a relay connected, with the passwords the home's relais.toml really holds.
Mosquitto grants any subscription and filters on delivery, so these tests assert what
arrives, behind a "fence" message published after the forbidden ones.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import tomli_w

from broker_config import Account, BrokerProcess, hash_password, render
from hr_console.config import RELAY_INSTANCES
from hr_console.services import broker as broker_service
from relais_wire import topics
from tests.mosquitto_clients import SUB_TIMED_OUT, Sub, pub
from tests.system_fixture import System, make_system


def _logs_in(port: int, username: str, password: str) -> bool:
    return pub(port, username, password, "relais/v1/probe").returncode == 0


def test_no_password_of_the_home_logs_in_as_console_or_bench(system: System) -> None:
    """The console publishes nothing over MQTT, so it has no account; _bench exists only in
    a benchmark's home. Before, the shared relay password opened both, on both listeners."""
    cfg = system.cfg
    assert "_console" not in cfg.server_passwords and "_bench" not in cfg.server_passwords
    for password in cfg.server_passwords.values():
        for port in (cfg.relay_port, cfg.mqtt_port):
            for username in ("_console", "_bench"):
                assert not _logs_in(port, username, password), (username, port)
    # And so _console can neither read uplinks nor write a terminal's downlink.
    console = Sub(cfg.relay_port, "_console", cfg.server_passwords["_relay-1"],
                  topics.SHARED_UPLINKS, count=1, wait=2).start()
    assert console.wait_exit() not in (0, SUB_TIMED_OUT)
    assert "not authori" in "\n".join(console.output).lower()
    assert console.messages == []


def test_each_relay_has_its_own_password(system: System) -> None:
    cfg = system.cfg
    names = [cfg.relay_account(i) for i in range(1, RELAY_INSTANCES + 1)]
    passwords = [cfg.server_passwords[n] for n in names]
    assert len(set(passwords)) == RELAY_INSTANCES
    one = cfg.server_passwords["_relay-1"]
    for other in names[1:]:
        assert not _logs_in(cfg.relay_port, other, one), other
    assert _logs_in(cfg.relay_port, "_relay-2", cfg.server_passwords["_relay-2"])


def test_a_relays_account_cannot_forge_a_terminal_nor_read_downlinks(system: System) -> None:
    """With relay 2's password (on either listener) an attacker publishes a forged uplink and
    presence for kiosk-1, and with relay 4's reads downlinks: nothing of it happens."""
    cfg, terminals = system.cfg, system.demo.terminals
    forger, witness, snooper = "_relay-2", "_relay-3", "_relay-4"
    with (
        Sub(cfg.relay_port, witness, cfg.server_passwords[witness], "#") as seen,
        Sub(cfg.relay_port, snooper, cfg.server_passwords[snooper],
            f"{topics.PREFIX}/t/+/down/#", count=1, wait=2) as snoop,
        Sub(cfg.mqtt_port, "kiosk-2", terminals["kiosk-2"]["password"],
            topics.downlink("kiosk-2")) as kiosk_2,
    ):
        for port in (cfg.relay_port, cfg.mqtt_port):
            for v5 in (True, False):
                pub(port, forger, cfg.server_passwords[forger], topics.uplink("kiosk-1"),
                    '{"v":1,"type":"login","badge":"forged"}', v5=v5)
                pub(port, forger, cfg.server_passwords[forger], topics.status("kiosk-1"),
                    "online", v5=v5, retain=True)
                pub(port, forger, cfg.server_passwords[forger], f"{topics.uplink('kiosk-1')}/x",
                    "below", v5=v5)
        assert pub(cfg.mqtt_port, "kiosk-1", terminals["kiosk-1"]["password"],
                   topics.uplink("kiosk-1"), "fence").returncode == 0
        assert seen.wait_messages(1) == [(topics.uplink("kiosk-1"), "fence")]
        assert seen.messages == [(topics.uplink("kiosk-1"), "fence")]
        # A relay account writes downlinks (kiosk-2 gets this one) but reads none of them.
        assert pub(cfg.relay_port, forger, cfg.server_passwords[forger],
                   topics.downlink("kiosk-2"), "to kiosk-2").returncode == 0
        assert kiosk_2.wait_messages(1) == [(topics.downlink("kiosk-2"), "to kiosk-2")]
        assert snoop.wait_exit() == SUB_TIMED_OUT
        assert snoop.messages == []


def _old_home(system: System) -> str:
    """Turn the home back into one made before this change: one ``relay_password`` shared by
    every server account, rendered with the whole tree open to them, broker running."""
    cfg = system.cfg
    stored = tomllib.loads(cfg.config_path.read_text(encoding="utf-8"))
    del stored["server_passwords"]
    stored["relay_password"] = shared = "the-one-shared-password"
    cfg.config_path.write_bytes(tomli_w.dumps(stored).encode())
    settings = broker_service.broker_settings(cfg)
    everything = (("readwrite", "relais/v1/#"),)
    old = [Account(n, hash_password(shared), everything)
           for n in [cfg.relay_account(i) for i in range(1, RELAY_INSTANCES + 1)]
           + ["_console", "_bench"]]
    with system.store.session() as s:
        render(settings, old, broker_service.terminal_accounts(s))
    return shared


def test_an_old_home_gets_one_password_per_account_when_a_relay_starts(tmp_path: Path,
                                                                       db_url: str) -> None:
    """The broker still runs with the old shared password; `relais relay --instance 2` of
    the new version gives every server account its own, has the running broker reload, and
    connects. The old shared password opens nothing any more."""
    system = make_system(tmp_path, db_url, relay=False)
    try:
        cfg = system.cfg
        shared = _old_home(system)
        assert isinstance(system.broker, BrokerProcess)
        system.broker.stop()
        system.broker.start()
        assert _logs_in(cfg.relay_port, "_console", shared)  # the old, broad world
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELAIS_")}
        relay = subprocess.Popen(
            [sys.executable, "-m", "hr_console.cli", "--home", str(cfg.home), "relay",
             "--instance", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert relay.stdout is not None
            line = relay.stdout.readline()
            assert "relay _relay-2 connected" in line, line or relay.stderr.read()
        finally:
            relay.send_signal(signal.SIGTERM)
            relay.communicate(timeout=30)
        stored = tomllib.loads(cfg.config_path.read_text(encoding="utf-8"))
        assert "relay_password" not in stored
        passwords = stored["server_passwords"]
        assert sorted(passwords) == sorted(cfg.relay_account(i)
                                           for i in range(1, RELAY_INSTANCES + 1))
        assert len(set(passwords.values())) == RELAY_INSTANCES
        # Everything else in relais.toml is as it was.
        assert stored["secret_key"] == cfg.secret_key
        assert stored["badge_pepper"] == cfg.badge_pepper
        for username in ("_relay-1", "_relay-2", "_console", "_bench"):
            assert not _logs_in(cfg.relay_port, username, shared), username
        assert _logs_in(cfg.relay_port, "_relay-1", passwords["_relay-1"])
    finally:
        system.close()
