"""domain.reminders on an injected clock: when a notice asking for acknowledgement reminds
someone who has not given it, at badge-in and at its interval while they are badged in, and
that it stops at acknowledgement, withdrawal and expiry (issue 16)."""

from __future__ import annotations

import datetime as dt

import pytest

from hr_console.domain import reminders as r

T0 = dt.datetime(2026, 12, 3, 6, 0)
MIN = dt.timedelta(minutes=1)


def _given(**kw: object) -> r.Standing:
    """Published at T0, reached the person at T0, every 5 minutes, badged in, not acknowledged."""
    base: dict[str, object] = dict(ack_required=True, published=True, valid_until=None,
                                   remind_every_min=5, delivered_at=T0, acknowledged_at=None,
                                   last_reminded_at=None, badged_in=True)
    base.update(kw)
    return r.Standing(**base)  # type: ignore[arg-type]


def test_due_once_the_interval_has_passed_since_it_reached_them() -> None:
    s = _given()
    assert not r.due(s, T0)
    assert not r.due(s, T0 + 4 * MIN + dt.timedelta(seconds=59))
    assert r.due(s, T0 + 5 * MIN)
    assert r.next_due(s) == T0 + 5 * MIN


def test_then_the_interval_counts_from_the_last_reminder() -> None:
    s = _given(last_reminded_at=T0 + 12 * MIN)
    assert not r.due(s, T0 + 16 * MIN)
    assert r.due(s, T0 + 17 * MIN)
    hourly = _given(remind_every_min=60, last_reminded_at=T0 + 12 * MIN)
    assert not r.due(hourly, T0 + 71 * MIN) and r.due(hourly, T0 + 72 * MIN)


def test_stops_at_acknowledgement() -> None:
    s = _given(acknowledged_at=T0 + MIN)
    assert not r.due(s, T0 + 60 * MIN)
    assert not r.at_badge_in(s, T0 + 60 * MIN)


def test_stops_at_withdrawal_or_expiry() -> None:
    ended = _given(valid_until=T0 + 7 * MIN)  # a withdrawal sets the end to its moment
    assert r.due(ended, T0 + 6 * MIN)
    assert not r.due(ended, T0 + 7 * MIN)
    assert not r.due(ended, T0 + 90 * MIN)
    assert not r.at_badge_in(ended, T0 + 7 * MIN)
    scheduled = _given(published=False)
    assert not r.due(scheduled, T0 + 60 * MIN) and not r.at_badge_in(scheduled, T0 + 60 * MIN)


def test_only_while_badged_in() -> None:
    away = _given(badged_in=False)
    assert not r.due(away, T0 + 60 * MIN)
    assert r.at_badge_in(away, T0 + 60 * MIN)  # but at their next badge-in


def test_without_an_interval_only_at_badge_in() -> None:
    s = _given(remind_every_min=None)
    assert r.next_due(s) is None
    assert not r.due(s, T0 + 24 * 60 * MIN)
    assert r.at_badge_in(s, T0 + MIN)


def test_never_before_it_has_reached_them() -> None:
    s = _given(delivered_at=None)
    assert r.next_due(s) is None and not r.due(s, T0 + 60 * MIN)
    assert not r.at_badge_in(s, T0 + 60 * MIN)  # its first arrival is no reminder
    # HR reminded someone it had not reached yet: the interval counts from that reminder.
    pushed = _given(delivered_at=None, last_reminded_at=T0)
    assert r.due(pushed, T0 + 5 * MIN)


def test_a_notice_without_acknowledgement_never_reminds_by_itself() -> None:
    s = _given(ack_required=False)
    assert not r.due(s, T0 + 60 * MIN) and not r.at_badge_in(s, T0 + 60 * MIN)


def test_a_day_of_shift_gives_one_reminder_per_interval() -> None:
    """Walking the clock minute by minute through an 8-hour shift with a 15-minute interval:
    a reminder every 15 minutes, none in between; acknowledged at 2 h, none after."""
    s = _given(remind_every_min=15)
    sent = []
    for minute in range(1, 8 * 60):
        now = T0 + minute * MIN
        if minute == 120:
            s = _given(remind_every_min=15, last_reminded_at=s.last_reminded_at,
                       acknowledged_at=now)
        if r.due(s, now):
            sent.append(minute)
            s = _given(remind_every_min=15, last_reminded_at=now,
                       acknowledged_at=s.acknowledged_at)
    assert sent == list(range(15, 120, 15))


def test_defaults_and_bounds() -> None:
    assert r.default_every(True) == r.URGENT_EVERY_MIN == 5
    assert r.default_every(False) is None
    lo, hi = r.REMIND_EVERY_MIN
    assert all(r.valid_every(m) for m in (None, lo, hi, *r.CHOICES))
    for bad in (lo - 1, hi + 1, 0, -5, True, 7.5, "15"):
        assert not r.valid_every(bad), bad  # type: ignore[arg-type]


@pytest.mark.parametrize("every", r.CHOICES)
def test_every_choice_is_within_the_wire_bounds(every: int) -> None:
    assert r.valid_every(every)
