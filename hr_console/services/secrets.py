"""Hashing of what identifies a person: badges (looked up, so keyed and deterministic) and
PINs and console passwords (verified, so salted and slow)."""

from __future__ import annotations

import hashlib
import hmac

from werkzeug.security import check_password_hash, generate_password_hash


def badge_hash(pepper: str, badge: str) -> str:
    """HMAC-SHA256 of the badge number: the database never holds a usable badge number,
    yet a badge read at a terminal is found with one indexed lookup."""
    return hmac.new(pepper.encode(), badge.strip().encode(), hashlib.sha256).hexdigest()


def hash_secret(secret: str) -> str:
    return generate_password_hash(secret, method="scrypt")


def check_secret(stored: str | None, secret: str) -> bool:
    return bool(stored) and check_password_hash(stored, secret)


def code_hash(code: str) -> str:
    """One-time enrolment codes: short-lived and single use, so a plain digest is enough."""
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()
