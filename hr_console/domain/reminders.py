"""When a notice that asks for acknowledgement reminds a person who has not given it.

Two moments (issue 16). At badge-in, the sync presents again, full screen first, every
current notice the person was already given and has not acknowledged. While they are
badged in, a notice with an interval (``remind_every_min``) reminds them each time that many
minutes have passed since they were last reminded of it, or since it reached them. Both
stop at acknowledgement, withdrawal or expiry (the notice is no longer current).

Written once here, in plain Python with the clock passed in; ``services.reminders`` selects
the same receipts in SQL and is tested against this.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from relais_wire.limits import REMIND_EVERY_MIN

# The console's choices (minutes); an urgent notice repeats every few minutes by default,
# as Teams' urgent messages and Mattermost's acknowledgement requests do.
CHOICES = (5, 15, 30, 60)
URGENT_EVERY_MIN = 5


@dataclass(frozen=True)
class Standing:
    """One person's receipt of one notice, with what decides a reminder."""

    ack_required: bool
    published: bool
    valid_until: dt.datetime | None
    remind_every_min: int | None
    delivered_at: dt.datetime | None  # their terminal confirmed it (or they saw it)
    acknowledged_at: dt.datetime | None
    last_reminded_at: dt.datetime | None
    badged_in: bool = False


def current(s: Standing, now: dt.datetime) -> bool:
    """Kiosks show it: published, not ended (a withdrawal ends it now)."""
    return s.published and (s.valid_until is None or s.valid_until > now)


def waiting(s: Standing, now: dt.datetime) -> bool:
    """An acknowledgement is owed and may still be given."""
    return s.ack_required and s.acknowledged_at is None and current(s, now)


def at_badge_in(s: Standing, now: dt.datetime) -> bool:
    """Whether a badge-in's sync presents it again as a reminder (and counts one): it was
    given before (a first arrival is no reminder) and is still owed."""
    return waiting(s, now) and s.delivered_at is not None


def next_due(s: Standing) -> dt.datetime | None:
    """When the next timed reminder falls, ignoring whether one is still owed: the interval
    after the last reminder, or after it reached them. None: no interval, or it has not
    reached them yet (its first copy is still on its way)."""
    if s.remind_every_min is None:
        return None
    since = s.last_reminded_at or s.delivered_at
    if since is None:
        return None
    return since + dt.timedelta(minutes=s.remind_every_min)


def due(s: Standing, now: dt.datetime) -> bool:
    """Whether a timed reminder is due now: owed, badged in, interval passed."""
    if not (s.badged_in and waiting(s, now)):
        return False
    when = next_due(s)
    return when is not None and when <= now


def default_every(urgent: bool) -> int | None:
    """The interval a form proposes: every few minutes for an urgent notice, else only at
    badge-in."""
    return URGENT_EVERY_MIN if urgent else None


def valid_every(minutes: int | None) -> bool:
    """None (badge-in only) or a whole number of minutes within the wire's bounds."""
    if minutes is None:
        return True
    lo, hi = REMIND_EVERY_MIN
    return isinstance(minutes, int) and not isinstance(minutes, bool) and lo <= minutes <= hi
