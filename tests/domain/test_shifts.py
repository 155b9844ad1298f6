"""Shift windows (``domain.shifts``): days of the week, night shifts that belong to the day
they start, the grace period on both sides, the site's time zone, and the two
daylight-saving change days of Europe/Paris in 2026 (29 March, 02:00 -> 03:00; 25 October,
03:00 -> 02:00), where a night shift lasts 7 and 9 real hours and still ends at 06:00 on the
clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hr_console.domain.shifts import ShiftTimes, Status, opening_words, status, windows

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
GRACE = dt.timedelta(minutes=15)
NONE = dt.timedelta(0)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def shift(days: str, start: str, end: str) -> ShiftTimes:
    return ShiftTimes.of(days, dt.time.fromisoformat(start), dt.time.fromisoformat(end))


MORNING = shift("mon,tue,wed,thu,fri", "06:00", "14:00")


def test_day_shift_with_grace_on_both_sides() -> None:
    # Monday 7 December 2026, Paris winter time.
    assert not status([MORNING], PARIS, paris(2026, 12, 7, 5, 44), GRACE).on_shift
    assert status([MORNING], PARIS, paris(2026, 12, 7, 5, 45), GRACE).on_shift
    assert status([MORNING], PARIS, paris(2026, 12, 7, 10, 0), GRACE).on_shift
    assert status([MORNING], PARIS, paris(2026, 12, 7, 14, 14, 59), GRACE).on_shift
    after = status([MORNING], PARIS, paris(2026, 12, 7, 14, 15), GRACE)
    assert after.off_shift and after.next_start == paris(2026, 12, 8, 6, 0)
    # Without grace the window is exactly the shift, its end excluded.
    assert status([MORNING], PARIS, paris(2026, 12, 7, 6, 0), NONE).on_shift
    assert not status([MORNING], PARIS, paris(2026, 12, 7, 5, 59, 59), NONE).on_shift
    assert not status([MORNING], PARIS, paris(2026, 12, 7, 14, 0), NONE).on_shift


def test_before_the_shift_the_next_start_is_today() -> None:
    early = status([MORNING], PARIS, paris(2026, 12, 7, 4, 0), GRACE)
    assert early == Status(scheduled=True, on_shift=False, next_start=paris(2026, 12, 7, 6, 0))
    assert opening_words(early.next_start, paris(2026, 12, 7, 4, 0)) == ("06:00", "")


def test_days_of_the_week() -> None:
    weekend = shift("sat,sun", "08:00", "16:00")
    saturday = paris(2026, 12, 12, 10, 0)
    assert status([weekend], PARIS, saturday, GRACE).on_shift
    state = status([MORNING], PARIS, saturday, GRACE)
    assert state.off_shift and state.next_start == paris(2026, 12, 14, 6, 0)  # Monday
    assert opening_words(state.next_start, saturday) == ("06:00", "mon")
    # Both shifts of a team count; the earliest next one is given.
    assert status([MORNING, weekend], PARIS, saturday, GRACE).on_shift
    evening = status([MORNING, weekend], PARIS, paris(2026, 12, 12, 20, 0), GRACE)
    assert evening.next_start == paris(2026, 12, 13, 8, 0)
    assert opening_words(evening.next_start, paris(2026, 12, 12, 20, 0)) == ("08:00", "sun")


def test_unknown_day_words_name_no_day_and_no_shift_means_not_scheduled() -> None:
    odd = ShiftTimes.of("Mon, lundi,,TUE", dt.time(6), dt.time(14))
    assert odd.days == frozenset({0, 1})
    nothing = status([], PARIS, paris(2026, 12, 7, 3, 0), GRACE)
    assert nothing == Status(scheduled=False, on_shift=False) and not nothing.off_shift
    no_days = status([shift("", "06:00", "14:00")], PARIS, paris(2026, 12, 7, 3, 0), GRACE)
    assert not no_days.scheduled and not no_days.off_shift


def test_night_shift_belongs_to_the_day_it_starts() -> None:
    night = shift("mon", "22:00", "06:00")  # Monday night into Tuesday only
    assert status([night], PARIS, paris(2026, 12, 7, 23, 0), GRACE).on_shift  # Monday 23:00
    assert status([night], PARIS, paris(2026, 12, 8, 3, 0), GRACE).on_shift  # Tuesday 03:00
    assert status([night], PARIS, paris(2026, 12, 8, 6, 14), GRACE).on_shift
    tuesday = status([night], PARIS, paris(2026, 12, 8, 6, 15), GRACE)
    assert tuesday.off_shift and tuesday.next_start == paris(2026, 12, 14, 22, 0)
    # Monday 03:00 would be Sunday's night, which is not one of its days.
    assert not status([night], PARIS, paris(2026, 12, 7, 3, 0), GRACE).on_shift
    assert not status([night], PARIS, paris(2026, 12, 8, 22, 30), GRACE).on_shift


def test_the_site_time_zone_decides() -> None:
    at = utc(2026, 12, 7, 12, 0)  # 13:00 in Paris, 07:00 in New York
    late = shift("mon", "14:00", "22:00")
    assert not status([late], PARIS, at, GRACE).on_shift
    assert status([late], PARIS, at, GRACE).next_start == paris(2026, 12, 7, 14, 0)
    assert not status([late], NEW_YORK, at, GRACE).on_shift
    assert status([MORNING], NEW_YORK, at, GRACE).on_shift
    assert not status([MORNING], PARIS, utc(2026, 12, 7, 13, 30), GRACE).on_shift  # 14:30 Paris
    assert status([MORNING], NEW_YORK, utc(2026, 12, 7, 13, 30), GRACE).on_shift  # 08:30 NY
    ny = status([late], NEW_YORK, at, GRACE).next_start
    assert ny == dt.datetime(2026, 12, 7, 14, 0, tzinfo=NEW_YORK) and ny.utcoffset() == dt.timedelta(hours=-5)


def test_spring_change_night_is_seven_hours_and_ends_at_six_on_the_clock() -> None:
    night = shift("sat", "22:00", "06:00")  # Saturday 28 March into Sunday 29 March 2026
    [w] = windows([night], PARIS, dt.date(2026, 3, 28), dt.date(2026, 3, 28), NONE)
    assert (w.start, w.end) == (utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 4, 0))  # CET, CEST
    assert w.end - w.start == dt.timedelta(hours=7)
    assert status([night], PARIS, utc(2026, 3, 29, 4, 14), GRACE).on_shift  # 06:14 CEST
    assert not status([night], PARIS, utc(2026, 3, 29, 4, 15), GRACE).on_shift
    # A morning shift that day starts at 06:00 summer time, 04:00 UTC (not 05:00).
    sunday = shift("sun", "06:00", "14:00")
    assert not status([sunday], PARIS, utc(2026, 3, 29, 3, 44), GRACE).on_shift
    early = status([sunday], PARIS, utc(2026, 3, 29, 3, 0), GRACE)
    assert early.next_start == paris(2026, 3, 29, 6, 0)
    assert early.next_start.utcoffset() == dt.timedelta(hours=2)
    assert status([sunday], PARIS, utc(2026, 3, 29, 3, 45), GRACE).on_shift


def test_autumn_change_night_is_nine_hours_and_ends_at_six_on_the_clock() -> None:
    night = shift("sat", "22:00", "06:00")  # Saturday 24 October into Sunday 25 October 2026
    [w] = windows([night], PARIS, dt.date(2026, 10, 24), dt.date(2026, 10, 24), NONE)
    assert (w.start, w.end) == (utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 5, 0))  # CEST, CET
    assert w.end - w.start == dt.timedelta(hours=9)
    assert status([night], PARIS, utc(2026, 10, 25, 5, 14), GRACE).on_shift  # 06:14 CET
    assert not status([night], PARIS, utc(2026, 10, 25, 5, 15), GRACE).on_shift
    # The hour shown twice (02:00-03:00): on shift through both.
    assert status([night], PARIS, utc(2026, 10, 25, 0, 30), NONE).on_shift
    assert status([night], PARIS, utc(2026, 10, 25, 1, 30), NONE).on_shift


def test_wall_times_the_clock_skips_or_shows_twice() -> None:
    # 02:30 does not exist on 29 March: read as after the jump, 03:30 summer time.
    skipped = shift("sun", "02:30", "10:00")
    [w] = windows([skipped], PARIS, dt.date(2026, 3, 29), dt.date(2026, 3, 29), NONE)
    assert w.start == utc(2026, 3, 29, 1, 30)
    # 02:30 happens twice on 25 October: a start at the first, an end at the second.
    twice = shift("sun", "02:30", "08:00")
    [w] = windows([twice], PARIS, dt.date(2026, 10, 25), dt.date(2026, 10, 25), NONE)
    assert w.start == utc(2026, 10, 25, 0, 30)
    ending = shift("sat", "20:00", "02:30")
    [w] = windows([ending], PARIS, dt.date(2026, 10, 24), dt.date(2026, 10, 24), NONE)
    assert w.end == utc(2026, 10, 25, 1, 30)


def test_a_clock_must_say_its_zone() -> None:
    with pytest.raises(ValueError):
        status([MORNING], PARIS, dt.datetime(2026, 12, 7, 10, 0), GRACE)


def test_nothing_within_the_horizon_gives_no_next_start() -> None:
    assert opening_words(None, utc(2026, 12, 7)) == ("", "")
