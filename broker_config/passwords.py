"""Mosquitto password hashes, made in Python.

We write the broker's password file ourselves (atomically, from the database) instead of
shelling out to ``mosquitto_passwd``, so the hashes must be byte-for-byte the format that
Mosquitto 2.0 reads: ``$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "$7$"
SALT_BYTES = 12  # what mosquitto_passwd uses
HASH_BYTES = 64  # SHA-512 digest size; Mosquitto compares exactly this many bytes
DEFAULT_ITERATIONS = 101  # mosquitto_passwd's default in 2.0
_MAX_ITERATIONS = 10_000_000  # refuse absurd counts in untrusted input rather than hang


def _digest(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, HASH_BYTES)


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """Hash ``password`` exactly as ``mosquitto_passwd`` would, so the broker accepts it.

    ``salt`` is for reproducible tests only; by default a fresh random 12-byte salt is used.
    """
    if not 1 <= iterations <= _MAX_ITERATIONS:
        raise ValueError(f"iterations must be between 1 and {_MAX_ITERATIONS}")
    if salt is None:
        salt = secrets.token_bytes(SALT_BYTES)
    if not salt:
        raise ValueError("salt must not be empty")
    digest = _digest(password, salt, iterations)
    return (
        f"{PREFIX}{iterations}${base64.b64encode(salt).decode('ascii')}"
        f"${base64.b64encode(digest).decode('ascii')}"
    )


def _parse(encoded: str) -> tuple[int, bytes, bytes] | None:
    """Split a ``$7$`` string into (iterations, salt, digest); None if it is not one."""
    if not encoded.startswith(PREFIX):
        return None
    parts = encoded[len(PREFIX) :].split("$")
    if len(parts) != 3:
        return None
    iterations_text, salt_text, digest_text = parts
    if not iterations_text.isdigit() or not iterations_text.isascii():
        return None
    iterations = int(iterations_text)
    if not 1 <= iterations <= _MAX_ITERATIONS:
        return None
    try:
        salt = base64.b64decode(salt_text, validate=True)
        digest = base64.b64decode(digest_text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not salt or len(digest) != HASH_BYTES:
        return None
    return iterations, salt, digest


def is_password_hash(encoded: str) -> bool:
    """True if ``encoded`` is a well-formed ``$7$`` hash (checked before it enters a passwd file)."""
    return _parse(encoded) is not None


def verify_password(password: str, encoded: str) -> bool:
    """Check ``password`` against a ``$7$`` hash in constant time; False if the hash is malformed."""
    parsed = _parse(encoded)
    if parsed is None:
        return False
    iterations, salt, expected = parsed
    return hmac.compare_digest(_digest(password, salt, iterations), expected)


def new_password() -> str:
    """A fresh random terminal/server password (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)
