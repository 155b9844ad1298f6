"""``relais terminal add`` hands the CA over with the code: the home CA's SHA-256
fingerprint is in the printed credentials, with the one command to type on the terminal."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from broker_config.ports import free_port
from hr_console.cli import main


def test_terminal_add_prints_the_ca_fingerprint_and_the_enrol_command(tmp_path: Path,
                                                                       db_url: str) -> None:
    home = tmp_path / "home"
    flags = ["--home", str(home), "--db-url", db_url, "--mqtt-port", str(free_port())]
    runner = CliRunner()
    for args in (["init", "--tls", "--tls-host", "relais.usine.local"],
                 ["demo-data", "--password", "secret-pw-1"]):
        done = runner.invoke(main, [*flags, *args])
        assert done.exit_code == 0, done.output
    result = runner.invoke(main, [*flags, "terminal", "add", "atelier-nord", "--site", "demo"])
    assert result.exit_code == 0, result.output
    creds = json.loads(result.stdout.strip().splitlines()[-1])
    ca = x509.load_pem_x509_certificate((home / "tls" / "ca.pem").read_bytes())
    expected = ca.fingerprint(hashes.SHA256()).hex(":").upper()  # as openssl prints it
    assert creds["ca_fingerprint"] == expected
    hint = result.stderr.strip().splitlines()[-1]
    assert f"relais kiosk-enrol https://CONSOLE {creds['enrol_code']} --ca-fingerprint {expected}" in hint
    assert "within 30 minutes" in hint
