"""The policy epoch (migration 0019): the database raises it in every transaction that changes
what the relay remembers from one batch to the next (people as the contact check and the
moderation read them, teams, contact rules, settings), whoever writes, and never for
anything else. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update

from hr_console.services import settings
from hr_console.services.remembered import watched
from hr_console.store.db import Store
from hr_console.store.models import ContactRule, Employee, PolicyEpoch, Setting, Team, utcnow
from tests.system_fixture import prepared_home


@pytest.fixture
def store(tmp_path: Path, db_url: str) -> Iterator[Store]:
    cfg, _demo = prepared_home(tmp_path, db_url)
    st = Store(cfg.database_url)
    yield st
    st.dispose()


def _epoch(store: Store) -> int:
    with store.session() as s:
        return s.execute(select(PolicyEpoch.n).where(PolicyEpoch.id == 1)).scalar() or 0


def _someone(s) -> Employee:  # noqa: ANN001
    return s.execute(select(Employee).where(Employee.name.startswith("Sophie Martin"))
                     ).scalar_one()


RAISING: dict[str, Callable] = {
    "employee renamed": lambda s: setattr(_someone(s), "name", "Sophie Martin-Roux"),
    "team added": lambda s: s.add(Team(name="Expédition", site_id=_someone(s).team.site_id)),
    "employee moved to another team": lambda s: setattr(
        _someone(s), "team_id", s.execute(select(Team.id).where(Team.name == "Expédition"))
        .scalar_one()),
    "employee made HR desk": lambda s: setattr(_someone(s), "is_hr_desk", True),
    "employee deactivated": lambda s: setattr(_someone(s), "active", False),
    "employee's moderation": lambda s: setattr(_someone(s), "moderation_mode", "pre"),
    "employee added": lambda s: s.add(Employee(name="Nouvelle Recrue")),
    "employee removed": lambda s: s.execute(delete(Employee).where(
        Employee.name == "Nouvelle Recrue")),
    "team's supervisor": lambda s: s.execute(update(Team).values(supervisor_id=None)),
    "team removed": lambda s: s.execute(delete(Team).where(Team.name == "Vide")),
    "team's moderation": lambda s: s.execute(update(Team).values(moderation_mode="post")),
    "rule added": lambda s: s.add(ContactRule(sender_kind="everyone", recipient_kind="hr_desk")),
    "rule changed": lambda s: s.execute(update(ContactRule).values(allow_reply=False)),
    "rule removed": lambda s: s.execute(delete(ContactRule)),
    "setting changed": lambda s: settings.put(s, "keywords", ["zorglub"]),
    "setting added": lambda s: settings.put(s, "read_urgent_aloud", True),
    "setting removed": lambda s: s.execute(delete(Setting).where(
        Setting.key == "read_urgent_aloud")),
    "by hand, in SQL": lambda s: s.execute(text("UPDATE employees SET active = false")),
}


def test_every_change_the_relay_remembers_raises_the_epoch(store: Store) -> None:
    with store.session() as s:  # someone and a team to remove
        s.add(Employee(name="Nouvelle Recrue"))
        s.add(Team(name="Vide", site_id=_someone(s).team.site_id))
    for what, change in RAISING.items():
        before = _epoch(store)
        with store.session() as s:
            change(s)
        assert _epoch(store) > before, what


def test_other_changes_leave_it_alone(store: Store) -> None:
    before = _epoch(store)
    with store.session() as s:  # a wrong PIN, a lockout, a language, a badge: not policy
        who = _someone(s)
        who.failed_logins += 1
        who.locked_until = utcnow()
        who.language = "en"
        who.badge_hash = "0" * 64
        s.execute(update(Team).values(name=Team.name + " bis"))
    assert _epoch(store) == before


def test_emptying_a_table_raises_it(store: Store) -> None:
    """TRUNCATE on PostgreSQL (which row triggers never see), DELETE without WHERE on both."""
    for table in ("contact_rules", "settings"):
        before = _epoch(store)
        with store.session() as s:
            s.execute(text(f"DELETE FROM {table}" if store.is_sqlite else f"TRUNCATE {table}"))
        assert _epoch(store) > before, table


def test_a_missing_trigger_is_noticed(store: Store) -> None:
    """A tool that rebuilds a table may drop its triggers: the relay then remembers
    nothing (``services.remembered.watched``, checked as it starts)."""
    with store.session() as s:
        assert watched(s)
        s.execute(text("DROP TRIGGER policy_epoch_settings_update" if store.is_sqlite
                       else "ALTER TABLE settings DISABLE TRIGGER policy_epoch"))
        assert not watched(s)


def test_a_change_rolled_back_leaves_it_alone(store: Store) -> None:
    """The epoch moves with the changes' own transaction (a sequence, which takes no lock,
    would move even for a change never committed, and before a commit a relay could read)."""
    before = _epoch(store)
    with pytest.raises(RuntimeError), store.session() as s:
        _someone(s).active = False
        s.flush()
        raise RuntimeError("the console's transaction fails")
    assert _epoch(store) == before


def test_one_transaction_raises_it_once_on_postgresql(store: Store) -> None:
    """PostgreSQL raises it at commit, once, however many rows changed (an import of 50,000
    people takes the row's lock once, at the end); SQLite once per row."""
    before = _epoch(store)
    with store.session() as s:
        s.add_all(Employee(name=f"Import {i}") for i in range(50))
        s.execute(update(ContactRule).values(allow_reply=True))
    raised = _epoch(store) - before
    assert raised == 1 if not store.is_sqlite else raised >= 50
