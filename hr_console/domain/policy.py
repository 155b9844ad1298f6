"""Who may write to whom. Pure rules; the services feed them rows turned into values.

A rule is directional: senders matching its sender side may write to recipients matching
its recipient side. ``allow_reply`` lets the recipient answer the sender (the reverse
direction), which is how "a worker may write to HR and HR may answer" is said once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SENDER_KINDS = ("person", "team", "everyone")
RECIPIENT_KINDS = ("person", "team", "supervisor", "hr_desk")


@dataclass(frozen=True)
class Person:
    id: int
    team_id: int | None = None
    team_supervisor_id: int | None = None  # the supervisor of this person's team
    is_hr_desk: bool = False
    active: bool = True


@dataclass(frozen=True)
class Rule:
    sender_kind: str
    sender_ref: int | None
    recipient_kind: str
    recipient_ref: int | None
    allow_reply: bool = True

    def __post_init__(self) -> None:
        if self.sender_kind not in SENDER_KINDS:
            raise ValueError(f"unknown sender kind {self.sender_kind!r}")
        if self.recipient_kind not in RECIPIENT_KINDS:
            raise ValueError(f"unknown recipient kind {self.recipient_kind!r}")
        needs_ref = {"person", "team"}
        if (self.sender_kind in needs_ref) != (self.sender_ref is not None):
            raise ValueError(f"sender kind {self.sender_kind!r} and its reference disagree")
        if (self.recipient_kind in needs_ref) != (self.recipient_ref is not None):
            raise ValueError(f"recipient kind {self.recipient_kind!r} and its reference disagree")


def sender_matches(rule: Rule, person: Person) -> bool:
    if rule.sender_kind == "everyone":
        return True
    if rule.sender_kind == "person":
        return rule.sender_ref == person.id
    return person.team_id is not None and rule.sender_ref == person.team_id


def recipient_matches(rule: Rule, sender: Person, recipient: Person) -> bool:
    kind = rule.recipient_kind
    if kind == "person":
        return rule.recipient_ref == recipient.id
    if kind == "team":
        return recipient.team_id is not None and rule.recipient_ref == recipient.team_id
    if kind == "supervisor":
        return sender.team_supervisor_id is not None and sender.team_supervisor_id == recipient.id
    return recipient.is_hr_desk


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""  # a stable code, translated where it is shown


def may_write(sender: Person, recipient: Person, rules: Iterable[Rule]) -> Verdict:
    """The relay's contact check, and what the kiosk contact list is built from."""
    if sender.id == recipient.id:
        return Verdict(False, "self")
    if not sender.active:
        return Verdict(False, "sender_inactive")
    if not recipient.active:
        return Verdict(False, "recipient_inactive")
    for rule in rules:
        if sender_matches(rule, sender) and recipient_matches(rule, sender, recipient):
            return Verdict(True)
        if rule.allow_reply and sender_matches(rule, recipient) and recipient_matches(
            rule, recipient, sender
        ):
            return Verdict(True)
    return Verdict(False, "not_allowed")


def contacts(me: Person, people: Iterable[Person], rules: Iterable[Rule]) -> list[int]:
    """Ids of everyone ``me`` may write to, in the order given."""
    rules = list(rules)
    return [p.id for p in people if may_write(me, p, rules).allowed]
