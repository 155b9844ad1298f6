"""Which relay owns which partition of terminals, kept in the database.

Every terminal falls into one of ``PARTITIONS`` partitions (domain.partitions). A relay
owns a partition through a lease it renews every second or so; while it holds it, it alone
subscribes to the uplinks of that partition's terminals, so no two relays ever lock the
same terminal rows or wait on each other. A relay that stops renewing (killed, frozen, cut
off from the database) loses its leases when they expire and the others take them over; a
relay that joins counts the live relays and takes its fair share, the others giving back
what they hold beyond theirs.

Every change is a conditional UPDATE whose row count says who won, so it works the same on
SQLite and PostgreSQL and needs no lock held between statements. Clocks: a lease's expiry
is written by its owner's clock and read by the others', so relays on several machines
need their clocks in step (NTP) to well within the lease's length.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hr_console.domain.partitions import PARTITIONS, fair_share
from hr_console.store.models import RelayLease, RelayMember, Terminal, utcnow

MEMBER_FORGET = dt.timedelta(minutes=10)  # a member row that old is a relay long gone


@dataclass(frozen=True)
class Round:
    """What one round of the lease keeper leaves this relay with."""

    held: frozenset[int]  # partitions it owns now (renewed or newly taken)
    gained: frozenset[int]  # of which newly taken this round
    lost: frozenset[int]  # it believed it owned them, but another relay has them now
    live_relays: int
    share: int


def ensure_rows(session: Session) -> None:
    """One lease row per partition (idempotent; the first relay of a home creates them)."""
    have = set(session.execute(select(RelayLease.partition)).scalars())
    missing = [p for p in range(PARTITIONS) if p not in have]
    if not missing:
        return
    try:
        with session.begin_nested():
            session.add_all(RelayLease(partition=p, owner=None, expires_at=None, epoch=0)
                            for p in missing)
    except IntegrityError:
        pass  # another relay created them at the same moment


def _heartbeat(session: Session, me: str, now: dt.datetime) -> None:
    hit = session.execute(update(RelayMember).where(RelayMember.name == me)
                          .values(seen_at=now)).rowcount
    if not hit:
        session.add(RelayMember(name=me, seen_at=now))
        session.flush()


def live_relays(session: Session, now: dt.datetime, ttl: dt.timedelta) -> int:
    return session.scalar(select(func.count()).select_from(RelayMember)
                          .where(RelayMember.seen_at > now - ttl)) or 0


_RENEW = (update(RelayLease).where(RelayLease.owner == bindparam("me"))
          .values(expires_at=bindparam("until")).returning(RelayLease.partition))
_TAKE = (update(RelayLease)
         .where(RelayLease.partition == bindparam("p"),
                or_(RelayLease.owner.is_(None), RelayLease.expires_at < bindparam("now")))
         .values(owner=bindparam("me"), expires_at=bindparam("until"),
                 epoch=RelayLease.epoch + 1))
_GIVE_BACK = (update(RelayLease)
              .where(RelayLease.partition == bindparam("p"), RelayLease.owner == bindparam("me"))
              .values(owner=None, expires_at=None))


def keep(session: Session, me: str, believed: Collection[int], *, ttl: dt.timedelta,
         keep_at_most: int | None = None, now: dt.datetime | None = None) -> Round:
    """One round: heartbeat, renew what this relay still holds, and take free or expired
    partitions up to its fair share (``keep_at_most`` overrides it, for tests and for a
    relay that is giving some back). Never gives anything back itself: the caller first
    stops listening to what it gives back, then calls :func:`give_back`."""
    now = now or utcnow()
    until = now + ttl
    _heartbeat(session, me, now)
    relays = max(1, live_relays(session, now, ttl))
    share = fair_share(PARTITIONS, relays) if keep_at_most is None else keep_at_most
    held = set(session.execute(_RENEW, {"me": me, "until": until}).scalars())
    lost = frozenset(set(believed) - held)
    gained: set[int] = set()
    if len(held) < share:
        stmt = (select(RelayLease.partition)
                .where(or_(RelayLease.owner.is_(None), RelayLease.expires_at < now))
                .order_by(RelayLease.partition))
        if session.get_bind().dialect.name != "sqlite":
            # Rows another relay is renewing or taking right now are skipped, not waited
            # for: two relays each holding a row the other wants would deadlock. (SQLite's
            # BEGIN IMMEDIATE lets one relay's round run at a time.)
            stmt = stmt.with_for_update(skip_locked=True)
        free = session.execute(stmt).scalars().all()
        # Relays starting together would all reach for partition 0 first: each starts at a
        # place of its own in the list.
        start = sum(me.encode()) % len(free) if free else 0
        for p in [*free[start:], *free[:start]]:
            if len(held) >= share:
                break
            if session.execute(_TAKE, {"p": p, "me": me, "until": until,
                                       "now": now}).rowcount:
                held.add(p)
                gained.add(p)
    return Round(frozenset(held), frozenset(gained), lost, relays, share)


def give_back(session: Session, me: str, partitions: Collection[int]) -> None:
    """Release partitions this relay no longer listens to: free for the others at once."""
    for p in partitions:
        session.execute(_GIVE_BACK, {"p": p, "me": me})


def leave(session: Session, me: str) -> None:
    """A relay stopping cleanly: its partitions are free at once and it no longer counts."""
    session.execute(update(RelayLease).where(RelayLease.owner == me)
                    .values(owner=None, expires_at=None))
    session.execute(delete(RelayMember).where(RelayMember.name == me))


def forget_gone(session: Session, now: dt.datetime | None = None) -> None:
    """Member rows of relays that stopped heartbeating long ago (each start is a new name)."""
    now = now or utcnow()
    session.execute(delete(RelayMember).where(RelayMember.seen_at < now - MEMBER_FORGET))


def terminals_in(session: Session, partitions: Collection[int]) -> dict[str, int]:
    """Active terminals of those partitions, name -> partition: what the relay listens to."""
    if not partitions:
        return {}
    rows = session.execute(select(Terminal.name, Terminal.partition)
                           .where(Terminal.partition.in_(sorted(partitions)),
                                  Terminal.active.is_(True)))
    return {name: p for name, p in rows}


def owners(session: Session) -> dict[int, str | None]:
    """Every partition's current owner (for `relais status` and tests)."""
    now = utcnow()
    return {p: (owner if until is not None and until >= now else None)
            for p, owner, until in session.execute(
                select(RelayLease.partition, RelayLease.owner, RelayLease.expires_at))}
