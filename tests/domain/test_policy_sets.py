"""The set form of the contact policy (``reach``, ``RuleIndex``) against the reference
``contacts``/``may_write`` on random organisations: teams with supervisors (some without,
some supervising several teams or their own), HR desk people, people without a team,
inactive people (senders and recipients), and rules of every kind with and without reply,
on shift only or not, including references to people and teams that do not exist. Off
shift, the reach of the rules that are not on-shift-only is exactly whom ``may_write(...,
on_shift=False)`` allows, and the rest of the on-shift reach exactly whom it refuses with
``off_shift``."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hr_console.domain.policy import (
    RECIPIENT_KINDS,
    SENDER_KINDS,
    Person,
    Rule,
    RuleIndex,
    contacts,
    may_write,
    off_shift_rules,
    reach,
    sender_matches,
)


@st.composite
def organisations(draw: st.DrawFn) -> tuple[list[Person], list[Rule]]:
    n_people = draw(st.integers(1, 14))
    n_teams = draw(st.integers(0, 5))
    ids = list(range(1, n_people + 1))
    team_ids = list(range(100, 100 + n_teams))
    supervisor = {t: draw(st.none() | st.sampled_from(ids)) for t in team_ids}
    people = []
    for i in ids:
        team = draw(st.none() | st.sampled_from(team_ids)) if team_ids else None
        people.append(Person(i, team, supervisor.get(team) if team is not None else None,
                             is_hr_desk=draw(st.booleans()),
                             active=draw(st.sampled_from([True, True, True, False]))))
    # References may name someone or some team that does not exist (a deleted row).
    person_ref = st.sampled_from(ids + [999])
    team_ref = st.sampled_from(team_ids + [998])

    def side(kind: str) -> st.SearchStrategy[int | None]:
        return person_ref if kind == "person" else team_ref if kind == "team" else st.none()

    rules = []
    for _ in range(draw(st.integers(0, 10))):
        s_kind = draw(st.sampled_from(SENDER_KINDS))
        r_kind = draw(st.sampled_from(RECIPIENT_KINDS))
        rules.append(Rule(s_kind, draw(side(s_kind)), r_kind, draw(side(r_kind)),
                          allow_reply=draw(st.booleans()), on_shift_only=draw(st.booleans())))
    return people, rules


def _supervised(me: Person, people: list[Person]) -> set[int]:
    return {p.team_id for p in people
            if p.team_id is not None and p.team_supervisor_id == me.id}


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_reach_selects_exactly_the_contacts(org: tuple[list[Person], list[Rule]]) -> None:
    people, rules = org
    index = RuleIndex(rules)
    for me in people:
        expected = contacts(me, people, rules)
        supervised = _supervised(me, people)
        everything = reach(me, rules, supervised)
        assert [p.id for p in people if everything.admits(p)] == expected
        narrowed = reach(me, index.about(me), supervised)
        assert [p.id for p in people if narrowed.admits(p)] == expected


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_reach_towards_me_selects_exactly_who_may_write_to_me(
        org: tuple[list[Person], list[Rule]]) -> None:
    """The console's "who may write to them": ``may_write(p, me)`` for everyone, as sets."""
    people, rules = org
    for me in people:
        expected = [p.id for p in people if may_write(p, me, rules).allowed]
        supervised = _supervised(me, people)
        everything = reach(me, rules, supervised, towards_me=True)
        assert [p.id for p in people if everything.admits(p)] == expected
        # The rules naming ``me`` on either side suffice (what the service selects).
        about = [r for r in rules if sender_matches(r, me) or r.recipient_kind == "supervisor"
                 or (r.recipient_kind, r.recipient_ref) in
                 {("person", me.id), ("team", me.team_id)} or (r.recipient_kind == "hr_desk"
                                                                and me.is_hr_desk)]
        narrowed = reach(me, about, supervised, towards_me=True)
        assert [p.id for p in people if narrowed.admits(p)] == expected


@settings(max_examples=1000, deadline=None)
@given(organisations())
def test_indexed_check_gives_the_same_verdicts(org: tuple[list[Person], list[Rule]]) -> None:
    people, rules = org
    index = RuleIndex(rules)
    for a in people:
        for b in people:
            assert index.may_write(a, b) == may_write(a, b, rules)
            assert index.may_write(a, b, on_shift=False) == may_write(a, b, rules,
                                                                      on_shift=False)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_off_shift_reach_and_the_greyed_contacts(org: tuple[list[Person], list[Rule]]) -> None:
    """What the relay and the kiosk do for someone off shift: the reach of the rules that are
    not on-shift-only is whom they may write to now; those the on-shift reach adds are whom
    the relay refuses with ``off_shift`` (greyed on the kiosk); everyone else is refused as
    before. Rules without the flag: off shift changes nothing."""
    people, rules = org
    index = RuleIndex(rules)
    for me in people:
        supervised = _supervised(me, people)
        now = reach(me, off_shift_rules(index.about(me)), supervised)
        later = reach(me, index.about(me), supervised)
        for p in people:
            verdict = may_write(me, p, rules, on_shift=False)
            assert now.admits(p) == verdict.allowed, (me, p)
            greyed = later.admits(p) and not now.admits(p)
            assert greyed == (verdict.reason == "off_shift"), (me, p, verdict)
            if not any(r.on_shift_only for r in rules):
                assert verdict == may_write(me, p, rules)
        assert [p.id for p in people if now.admits(p)] == contacts(me, people, rules,
                                                                   on_shift=False)


def test_on_shift_only_in_both_directions() -> None:
    """The flag binds whoever writes under the rule: the team member writing to HR, and HR
    answering through the same rule's reply."""
    worker, desk = Person(1, team_id=7), Person(2, is_hr_desk=True)
    rules = [Rule("team", 7, "hr_desk", None, allow_reply=True, on_shift_only=True)]
    assert may_write(worker, desk, rules).allowed
    assert may_write(worker, desk, rules, on_shift=False).reason == "off_shift"
    assert may_write(desk, worker, rules).allowed
    assert may_write(desk, worker, rules, on_shift=False).reason == "off_shift"
    # Another rule without the flag still grants off shift.
    both = [*rules, Rule("everyone", None, "hr_desk", None, allow_reply=False)]
    assert may_write(worker, desk, both, on_shift=False).allowed
    assert may_write(desk, worker, both, on_shift=False).reason == "off_shift"
    stranger = Person(3, team_id=8)
    assert may_write(stranger, worker, rules, on_shift=False).reason == "not_allowed"


def test_a_supervisor_of_a_team_with_no_member_yet() -> None:
    # A team-sender rule towards "supervisor" with reply names the team; whether me
    # supervises it comes from the teams table, not from its members.
    me = Person(1, team_id=None)
    worker = Person(2, team_id=7, team_supervisor_id=1)
    rules = [Rule("team", 7, "supervisor", None, allow_reply=True)]
    assert contacts(me, [me, worker], rules) == [2]
    assert reach(me, rules, {7}).admits(worker)
    assert not reach(me, rules, set()).admits(worker)
