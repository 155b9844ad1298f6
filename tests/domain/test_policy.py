"""The contact policy, alone: no database, no broker."""

from __future__ import annotations

import pytest

from hr_console.domain.policy import Person, Rule, contacts, may_write

A = Person(1, team_id=10, team_supervisor_id=5)
B = Person(2, team_id=10, team_supervisor_id=5)
C = Person(3, team_id=20, team_supervisor_id=6)
SUP = Person(5, team_id=10, team_supervisor_id=5)
HR = Person(9, team_id=30, is_hr_desk=True)


def test_nothing_allowed_without_rules() -> None:
    assert may_write(A, B, []).reason == "not_allowed"


def test_person_rule_is_directional_without_reply() -> None:
    rules = [Rule("person", 1, "person", 2, allow_reply=False)]
    assert may_write(A, B, rules).allowed
    assert not may_write(B, A, rules).allowed


def test_person_rule_with_reply_opens_the_way_back() -> None:
    rules = [Rule("person", 1, "person", 2, allow_reply=True)]
    assert may_write(B, A, rules).allowed
    assert not may_write(B, C, rules).allowed


def test_team_to_its_supervisor_and_back() -> None:
    rules = [Rule("team", 10, "supervisor", None, allow_reply=True)]
    assert may_write(A, SUP, rules).allowed
    assert may_write(SUP, A, rules).allowed
    assert not may_write(C, SUP, rules).allowed  # another team's member
    assert not may_write(A, B, rules).allowed


def test_everyone_to_hr_desk() -> None:
    rules = [Rule("everyone", None, "hr_desk", None, allow_reply=False)]
    assert may_write(C, HR, rules).allowed
    assert not may_write(HR, C, rules).allowed


def test_team_to_team() -> None:
    rules = [Rule("team", 10, "team", 20, allow_reply=False)]
    assert may_write(A, C, rules).allowed
    assert not may_write(C, A, rules).allowed


def test_never_to_self_and_never_inactive() -> None:
    rules = [Rule("everyone", None, "team", 10)]
    assert may_write(A, A, rules).reason == "self"
    assert may_write(Person(7, active=False), A, rules).reason == "sender_inactive"
    assert may_write(C, Person(2, team_id=10, active=False), rules).reason == "recipient_inactive"


def test_person_without_team_matches_no_team_rule() -> None:
    loner = Person(8)
    rules = [Rule("team", 10, "supervisor", None), Rule("everyone", None, "team", 10, allow_reply=False)]
    assert not may_write(loner, SUP, [rules[0]]).allowed
    assert not may_write(A, loner, rules).allowed


def test_contacts_lists_whom_one_may_write_to() -> None:
    rules = [Rule("team", 10, "supervisor", None), Rule("everyone", None, "hr_desk", None)]
    assert contacts(A, [A, B, C, SUP, HR], rules) == [5, 9]


@pytest.mark.parametrize("args", [
    ("nobody", None, "person", 1), ("person", 1, "everyone", None), ("person", None, "person", 1),
    ("everyone", 3, "person", 1), ("team", 1, "hr_desk", 4), ("team", 1, "person", None),
])
def test_bad_rules_are_refused(args) -> None:  # noqa: ANN001
    with pytest.raises(ValueError):
        Rule(*args)
