"""What the kiosk knows about the person badged in: contacts, conversations, notices.

Plain Python, no Kivy: the screens read it, the app feeds it the link's events, the tests
drive it alone. One object per badge session; logout drops it whole (``clear`` first, so
nothing it held lingers in a list another object still references).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from kiosk_app import sitetime

# States of a message this person sent, in the order they can move forward. A late or
# repeated report never moves a message back (a "delivered" after a "read" is ignored).
_RANK = {"outbox": 0, "accepted": 1, "held": 1, "approved": 2, "delivered": 3, "read": 4}
FINAL = frozenset({"refused", "rejected", "retracted", "error"})


@dataclass
class Contact:
    id: int
    name: str
    team: str = ""
    hr: bool = False
    allowed: bool = True  # may be written to (in the sync's contact list)


@dataclass
class Message:
    id: str
    kind: str  # text | photo | drawing
    sender: int
    recipient: int
    ts: float  # seconds since the epoch
    mine: bool
    text: str = ""
    caption: str = ""
    image: bytes | None = field(default=None, repr=False)
    has_image: bool = False  # a photo the sync left on the server (fetched over the kiosk API)
    drawing: dict[str, Any] | None = field(default=None, repr=False)
    state: str = ""
    reason: str | None = None
    read: bool = False  # an incoming message this kiosk has reported as read

    @property
    def when(self) -> dt.datetime:
        return sitetime.from_timestamp(self.ts)  # the site's wall time

    def preview(self) -> str:
        if self.kind == "text":
            return self.text
        return self.caption


@dataclass
class Notice:
    id: str
    title: str
    body: str
    urgent: bool = False
    ack_required: bool = False
    seen: bool = False
    acknowledged: bool = False
    photo: bool = False  # it has a photo, fetched over the kiosk API

    @property
    def needs_ack(self) -> bool:
        return self.ack_required and not self.acknowledged


@dataclass
class Conversation:
    contact: Contact
    messages: list[Message]

    @property
    def last(self) -> Message | None:
        return self.messages[-1] if self.messages else None

    @property
    def unread(self) -> int:
        return sum(1 for m in self.messages if not m.mine and not m.read)


def _image(value: Any) -> bytes | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


class Session:
    def __init__(self, sid: str, employee: dict[str, Any]) -> None:
        self.sid = sid
        self.me_id = int(employee.get("id") or 0)
        self.name = str(employee.get("name") or "")
        self.language = str(employee.get("language") or "fr")
        self.contacts: dict[int, Contact] = {}
        self.messages: dict[str, Message] = {}
        self.notices: dict[str, Notice] = {}
        self.quick_replies: list[dict[str, Any]] = []
        self.synced = False

    # --- from the link ------------------------------------------------------------------

    def apply_sync(self, me: dict[str, Any], contacts: list[dict[str, Any]],
                   history: list[dict[str, Any]], notices: list[dict[str, Any]],
                   quick_replies: list[dict[str, Any]]) -> None:
        self.me_id = int(me.get("id") or self.me_id)
        self.name = str(me.get("name") or self.name)
        self.language = str(me.get("language") or self.language)
        for c in self.contacts.values():
            c.allowed = False
        for c in contacts:
            cid = int(c["id"])
            self.contacts[cid] = Contact(cid, str(c.get("name", "")), str(c.get("team") or ""),
                                         bool(c.get("hr")))
        for item in history:
            self.add_message(item)
        for n in notices:
            self.add_notice(n)
        self.quick_replies = [q for q in quick_replies if isinstance(q, dict)]
        self.synced = True

    def add_message(self, item: dict[str, Any]) -> Message | None:
        """A message from the sync's history or one just delivered. Returns it if new."""
        msg_id = str(item.get("msg") or "")
        if not msg_id:
            return None
        sender, recipient = int(item.get("from") or 0), int(item.get("to") or 0)
        mine = sender == self.me_id
        other = recipient if mine else sender
        if other and other not in self.contacts:
            name = "" if mine else str(item.get("from_name") or "")
            self.contacts[other] = Contact(other, name, allowed=False)
        state = str(item.get("state") or "")
        known = self.messages.get(msg_id)
        if known is not None:
            if mine and state:
                self.set_state(msg_id, state, item.get("reason"))
            return None
        ts = item.get("sent_ts")
        msg = Message(
            id=msg_id, kind=str(item.get("kind") or "text"), sender=sender, recipient=recipient,
            ts=(ts / 1000.0) if isinstance(ts, int | float) and ts > 0 else time.time(),
            mine=mine, text=str(item.get("text") or ""), caption=str(item.get("caption") or ""),
            image=_image(item.get("image")), has_image=bool(item.get("has_image")),
            drawing=item.get("drawing") if isinstance(item.get("drawing"), dict) else None,
            state=state, reason=item.get("reason"),
            read=(not mine and state == "read"),
        )
        self.messages[msg_id] = msg
        return msg

    def add_sent(self, msg_id: str, kind: str, to: int, **content: Any) -> Message:
        """What this person just sent: shown at once, in the outbox until the relay answers."""
        msg = Message(id=msg_id, kind=kind, sender=self.me_id, recipient=to, ts=time.time(),
                      mine=True, state="outbox", **content)
        known = self.messages.get(msg_id)
        if known is not None:  # the link's own "outbox" event was handled first
            msg.state, msg.reason = known.state, known.reason
        self.messages[msg_id] = msg
        return msg

    def set_state(self, msg_id: str, state: str, reason: str | None = None) -> Message | None:
        msg = self.messages.get(msg_id)
        if msg is None or not msg.mine:
            return None
        if msg.state in FINAL and state not in FINAL:
            return None
        if state not in FINAL and _RANK.get(state, 0) < _RANK.get(msg.state, -1):
            return None
        msg.state, msg.reason = state, reason
        return msg

    def retract(self, msg_id: str) -> bool:
        """HR took back a message sent to this person: it leaves the screen."""
        msg = self.messages.get(msg_id)
        if msg is None or msg.mine:
            return False
        del self.messages[msg_id]
        return True

    def add_notice(self, item: dict[str, Any]) -> Notice | None:
        uid = str(item.get("notice") or "")
        if not uid:
            return None
        known = self.notices.get(uid)
        notice = Notice(uid, str(item.get("title") or ""), str(item.get("body") or ""),
                        bool(item.get("urgent")), bool(item.get("ack_required")),
                        bool(item.get("seen")), bool(item.get("acknowledged")),
                        photo=bool(item.get("photo")))
        if known is not None:  # keep what this kiosk already did with it
            notice.seen = notice.seen or known.seen
            notice.acknowledged = notice.acknowledged or known.acknowledged
        self.notices[uid] = notice
        return notice if known is None else None

    # --- what the person does ---------------------------------------------------------------

    def mark_read(self, contact_id: int) -> list[str]:
        """Opening a conversation reads it; returns the ids to report as read."""
        ids = []
        for msg in self.conversation(contact_id).messages:
            if not msg.mine and not msg.read:
                msg.read = True
                ids.append(msg.id)
        return ids

    def acknowledge(self, uid: str) -> bool:
        notice = self.notices.get(uid)
        if notice is None or notice.acknowledged:
            return False
        notice.acknowledged = notice.seen = True
        return True

    def see(self, uid: str) -> bool:
        notice = self.notices.get(uid)
        if notice is None or notice.seen:
            return False
        notice.seen = True
        return True

    # --- what the screens show ---------------------------------------------------------------

    def conversation(self, contact_id: int) -> Conversation:
        contact = self.contacts.get(contact_id) or Contact(contact_id, "", allowed=False)
        msgs = [m for m in self.messages.values()
                if (m.recipient if m.mine else m.sender) == contact_id]
        msgs.sort(key=lambda m: m.ts)
        return Conversation(contact, msgs)

    def conversations(self) -> list[Conversation]:
        """Conversations with messages first (latest first), then the other contacts one may
        write to, by name."""
        talked = {(m.recipient if m.mine else m.sender) for m in self.messages.values()}
        out = [self.conversation(cid) for cid in talked]
        out.sort(key=lambda c: -(c.last.ts if c.last else 0))
        quiet = sorted((c for cid, c in self.contacts.items() if cid not in talked and c.allowed),
                       key=lambda c: c.name.lower())
        return out + [Conversation(c, []) for c in quiet]

    def allowed_contacts(self) -> list[Contact]:
        return sorted((c for c in self.contacts.values() if c.allowed), key=lambda c: c.name.lower())

    def unread_total(self) -> int:
        return sum(1 for m in self.messages.values() if not m.mine and not m.read)

    def notice_list(self) -> list[Notice]:
        return sorted(self.notices.values(), key=lambda n: (not n.urgent, n.acknowledged, n.title))

    def urgent_pending(self) -> list[Notice]:
        return [n for n in self.notice_list() if n.urgent and n.needs_ack]

    def notices_to_do(self) -> int:
        return sum(1 for n in self.notices.values() if n.needs_ack or not n.seen)

    def clear(self) -> None:
        """Privacy on a shared screen: forget everything about this person."""
        for msg in self.messages.values():
            msg.text = msg.caption = ""
            msg.image = None
            msg.drawing = None
        self.messages.clear()
        self.contacts.clear()
        self.notices.clear()
        self.quick_replies = []
        self.name = ""
        self.sid = ""
        self.me_id = 0
