"""The `relais` command as an operator uses it: clear errors, non-zero exits, JSON once."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from broker_config.passwords import verify_password
from broker_config.ports import free_port
from hr_console.cli import main
from hr_console.config import load


def run(home, *args, input=None):  # noqa: ANN001, ANN201, A002
    return CliRunner().invoke(main, ["--home", str(home), *args], input=input,
                              catch_exceptions=False)


@pytest.fixture
def home(tmp_path, db_url):  # noqa: ANN001, ANN201
    h = tmp_path / "home"
    result = run(h, "--db-url", db_url, "--mqtt-port", str(free_port()), "init")
    assert result.exit_code == 0, result.output
    return h


def test_commands_refuse_an_uninitialised_home(tmp_path) -> None:  # noqa: ANN001
    for args in (["demo-data"], ["terminal", "add", "t1", "--site", "x"], ["relay"],
                 ["audit", "verify"]):
        result = run(tmp_path / "nothing", *args)
        assert result.exit_code != 0
        assert "not a Relais home yet" in result.output


def test_init_writes_settings_database_and_broker_files(home) -> None:  # noqa: ANN001
    cfg = load(home)
    assert cfg.server_passwords and cfg.secret_key and cfg.badge_pepper and cfg.relay_port
    assert (cfg.config_path.stat().st_mode & 0o777) == 0o600
    conf = (cfg.broker_dir / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf
    assert f"listener {cfg.mqtt_port}" in conf
    assert run(home, "init").exit_code == 0  # idempotent: an upgrade keeps the secrets
    assert load(home).server_passwords == cfg.server_passwords


def test_demo_data_with_a_short_password_says_why_and_creates_nothing(home) -> None:  # noqa: ANN001
    result = run(home, "demo-data", "--password", "abc")
    assert result.exit_code != 0
    assert result.output.strip().splitlines()[-1] == \
        "Error: A console password has at least 8 characters."
    assert run(home, "demo-data", "--password", "secret-pw-1").exit_code == 0  # nothing was left


def test_demo_data_then_terminal_add_prints_credentials_once(home) -> None:  # noqa: ANN001
    result = run(home, "demo-data", "--password", "secret-pw-1")
    assert result.exit_code == 0, result.output
    assert "admin / secret-pw-1" in result.output
    assert run(home, "demo-data").exit_code != 0  # not twice

    result = run(home, "terminal", "add", "quai-3", "--site", "demo")
    assert result.exit_code == 0, result.output
    creds = json.loads(result.output.strip().splitlines()[-1])
    assert creds["client_id"] == creds["username"] == "quai-3"
    passwd = (load(home).broker_dir / "passwd").read_text()
    line = next(x for x in passwd.splitlines() if x.startswith("quai-3:"))
    assert verify_password(creds["password"], line.split(":", 1)[1])
    assert creds["password"] not in passwd


@pytest.mark.parametrize("args, message", [
    (["terminal", "add", "Bad Name", "--site", "demo"], "terminal name"),
    (["terminal", "add", "kiosk-9", "--site", "nowhere"], "No site named"),
    (["terminal", "revoke", "ghost"], "no terminal named"),
    (["terminal", "rotate", "ghost"], "no terminal named"),
])
def test_bad_input_gets_one_line_reason(home, args, message) -> None:  # noqa: ANN001
    run(home, "demo-data", "--password", "secret-pw-1")
    result = run(home, *args)
    assert result.exit_code != 0
    assert message in result.output


def test_terminal_name_taken(home) -> None:  # noqa: ANN001
    run(home, "demo-data", "--password", "secret-pw-1")
    result = run(home, "terminal", "add", "kiosk-1", "--site", "demo")
    assert result.exit_code != 0 and "already exists" in result.output


def test_revoke_removes_credentials_from_broker(home) -> None:  # noqa: ANN001
    run(home, "demo-data", "--password", "secret-pw-1")
    assert run(home, "terminal", "revoke", "kiosk-2").exit_code == 0
    passwd = (load(home).broker_dir / "passwd").read_text()
    assert "kiosk-1:" in passwd and "kiosk-2:" not in passwd


def test_rotate_replaces_the_password_in_the_broker_and_the_kiosk_config(home) -> None:  # noqa: ANN001
    run(home, "demo-data", "--password", "secret-pw-1")
    before = json.loads((home / "kiosks" / "kiosk-1" / "config.json").read_text())["password"]
    result = run(home, "terminal", "rotate", "kiosk-1")
    assert result.exit_code == 0, result.output
    creds = json.loads(result.output)
    assert creds["password"] != before and creds["enrol_code"]
    line = next(x for x in (load(home).broker_dir / "passwd").read_text().splitlines()
                if x.startswith("kiosk-1:"))
    assert verify_password(creds["password"], line.split(":", 1)[1])
    assert not verify_password(before, line.split(":", 1)[1])
    saved = json.loads((home / "kiosks" / "kiosk-1" / "config.json").read_text())
    assert saved["password"] == creds["password"]
    assert saved["site"] == "demo", "the idle screen keeps its site name across a rotation"


def test_user_add_and_audit_verify(home) -> None:  # noqa: ANN001
    result = run(home, "user", "add", "marie", "--role", "hr", "--password", "long-enough-1")
    assert result.exit_code == 0, result.output
    result = run(home, "user", "add", "marie", "--role", "hr", "--password", "long-enough-1")
    assert result.exit_code != 0 and "already exists" in result.output
    result = run(home, "user", "add", "paul", "--role", "hr", "--password", "short")
    assert result.exit_code != 0 and "at least 8" in result.output
    result = run(home, "audit", "verify")
    assert result.exit_code == 0 and "intact" in result.output


def test_the_installed_command_runs(tmp_path) -> None:  # noqa: ANN001
    """The console script itself, as a newcomer types it."""
    exe = [sys.executable, "-m", "hr_console.cli"]
    out = subprocess.run([*exe, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "relay" in out.stdout
    out = subprocess.run([*exe, "--home", str(tmp_path / "x"), "relay"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0 and "not a Relais home yet" in out.stderr


def test_common_options_are_taken_after_the_command_too(home) -> None:  # noqa: ANN001
    """`relais site add usine --home DIR`, the form a newcomer types, acts on that home."""
    added = CliRunner().invoke(main, ["site", "add", "usine", "--home", str(home)],
                               catch_exceptions=False)
    assert added.exit_code == 0, added.output
    listed = CliRunner().invoke(main, ["site", "list", f"--home={home}", "-v"],
                                catch_exceptions=False)
    assert listed.exit_code == 0 and "usine" in listed.output
    assert "usine" in run(home, "site", "list").output


def test_a_command_keeps_its_own_option_of_a_common_name() -> None:
    """`ejabberd render --mqtt-port` is the node's port, not the terminals' one: a command's
    own option is never taken for the common one."""
    from hr_console.cli.common import hoist_common_options

    ctx = main.make_context("relais", ["--help"], resilient_parsing=True)
    args = ["ejabberd", "render", "--mqtt-port", "1999", "--home", "/h"]
    assert hoist_common_options(main, ctx, args) == \
        ["--home", "/h", "ejabberd", "render", "--mqtt-port", "1999"]
    assert hoist_common_options(main, ctx, ["up", "--mqtt-port", "1999"]) == \
        ["--mqtt-port", "1999", "up"]
    assert hoist_common_options(main, ctx, ["nope", "--home", "/h"]) == ["nope", "--home", "/h"]
