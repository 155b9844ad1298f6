"""The systemd units shipped in deploy/systemd/ are what docs/deploy.md installs: each runs a
real `relais` subcommand with options that exist, as the `relais` user, hardened, and the
broker's reload signals the process that handles it."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
NAMES = ("relais-broker.service", "relais-relay@.service", "relais-console.service")
INSTALLED = "/opt/relais/.venv/bin/relais"  # where docs/deploy.md installs the venv
EXE = [sys.executable, "-m", "hr_console.cli"]


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None, delimiters=("=",),
                                       comment_prefixes=("#", ";"))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string((UNITS / name).read_text(encoding="utf-8"), source=name)
    return parser


def _exec_start(name: str, instance: str = "1") -> list[str]:
    argv = shlex.split(_unit(name)["Service"]["ExecStart"].replace("%i", instance))
    assert argv[0] == INSTALLED, argv
    return argv[1:]


def test_the_guide_installs_the_shipped_units() -> None:
    assert sorted(p.name for p in UNITS.iterdir()) == sorted(NAMES)
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = guide.split("### 3. systemd units", 1)[1].split("\n### ", 1)[0]
    assert "deploy/systemd" in section and "[Service]" not in section  # not inlined again


@pytest.mark.parametrize("name", NAMES)
def test_each_unit_runs_as_relais_hardened_and_restarts_on_failure(name: str) -> None:
    service = _unit(name)["Service"]
    assert service["User"] == "relais"
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/relais"
    assert _exec_start(name)[:2] == ["--home", "/var/lib/relais"]
    assert _unit(name)["Install"]["WantedBy"] == "multi-user.target"


def test_only_the_broker_reloads_and_its_stop_reaches_the_wrapper_first() -> None:
    broker = _unit("relais-broker.service")["Service"]
    assert broker["ExecReload"] == "/bin/kill -HUP $MAINPID"  # `relais broker`, not Mosquitto
    assert broker["KillMode"] == "mixed"  # SIGTERM to the wrapper, which stops Mosquitto
    for name in ("relais-relay@.service", "relais-console.service"):
        assert "ExecReload" not in _unit(name)["Service"], name  # SIGHUP would end them


@pytest.mark.parametrize("name", NAMES)
def test_exec_start_is_a_real_command_with_real_options(name: str) -> None:
    argv = _exec_start(name)
    done = subprocess.run([*EXE, *argv, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f" {argv[2]} [OPTIONS]" in done.stdout  # the subcommand's own help
    wrong = subprocess.run([*EXE, *argv, "--no-such-option", "--help"], capture_output=True,
                           text=True, timeout=60)
    assert wrong.returncode == 2  # the check above would see a wrong option


def test_every_relay_instance_name_is_accepted_and_no_other(tmp_path: Path) -> None:
    """Values are checked before --help would stop, so each runs on an empty home: an
    accepted instance gets as far as asking for `relais init`."""
    for instance, code, says in (("1", 1, "not a Relais home yet"), ("8", 1, "not a Relais home yet"),
                                 ("9", 2, "Invalid value for '--instance'")):
        argv = _exec_start("relais-relay@.service", instance)
        argv[1] = str(tmp_path / "nothing")
        done = subprocess.run([*EXE, *argv], capture_output=True, text=True, timeout=60)
        assert done.returncode == code and says in done.stderr, (instance, done.stderr)


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    relais = Path(sys.executable).with_name("relais")
    assert relais.exists(), "the relais entry point is not installed in this venv"
    paths = []
    for name in NAMES:
        text = (UNITS / name).read_text(encoding="utf-8").replace(INSTALLED, str(relais))
        path = tmp_path / name.replace("@.", "@1.")  # a template is verified as an instance
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    done = subprocess.run([analyze, "verify", "--man=no", *paths], capture_output=True,
                          text=True, timeout=60)
    ours = [line for line in (done.stdout + done.stderr).splitlines()
            if any(Path(p).name in line for p in paths)]
    assert done.returncode == 0 and ours == [], done.stdout + done.stderr
