"""The relay's side of a team lead's ``broadcast`` and ``remind`` uplinks (issue 16): who
speaks, then ``services.floor_notices``.

Kept out of ``handlers`` (one hook there). The speaker is a live badge session this very
terminal hosts (``sessions.speaker``): a terminal's password speaks for nobody badged in
elsewhere, and nothing is sent in the name of a session that has ended. What the lead may
address is the notice service's business, as for the console. The answer is a ``state``
for the uplink's id: ``accepted`` with the notice's uid and how many people it reached
(``members``); a refusal is an ``error`` with its code, which the kiosk shows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hr_console.services import audit, floor_notices, sessions
from hr_console.store.models import Terminal
from relais_wire.envelope import Envelope


def broadcast(s: Session, term: Terminal, env: Envelope) -> dict[str, Any]:
    """Store and publish the lead's notice in the caller's transaction (or find it, for a
    resend); the fields of the ``state`` reply. Raises ``ServiceError``."""
    speaker = sessions.speaker(s, term, env.sid)
    b = env.body
    sent = floor_notices.broadcast(
        s, speaker.employee_id, term.name, env.id, team=b.team, title=b.title, text=b.text,
        image=b.image, shift=b.shift, urgent=b.urgent, ack=b.ack, remind_every=b.remind_every,
        audit_chain=audit.terminal_chain(term.id))
    return {"ref": env.id, "msg": env.id, "state": "accepted", "notice": sent.notice.uid,
            "members": sent.audience}


def remind(s: Session, term: Terminal, env: Envelope) -> dict[str, Any]:
    """The one-tap reminder of notice ``ref``; the fields of the ``state`` reply (``members``:
    how many were reminded). Raises ``ServiceError``."""
    speaker = sessions.speaker(s, term, env.sid)
    count = floor_notices.remind(s, speaker.employee_id, term.name, env.body.ref,
                                 audit.terminal_chain(term.id))
    return {"ref": env.id, "msg": env.id, "state": "accepted", "notice": env.body.ref,
            "members": count}
