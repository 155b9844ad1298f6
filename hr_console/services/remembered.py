"""What a relay's batches read of people, contact rules and settings, kept from one batch to
the next while the database's policy epoch (``store.models.PolicyEpoch``) stays the same.

Each batch read them again (``store.db.open_batch_cache`` lasts one transaction): three
statements of a text's seven on PostgreSQL. The database raises the epoch in the very
transaction that changes any of them (triggers, migration 0019), and a batch's first
statement reads it (``relay.handlers``): when it differs from the one these were read at,
they are forgotten before anything uses them. So a batch uses only what a read in its own
transaction would give, or newer (on PostgreSQL a statement after the first may see a
commit the first did not; the next batch then reads the raised epoch and forgets).

Only a transaction that has read the epoch uses them (``arm``); any other reads as before.
A batch that fails forgets them (``forget``): what it read could include its own writes.
A relay whose database lacks any of the triggers remembers nothing (``watched``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from hr_console.domain.policy import Person, Rule
from hr_console.store.db import batch_cache

# People remembered at most: past this everything is forgotten and read again. The rules
# are kept by sender side (everyone's, a person's, a team's), not copied to each person.
MAX_PEOPLE = 100_000
_ARMED = "remembered"  # in the batch cache, once the transaction read the epoch


@dataclass(frozen=True)
class Profile:
    """What the message path reads of a person beyond ``Person``: the name the recipient's
    copy shows, and the moderation modes that apply to what they send."""

    name: str
    moderation_mode: str | None
    team_moderation_mode: str | None


@dataclass
class Remembered:
    """One per relay thread that runs batches (the worker, the receipts lane): never shared
    between threads."""

    epoch: int | None = None
    people: dict[int, Person] = field(default_factory=dict)
    profiles: dict[int, Profile] = field(default_factory=dict)
    # Contact rules by their sender side (rule id -> rule): everyone's once any were read,
    # a person's own and a team's for the people and teams read so far (empty: none).
    everyone: dict[int, Rule] | None = None
    by_person: dict[int, dict[int, Rule]] = field(default_factory=dict)
    by_team: dict[int, dict[int, Rule]] = field(default_factory=dict)
    settings: dict[str, Any] | None = None

    def at(self, epoch: int) -> None:
        """The epoch a batch just read: everything read at another one is forgotten."""
        if epoch != self.epoch or len(self.people) > MAX_PEOPLE:
            self.forget()
        self.epoch = epoch

    def forget(self) -> None:
        self.epoch = None
        self.people.clear()
        self.profiles.clear()
        self.everyone = None
        self.by_person.clear()
        self.by_team.clear()
        self.settings = None

    def rules_of(self, person: Person) -> dict[int, Rule] | None:
        """The rules whose sender side is ``person`` (everyone's, their own, their team's),
        as ``people._rules_of`` reads them; None if some part was never read."""
        mine = self.by_person.get(person.id)
        team = self.by_team.get(person.team_id) if person.team_id is not None else {}
        if self.everyone is None or mine is None or team is None:
            return None
        return {**self.everyone, **mine, **team}

    def learn_rules(self, found: dict[int, Rule], people: list[Person]) -> None:
        """``found``: every rule whose sender side is one of ``people`` (``_rules_of``), so
        all of everyone's, of these people's own and of their teams'."""
        everyone: dict[int, Rule] = {}
        by_person: dict[int, dict[int, Rule]] = {p.id: {} for p in people}
        by_team: dict[int, dict[int, Rule]] = {p.team_id: {} for p in people
                                               if p.team_id is not None}
        for rule_id, rule in found.items():
            if rule.sender_kind == "everyone":
                everyone[rule_id] = rule
            elif rule.sender_kind == "person" and rule.sender_ref in by_person:
                by_person[rule.sender_ref][rule_id] = rule
            elif rule.sender_kind == "team" and rule.sender_ref in by_team:
                by_team[rule.sender_ref][rule_id] = rule
        self.everyone = everyone
        self.by_person.update(by_person)
        self.by_team.update(by_team)


def arm(session: Session, epoch: int | None) -> None:
    """The batch's transaction read ``epoch`` (None: no row yet, read as 0): from now on it
    uses what its relay remembers (if ``open_batch_cache`` was given a ``Remembered``)."""
    cache = batch_cache(session)
    kept = cache.get("_remembered") if cache is not None else None
    if kept is None:
        return
    kept.at(epoch or 0)
    cache[_ARMED] = kept


def remembered(session: Session) -> Remembered | None:
    """The relay's memory, when this transaction read the epoch; else None."""
    cache = batch_cache(session)
    return cache.get(_ARMED) if cache is not None else None


# The triggers migration 0019 creates: without every one of them (a table rebuilt by a tool
# that drops its triggers, a restore that skipped them) a change could leave the epoch
# alone, so the relay remembers nothing (``watched``).
SQLITE_TRIGGERS = 12  # policy_epoch_<table>_<insert|delete|update>, 4 tables
PG_TRIGGERS = 8  # policy_epoch (rows) and policy_epoch_truncate, 4 tables


def watched(session: Session) -> bool:
    """Whether every trigger that raises the policy epoch is in place (and enabled)."""
    if session.get_bind().dialect.name == "sqlite":
        found = session.execute(text(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE 'policy_epoch_%'")).scalar()
        return found == SQLITE_TRIGGERS
    found = session.execute(text(
        "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE t.tgname IN ('policy_epoch', 'policy_epoch_truncate') AND t.tgenabled <> 'D' "
        "AND c.relname IN ('employees', 'teams', 'contact_rules', 'settings') "
        "AND pg_table_is_visible(c.oid)")).scalar()
    return found == PG_TRIGGERS
