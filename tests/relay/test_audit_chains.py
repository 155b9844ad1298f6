"""What the relays audit for two terminals, and the console, never wait on one another.

The audit log was one hash chain whose head row every appender locked until it committed.
A relay's batch appends for a terminal (an unknown badge here; a wrong PIN, the charter or
the off-shift notice accepted, an alert), so at a shift change every relay's batches and the
console's actions queued on that one row. Each terminal now has its own chain, whose head
only the terminal's relay takes: the test holds one relay's transaction open after it
audited, and the other relay and the console must append without waiting (PostgreSQL, with
a lock timeout; SQLite runs one writer at a time anyway). The same terminal's chain still
serialises its appends, and the log verifies whole once everyone committed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hr_console.config import Settings
from hr_console.relay.mqtt import Relay
from hr_console.services import audit, sessions
from hr_console.services.errors import ServiceError
from hr_console.store.db import Store
from hr_console.store.models import AuditEntry, AuditHead, Terminal
from tests.system_fixture import prepared_home


def _unknown_badge(s: Session, terminal: str, pepper: str) -> None:
    """A badge nobody holds, read at ``terminal``: audited in the caller's transaction."""
    with pytest.raises(ServiceError):
        sessions.badge_in(s, sessions.terminal_by_name(s, terminal), "no-such-badge", None, pepper)


@contextmanager
def _home(tmp_path: Path, url: str) -> Iterator[tuple[Store, Settings]]:
    """The demo's home on ``url`` and a store on it, disposed after."""
    cfg, _demo = prepared_home(tmp_path, url)
    store = Store(cfg.database_url)
    try:
        yield store, cfg
    finally:
        store.dispose()


def _badges(store: Store, cfg: Settings, times: int) -> None:
    """``times`` unknown badges at kiosk-1, each in its own transaction (a batch's)."""
    for _ in range(times):
        with store.session() as s:
            _unknown_badge(s, "kiosk-1", cfg.badge_pepper)


def _impatient(s: Session) -> Session:
    s.execute(text("SET LOCAL lock_timeout = '1s'"))
    return s


def test_two_relays_and_the_console_audit_without_waiting(tmp_path: Path, pg_url: str) -> None:
    with _home(tmp_path, pg_url) as (store, cfg):
        with store.session() as relay_a:  # audited for kiosk-1, not committed yet
            _unknown_badge(relay_a, "kiosk-1", cfg.badge_pepper)
            with store.session() as relay_b:
                _unknown_badge(_impatient(relay_b), "kiosk-2", cfg.badge_pepper)
            with store.session() as console:
                audit.record(_impatient(console), "hr", "test.thing", "thing:1")
            with store.session() as same_terminal, pytest.raises(OperationalError) as waited:
                _unknown_badge(_impatient(same_terminal), "kiosk-1", cfg.badge_pepper)
            assert "lock timeout" in str(waited.value)  # one chain still takes turns
        with store.session() as s:
            kiosks = {t: sessions.terminal_by_name(s, t).id for t in ("kiosk-1", "kiosk-2")}
            chains = s.execute(select(AuditEntry.chain, AuditEntry.action)
                               .where(AuditEntry.action.in_(("badge.unknown", audit.OPENED)))
                               .order_by(AuditEntry.id)).all()
            result = audit.verify(s)
        one, two = (audit.terminal_chain(kiosks[t]) for t in ("kiosk-1", "kiosk-2"))
        assert sorted(chains) == sorted([(audit.MAIN, audit.OPENED)] * 2
                                        + [(one, "badge.unknown"), (two, "badge.unknown")])
        assert result.ok and result.chains == 3, result.problem


def test_a_chain_goes_on_after_a_rolled_back_append(tmp_path: Path, db_url: str) -> None:
    """An append rolled back (the batch failed) leaves no hole: the chain's next entry takes
    its place."""
    with _home(tmp_path, db_url) as (store, cfg):
        with pytest.raises(RuntimeError), store.session() as s:
            _unknown_badge(s, "kiosk-1", cfg.badge_pepper)
            raise RuntimeError("the batch failed")
        _badges(store, cfg, 2)
        with store.session() as s:
            result = audit.verify(s)
            positions = s.execute(select(AuditEntry.pos).where(
                AuditEntry.chain.like("terminal:%")).order_by(AuditEntry.pos)).scalars().all()
        assert result.ok and result.chains == 2, result.problem
        assert positions == [1, 2]


