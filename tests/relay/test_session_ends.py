"""How a badge session ends: once, the first end standing, and never vouched for by the
terminal's word after the end.

Ended twice at once (PostgreSQL; SQLite runs one writer at a time, so a transaction never
writes over an end it did not see): the relay's batch reads the badge sessions its uplinks
name at its start; the console may commit an end (HR deactivates the person, changes their
badge, revokes the terminal) before the batch writes. A logout in that batch used to write
its own end over HR's: "logout", declared, so the session's late items up to the seq the
terminal named were vouched for (accepted without HR for 15 minutes) and the terminal was
never told HR's reason. Whoever holds the terminal's password chooses that seq.

Outlived (both databases): a session past its idle limit ends at that limit, whether or not
the relay's expiry round (every 15 s) has ended it yet. A logout or a badge-in in that window
used to declare its end, vouching for late items up to any seq.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, update

from hr_console.config import Settings
from hr_console.services import directory, sessions
from hr_console.store.db import Store
from hr_console.store.models import BadgeSession, Employee, utcnow
from tests.system_fixture import prepared_home


@dataclass
class Badged:
    store: Store
    sid: str  # Karim's session on kiosk-1
    demo: Any
    cfg: Settings


@contextmanager
def _badged_in(tmp_path: Path, url: str) -> Iterator[Badged]:
    cfg, demo = prepared_home(tmp_path, url)
    store = Store(cfg.database_url)
    try:
        with store.session() as s:
            terminal = sessions.terminal_by_name(s, "kiosk-1")
            sid = sessions.badge_in(s, terminal, demo.badges["Karim Benali"], None,
                                    cfg.badge_pepper).session_id
        yield Badged(store, sid, demo, cfg)
    finally:
        store.dispose()


def _how_it_ended(store: Store, sid: str) -> tuple[Any, ...]:
    """Why, whether the terminal is owed a logout, whether the terminal's word came after
    the end, up to which seq, and whether late items are vouched for or held for HR."""
    with store.session() as s:
        row = s.get_one(BadgeSession, sid)
        return (row.end_reason, row.notify_end, row.closed_late, row.closed_seq,
                sessions.vouched(row), sessions.needs_review(row))


def test_hr_ending_a_session_during_its_logout_keeps_hr_s_end(tmp_path: Path,
                                                               pg_url: str) -> None:
    with _badged_in(tmp_path, pg_url) as b:
        with b.store.session() as relay:
            terminal = sessions.terminal_by_name(relay, "kiosk-1")
            read = relay.get_one(BadgeSession, b.sid)  # the batch read it open, and keeps it
            assert read.ended_at is None
            with b.store.session() as console:
                karim = console.get_one(Employee, b.demo.employees["Karim Benali"])
                directory.set_employee_active(console, karim, False, "hr")
            was_open = sessions.badge_out(relay, terminal, b.sid, last_seq=500)
        # HR's end stands, its logout still owed to the terminal; the terminal's word came
        # after it: it narrows the window, vouches for nothing, late items go to HR.
        assert (was_open, *_how_it_ended(b.store, b.sid)) == (
            False, "deactivated", True, True, 500, False, True)


def test_a_logout_during_an_end_by_hr_keeps_the_logout(tmp_path: Path, pg_url: str) -> None:
    """The other order: HR's transaction reads the person's open sessions, the kiosk's
    logout commits, then HR's transaction ends what it read. The declared end stands (the
    person had already gone); HR's end changes nothing and owes the terminal no logout."""
    with _badged_in(tmp_path, pg_url) as b:
        logged_out: list[bool] = []

        def logout_meanwhile(_conn, _cursor, statement: str, *_a: object) -> None:
            if not logged_out and statement.lstrip().startswith("SELECT") \
                    and "FROM badge_sessions" in statement:
                with b.store.session() as relay:  # commits before HR's transaction writes
                    terminal = sessions.terminal_by_name(relay, "kiosk-1")
                    logged_out.append(sessions.badge_out(relay, terminal, b.sid, last_seq=7))

        with b.store.session() as console:
            karim = console.get_one(Employee, b.demo.employees["Karim Benali"])
            event.listen(console.connection(), "after_cursor_execute", logout_meanwhile)
            directory.set_employee_active(console, karim, False, "hr")
        assert (logged_out, *_how_it_ended(b.store, b.sid)) == (
            [True], "logout", False, False, 7, True, False)


def _idle_for_an_hour(store: Store, sid: str) -> None:
    """The session's last uplink an hour ago (the idle limit is 30 minutes), and no expiry
    round since."""
    with store.session() as s:
        s.execute(update(BadgeSession).where(BadgeSession.id == sid).values(
            last_active_at=utcnow() - dt.timedelta(hours=1)))


def test_a_logout_after_the_idle_limit_vouches_for_nothing(tmp_path: Path,
                                                           db_url: str) -> None:
    with _badged_in(tmp_path, db_url) as b:
        _idle_for_an_hour(b.store, b.sid)
        with b.store.session() as s:
            terminal = sessions.terminal_by_name(s, "kiosk-1")
            was_open = sessions.badge_out(s, terminal, b.sid, last_seq=900)
        assert (was_open, *_how_it_ended(b.store, b.sid)) == (
            False, "idle", False, True, 900, False, True)


def test_a_badge_in_after_the_idle_limit_vouches_for_nothing(tmp_path: Path,
                                                             db_url: str) -> None:
    with _badged_in(tmp_path, db_url) as b:
        _idle_for_an_hour(b.store, b.sid)
        with b.store.session() as s:
            terminal = sessions.terminal_by_name(s, "kiosk-1")
            result = sessions.badge_in(s, terminal, b.demo.badges["Julie Moreau"], "4321",
                                       b.cfg.badge_pepper, declared_seq=900)
        assert ([e.session_id for e in result.ended], *_how_it_ended(b.store, b.sid)) == (
            [b.sid], "idle", False, True, 900, False, True)
