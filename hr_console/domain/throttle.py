"""Growing waits after failed attempts: the rule shared by badge-ins at a terminal and
console sign-ins.

A lock after N failures lets anyone lock anyone out (type five wrong passwords for
``admin``); a wait that grows with each failure under one key (a terminal, a name typed from
one address) costs a legitimate user seconds and an attacker hours. Failures are forgiven
as quiet time passes (a leaky count), so a streak of honest mistakes fades by itself; a key
that keeps failing reaches ``suspend_at`` (used for terminals, which HR then resumes).
Pure: the caller keeps the state (``failures``, ``last_failure_at``) where it likes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    free: int  # the count of failures at which waits begin (fewer cost nothing)
    base_s: float  # the first wait
    cap_s: float  # the longest wait
    forgive_every_s: float  # one failure forgiven per this much quiet time
    suspend_at: int | None = None  # failures that suspend the key, if it can be suspended

    def wait_after(self, failures: float) -> float:
        """Seconds to wait before the next attempt once ``failures`` are counted."""
        whole = _whole(failures)
        if whole < self.free:
            return 0.0
        return min(self.cap_s, self.base_s * 2 ** (whole - self.free))

    def standing(self, failures: float, last_failure_at: dt.datetime | None,
                 now: dt.datetime) -> float:
        """The failures still counted at ``now``: they leak away continuously, one per
        ``forgive_every_s`` of quiet, so misses spaced a little closer than that grow the
        count slowly instead of never being forgiven (the quiet time is never thrown away)."""
        if not failures or last_failure_at is None:
            return 0.0
        quiet = max(0.0, (now - last_failure_at).total_seconds())
        return max(0.0, float(failures) - quiet / self.forgive_every_s)

    def suspends(self, failures: float) -> bool:
        return self.suspend_at is not None and _whole(failures) >= self.suspend_at


def _whole(failures: float) -> int:
    """The misses a leaky count stands for: a few seconds of leak between two quick misses
    (7.998 after eight) do not buy the next one a free check."""
    return int(failures + LEAK_SLACK)


LEAK_SLACK = 0.05


# A terminal: a badge reader misreads now and then, a person mistypes a PIN. Seven misses cost
# nothing (one person locking their own badge with five wrong PINs, plus a couple of misreads,
# never makes the next colleague wait), then 5 s, 10 s, ... up to 5 min between attempts. Misses
# leak away at one per 10 minutes, so a busy entrance with a miss every 10 minutes all day
# never waits. Twenty misses faster than that suspend the terminal's badge-ins until HR
# resumes it: someone guessing with a terminal's password gets 20 tries before HR is alerted,
# or about 6 an hour if they pace themselves under it (and nothing at all from a guessed badge
# when every badge-in asks for a PIN).
TERMINAL_LOGINS = Policy(free=8, base_s=5.0, cap_s=300.0, forgive_every_s=600.0, suspend_at=20)

# A console sign-in, per typed name and client address: three wrong passwords free, then
# 2 s, 4 s, ... up to 15 min. Another address (the real admin at their desk) is not slowed.
CONSOLE_SIGN_IN = Policy(free=3, base_s=2.0, cap_s=900.0, forgive_every_s=900.0)
# Per address alone, across names (password spraying): more room, the same growth.
CONSOLE_ADDRESS = Policy(free=20, base_s=2.0, cap_s=900.0, forgive_every_s=300.0)