def test_a_head_deleted_is_rebuilt_and_says_so(tmp_path: Path, db_url: str) -> None:
    """Someone deletes a terminal chain's last entry and its head: ``verify`` fails until the
    chain's next entry, which rebuilds the head from the chain's end and says so in main, so
    the cut is still there to read."""
    with _home(tmp_path, db_url) as (store, cfg):
        _badges(store, cfg, 3)
        with store.session() as s:
            chain = audit.terminal_chain(sessions.terminal_by_name(s, "kiosk-1").id)
            s.execute(delete(AuditEntry).where(AuditEntry.chain == chain, AuditEntry.pos == 3))
            s.execute(delete(AuditHead).where(AuditHead.chain == chain))
        with store.session() as s:
            assert audit.verify(s).reason == "head_missing"
        with store.session() as s:
            _unknown_badge(s, "kiosk-1", cfg.badge_pepper)
        with store.session() as s:
            result = audit.verify(s)
            said = s.execute(select(AuditEntry.target, AuditEntry.detail).where(
                AuditEntry.chain == audit.MAIN, AuditEntry.action == audit.REBUILT)).all()
        assert result.ok, result.problem
        assert [(t, d["entries"]) for t, d in said] == [(chain, 2)]


def test_terminals_without_a_chain_get_one_before_any_batch(tmp_path: Path, db_url: str) -> None:
    """Terminals of an older version or of ``gen-data`` have no chain: a relay opens theirs
    as it starts, in a transaction of its own, and finds nothing to do the next time."""
    with _home(tmp_path, db_url) as (store, cfg):
        with store.session() as s:
            s.execute(insert(Terminal), [{"name": f"old-{i}"} for i in range(3)])
        with store.session() as s:
            assert audit.open_terminal_chains(s, "relay-1") == 3
        with store.session() as s:
            assert audit.open_terminal_chains(s, "relay-1") == 0
            result = audit.verify(s)
            heads = set(s.execute(select(AuditHead.chain)).scalars())
            terminals = set(s.execute(select(Terminal.id)).scalars())
        assert result.ok, result.problem
        assert heads == {audit.MAIN} | {audit.terminal_chain(t) for t in terminals}


def test_main_seals_without_waiting_for_a_batch(tmp_path: Path, pg_url: str) -> None:
    """The relay's seal takes main's head, and a terminal's head only if it is free: a batch
    that holds kiosk-1's chain open does not hold the seal up, and its entry is sealed the
    next time. A chain cut below its seal (its head rewound) then fails ``verify``."""
    with _home(tmp_path, pg_url) as (store, cfg):
        with store.session() as s:
            _unknown_badge(s, "kiosk-2", cfg.badge_pepper)
        with store.session() as batch:
            _unknown_badge(batch, "kiosk-1", cfg.badge_pepper)
            with store.session() as chores:
                assert audit.seal(_impatient(chores), "relay:test") == 1  # kiosk-2's only
        with store.session() as s:
            assert audit.unsealed(s)
            assert audit.seal(s, "relay:test") == 1
            assert not audit.unsealed(s) and audit.seal(s, "relay:test") == 0
        with store.session() as s:
            sealed = [d["heads"] for d in s.execute(select(AuditEntry.detail).where(
                AuditEntry.action == audit.SEALED).order_by(AuditEntry.id)).scalars()]
            kiosks = [audit.terminal_chain(sessions.terminal_by_name(s, t).id)
                      for t in ("kiosk-2", "kiosk-1")]
            assert [list(h) for h in sealed] == [[kiosks[0]], [kiosks[1]]]
            assert audit.verify(s).ok
            s.execute(delete(AuditEntry).where(AuditEntry.chain == kiosks[1]))
            s.execute(update(AuditHead).where(AuditHead.chain == kiosks[1])
                      .values(entries=0, last_id=0, hash=audit.GENESIS))
        with store.session() as s:
            result = audit.verify(s)
        assert (result.ok, result.reason) == (False, "sealed_cut")


