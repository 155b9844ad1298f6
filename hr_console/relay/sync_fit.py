"""A badge-in sync cut to one MQTT packet.

A sync is one downlink, and the broker drops the connection that sends a packet over its
limit: the relay's, for every terminal, again on each reconnect (paho sends it again). The
history has its own budget (``messaging.sync_history``); the notices and the contact list
had none, and both grow with the company: the HR desk's contacts are everyone (about
90 bytes a person, a megabyte past 11,000 people), and a team lead may post many long
notices. So what does not fit is left out, the most useful kept:

- notices: urgent first, then newest (their order in the sync); the kiosk's notices
  screen lists them all over the kiosk API. ``notices_more`` counts those left out;
- contacts: the HR desk, then the people of the history shown, then the sync's order
  (those kept stay in that order). ``contacts_more`` counts those left out.

The notices keep at least a quarter of what the two may take, the contacts the rest.
"""

from __future__ import annotations

from typing import Any

from relais_wire.envelope import encode
from relais_wire.limits import MAX_DOWNLINK_BYTES

# Room left for the two counts added when something is cut, and the sid's own growth.
_SLACK = 256


def _size(value: Any) -> int:
    return len(encode(value)) if isinstance(value, dict) else len(encode({"v": value})) - 6


def _within(items: list[Any], room: int) -> list[Any]:
    """The longest head of ``items`` whose JSON list fits ``room`` bytes."""
    used, out = 2, []
    for item in items:
        size = _size(item) + (1 if out else 0)
        if used + size > room:
            break
        out.append(item)
        used += size
    return out


def _by_use(contacts: list[dict], history: list[dict]) -> list[dict]:
    """The HR desk first, then the people of the history, newest first, then the rest."""
    seen: dict[int, int] = {}
    for rank, item in enumerate(reversed(history)):  # the history is oldest first
        for key in ("from", "to"):
            who = item.get(key)
            if isinstance(who, int):
                seen.setdefault(who, rank)
    far = len(history) + 1
    return sorted(contacts, key=lambda c: (not c.get("hr"), seen.get(c.get("id"), far)))


def fit(payload: dict[str, Any], limit: int = MAX_DOWNLINK_BYTES) -> dict[str, Any]:
    """``payload`` (a sync envelope) within ``limit`` bytes, cut as the module says."""
    if len(encode(payload)) <= limit:
        return payload
    notices: list[Any] = payload.get("notices") or []
    contacts: list[Any] = payload.get("contacts") or []
    rest = {k: v for k, v in payload.items() if k not in ("notices", "contacts")}
    room = limit - len(encode({**rest, "notices": [], "contacts": []})) - _SLACK
    notices_room = max(room // 4, room - _size(contacts))
    kept_notices = _within(notices, max(2, notices_room))
    chosen = {id(c) for c in _within(_by_use(contacts, payload.get("history") or []),
                                     max(2, room - _size(kept_notices)))}
    kept_contacts = [c for c in contacts if id(c) in chosen]  # in the sync's own order
    out = {**rest, "notices": kept_notices, "contacts": kept_contacts}
    if len(kept_notices) < len(notices):
        out["notices_more"] = len(notices) - len(kept_notices)
    if len(kept_contacts) < len(contacts):
        out["contacts_more"] = len(contacts) - len(kept_contacts)
    return out
