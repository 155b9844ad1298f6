"""The relay's side of a safety alert uplink: who raises it, then ``services.safety``.

Kept out of ``handlers`` (one hook there): no moderation, no contact rule, no queue of its
own. The speaker is a live session this very terminal hosts (a terminal's password cannot
raise an alert in the name of someone badged in elsewhere), or nobody when the idle screen
may raise alerts (setting ``safety_alert_on_idle``), or when the session it names has ended
since (kept, as the terminal's alone: an alert is never lost to a logout); a resend of a
stored alert gets the same answer and sends nothing again. Its optional photo is
normalised by ``services.safety``; one that is not a photo refuses the alert (an ``error``
whose code says why), nothing stored. A terminal's alerts in nobody's name are stored a few
at once, then one a minute (``ALERT_BURST``, ``ALERTS_PER_MINUTE``); the person's badged in
there, a few at once, then a few a minute, on a budget of their own (``LIVE_ALERT_BURST``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hr_console.services import safety, sessions, settings
from hr_console.services.errors import ServiceError
from hr_console.store.models import BadgeSession, SafetyAlert, Terminal, utcnow
from relais_wire.envelope import Envelope

# An alert sent after its session ended keeps its photo only this soon after the end (the
# kiosk's outbox catching up after a logout or a Wi-Fi cut). Later, or from the idle
# screen, whoever holds the terminal's password could put any picture full screen on every
# supervisor's terminal in nobody's name: the alert goes, its photo is dropped (audited).
PHOTO_AFTER_END = dt.timedelta(minutes=10)


def raised(s: Session, term: Terminal, env: Envelope) -> dict[str, Any]:
    """The fields of the ``state`` the kiosk gets back (``accepted``), after storing and
    queueing the alert in the caller's transaction. Raises ``ServiceError``."""
    employee_id = claimed = None
    photo_ok = False  # a photo goes only with a person badged in here, or just gone
    if env.sid is not None:
        row = s.get(BadgeSession, env.sid)
        if row is None or row.terminal_id != term.id:
            raise ServiceError("no_session", "No badge session on this terminal.")
        try:
            employee_id = sessions.speaker(s, term, env.sid).employee_id
            photo_ok = True
        except ServiceError:
            # Raised while badged in, sent after the session ended (a logout, the Wi-Fi):
            # never lost, but the terminal's alone, the person it named kept for HR.
            claimed = row.employee_id
            photo_ok = row.ended_at is not None and row.ended_at >= utcnow() - PHOTO_AFTER_END
    elif not settings.get(s, safety.ON_IDLE_SETTING):
        raise ServiceError("badge_needed",
                           "Badge in to raise a safety alert from this terminal.")
    image = env.body.image if photo_ok else None
    done = safety.raise_alert(s, term, env.id, env.body.pictogram, env.body.text, employee_id,
                              claimed=claimed, image=image,
                              photo_dropped=image is None and env.body.image is not None,
                              may_store=lambda: _within_budget(s, term, employee_id))
    if env.seq is not None:  # an outbox that numbered it: later items must not wait for it
        term.last_seq = max(term.last_seq, env.seq)
    return {"ref": env.id, "msg": env.id, "state": "accepted",
            "alert": done.alert.id, "recipients": done.alert.recipients}


_ALERT_MARK = b'"type":"alert"'

# Alerts in nobody's name (from the idle screen, or from a session that has ended) a
# terminal may raise: a few at once, then one a minute. A terminal's password is all those
# take, and with it and any session the terminal ever hosted, alerts were stored at 20 a
# second, each an urgent notice to acknowledge on every supervisor's and the HR desk's
# terminals. One over the budget is not lost: it is answered ``rate_limited`` (its ref
# named) and the kiosk's outbox sends it again until it fits. Counted from the alerts
# stored: a photo refused afterwards leaves none, so spends none of it, but its decoding
# counts against the terminal's photo time (``services.photo_time``, through
# ``safety.raise_alert``).
ALERT_BURST = 5
ALERTS_PER_MINUTE = 1
# The person badged in here has a budget of their own: a thief who keeps the terminal's
# spent cannot silence them. A person in danger raises one alert, or a few, never more than
# a few a minute; one who learnt a live session's id (the terminal's password reads its
# downlinks) sent alerts in that person's name at the meter's 20 a second, each an urgent
# notice on every supervisor's terminal, until the kiosk's logout.
LIVE_ALERT_BURST = 5
LIVE_ALERTS_PER_MINUTE = 3
_HORIZON = dt.timedelta(hours=1)


def _within_budget(s: Session, term: Terminal, employee_id: int | None) -> bool:
    """A token bucket read from the terminal's stored alerts in nobody's name
    (``employee_id`` None: ``ALERT_BURST``, ``ALERTS_PER_MINUTE``) or in this person's
    (``LIVE_ALERT_BURST``, ``LIVE_ALERTS_PER_MINUTE``), not kept in a relay's memory: a
    relay restarted, or another taking the terminal's partition over, starts from what is
    stored, and a batch tried again uplink by uplink spends nothing twice (its first try was
    rolled back). The batch holds the terminal's row (locked on PostgreSQL, SQLite's one
    writer), so two alerts of one terminal are never counted at once. The new alert fits
    when, for every k-th latest one, k + 1 alerts fit in the burst and what the time since
    the k-th has earned."""
    if employee_id is None:
        burst, per_minute, whose = ALERT_BURST, ALERTS_PER_MINUTE, SafetyAlert.employee_id.is_(None)
    else:
        burst, per_minute = LIVE_ALERT_BURST, LIVE_ALERTS_PER_MINUTE
        whose = SafetyAlert.employee_id == employee_id
    period = dt.timedelta(minutes=1) / per_minute
    now = utcnow()
    latest = s.scalars(select(SafetyAlert.raised_at).where(
        SafetyAlert.terminal_id == term.id, whose, SafetyAlert.raised_at > now - _HORIZON)
        .order_by(SafetyAlert.raised_at.desc())
        .limit(burst + int(_HORIZON / period))).all()  # the most the budget allows in _HORIZON
    return all(k + 1 <= burst + (now - at) / period for k, at in enumerate(latest, 1))


def meter_key(terminal: str, payload: bytes) -> str:
    """The meter's bucket for an uplink: a safety alert has one of its own per terminal, so a
    terminal that has spent its budget on messages (a stuck outbox, a flood) still gets its
    alert through at once. Read from the compact JSON the kiosk writes, without parsing; a
    forger who writes the mark into other uplinks gains one more bucket, not an unmetered one."""
    return f"{terminal}/alert" if _ALERT_MARK in payload[:256] else terminal
