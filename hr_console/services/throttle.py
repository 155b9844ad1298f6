"""Failed attempts kept in the database (``throttles``), so every relay and every console
process applies the same waits (``domain.throttle``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hr_console.domain.throttle import Policy
from hr_console.store.models import Throttle, utcnow


def key_of(kind: str, *parts: str) -> str:
    """A throttle key that never stores what a person typed: ``kind:`` + a digest."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{kind}:{digest[:64]}"[:80]


@dataclass(frozen=True)
class Standing:
    failures: float  # still counted now (a leaky count)
    wait_s: float  # before the next attempt may be checked (0: now)


def _row(session: Session, key: str, *, lock: bool) -> Throttle | None:
    stmt = select(Throttle).where(Throttle.key == key)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def standing(session: Session, key: str, policy: Policy,
             now: dt.datetime | None = None) -> Standing:
    now = now or utcnow()
    row = _row(session, key, lock=False)
    if row is None:
        return Standing(0, 0.0)
    failures = policy.standing(row.failures, row.last_failure_at, now)
    wait = (row.wait_until - now).total_seconds() if row.wait_until else 0.0
    return Standing(failures, max(0.0, wait))


def failed(session: Session, key: str, policy: Policy,
           now: dt.datetime | None = None) -> Standing:
    """Count one more failure under ``key``; returns the standing it leaves."""
    now = now or utcnow()
    row = _row(session, key, lock=True)
    if row is None:
        try:
            with session.begin_nested():
                row = Throttle(key=key, failures=0.0)
                session.add(row)
                session.flush()
        except IntegrityError:  # another process counted the first failure at that moment
            row = _row(session, key, lock=True)
            assert row is not None
    failures = policy.standing(row.failures, row.last_failure_at, now) + 1
    wait = policy.wait_after(failures)
    row.failures, row.last_failure_at = failures, now
    row.wait_until = now + dt.timedelta(seconds=wait) if wait else None
    session.flush()
    return Standing(failures, wait)


def clear(session: Session, *keys: str) -> None:
    if keys:
        session.execute(delete(Throttle).where(Throttle.key.in_(keys)))


def forget_quiet(session: Session, older_than: dt.timedelta) -> int:
    """Drop keys whose last failure is long forgiven (housekeeping)."""
    cutoff = utcnow() - older_than
    return session.execute(delete(Throttle).where(Throttle.last_failure_at < cutoff)).rowcount or 0
