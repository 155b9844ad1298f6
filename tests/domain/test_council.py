"""The works council report's disclosure rule and its month, without a database."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from hr_console.domain.council import (
    MIN_PEOPLE,
    minimum_people,
    month_bounds,
    parse_month,
    plan,
    shown,
    sites_shown,
)

NO_TEAM = 0  # the people without a team: a group on no site


def test_small_groups_are_pooled() -> None:
    assert shown({"a": 6, "b": 9, "c": 2, "d": 3}, 5) == {"a", "b"}


def test_a_pool_too_small_takes_in_the_smallest_named_group() -> None:
    # "c" alone (2 people) would be the total minus a and b: "a" joins it.
    assert shown({"a": 6, "b": 9, "c": 2}, 5) == {"b"}
    # and again while the pool stays under the threshold
    assert shown({"a": 5, "b": 5, "c": 1}, 7) == set()


def test_nothing_pooled_means_nothing_moves() -> None:
    assert shown({"a": 5, "b": 50}, 5) == {"a", "b"}
    assert shown({}, 5) == set()


def test_only_eligible_keys_are_named() -> None:
    assert shown({"a": 9, "b": 9, "c": 9}, 5, eligible={"a", "b"}) == {"a", "b"}


def test_property_no_pool_of_one_to_four() -> None:
    """Whatever the sizes: every named group has the threshold, and the pool is empty or
    has it too."""
    rng = random.Random(17)
    for _ in range(2000):
        people = {k: rng.randint(1, 12) for k in range(rng.randint(0, 8))}
        minimum = rng.randint(2, 9)
        keep = shown(people, minimum)
        assert all(people[k] >= minimum for k in keep)
        pool = sum(n for k, n in people.items() if k not in keep)
        assert pool == 0 or pool >= minimum or not keep


@pytest.mark.parametrize("value,expected", [(None, MIN_PEOPLE), ("", MIN_PEOPLE), ("5", 5),
                                            ("12", 12), (" 7 ", 7)])
def test_the_threshold_can_be_raised(value: str | None, expected: int) -> None:
    assert minimum_people(value) == expected


@pytest.mark.parametrize("value", ["4", "0", "-5", "1001", "abc", "5.5", "1e3"])
def test_the_threshold_is_never_lowered(value: str) -> None:
    with pytest.raises(ValueError, match="bad_minimum"):
        minimum_people(value)


def test_months() -> None:
    today = dt.date(2026, 12, 3)
    assert parse_month(None, today) == (2026, 11)
    assert parse_month("", dt.date(2026, 1, 10)) == (2025, 12)
    assert parse_month("2026-12", today) == (2026, 12)
    for bad, code in (("2026-13", "bad_month"), ("2026-1", "bad_month"), ("nov", "bad_month"),
                      ("1999-05", "bad_month"), ("2027-01", "future_month")):
        with pytest.raises(ValueError, match=code):
            parse_month(bad, today)


def test_month_bounds_on_the_site_clock() -> None:
    paris = ZoneInfo("Europe/Paris")
    # March 2026 begins at 23:00 UTC on 28 February (winter time) and ends at 22:00 UTC on
    # 31 March (summer time since the 29th).
    assert month_bounds(2026, 3, paris) == (dt.datetime(2026, 2, 28, 23), dt.datetime(2026, 3, 31, 22))
    assert month_bounds(2026, 12, dt.UTC) == (dt.datetime(2026, 12, 1), dt.datetime(2027, 1, 1))


def _groups(people: dict, site_of: dict, plans: list) -> list[int]:
    """The finest groups an attacker holding every report of ``plans`` can cut the people
    into by adding and subtracting: the teams that sit in exactly the same published sums
    (the company's total, each named team, each shown site's total)."""
    sums: list[frozenset] = [frozenset(people)]
    for p in plans:
        sums += [frozenset([k]) for k in p.named]
        sites = {site_of[k] for k in people if site_of[k] is not None}
        sums += [frozenset(k for k in people if site_of[k] == s) for s in sites
                 if s not in p.withheld]
    classes: dict[tuple, int] = {}
    for k, n in people.items():
        key = tuple(k in s for s in sums)
        classes[key] = classes.get(key, 0) + n
    return list(classes.values())


def test_the_worked_example_no_longer_gives_the_team_of_one() -> None:
    """A site with a team of 5 and a team of 1: the company report named the 5 and pooled
    the 1 with other sites' small teams, the site's report pooled both; its total minus the
    company's team of 5 was the one person. Now the 5 are pooled in every report."""
    people = {"five": 5, "one": 1, "far-a": 3, "far-b": 4, "big": 9}
    site_of = {"five": "s", "one": "s", "far-a": "t", "far-b": "t", "big": "t"}
    p = plan(people, site_of, 5)
    assert "five" not in p.named and "big" in p.named
    assert all(n == 0 or n >= 5 for n in _groups(people, site_of, [p]))


