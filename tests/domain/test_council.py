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
    shown,
)


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
