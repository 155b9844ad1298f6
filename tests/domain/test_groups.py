"""Workgroup membership and posting rules, alone."""

from __future__ import annotations

import itertools

import pytest

from hr_console.domain.groups import (
    ARCHIVED,
    GROUP_CLOSED,
    NOT_MEMBER,
    READ_ONLY,
    REPLY_ONLY,
    MemberRule,
    Placement,
    can_post,
    is_member,
    matching_rule,
    posting_refusal,
    read_only,
    rule_matches,
)

SHIFTS = {10: 1, 11: 2, 12: None}  # shift id -> its team (shift 12 has none)
LINE1 = Placement(team_id=1, site_id=100)
LINE2 = Placement(team_id=2, site_id=200)
NO_TEAM = Placement(team_id=None, site_id=None)
GONE = Placement(team_id=1, site_id=100, active=False)
REF = "16fd2706-8baf-433b-82eb-8c7fada847da"


def test_rule_shape() -> None:
    MemberRule("everyone")
    MemberRule("team", 1)
    for kind, ref in [("everyone", 1), ("team", None), ("site", None), ("shift", None),
                      ("person", 1), ("", None)]:
        with pytest.raises(ValueError):
            MemberRule(kind, ref)


@pytest.mark.parametrize(("rule", "where", "expected"), [
    (MemberRule("everyone"), LINE1, True),
    (MemberRule("everyone"), NO_TEAM, True),
    (MemberRule("team", 1), LINE1, True),
    (MemberRule("team", 1), LINE2, False),
    (MemberRule("team", 1), NO_TEAM, False),
    (MemberRule("site", 100), LINE1, True),
    (MemberRule("site", 100), LINE2, False),
    (MemberRule("site", 100), NO_TEAM, False),
    (MemberRule("shift", 10), LINE1, True),  # shift 10 belongs to team 1
    (MemberRule("shift", 10), LINE2, False),
    (MemberRule("shift", 12), NO_TEAM, False),  # a shift without a team takes in nobody
    (MemberRule("shift", 99), NO_TEAM, False),  # an unknown shift neither
])
def test_rule_matches(rule: MemberRule, where: Placement, expected: bool) -> None:
    assert rule_matches(rule, where, SHIFTS) is expected


def test_matching_rule_is_the_first_that_matches() -> None:
    rules = [MemberRule("team", 2), MemberRule("site", 100), MemberRule("everyone")]
    assert matching_rule(rules, LINE1, SHIFTS) == MemberRule("site", 100)
    assert matching_rule(rules, LINE2, SHIFTS) == MemberRule("team", 2)
    assert matching_rule([], LINE1, SHIFTS) is None


def test_site_limit_applies_to_rules_only() -> None:
    everyone = [MemberRule("everyone")]
    assert is_member(everyone, LINE1, SHIFTS, group_site_id=100)
    assert not is_member(everyone, LINE2, SHIFTS, group_site_id=100)
    assert not is_member(everyone, NO_TEAM, SHIFTS, group_site_id=100)
    assert is_member(everyone, NO_TEAM, SHIFTS)  # no site: everyone is everyone
    # A team rule naming a team of another site counts nobody in a site-bound group.
    assert not is_member([MemberRule("team", 2)], LINE2, SHIFTS, group_site_id=100)
    # Hand-picked people are members whatever their site.
    assert is_member([], LINE2, SHIFTS, group_site_id=100, hand_picked=True)
    assert is_member(everyone, LINE2, SHIFTS, group_site_id=100, hand_picked=True)


def test_inactive_people_are_members_of_nothing() -> None:
    assert not is_member([MemberRule("everyone")], GONE, SHIFTS)
    assert not is_member([], GONE, SHIFTS, hand_picked=True)


def test_moving_team_changes_membership() -> None:
    rules = [MemberRule("shift", 11)]  # the members of team 2, through its shift
    assert not is_member(rules, LINE1, SHIFTS)
    assert is_member(rules, Placement(team_id=2, site_id=200), SHIFTS)


def _refusal(state="open", member=True, lead=False, right="everyone", reply=False,
             reply_to=None) -> str | None:  # noqa: ANN001
    return posting_refusal(state=state, is_member=member, is_lead=lead, post_right=right,
                           members_reply=reply, reply_to=reply_to)


def test_posting_in_an_open_group_for_everyone() -> None:
    assert _refusal() is None
    assert _refusal(reply_to=REF) is None
    assert _refusal(member=False) == NOT_MEMBER
    assert _refusal(member=False, lead=True) == NOT_MEMBER  # leads post where they belong


def test_posting_in_a_leads_group() -> None:
    assert _refusal(right="leads", lead=True) is None
    assert _refusal(right="leads", lead=True, reply_to=REF) is None
    assert _refusal(right="leads") == READ_ONLY
    assert _refusal(right="leads", reply_to=REF) == READ_ONLY
    assert _refusal(right="leads", reply=True) == REPLY_ONLY
    assert _refusal(right="leads", reply=True, reply_to=REF) is None


def test_closed_and_archived_groups() -> None:
    for state in ("deleted", None, "bogus"):
        assert _refusal(state=state) == GROUP_CLOSED
        assert _refusal(state=state, member=False) == GROUP_CLOSED
    assert _refusal(state="archived") == ARCHIVED
    assert _refusal(state="archived", lead=True, right="leads") == ARCHIVED
    assert _refusal(state="archived", member=False) == NOT_MEMBER


def test_the_whole_matrix_agrees_with_can_post_and_read_only() -> None:
    for state, member, lead, right, reply in itertools.product(
            ("open", "archived", "deleted", None), (True, False), (True, False),
            ("everyone", "leads"), (True, False)):
        fields = {"state": state, "is_member": member, "is_lead": lead, "post_right": right,
                  "members_reply": reply}
        new = posting_refusal(**fields, reply_to=None)
        answer = posting_refusal(**fields, reply_to=REF)
        assert can_post(**fields) is (new is None)
        assert read_only(**fields) is (answer is not None)
        # Whoever may start a post may also answer one; never the reverse only.
        assert new is not None or answer is None
        # Only an open group of which one is a member takes anything.
        if state != "open" or not member:
            assert new is not None and answer is not None


def test_a_lead_is_a_lead_of_the_groups_that_take_in_their_team() -> None:
    from hr_console.domain.groups import leads

    shifts = {7: 1}
    a1, b1 = Placement(team_id=1, site_id=10), Placement(team_id=2, site_id=20)
    assert leads([MemberRule("team", 1)], [a1], shifts)
    assert not leads([MemberRule("team", 1)], [b1], shifts)
    assert leads([MemberRule("shift", 7)], [a1], shifts)
    assert leads([MemberRule("site", 10)], [b1, a1], shifts)
    assert not leads([MemberRule("everyone")], [b1], shifts, group_site_id=10)
    assert leads([MemberRule("everyone")], [b1], shifts)
    assert not leads([], [a1], shifts)
    assert leads([], [a1], shifts, leads_a_picked_member=True)
    assert not leads([MemberRule("team", 1)], [], shifts)