def test_a_small_site_is_pooled_with_more_than_itself() -> None:
    # "tiny" (2 people) is withheld; company minus the other sites would give it, so the
    # smallest other site whose pooled part is at least 5 is withheld too.
    people = {"a": 6, "b": 5, "c": 7, "d": 2, NO_TEAM: 0}
    site_of = {"a": "x", "b": "y", "c": "z", "d": "tiny", NO_TEAM: None}
    p = plan({k: n for k, n in people.items() if n}, site_of, 5)
    assert "tiny" in p.withheld and len(p.withheld) >= 2
    assert all(n == 0 or n >= 5 for n in _groups(people, site_of, [p]))


def test_property_no_group_under_the_threshold_by_subtraction() -> None:
    """Random months: every report at every threshold a reader may choose, put together,
    cuts no group of 1 to MIN_PEOPLE - 1 people; the reports at one threshold alone, none
    under that threshold; and no threshold under the floor is accepted."""
    rng = random.Random(29)
    for _ in range(1500):
        people: dict = {}
        site_of: dict = {}
        for t in range(rng.randint(1, 9)):
            people[f"t{t}"] = rng.choice([1, 1, 2, 3, 4, 5, 5, 6, 7, 9, 12])
            site_of[f"t{t}"] = rng.choice(["s1", "s2", "s3", "s4"])
        if rng.random() < 0.5:
            people[NO_TEAM] = rng.randint(1, 7)
            site_of[NO_TEAM] = None
        plans = []
        everyone = sum(people.values())
        for minimum in range(MIN_PEOPLE, 14):
            p = plan(people, site_of, minimum)
            assert all(people[k] >= minimum for k in p.named)
            groups = _groups(people, site_of, [p])
            # (the company as a whole is the one group its own report is about)
            assert all(n == 0 or n >= minimum or n == everyone for n in groups), \
                (people, site_of, minimum)
            plans.append(p)
        everything = _groups(people, site_of, plans)
        assert all(n == 0 or n >= MIN_PEOPLE or n == everyone for n in everything), \
            (people, site_of)
    with pytest.raises(ValueError, match="bad_minimum"):
        plan({"a": 9}, {"a": "s"}, MIN_PEOPLE - 1)


def test_property_site_figures_and_their_rest() -> None:
    """The charter's rate per site: each shown site and the company minus them hold 0 or
    at least the threshold, at every threshold and all thresholds together."""
    rng = random.Random(31)
    for _ in range(1500):
        people = {f"s{i}": rng.choice([0, 1, 2, 4, 5, 6, 9, 30]) for i in range(rng.randint(1, 6))}
        rest = rng.choice([0, 0, 1, 3, 6])
        floor = sites_shown(people, rest, MIN_PEOPLE)
        for minimum in range(MIN_PEOPLE, 12):
            kept = sites_shown(people, rest, minimum)
            assert kept <= floor  # a higher threshold only withholds more
            assert all(people[s] == 0 or people[s] >= minimum for s in kept)
            left = rest + sum(n for s, n in people.items() if s not in kept)
            assert left == 0 or left >= minimum or left == rest + sum(people.values())
