"""The relay's side of a safety alert uplink: who raises it, then ``services.safety``.

Kept out of ``handlers`` (one hook there): no moderation, no contact rule, no queue of its
own. The speaker is a live session this very terminal hosts (a terminal's password cannot
raise an alert in the name of someone badged in elsewhere), or nobody when the idle screen
may raise alerts (setting ``safety_alert_on_idle``), or when the session it names has ended
since (kept, as the terminal's alone: an alert is never lost to a logout); a resend of a
stored alert gets the same answer and sends nothing again. Its optional photo is
normalised by ``services.safety``; one that is not a photo refuses the alert (an ``error``
whose code says why), nothing stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hr_console.services import safety, sessions, settings
from hr_console.services.errors import ServiceError
from hr_console.store.models import BadgeSession, Terminal
from relais_wire.envelope import Envelope


def raised(s: Session, term: Terminal, env: Envelope) -> dict[str, Any]:
    """The fields of the ``state`` the kiosk gets back (``accepted``), after storing and
    queueing the alert in the caller's transaction. Raises ``ServiceError``."""
    employee_id = claimed = None
    if env.sid is not None:
        row = s.get(BadgeSession, env.sid)
        if row is None or row.terminal_id != term.id:
            raise ServiceError("no_session", "No badge session on this terminal.")
        try:
            employee_id = sessions.speaker(s, term, env.sid).employee_id
        except ServiceError:
            # Raised while badged in, sent after the session ended (a logout, the Wi-Fi):
            # never lost, but the terminal's alone, the person it named kept for HR.
            claimed = row.employee_id
    elif not settings.get(s, safety.ON_IDLE_SETTING):
        raise ServiceError("badge_needed",
                           "Badge in to raise a safety alert from this terminal.")
    done = safety.raise_alert(s, term, env.id, env.body.pictogram, env.body.text, employee_id,
                              claimed=claimed, image=env.body.image)
    if env.seq is not None:  # an outbox that numbered it: later items must not wait for it
        term.last_seq = max(term.last_seq, env.seq)
    return {"ref": env.id, "msg": env.id, "state": "accepted",
            "alert": done.alert.id, "recipients": done.alert.recipients}


_ALERT_MARK = b'"type":"alert"'


def meter_key(terminal: str, payload: bytes) -> str:
    """The meter's bucket for an uplink: a safety alert has one of its own per terminal, so a
    terminal that has spent its budget on messages (a stuck outbox, a flood) still gets its
    alert through at once. Read from the compact JSON the kiosk writes, without parsing; a
    forger who writes the mark into other uplinks gains one more bucket, not an unmetered one."""
    return f"{terminal}/alert" if _ALERT_MARK in payload[:256] else terminal
