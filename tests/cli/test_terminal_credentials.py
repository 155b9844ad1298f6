"""A terminal's password is shown once and kept nowhere in clear on the server (issue 13):
``terminal add`` and ``terminal rotate`` print it and write it to no file of the home; only
the demo's terminals keep a kiosk configuration there, for ``relais kiosk --terminal``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hr_console.cli import main
from tests.cli.test_cli import home, run  # noqa: F401  (fixture)


def _files_holding(where: Path, secret: str) -> list[str]:
    """Every file of the home whose bytes hold ``secret`` (the database included)."""
    return [str(p) for p in where.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def _added(where: Path, name: str) -> dict[str, str]:
    result = run(where, "terminal", "add", name, "--site", "demo")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_terminal_add_shows_the_password_once_and_writes_it_nowhere(home: Path) -> None:  # noqa: F811
    assert run(home, "demo-data", "--password", "secret-pw-1").exit_code == 0
    creds = _added(home, "atelier-nord")
    assert not (home / "kiosks" / "atelier-nord").exists()
    assert _files_holding(home, creds["password"]) == []
    assert _files_holding(home, creds["enrol_code"]) == []
    # The demo's kiosks still run from this home's files.
    demo = json.loads((home / "kiosks" / "kiosk-1" / "config.json").read_text())
    assert demo["terminal"] == "kiosk-1" and demo["password"]


def test_rotate_keeps_no_password_of_a_real_terminal(home: Path) -> None:  # noqa: F811
    assert run(home, "demo-data", "--password", "secret-pw-1").exit_code == 0
    first = _added(home, "atelier-nord")
    # What an earlier version left: the first password, in clear, in the home.
    stale = home / "kiosks" / "atelier-nord" / "config.json"
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({"terminal": "atelier-nord", "password": first["password"]}))

    result = run(home, "terminal", "rotate", "atelier-nord")
    assert result.exit_code == 0, result.output
    creds = json.loads(result.stdout.strip().splitlines()[-1])
    assert creds["password"] != first["password"]
    assert not stale.exists()
    assert _files_holding(home, creds["password"]) == []
    assert _files_holding(home, first["password"]) == []


def test_kiosk_for_a_real_terminal_says_how_a_terminal_runs(home: Path) -> None:  # noqa: F811
    assert run(home, "demo-data", "--password", "secret-pw-1").exit_code == 0
    _added(home, "atelier-nord")
    assert not (home / "kiosks" / "atelier-nord" / "config.json").exists()  # else Kivy would start
    result = CliRunner().invoke(main, ["--home", str(home), "kiosk", "--terminal", "atelier-nord"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "relais kiosk --config FILE" in lines[0] and "relais kiosk-enrol" in lines[0], lines[0]
    assert "terminal add" not in lines[0]
