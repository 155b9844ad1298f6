"""The set form of the contact policy (``reach``, ``RuleIndex``) against the reference
``contacts``/``may_write`` on random organisations: teams with supervisors (some without,
some supervising several teams or their own), HR desk people, people without a team,
inactive people (senders and recipients), and rules of every kind with and without reply,
including references to people and teams that do not exist."""

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
    reach,
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
                          allow_reply=draw(st.booleans())))
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


@settings(max_examples=1000, deadline=None)
@given(organisations())
def test_indexed_check_gives_the_same_verdicts(org: tuple[list[Person], list[Rule]]) -> None:
    people, rules = org
    index = RuleIndex(rules)
    for a in people:
        for b in people:
            assert index.may_write(a, b) == may_write(a, b, rules)


def test_a_supervisor_of_a_team_with_no_member_yet() -> None:
    # A team-sender rule towards "supervisor" with reply names the team; whether me
    # supervises it comes from the teams table, not from its members.
    me = Person(1, team_id=None)
    worker = Person(2, team_id=7, team_supervisor_id=1)
    rules = [Rule("team", 7, "supervisor", None, allow_reply=True)]
    assert contacts(me, [me, worker], rules) == [2]
    assert reach(me, rules, {7}).admits(worker)
    assert not reach(me, rules, set()).admits(worker)
