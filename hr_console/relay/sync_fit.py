"""A badge-in sync cut to one MQTT packet.

A sync is one downlink, and the broker drops the connection that sends a packet over its
limit: the relay's, for every terminal, again on each reconnect (paho sends it again). The
history has its own budget (``messaging.sync_history``); the notices and the contact list
had none, and both grow with the company: the HR desk's contacts are everyone (about
90 bytes a person, a megabyte past 11,000 people), and a team lead may post many long
notices. So what does not fit is left out, the most useful kept, and counted:

- notices: those still owed (to acknowledge, or due a reminder at badge-in), then those
  not seen yet, then the others, each in the sync's order (urgent first, then newest);
  ``notices_more`` counts those left out, which the kiosk then reads from the kiosk
  API's ``/notices``. One left out comes back in a later sync, once the person has
  acknowledged or seen those before it;
- contacts: the HR desk, then the people of the history shown, then the sync's order;
  ``contacts_more`` counts those left out, added to those the relay did not read
  (``people.sync_contacts``: a head of 2,000 by name). The kiosk lets its person answer anyone who
  writes from outside the list (the relay judges each message as always), says how many
  people are not listed, and finds them by name (the kiosk API's ``/contacts``);
- the history, only when the rest leaves the two lists less than they need (a quarter of
  the limit at most): its oldest messages go first, and ``history_more`` says so (the kiosk
  API's history pages serve them: the kiosk's "Earlier messages" in each conversation).

The notices keep at least a quarter of the room the two share, the contacts the rest; the
two lists keep the sync's order. The groups list is not cut: a person in some hundreds of
groups would still overflow, and the relay's publishing then sends ``too_large`` instead
(``Relay._publish``), which keeps the connection.
"""

from __future__ import annotations

from typing import Any

from relais_wire.envelope import encode
from relais_wire.limits import MAX_DOWNLINK_BYTES

# Room left for the counts added when something is cut, and the sid's own growth.
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


def _chosen(items: list[Any], ranked: list[Any], room: int) -> list[Any]:
    """The items of ``ranked`` (the same items, most useful first) that fit ``room``, in
    the order of ``items``."""
    keep = {id(item) for item in _within(ranked, room)}
    return [item for item in items if id(item) in keep]


def _by_need(notices: list[dict]) -> list[dict]:
    """Owed first (to acknowledge, or a reminder at badge-in), then not seen, then the rest."""
    def need(n: dict) -> int:
        if n.get("reminder") or (n.get("ack_required") and not n.get("acknowledged")):
            return 0
        return 1 if not n.get("seen") else 2
    return sorted(notices, key=need)


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
    history: list[Any] = list(payload.get("history") or [])
    rest = {k: v for k, v in payload.items() if k not in ("notices", "contacts")}
    room = limit - len(encode({**rest, "notices": [], "contacts": []})) - _SLACK
    contacts_size = _size(contacts)  # once: 70 ms for the HR desk's 49,000 contacts
    wanted = min(limit // 4, _size(notices) + contacts_size)  # what the two lists ask
    if room < wanted and history:  # the oldest first: cut from the front
        need = wanted - room
        drop = 0
        while drop < len(history) and need > 0:
            need -= _size(history[drop]) + 1
            drop += 1
        room += sum(_size(item) + 1 for item in history[:drop])
        rest.update(history=history[drop:], history_more=True)
    notices_room = max(room // 4, room - contacts_size)
    kept_notices = _chosen(notices, _by_need(notices), max(2, notices_room))
    kept_contacts = _chosen(contacts, _by_use(contacts, rest.get("history") or []),
                            max(2, room - _size(kept_notices)))
    out = {**rest, "notices": kept_notices, "contacts": kept_contacts}
    if len(kept_notices) < len(notices):
        out["notices_more"] = len(notices) - len(kept_notices)
    if len(kept_contacts) < len(contacts):  # added to those the relay did not read
        out["contacts_more"] = int(payload.get("contacts_more") or 0) \
            + len(contacts) - len(kept_contacts)
    return out
