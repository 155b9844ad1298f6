"""Console sign-in: a growing wait per typed name and client address (and per address
alone, against spraying one password over many names) instead of a lock that anyone could
put on ``admin`` by typing five wrong passwords.

The answer and its cost are the same whether the name exists, is deactivated or the
password is wrong: an unknown name is checked against a dummy hash of the same kind, and
the waits are kept under the typed name, existing or not. While a wait runs the password is
not checked at all. Keys never hold what was typed (a keyed digest of it: the database
alone does not tell which names or mistyped passwords were tried), yet all the keys of one
name share a prefix, so an admin can clear a user's waits from every address at once.
The audit log names the user only when one exists (``?`` otherwise)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hr_console.domain.throttle import CONSOLE_ADDRESS, CONSOLE_SIGN_IN, Policy
from hr_console.services import audit, throttle
from hr_console.services.secrets import check_secret, hash_secret
from hr_console.store.models import ConsoleUser, Throttle, utcnow

NAME_KIND = "signin"  # signin:<name digest>:<address digest>
ADDRESS_KIND = "signin-addr"  # signin-addr:<address digest>
UNKNOWN_ACTOR = "?"


def _digest(pepper: str, what: str, value: str) -> str:
    data = f"{what}\x00{value}".encode("utf-8", "surrogatepass")
    return hmac.new(pepper.encode(), data, hashlib.sha256).hexdigest()[:32]


def name_prefix(pepper: str, username: str) -> str:
    """What every key of ``username`` starts with (names are compared case-blind here, so
    ``Admin`` and ``admin`` share their waits)."""
    return f"{NAME_KIND}:{_digest(pepper, 'name', username.strip().casefold())}:"


def name_key(pepper: str, username: str, address: str) -> str:
    return name_prefix(pepper, username) + _digest(pepper, "address", address)


def address_key(pepper: str, address: str) -> str:
    return f"{ADDRESS_KIND}:{_digest(pepper, 'address', address)}"


@functools.cache
def _dummy_hash() -> str:
    """A hash of the kind real passwords have, so an unknown name costs the same check."""
    return hash_secret(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Outcome:
    user: ConsoleUser | None  # signed in as this user, or None
    wait_s: float  # > 0: the next attempt from there waits this long (or this one was not checked)
    checked: bool  # False: refused unchecked, a wait was running


def _waits(session: Session, keys: list[tuple[str, Policy]], now: dt.datetime) -> float:
    return max(throttle.standing(session, key, policy, now).wait_s for key, policy in keys)


def attempt(session: Session, *, pepper: str, username: str, password: str, address: str
            ) -> Outcome:
    """Check one sign-in from ``address`` (the real client, after a trusted proxy), count a
    failure under the name and the address, audit it; the caller commits."""
    username = username.strip()
    now = utcnow()
    keys = [(name_key(pepper, username, address), CONSOLE_SIGN_IN),
            (address_key(pepper, address), CONSOLE_ADDRESS)]
    row = session.execute(select(ConsoleUser).where(ConsoleUser.username == username)
                          ).scalar_one_or_none()
    actor = row.username if row is not None else UNKNOWN_ACTOR
    target = f"console_user:{row.id}" if row is not None else None
    wait = _waits(session, keys, now)
    if wait > 0:
        audit.record(session, actor, "login.throttled", target, ip=address,
                     wait_s=math.ceil(wait))
        return Outcome(None, wait, checked=False)
    ok = check_secret(row.password_hash if row is not None else _dummy_hash(), password)
    if row is None or not row.active or not ok:
        wait = max(throttle.failed(session, key, policy, now).wait_s for key, policy in keys)
        reason = "unknown_user" if row is None else "inactive" if not row.active else "password"
        audit.record(session, actor, "login.failure", target, ip=address, reason=reason)
        return Outcome(None, wait, checked=True)
    # Success forgives this name from this address; the address's own count (spraying over
    # names) fades with time only, so signing in to one's own account does not reset it.
    throttle.clear(session, keys[0][0])
    audit.record(session, row.username, "login.success", target, ip=address)
    return Outcome(row, 0.0, checked=True)


def waiting_until(session: Session, pepper: str, usernames: list[str]) -> dict[str, dt.datetime]:
    """For each of ``usernames`` whose sign-in is slowed down from some address: until when."""
    prefixes = {name_prefix(pepper, u): u for u in usernames}
    now = utcnow()
    found: dict[str, dt.datetime] = {}
    rows = session.execute(select(Throttle.key, Throttle.wait_until).where(
        Throttle.key.like(f"{NAME_KIND}:%"), Throttle.wait_until > now))
    for key, until in rows:
        name = prefixes.get(key.rsplit(":", 1)[0] + ":")
        if name is not None and (name not in found or until > found[name]):
            found[name] = until
    return found


def clear_name(session: Session, pepper: str, username: str) -> int:
    """Forget every failure counted under ``username``, from any address (the unlock
    action); returns how many addresses had some."""
    prefix = name_prefix(pepper, username)  # hex and colons only: no LIKE wildcard in it
    result = session.execute(delete(Throttle).where(Throttle.key.like(prefix + "%")))
    return result.rowcount or 0  # type: ignore[attr-defined]
