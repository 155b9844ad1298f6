"""Who may write to whom. Pure rules; the services feed them rows turned into values.

A rule is directional: senders matching its sender side may write to recipients matching
its recipient side. ``allow_reply`` lets the recipient answer the sender (the reverse
direction), which is how "a worker may write to HR and HR may answer" is said once.

``on_shift_only``: the rule grants only while whoever writes under it (its sender, or its
recipient answering) is on shift (``domain.shifts``). Whether they are is the caller's one
fact per person (``on_shift``), never a question asked per rule or per contact.
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
    on_shift_only: bool = False

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


def may_write(sender: Person, recipient: Person, rules: Iterable[Rule], *,
              on_shift: bool = True) -> Verdict:
    """The relay's contact check, and what the kiosk contact list is built from.

    ``on_shift``: whether the sender is on shift now. When they are not, an on-shift-only
    rule grants nothing, and a refusal that only such rules stand in the way of is
    ``off_shift`` (the kiosk says when they may write again) rather than ``not_allowed``."""
    if sender.id == recipient.id:
        return Verdict(False, "self")
    if not sender.active:
        return Verdict(False, "sender_inactive")
    if not recipient.active:
        return Verdict(False, "recipient_inactive")
    later = False
    for rule in rules:
        grants = (sender_matches(rule, sender) and recipient_matches(rule, sender, recipient)) \
            or (rule.allow_reply and sender_matches(rule, recipient)
                and recipient_matches(rule, recipient, sender))
        if not grants:
            continue
        if rule.on_shift_only and not on_shift:
            later = True
            continue
        return Verdict(True)
    return Verdict(False, "off_shift" if later else "not_allowed")


def contacts(me: Person, people: Iterable[Person], rules: Iterable[Rule], *,
             on_shift: bool = True) -> list[int]:
    """Ids of everyone ``me`` may write to, in the order given."""
    rules = list(rules)
    return [p.id for p in people if may_write(me, p, rules, on_shift=on_shift).allowed]


def off_shift_rules(rules: Iterable[Rule]) -> list[Rule]:
    """The rules that still grant while the writer is off shift: ``reach`` of these is who an
    off-shift person may write to now (``may_write(..., on_shift=False)``); ``reach`` of all
    of them is who they may write to on shift, so the difference is who to show greyed."""
    return [r for r in rules if not r.on_shift_only]


@dataclass(frozen=True)
class Reach:
    """Who ``me`` may write to, as sets instead of a verdict per person (``reach``).

    A person ``p`` other than ``me`` is a contact when ``p`` is active and any of:
    ``everyone``; ``p.id`` in ``person_ids``; ``p.team_id`` in ``team_ids``; ``hr_desk`` and
    ``p.is_hr_desk``; ``supervised_members`` and ``p.team_id`` in ``supervised_team_ids``
    (members of the teams ``me`` supervises, granted by a reply rule from everyone towards
    "supervisor"); ``p.id`` in
    ``supervised_person_ids`` *and* ``p.team_id`` in ``supervised_team_ids`` (a person rule
    towards "supervisor" with reply: that person, while in a team ``me`` supervises).
    An inactive ``me`` reaches nobody (``nobody``)."""

    me: int
    everyone: bool = False
    person_ids: frozenset[int] = frozenset()
    team_ids: frozenset[int] = frozenset()
    hr_desk: bool = False
    supervised_team_ids: frozenset[int] = frozenset()
    supervised_members: bool = False
    supervised_person_ids: frozenset[int] = frozenset()
    nobody: bool = False

    def admits(self, p: Person) -> bool:
        """The same test in Python (the services turn it into one SQL ``WHERE``)."""
        if self.nobody or p.id == self.me or not p.active:
            return False
        in_supervised = p.team_id is not None and p.team_id in self.supervised_team_ids
        return (self.everyone or p.id in self.person_ids
                or (p.team_id is not None and p.team_id in self.team_ids)
                or (self.hr_desk and p.is_hr_desk)
                or (in_supervised and self.supervised_members)
                or (in_supervised and p.id in self.supervised_person_ids))


def reach(me: Person, rules: Iterable[Rule], supervised_team_ids: Iterable[int], *,
          towards_me: bool = False) -> Reach:
    """Who ``me`` may write to according to ``may_write``, without looking at anyone else.

    ``supervised_team_ids``: the teams whose supervisor is ``me``. Only the rules that can
    concern ``me`` matter (``RuleIndex.about`` picks them), but any superset gives the same
    answer. Equivalent to ``contacts(me, everyone, rules)`` restricted by ``Reach.admits``
    (tests/domain/test_policy_sets.py).

    ``towards_me``: who may write *to* ``me`` instead (``may_write(p, me)``, the console's
    "who may write to them"). The same two parts with the reply condition swapped: a rule
    whose sender side is ``me`` counts only when its recipients may reply, and a rule whose
    recipient side is ``me`` counts whether or not it allows replies."""
    if not me.active:
        return Reach(me.id, nobody=True)
    supervised = frozenset(supervised_team_ids)
    everyone = hr_desk = all_supervised = False
    person_ids: set[int] = set()
    team_ids: set[int] = set()
    supervised_person_ids: set[int] = set()
    for rule in rules:
        # (a) me as the sender: who the recipient side names (towards me: who may answer).
        if sender_matches(rule, me) and (rule.allow_reply or not towards_me):
            kind = rule.recipient_kind
            if kind == "person":
                person_ids.add(rule.recipient_ref)  # type: ignore[arg-type]
            elif kind == "team":
                team_ids.add(rule.recipient_ref)  # type: ignore[arg-type]
            elif kind == "supervisor":
                if me.team_supervisor_id is not None:
                    person_ids.add(me.team_supervisor_id)
            else:
                hr_desk = True
        # (b) me as the recipient of a rule with reply: its senders, who may be answered
        # (towards me: any rule, its senders write to me).
        if not (rule.allow_reply or towards_me):
            continue
        kind = rule.recipient_kind
        if kind == "supervisor":
            # p writes to p's team's supervisor: me, when p is in a team I supervise.
            if rule.sender_kind == "everyone":
                all_supervised = True
            elif rule.sender_kind == "person":
                supervised_person_ids.add(rule.sender_ref)  # type: ignore[arg-type]
            elif rule.sender_ref in supervised:
                team_ids.add(rule.sender_ref)  # type: ignore[arg-type]
            continue
        if kind == "person":
            mine = rule.recipient_ref == me.id
        elif kind == "team":
            mine = me.team_id is not None and rule.recipient_ref == me.team_id
        else:
            mine = me.is_hr_desk
        if not mine:
            continue
        if rule.sender_kind == "everyone":
            everyone = True
        elif rule.sender_kind == "person":
            person_ids.add(rule.sender_ref)  # type: ignore[arg-type]
        else:
            team_ids.add(rule.sender_ref)  # type: ignore[arg-type]
    return Reach(me.id, everyone=everyone, person_ids=frozenset(person_ids),
                 team_ids=frozenset(team_ids), hr_desk=hr_desk,
                 supervised_team_ids=supervised if (all_supervised or supervised_person_ids)
                 else frozenset(),
                 supervised_members=all_supervised,
                 supervised_person_ids=frozenset(supervised_person_ids))


def _sender_keys(p: Person) -> tuple[tuple[str, int | None], ...]:
    keys: tuple[tuple[str, int | None], ...] = (("everyone", None), ("person", p.id))
    return keys + (("team", p.team_id),) if p.team_id is not None else keys


class RuleIndex:
    """The rules by sender side, built once per batch, so that a check or a contact list
    looks only at the rules that can concern the people involved (``may_write`` and
    ``reach`` give the same answers with these as with every rule)."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self._by_sender: dict[tuple[str, int | None], list[Rule]] = {}
        self._replies_by_sender: dict[tuple[str, int | None], list[Rule]] = {}
        self._replies_by_recipient: dict[tuple[str, int | None], list[Rule]] = {}
        for rule in self.rules:
            key = (rule.sender_kind, rule.sender_ref)
            self._by_sender.setdefault(key, []).append(rule)
            if rule.allow_reply:
                self._replies_by_sender.setdefault(key, []).append(rule)
                self._replies_by_recipient.setdefault(
                    (rule.recipient_kind, rule.recipient_ref), []).append(rule)

    def for_pair(self, sender: Person, recipient: Person) -> list[Rule]:
        """Every rule ``may_write(sender, recipient, ...)`` could allow with: those whose
        sender side matches the sender, and the reply rules whose sender side matches the
        recipient."""
        out: list[Rule] = []
        for key in _sender_keys(sender):
            out.extend(self._by_sender.get(key, ()))
        for key in _sender_keys(recipient):
            out.extend(self._replies_by_sender.get(key, ()))
        return out

    def may_write(self, sender: Person, recipient: Person, *, on_shift: bool = True) -> Verdict:
        return may_write(sender, recipient, self.for_pair(sender, recipient), on_shift=on_shift)

    def about(self, me: Person) -> list[Rule]:
        """Every rule ``reach(me, ...)`` could use: those whose sender side matches ``me``,
        and the reply rules whose recipient side may be ``me`` (any towards "supervisor")."""
        out: list[Rule] = []
        for key in _sender_keys(me):
            out.extend(self._by_sender.get(key, ()))
        keys: list[tuple[str, int | None]] = [("person", me.id), ("supervisor", None)]
        if me.team_id is not None:
            keys.append(("team", me.team_id))
        if me.is_hr_desk:
            keys.append(("hr_desk", None))
        for key in keys:
            out.extend(self._replies_by_recipient.get(key, ()))
        return out