@pytest.mark.parametrize("after", ["sealed again", "grown and sealed again", "reopened"])
def test_a_cut_stays_seen_after_the_next_seal(tmp_path: Path, db_url: str, after: str) -> None:
    """A terminal's chain sealed at 4 entries, then cut to 2 with its head rewound (or
    deleted whole): whatever the relays do next (seal it again, audit past 4 and seal,
    reopen it at their start), main's first seal still says how far it went."""
    with _home(tmp_path, db_url) as (store, cfg):
        _badges(store, cfg, 4)
        with store.session() as s:
            assert audit.seal(s, "relay:test") == 1
            chain = audit.terminal_chain(sessions.terminal_by_name(s, "kiosk-1").id)
        with store.session() as s:  # the cut, in plain SQL
            s.execute(delete(AuditEntry).where(AuditEntry.chain == chain, AuditEntry.pos > 2))
            if after == "reopened":
                s.execute(delete(AuditEntry).where(AuditEntry.chain == chain))
                s.execute(delete(AuditHead).where(AuditHead.chain == chain))
            else:
                second = s.execute(select(AuditEntry).where(AuditEntry.chain == chain,
                                                            AuditEntry.pos == 2)).scalar_one()
                s.execute(update(AuditHead).where(AuditHead.chain == chain).values(
                    entries=2, last_id=second.id, hash=second.hash, sealed=0))
        with store.session() as s:
            if after == "reopened":
                assert audit.open_terminal_chains(s, "relay-1") == 1
            for _ in range(3 if after == "grown and sealed again" else 1):
                _unknown_badge(s, "kiosk-1", cfg.badge_pepper)
            assert audit.seal(s, "relay:test") == 1
        with store.session() as s:
            result = audit.verify(s)
        want = {"sealed again": "sealed_back", "grown and sealed again": "sealed_differs",
                "reopened": "reopened"}[after]
        assert (result.ok, result.reason) == (False, want), result.problem


def test_the_seal_does_not_wait_for_main(tmp_path: Path, pg_url: str) -> None:
    """The console holds main's head (a long action): the relay's seal skips this minute
    instead of stopping its deliveries behind it."""
    with _home(tmp_path, pg_url) as (store, cfg):
        with store.session() as s:
            _unknown_badge(s, "kiosk-1", cfg.badge_pepper)
        with store.session() as console:
            audit.record(console, "hr", "test.thing")
            with store.session() as chores:
                assert audit.seal(_impatient(chores), "relay:test") == 0
        with store.session() as chores:
            assert audit.seal(chores, "relay:test") == 1


def test_two_relays_starting_at_once_open_each_chain_once(tmp_path: Path, pg_url: str) -> None:
    """After an upgrade both relays start and find the same terminals without a chain: the
    second waits for the first's main head, looks again, and opens nothing (before, it went
    through every chain again, holding each terminal's head until its start committed)."""
    with _home(tmp_path, pg_url) as (store, _cfg):
        with store.session() as s:
            s.execute(insert(Terminal), [{"name": f"old-{i}"} for i in range(5)])
        second: list[int] = []
        with store.session() as first:
            assert audit.open_terminal_chains(first, "relay-1") == 5
            waiting = threading.Thread(target=lambda: second.append(_open_all(store)))
            waiting.start()
            waiting.join(0.5)
            assert waiting.is_alive()  # on main's head, held by the first start
        waiting.join(30)
        assert second == [0]
        with store.session() as s:
            opened = s.execute(select(AuditEntry.target).where(
                AuditEntry.action == audit.OPENED)).scalars().all()
            assert audit.verify(s).ok
        assert len(opened) == len(set(opened))


def _open_all(store: Store) -> int:
    with store.session() as s:
        return audit.open_terminal_chains(s, "relay-2")


def test_the_relay_s_chore_seals_what_grew(tmp_path: Path, db_url: str) -> None:
    """The relay's chore (every minute, run here at once) seals kiosk-1's chain, in its own
    transaction, and finds nothing to do the next time."""
    with _home(tmp_path, db_url) as (store, cfg):
        _badges(store, cfg, 2)
        relay = Relay(cfg, store, purge_every=None, pin_hashers=0)
        try:
            relay._seal_audit()
            relay._seal_audit()
        finally:
            relay.logins.stop()
            relay.voices.stop()
        with store.session() as s:
            seals = s.execute(select(AuditEntry.actor, AuditEntry.detail).where(
                AuditEntry.action == audit.SEALED)).all()
            chain = audit.terminal_chain(sessions.terminal_by_name(s, "kiosk-1").id)
            assert not audit.unsealed(s) and audit.verify(s).ok
        assert [(a, list(d["heads"])) for a, d in seals] == [(f"relay:{relay.username}", [chain])]
