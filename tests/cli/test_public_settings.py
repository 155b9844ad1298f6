"""What terminals are told is set apart from where the relay and the console reach the
broker: ``public_mqtt_host`` and ``public_console_url`` (flag, RELAIS_* variable or
relais.toml), while ``mqtt_host`` stays the loopback address the relay connects to."""

from __future__ import annotations

import json

import pytest

from broker_config.ports import free_port
from hr_console import config as config_mod
from tests.cli.test_cli import run


def test_init_keeps_the_public_addresses_and_terminals_are_given_them(tmp_path, db_url) -> None:  # noqa: ANN001
    home = tmp_path / "home"
    result = run(home, "--db-url", db_url, "--mqtt-port", str(free_port()),
                 "--public-mqtt-host", "relais.usine.local",
                 "--public-console-url", "https://relais.usine.local/", "init")
    assert result.exit_code == 0, result.output
    cfg = config_mod.load(home)
    assert (cfg.public_mqtt_host, cfg.public_console_url) == ("relais.usine.local",
                                                              "https://relais.usine.local")
    assert cfg.mqtt_host == "127.0.0.1"  # the relay's own way to the broker is untouched
    assert 'public_mqtt_host = "relais.usine.local"' in cfg.config_path.read_text()

    assert run(home, "site", "add", "usine").exit_code == 0
    added = run(home, "terminal", "add", "atelier-nord", "--site", "usine")
    assert added.exit_code == 0, added.output
    code = json.loads(added.stdout.strip().splitlines()[-1])["enrol_code"]
    assert f"relais kiosk-enrol https://relais.usine.local {code}" in added.stderr
    # A real terminal gets its broker address at enrolment; the demo's kiosks from the home.
    assert run(home, "demo-data", "--password", "secret-pw-1").exit_code == 0
    written = json.loads((home / "kiosks" / "kiosk-1" / "config.json").read_text())
    assert written["api_url"] == "https://relais.usine.local"
    assert written["mqtt_host"] == "relais.usine.local"


def test_without_public_addresses_a_demo_kiosk_config_names_this_machine(tmp_path, db_url) -> None:  # noqa: ANN001
    home = tmp_path / "home"
    port = free_port()
    assert run(home, "--db-url", db_url, "--console-port", str(port), "init").exit_code == 0
    assert run(home, "demo-data", "--password", "secret-pw-1").exit_code == 0
    written = json.loads((home / "kiosks" / "kiosk-1" / "config.json").read_text())
    assert (written["api_url"], written["mqtt_host"]) == (f"http://127.0.0.1:{port}", "127.0.0.1")


def test_the_environment_sets_them_too(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("RELAIS_PUBLIC_MQTT_HOST", "10.0.20.5")
    monkeypatch.setenv("RELAIS_PUBLIC_CONSOLE_URL", "https://10.0.20.5:8443")
    cfg = config_mod.load(tmp_path)
    assert (cfg.public_mqtt_host, cfg.public_console_url) == ("10.0.20.5", "https://10.0.20.5:8443")


def test_a_home_that_set_the_undocumented_key_keeps_it(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "relais.toml").write_text('public_mqtt_host = "relais.usine.local"\n')
    cfg = config_mod.load(tmp_path)
    assert cfg.public_mqtt_host == "relais.usine.local"
    assert "public_mqtt_host" not in cfg.extra
    config_mod.save(cfg)  # written back once, as the setting it now is
    assert (tmp_path / "relais.toml").read_text().count("public_mqtt_host") == 1


@pytest.mark.parametrize("name, value, message", [
    ("public_mqtt_host", "mqtt://relais.usine.local",
     "setting public_mqtt_host is the broker's name or address as terminals reach it"),
    ("public_mqtt_host", "relais.usine.local:8883", "(the port is mqtt_port)"),
    ("public_console_url", "relais.usine.local",
     "setting public_console_url is the console's address as terminals reach it, such as "
     "https://relais.usine.local, not 'relais.usine.local'"),
    ("public_console_url", "ftp://relais.usine.local", "not 'ftp://relais.usine.local'"),
])
def test_a_wrong_public_address_is_one_line_and_writes_nothing(tmp_path, db_url, name, value,  # noqa: ANN001
                                                               message) -> None:
    home = tmp_path / "home"
    flag = "--" + name.replace("_", "-")
    result = run(home, "--db-url", db_url, flag, value, "init")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    assert message in result.output
    assert not (home / "relais.toml").exists()
