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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from hr_console.domain.policy import Person, Rule
from hr_console.store.db import batch_cache

# People remembered at most: past this everything is forgotten and read again (a relay of a
# 50,000-person company keeps about 30 MB).
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
    # A person's contact rules as a sender (everyone's, their own, their team's), by rule id.
    rules: dict[int, dict[int, Rule]] = field(default_factory=dict)
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
        self.rules.clear()
        self.settings = None


def arm(session: Session, epoch: int | None) -> None:
    """The batch's transaction read ``epoch`` (None: no row yet, read as 0): from now on it
    uses what its relay remembers (if ``open_batch_cache`` was given a ``Remembered``)."""
    cache = batch_cache(session)
    kept = cache.get("_remembered") if cache is not None else None
    if cache is None or kept is None:
        return
    kept.at(epoch or 0)
    cache[_ARMED] = kept


def remembered(session: Session) -> Remembered | None:
    """The relay's memory, when this transaction read the epoch; else None."""
    cache = batch_cache(session)
    return cache.get(_ARMED) if cache is not None else None


def rules_by_person(found: dict[int, Rule], people: list[Person]) -> dict[int, dict[int, Rule]]:
    """``found`` (every rule whose sender side is one of ``people``) split by person, as
    ``people._rules_of`` chose them: everyone's, the person's own, their team's."""
    everyone: dict[int, Rule] = {}
    by_person: dict[int, dict[int, Rule]] = {}
    by_team: dict[int, dict[int, Rule]] = {}
    for rule_id, rule in found.items():
        if rule.sender_kind == "everyone":
            everyone[rule_id] = rule
        elif rule.sender_kind == "person" and rule.sender_ref is not None:
            by_person.setdefault(rule.sender_ref, {})[rule_id] = rule
        elif rule.sender_kind == "team" and rule.sender_ref is not None:
            by_team.setdefault(rule.sender_ref, {})[rule_id] = rule
    out = {}
    for p in people:
        mine = dict(everyone)
        mine.update(by_person.get(p.id, {}))
        if p.team_id is not None:
            mine.update(by_team.get(p.team_id, {}))
        out[p.id] = mine
    return out
