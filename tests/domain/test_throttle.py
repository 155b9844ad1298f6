"""The growing waits of domain.throttle, on a simulated clock: honest streaks fade, guessing
does not."""

from __future__ import annotations

import datetime as dt

from hr_console.domain.throttle import CONSOLE_SIGN_IN, TERMINAL_LOGINS, Policy

T0 = dt.datetime(2026, 12, 3, 6, 0)


def _run(policy: Policy, gaps_s: list[float]) -> list[tuple[float, float]]:
    """(failures counted, wait earned) after each miss, misses ``gaps_s`` apart."""
    level, last, now, out = 0.0, None, T0, []
    for gap in gaps_s:
        now += dt.timedelta(seconds=gap)
        level = policy.standing(level, last, now) + 1
        last = now
        out.append((level, policy.wait_after(level)))
    return out


def test_misses_in_quick_succession_wait_then_suspend() -> None:
    steps = _run(TERMINAL_LOGINS, [0.05] * 25)
    waits = [w for _, w in steps]
    assert waits[:TERMINAL_LOGINS.free - 1] == [0.0] * (TERMINAL_LOGINS.free - 1)
    assert waits[TERMINAL_LOGINS.free - 1] == TERMINAL_LOGINS.base_s  # then doubling
    assert waits[TERMINAL_LOGINS.free] == 2 * TERMINAL_LOGINS.base_s
    assert max(waits) == TERMINAL_LOGINS.cap_s
    suspended_at = next(i for i, (lvl, _) in enumerate(steps, 1) if TERMINAL_LOGINS.suspends(lvl))
    assert suspended_at == TERMINAL_LOGINS.suspend_at


def test_a_busy_entrance_with_regular_misreads_never_waits() -> None:
    # A miss every 9.9 minutes all day: with a count that only forgot whole periods of quiet
    # since the last miss, this terminal was suspended after 20 misses.
    steps = _run(TERMINAL_LOGINS, [594.0] * 60)
    assert max(w for _, w in steps) == 0.0
    assert not any(TERMINAL_LOGINS.suspends(lvl) for lvl, _ in steps)
    # Six misreads an hour for twelve hours: still no wait.
    assert max(w for _, w in _run(TERMINAL_LOGINS, [600.0] * 72)) == 0.0


def test_quiet_time_forgives_and_a_pacing_guesser_is_slowed() -> None:
    steps = _run(TERMINAL_LOGINS, [0.0] * 10 + [TERMINAL_LOGINS.forgive_every_s * 5])
    assert steps[9][0] == 10 and steps[10][0] == 6  # five forgiven, then the new miss
    # A miss every 5 minutes grows the count by half a miss each time: waits come.
    assert any(w > 0 for _, w in _run(TERMINAL_LOGINS, [300.0] * 40))


def test_console_sign_in_waits_grow_and_cap() -> None:
    waits = [w for _, w in _run(CONSOLE_SIGN_IN, [0.1] * 20)]
    assert waits[0] == 0.0 and max(waits) == CONSOLE_SIGN_IN.cap_s
    assert waits == sorted(waits)
