"""Our $7$ hashes are the ones Mosquitto writes and reads."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from broker_config import Account, hash_password, new_password, render, verify_password
from broker_config.passwords import HASH_BYTES, SALT_BYTES
from tests.broker_fixture import start_broker
from tests.mosquitto_clients import pub


def test_format_matches_mosquitto_passwd_layout() -> None:
    encoded = hash_password("secret")
    prefix, iterations, salt, digest = encoded.split("$")[1:]
    assert prefix == "7"
    assert iterations == "101"
    assert len(base64.b64decode(salt)) == SALT_BYTES
    assert len(base64.b64decode(digest)) == HASH_BYTES
    assert hash_password("secret") != encoded  # fresh salt each time


def test_fixed_salt_is_deterministic() -> None:
    salt = bytes(range(12))
    assert hash_password("pw", salt=salt) == hash_password("pw", salt=salt)
    assert hash_password("pw", salt=salt, iterations=7).startswith("$7$7$")


def test_verify_accepts_right_and_rejects_wrong_password() -> None:
    encoded = hash_password("correct horse", iterations=50)
    assert verify_password("correct horse", encoded)
    assert not verify_password("correct horse ", encoded)
    assert not verify_password("", encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plaintext",
        "$6$101$AAAAAAAAAAAAAAAA$" + "A" * 88,
        "$7$$AAAAAAAAAAAAAAAA$" + "A" * 88,
        "$7$abc$AAAAAAAAAAAAAAAA$" + "A" * 88,
        "$7$0$AAAAAAAAAAAAAAAA$" + "A" * 88,
        "$7$101$not base64!$" + "A" * 88,
        "$7$101$AAAAAAAAAAAAAAAA$short",
        "$7$101$$" + "A" * 88,
        "$7$101$AAAAAAAAAAAAAAAA$" + "A" * 88 + "$extra",
        "$7$99999999999999999999$AAAAAAAAAAAAAAAA$" + "A" * 88,
    ],
)
def test_verify_is_false_on_malformed_hashes(encoded: str) -> None:
    assert verify_password("anything", encoded) is False


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        hash_password("pw", iterations=0)
    with pytest.raises(ValueError):
        hash_password("pw", salt=b"")


def test_new_password_is_random_and_long() -> None:
    passwords = {new_password() for _ in range(20)}
    assert len(passwords) == 20
    assert all(len(p) == 32 for p in passwords)


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="mosquitto_passwd missing")
def test_verify_reads_what_mosquitto_passwd_writes(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(passwd), "alice", "s3cret é"],
        check=True,
        capture_output=True,
        timeout=10,
    )
    encoded = passwd.read_text().strip().split(":", 1)[1]
    assert encoded.startswith("$7$")
    assert verify_password("s3cret é", encoded)
    assert not verify_password("s3cret e", encoded)


def test_mosquitto_authenticates_with_our_hashes(tmp_path: Path) -> None:
    """The broker accepts exactly our passwords, at default and non-default iteration counts."""
    terminals = {"t1": new_password()}
    servers = {"_relay": new_password()}
    process = start_broker(tmp_path, terminals, servers)
    try:
        port = process.settings.terminal_port
        assert pub(port, "t1", terminals["t1"], "relais/v1/t/t1/up").returncode == 0
        assert pub(port, "t1", terminals["t1"] + "x", "relais/v1/t/t1/up").returncode != 0

        # Re-render with a non-default iteration count and a non-ASCII password.
        t1_pw = "mot de passe é"
        render(
            process.settings,
            [Account("_relay", hash_password(servers["_relay"], iterations=1000))],
            [Account("t1", hash_password(t1_pw, iterations=1000))],
        )
        process.stop()
        process.start()
        assert pub(port, "t1", t1_pw, "relais/v1/t/t1/up").returncode == 0
        relay_port = process.settings.relay_port
        assert pub(relay_port, "_relay", servers["_relay"], "relais/v1/t/t1/down").returncode == 0
    finally:
        process.stop()
