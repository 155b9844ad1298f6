"""Workgroups: who is a member and who may post. Pure rules, no I/O.

The services work membership out in SQL, set-based, for thousands of people at once
(services.groups); these functions say the same thing for one person, so the rules are
written down once in plain Python, unit-tested alone, and the SQL is tested against them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

RULE_KINDS = ("team", "site", "shift", "everyone")
POST_RIGHTS = ("everyone", "leads")
STATES = ("open", "archived", "deleted")
MODERATION_MODES = ("pre", "post", "none")  # or None: the sender's usual 1:1 mode

# Why a post is refused (stable codes, translated by the kiosk).
NOT_MEMBER = "not_member"
READ_ONLY = "read_only"
ARCHIVED = "archived"
GROUP_CLOSED = "group_closed"  # deleted, or no such group
REPLY_ONLY = "reply_only"
REFUSALS = (NOT_MEMBER, READ_ONLY, ARCHIVED, GROUP_CLOSED, REPLY_ONLY)


@dataclass(frozen=True)
class MemberRule:
    """One membership rule: a team, a site, a shift (its team's members) or everyone."""

    kind: str
    ref_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise ValueError(f"unknown rule kind {self.kind!r}")
        if (self.kind == "everyone") != (self.ref_id is None):
            need = "takes no" if self.kind == "everyone" else "needs a"
            raise ValueError(f"a {self.kind!r} rule {need} reference")


@dataclass(frozen=True)
class Placement:
    """Where a person is: their team and that team's site (both None without a team)."""

    team_id: int | None
    site_id: int | None
    active: bool = True


def rule_matches(rule: MemberRule, where: Placement, shift_team: Mapping[int, int | None]) -> bool:
    """Does ``rule`` take in a person placed at ``where``? ``shift_team`` maps shift ids to
    their team (a shift rule means the members of that shift's team)."""
    if rule.kind == "everyone":
        return True
    if rule.kind == "team":
        return where.team_id is not None and rule.ref_id == where.team_id
    if rule.kind == "site":
        return where.site_id is not None and rule.ref_id == where.site_id
    team = shift_team.get(rule.ref_id) if rule.ref_id is not None else None
    return team is not None and team == where.team_id


def matching_rule(rules: Iterable[MemberRule], where: Placement,
                  shift_team: Mapping[int, int | None],
                  group_site_id: int | None = None) -> MemberRule | None:
    """The first rule that takes the person in, if any. A group tied to a site counts, by
    rule, only people whose team is on that site."""
    if group_site_id is not None and where.site_id != group_site_id:
        return None
    return next((r for r in rules if rule_matches(r, where, shift_team)), None)


def is_member(rules: Iterable[MemberRule], where: Placement,
              shift_team: Mapping[int, int | None], *, group_site_id: int | None = None,
              hand_picked: bool = False) -> bool:
    """Live membership: an active person matching a rule (within the group's site) or
    hand-picked (whatever their site). A deactivated person is a member of nothing."""
    if not where.active:
        return False
    return hand_picked or matching_rule(rules, where, shift_team, group_site_id) is not None


def posting_refusal(*, state: str | None, is_member: bool, is_lead: bool, post_right: str,
                    members_reply: bool, reply_to: str | None) -> str | None:
    """Why this person may not post (a code from REFUSALS), or None if they may.

    ``state`` None means no such group. ``is_lead``: supervises a team or is the HR desk.
    In a 'leads' group the others only read, unless ``members_reply`` lets them answer a
    post (a post carrying ``reply_to``)."""
    if state not in ("open", "archived"):
        return GROUP_CLOSED
    if not is_member:
        return NOT_MEMBER
    if state == "archived":
        return ARCHIVED
    if post_right == "everyone" or is_lead:
        return None
    if members_reply:
        return None if reply_to is not None else REPLY_ONLY
    return READ_ONLY


def can_post(*, state: str | None, is_member: bool, is_lead: bool, post_right: str,
             members_reply: bool) -> bool:
    """May start a new post (not only reply): the kiosk's ``can_post``."""
    return posting_refusal(state=state, is_member=is_member, is_lead=is_lead,
                           post_right=post_right, members_reply=members_reply,
                           reply_to=None) is None


def read_only(*, state: str | None, is_member: bool, is_lead: bool, post_right: str,
              members_reply: bool) -> bool:
    """Nothing at all may be posted, not even a reply: the kiosk shows no compose bar."""
    return posting_refusal(state=state, is_member=is_member, is_lead=is_lead,
                           post_right=post_right, members_reply=members_reply,
                           reply_to="reply") is not None


def leads(rules: Iterable[MemberRule], led: Iterable[Placement],
          shift_team: Mapping[int, int | None], *, group_site_id: int | None = None,
          leads_a_picked_member: bool = False) -> bool:
    """Is a team lead a lead *of this group*: does the group take in a team they lead (by
    its rules, within the group's site), or a hand-picked member of it? ``led``: the teams
    they supervise. Leading some other team gives no right to post in a 'leads' group (a
    site-wide safety group is its own teams' leads' and HR's to write in)."""
    rules = list(rules)
    return leads_a_picked_member or any(
        matching_rule(rules, where, shift_team, group_site_id) is not None for where in led)
