"""What the kiosk knows about the person badged in: contacts, conversations, groups, notices.

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
from kiosk_app.ui.name_index import name_key

# States of a message this person sent, in the order they can move forward. A late or
# repeated report never moves a message back (a "delivered" after a "read" is ignored).
_RANK = {"outbox": 0, "accepted": 1, "held": 1, "approved": 2, "delivered": 3, "read": 4}
FINAL = frozenset({"refused", "rejected", "retracted", "error"})
EARLIER_MOST = 60  # messages taken from one page of earlier ones (the kiosk asks for 30)


def _conversation_key(contact_id: int, group_id: int) -> tuple[int, int]:
    """A person's conversation or a workgroup's, as the earlier pages are kept."""
    return (0, group_id) if group_id else (contact_id, 0)


@dataclass
class Contact:
    id: int
    name: str
    team: str = ""
    hr: bool = False
    allowed: bool = True  # may be written to (in the sync's contact list)
    # Listed, but only an on-shift-only rule allows it and this person is off shift: shown
    # greyed with when their shift starts ("06:00", and "tue" when not today).
    off_shift: bool = False
    opens: str = ""
    opens_day: str = ""


@dataclass
class Message:
    id: str
    kind: str  # text | photo | drawing | voice
    sender: int
    recipient: int
    ts: float  # seconds since the epoch
    mine: bool
    text: str = ""
    caption: str = ""
    image: bytes | None = field(default=None, repr=False)
    has_image: bool = False  # a photo the sync left on the server (fetched over the kiosk API)
    drawing: dict[str, Any] | None = field(default=None, repr=False)
    audio: bytes | None = field(default=None, repr=False)  # a voice message's clip (Ogg)
    has_audio: bool = False  # a clip the sync left on the server (fetched when played)
    duration_ms: int = 0
    state: str = ""
    reason: str | None = None
    read: bool = False  # an incoming message this kiosk has reported as read
    group: int = 0  # a post in this workgroup (0: a 1:1 message)
    from_name: str = ""  # a group post's author, as the relay names them
    urgent: bool = False  # a lead's or HR's urgent group post
    reply_to: str | None = None  # the client id of the group post this one answers
    seen: int | None = None  # one's own group post: members who read it, of ``members``
    members: int | None = None
    opens: str = ""  # refused off shift: when the sender's shift starts, as the relay said
    opens_day: str = ""

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
    # The relay reminds them of it (given before, not acknowledged): shown full screen first.
    reminded: bool = False

    @property
    def needs_ack(self) -> bool:
        return self.ack_required and not self.acknowledged


@dataclass
class Lead:
    """A team this person leads (the sync's ``me.leads``): what "Broadcast to my team" may
    target, the whole team or one of its shifts ``(id, name)``."""

    id: int
    name: str
    shifts: list[tuple[int, str]] = field(default_factory=list)


def _leads(value: Any) -> list[Lead]:
    out = []
    for t in value if isinstance(value, list) else []:
        if isinstance(t, dict) and _int(t.get("id")) > 0:
            shifts = [(_int(s.get("id")), str(s.get("name") or "")) for s in t.get("shifts") or []
                      if isinstance(s, dict) and _int(s.get("id")) > 0]
            out.append(Lead(_int(t["id"]), str(t.get("name") or ""), shifts))
    return out


@dataclass
class SentNotice:
    """A lead's broadcast or reminder: in the outbox, then ``accepted`` (``reached``: how
    many people it went to) or ``error`` (``reason``: the relay's code, which the screen
    translates)."""

    id: str
    state: str = "outbox"
    reason: str | None = None
    reached: int | None = None


@dataclass
class _Thread:
    """What a 1:1 conversation and a group's have alike: their messages, oldest first."""

    messages: list[Message]

    @property
    def last(self) -> Message | None:
        return self.messages[-1] if self.messages else None


@dataclass
class Conversation(_Thread):
    contact: Contact = field(kw_only=True)

    @property
    def unread(self) -> int:
        return sum(1 for m in self.messages if not m.mine and not m.read)


def _clip_fields(item: dict[str, Any]) -> dict[str, Any]:
    """A voice message's clip (inline, or left on the server) and its length."""
    if item.get("kind") != "voice":
        return {}
    length = item.get("duration_ms")
    return {"audio": _image(item.get("audio")), "has_audio": bool(item.get("has_audio")),
            "duration_ms": length if isinstance(length, int) and 0 < length <= 600_000 else 0}


def _image(value: Any) -> bytes | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass
class Group:
    """A workgroup this person belongs to, as the sync describes it. ``unread`` counts the
    unread posts the relay counted that are not held here (the history may not carry them
    all; their copies usually follow the sync as downlinks, and each that arrives takes one
    off, so a post is never counted twice); ``urgent_unread`` follows the relay's word and
    the posts that arrive and are read here."""

    id: int
    name: str
    description: str = ""
    can_post: bool = False
    # May ask for an urgent post (shown first at badge-in). The relay honours it only from a
    # lead of the group or the HR desk; a sync that does not say offers it wherever one may
    # start a post, and the relay stores anyone else's as an ordinary post.
    can_urgent: bool = False
    read_only: bool = True
    members_reply: bool = False
    members: int = 0
    unread: int = 0
    urgent_unread: bool = False
    last: dict[str, Any] | None = None  # the sync's {from_name, kind, text, sent_ts}

    @property
    def last_ts(self) -> float:
        ts = (self.last or {}).get("sent_ts")
        return ts / 1000.0 if isinstance(ts, int | float) and ts > 0 else 0.0


@dataclass
class GroupConversation(_Thread):
    group: Group = field(kw_only=True)

    @property
    def unread(self) -> int:
        return self.group.unread + sum(1 for m in self.messages if not m.mine and not m.read)

    @property
    def last_ts(self) -> float:
        return max(self.last.ts if self.last else 0.0, self.group.last_ts)


CHARTER_SECTIONS = ("purpose", "moderation", "retention", "contact")


@dataclass
class Handling:
    """How this installation handles messages (the sync's ``me.handling``): the plain facts
    of the "How my messages are handled" screen, said whether a charter exists or not."""

    moderation: str = ""  # pre | post | none ("": the relay did not say)
    retention_days: int = 0
    media_held: bool = False


def _handling(value: Any) -> Handling | None:
    if not isinstance(value, dict):
        return None
    moderation = value.get("moderation")
    return Handling(moderation if moderation in ("pre", "post", "none") else "",
                    max(0, _int(value.get("retention_days"))), bool(value.get("media_held")))


@dataclass
class Charter:
    """The messaging charter in force (the sync's ``me.charter``), in the person's language:
    read and accepted full screen at badge-in before anything personal is shown."""

    version: int
    sections: dict[str, str]  # purpose, moderation, retention, contact
    published: dt.date | None = None
    accepted: bool = False
    accepted_at: dt.datetime | None = None  # UTC, naive


def _charter(value: Any) -> Charter | None:
    if not isinstance(value, dict) or _int(value.get("version")) <= 0:
        return None
    raw = value.get("sections") if isinstance(value.get("sections"), dict) else {}
    sections = {k: str(raw.get(k) or "") for k in CHARTER_SECTIONS}
    return Charter(_int(value["version"]), sections, _date(value.get("published")),
                   bool(value.get("accepted")), _utc(value.get("accepted_at")))


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _utc(value: Any) -> dt.datetime | None:
    """The relay's "YYYY-MM-DDTHH:MM" (UTC) as a naive UTC datetime, or None."""
    try:
        when = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if when is not None and when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _word(value: Any) -> str:
    """A short word of the sync ("06:00", "tue"), or ""."""
    return value if isinstance(value, str) and len(value) <= 8 else ""


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _contact(c: dict[str, Any]) -> Contact:
    """A contact as the sync (or a name search) gives it: writable, or greyed with when
    their shift opens them."""
    later = bool(c.get("off_shift"))
    return Contact(_int(c["id"]), str(c.get("name") or ""), str(c.get("team") or ""),
                   bool(c.get("hr")), allowed=not later, off_shift=later,
                   opens=_word(c.get("from")), opens_day=_word(c.get("from_day")))


class Session:
    def __init__(self, sid: str, employee: dict[str, Any]) -> None:
        self.sid = sid
        self.me_id = int(employee.get("id") or 0)
        self.name = str(employee.get("name") or "")
        self.language = str(employee.get("language") or "fr")
        self.contacts: dict[int, Contact] = {}
        # People the sync left out (it fits one packet): someone outside the list who writes
        # may be answered; the relay refuses what the rules do not allow.
        self.contacts_more = 0
        self.notices_more = 0  # notices the sync left out, for the same reason
        # The sync's history left older messages out (its last messages, all conversations
        # together, fit one packet): any conversation may have earlier ones, read a page at a
        # time from the kiosk API. Per conversation, where its next page starts (None: no
        # page before what is held).
        self.history_more = False
        self._earlier: dict[tuple[int, int], str | None] = {}
        self._from_newest: set[tuple[int, int]] = set()
        self.messages: dict[str, Message] = {}
        self.notices: dict[str, Notice] = {}
        self.quick_replies: list[dict[str, Any]] = []
        self.groups: dict[int, Group] = {}
        # Outside one's shift (the sync's ``me``): when it starts, and the notice to accept
        # first when HR turned it on ("" when not).
        self.off_shift = False
        self.opens = self.opens_day = ""
        self.off_shift_notice = ""
        self.off_shift_accepted = False
        # The messaging charter to accept first (None: HR has published none), the version
        # accepted here this session (its uplink may not be answered yet), and the facts.
        self.charter: Charter | None = None
        self.charter_accepted = 0
        self.handling: Handling | None = None
        self.leads: list[Lead] = []  # the teams this person leads (supervisor mode)
        self.read_urgent_aloud = False  # HR's setting: urgent notices spoken when they open
        self.sent_notices: dict[str, SentNotice] = {}
        self.synced = False
        self.syncs = 0  # syncs applied: an answer asked for before the last one is stale

    # --- from the link ------------------------------------------------------------------

    def apply_sync(self, me: dict[str, Any], contacts: list[dict[str, Any]],
                   history: list[dict[str, Any]], notices: list[dict[str, Any]],
                   quick_replies: list[dict[str, Any]],
                   groups: list[dict[str, Any]] | None = None, *,
                   contacts_more: int = 0, notices_more: int = 0,
                   history_more: bool = False) -> None:
        self.me_id = int(me.get("id") or self.me_id)
        self.history_more = history_more
        self.contacts_more = max(0, contacts_more)
        self.notices_more = max(0, notices_more)
        self.name = str(me.get("name") or self.name)
        self.language = str(me.get("language") or self.language)
        if "leads" in me:  # a sync without it (an older relay) keeps what is known
            self.leads = _leads(me["leads"])
        self.read_urgent_aloud = me.get("read_urgent_aloud") is True
        self.off_shift = bool(me.get("off_shift"))
        self.opens, self.opens_day = _word(me.get("from")), _word(me.get("from_day"))
        self.off_shift_notice = str(me.get("off_shift_notice") or "") if self.off_shift else ""
        self._charter_from(me)
        for c in self.contacts.values():  # the list says again who may be written to
            c.allowed = False
            c.off_shift = False
        for c in contacts:
            if _int(c.get("id")) > 0:
                self.contacts[_int(c["id"])] = _contact(c)
        listed = [g for g in (groups or []) if isinstance(g, dict) and _int(g.get("id")) > 0]
        if groups is not None:  # a sync without the key (an older relay) keeps what is known
            self.groups = {gid: g for gid, g in self.groups.items()
                           if gid in {_int(x["id"]) for x in listed}}
        for g in listed:
            self._group_from(g)
        for item in history:
            self.add_message(item, from_sync=True)
        for g in listed:  # the relay's counts, less the unread posts held here
            group = self.groups[_int(g["id"])]
            held = sum(1 for m in self.messages.values()
                       if m.group == group.id and not m.mine and not m.read)
            group.unread = max(0, _int(g.get("unread")) - held)
            group.urgent_unread = bool(g.get("urgent_unread")) and group.unread + held > 0
        for n in notices:
            self.add_notice(n)
        self.quick_replies = [q for q in quick_replies if isinstance(q, dict)]
        self.synced = True
        self.syncs += 1

    def may_have_earlier(self, contact_id: int = 0, group_id: int = 0) -> bool:
        """Whether a conversation may have messages before those held ("Earlier messages")."""
        key = _conversation_key(contact_id, group_id)
        return self._earlier[key] is not None if key in self._earlier else self.history_more

    def earlier_cursor(self, contact_id: int = 0, group_id: int = 0) -> str | None:
        """The kiosk API's ``before`` for a conversation's next earlier page: where the last
        page ended, else its oldest message held (None: from its newest)."""
        key = _conversation_key(contact_id, group_id)
        if self._earlier.get(key):
            return self._earlier[key]
        if key in self._from_newest:
            return None
        conv = self.group_conversation(group_id) if group_id else self.conversation(contact_id)
        return conv.messages[0].id if conv.messages else None

    def add_earlier(self, page: dict[str, Any], contact_id: int = 0, group_id: int = 0) -> int:
        """A page of earlier messages (the kiosk API's ``/history``): held like the sync's
        history, as read, and where the next page starts. Only the page's messages of this
        very conversation are taken, at most ``EARLIER_MOST``. Returns how many were new."""
        key = _conversation_key(contact_id, group_id)
        items = page.get("messages") if isinstance(page.get("messages"), list) else []
        added = 0
        for item in items[-EARLIER_MOST:]:
            if isinstance(item, dict) and self._of(item, contact_id, group_id) and \
                    self.add_message(item, from_sync=True, earlier=True) is not None:
                added += 1
        cursor = page.get("before")
        more = page.get("more") is True and isinstance(cursor, str) and bool(cursor)
        self._earlier[key] = cursor if more else None
        self._from_newest.discard(key)
        return added

    def _of(self, item: dict[str, Any], contact_id: int, group_id: int) -> bool:
        """Whether a page's message belongs to the conversation it was asked for."""
        if group_id:
            return _int(item.get("group")) == group_id
        sender, recipient = _int(item.get("from")), _int(item.get("to"))
        return not _int(item.get("group")) and {sender, recipient} == {self.me_id, contact_id}

    def no_earlier(self, contact_id: int = 0, group_id: int = 0) -> None:
        """The console has no page for this conversation (a group left since the sync)."""
        self._earlier[_conversation_key(contact_id, group_id)] = None

    def earlier_from_newest(self, contact_id: int = 0, group_id: int = 0) -> bool:
        """The console knows no message held here as the place to start (one it never
        stored): the next page is asked from the newest. False if it was already."""
        key = _conversation_key(contact_id, group_id)
        if key in self._from_newest:
            return False
        self._from_newest.add(key)
        return True

    def add_found(self, found: list[dict[str, Any]]) -> list[Contact]:
        """People a name search found (the kiosk API's ``/contacts``, entries as the sync's):
        they may be written to from now on, as if the sync had listed them (greyed with when,
        if only their shift opens them). A re-sync says again who may, as for the listed.
        Returns them in the search's order."""
        out = []
        for c in found:
            if _int(c.get("id")) <= 0 or _int(c.get("id")) == self.me_id:
                continue
            contact = self.contacts[_int(c["id"])] = _contact(c)
            out.append(contact)
        return out

    def _group_from(self, g: dict[str, Any]) -> Group:
        gid = _int(g["id"])
        group = self.groups.get(gid) or Group(gid, "")
        group.name = str(g.get("name") or group.name)
        group.description = str(g.get("description") or "")
        group.can_post = bool(g.get("can_post"))
        group.can_urgent = group.can_post and bool(g.get("can_urgent", True))
        group.read_only = bool(g.get("read_only", not group.can_post))
        group.members_reply = bool(g.get("members_reply"))
        group.members = max(0, _int(g.get("members")))
        last = g.get("last")
        group.last = last if isinstance(last, dict) else None
        self.groups[gid] = group
        return group

    def add_message(self, item: dict[str, Any], *, from_sync: bool = False,
                    earlier: bool = False) -> Message | None:
        """A message from the sync's history (``from_sync``) or one just delivered. Returns
        it if new. ``earlier``: from a page of older messages, held as read (it counts in
        no unread number, and asks for no read receipt: the relay's counts stay its own)."""
        msg_id = str(item.get("msg") or "")
        if not msg_id:
            return None
        sender, recipient = _int(item.get("from")), _int(item.get("to"))
        mine = sender == self.me_id
        gid = _int(item.get("group"))
        if gid:
            return self._add_post(item, msg_id, gid, sender, mine, earlier)
        other = recipient if mine else sender
        if other and other not in self.contacts:
            name = "" if mine else str(item.get("from_name") or "")
            # Someone who writes from outside a cut list may be answered (the relay judges).
            # Not someone of the sync's own history: a cut list names those first, so one
            # missing from it is one the rules leave out (someone who left, say).
            self.contacts[other] = Contact(other, name,
                                           allowed=self.contacts_more > 0 and not from_sync and not mine)
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
            **_clip_fields(item),
            state=state, reason=item.get("reason"),
            read=(not mine and (state == "read" or earlier)),
        )
        self.messages[msg_id] = msg
        return msg

    def _add_post(self, item: dict[str, Any], msg_id: str, gid: int, sender: int,
                  mine: bool, earlier: bool = False) -> Message | None:
        """A group post: never a contact (a member sees others only as authors of posts)."""
        group = self.groups.get(gid)
        if group is None:  # a group the last sync did not list: read only until the next one
            group = self.groups[gid] = Group(gid, str(item.get("group_name") or ""))
        elif item.get("group_name"):
            group.name = str(item["group_name"])
        state = str(item.get("state") or "")
        known = self.messages.get(msg_id)
        if known is not None:
            if mine and state:
                self.set_state(msg_id, state, item.get("reason"), item.get("seen"),
                               item.get("members"))
            return None
        ts = item.get("sent_ts")
        reply_to = item.get("reply_to")
        msg = Message(
            id=msg_id, kind=str(item.get("kind") or "text"), sender=sender, recipient=0,
            ts=(ts / 1000.0) if isinstance(ts, int | float) and ts > 0 else time.time(),
            mine=mine, text=str(item.get("text") or ""), caption=str(item.get("caption") or ""),
            image=_image(item.get("image")), has_image=bool(item.get("has_image")),
            drawing=item.get("drawing") if isinstance(item.get("drawing"), dict) else None,
            **_clip_fields(item),
            state=state, reason=item.get("reason"),
            read=(not mine and (state == "read" or earlier)),
            group=gid, from_name=str(item.get("from_name") or ""),
            urgent=bool(item.get("urgent")),
            reply_to=str(reply_to) if isinstance(reply_to, str) and reply_to else None,
        )
        if mine:
            self._count(msg, item.get("seen"), item.get("members"))
        self.messages[msg_id] = msg
        if not mine and not msg.read:
            group.unread = max(0, group.unread - 1)  # one the relay counted, now held here
            group.urgent_unread = group.urgent_unread or msg.urgent
        return msg

    @staticmethod
    def _count(msg: Message, seen: Any, members: Any) -> None:
        if isinstance(members, int) and members >= 0:
            msg.members = members
        if isinstance(seen, int) and seen >= 0:
            msg.seen = max(seen, msg.seen or 0)  # a late, smaller count never goes back

    def add_sent(self, msg_id: str, kind: str, to: int, *, group: int = 0,
                 reply_to: str | None = None, **content: Any) -> Message:
        """What this person just sent: shown at once, in the outbox until the relay answers."""
        msg = Message(id=msg_id, kind=kind, sender=self.me_id, recipient=0 if group else to,
                      ts=time.time(), mine=True, state="outbox", group=group,
                      reply_to=reply_to, **content)
        known = self.messages.get(msg_id)
        if known is not None:  # the link's own "outbox" event was handled first
            msg.state, msg.reason = known.state, known.reason
        self.messages[msg_id] = msg
        return msg

    def set_state(self, msg_id: str, state: str, reason: str | None = None,
                  seen: int | None = None, members: int | None = None, *, opens: str = "",
                  opens_day: str = "") -> Message | None:
        sent = self.sent_notices.get(msg_id)
        if sent is not None:  # a lead's broadcast or reminder: its answer, once
            if sent.state == "outbox" or state != "outbox":
                sent.state, sent.reason = state, reason
                sent.reached = members if members is not None else sent.reached
            return None
        msg = self.messages.get(msg_id)
        if msg is None or not msg.mine:
            return None
        if msg.group:  # "seen by N of M" moves on even when the state word does not
            self._count(msg, seen, members)
        if msg.state in FINAL and state not in FINAL:
            return None
        if state not in FINAL and _RANK.get(state, 0) < _RANK.get(msg.state, -1):
            return None
        msg.state, msg.reason = state, reason
        msg.opens, msg.opens_day = (opens, opens_day) if reason == "off_shift" else ("", "")
        return msg

    def retract(self, msg_id: str) -> bool:
        """HR took back a message sent to this person: it leaves the screen."""
        msg = self.messages.get(msg_id)
        if msg is None or msg.mine:
            return False
        del self.messages[msg_id]
        group = self.groups.get(msg.group) if msg.group else None
        if group is not None and not msg.read and msg.urgent:
            group.urgent_unread = any(m.urgent and not m.read and not m.mine
                                      for m in self.messages.values() if m.group == group.id)
        return True

    def add_notice(self, item: dict[str, Any]) -> Notice | None:
        uid = str(item.get("notice") or "")
        if not uid:
            return None
        known = self.notices.get(uid)
        notice = Notice(uid, str(item.get("title") or ""), str(item.get("body") or ""),
                        bool(item.get("urgent")), bool(item.get("ack_required")),
                        bool(item.get("seen")), bool(item.get("acknowledged")),
                        photo=bool(item.get("photo")), reminded=bool(item.get("reminder")))
        if known is not None:  # keep what this kiosk already did with it
            notice.seen = notice.seen or known.seen
            notice.acknowledged = notice.acknowledged or known.acknowledged
            notice.reminded = notice.reminded or known.reminded
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

    def mark_group_read(self, group_id: int) -> list[str]:
        """Opening a group reads it: its unread posts held here are reported read (by
        client id, as in 1:1) and its counts drop to zero."""
        ids = []
        for msg in self.group_conversation(group_id).messages:
            if not msg.mine and not msg.read:
                msg.read = True
                ids.append(msg.id)
        group = self.groups.get(group_id)
        if group is not None:
            group.unread, group.urgent_unread = 0, False
        return ids

    def acknowledge(self, uid: str) -> bool:
        notice = self.notices.get(uid)
        if notice is None or notice.acknowledged:
            return False
        notice.acknowledged = notice.seen = True
        return True

    def track_sent(self, item: str) -> SentNotice:
        """A broadcast or reminder just put in the outbox: its answer is kept here."""
        return self.sent_notices.setdefault(item, SentNotice(item))

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
                if not m.group and (m.recipient if m.mine else m.sender) == contact_id]
        msgs.sort(key=lambda m: m.ts)
        return Conversation(msgs, contact=contact)

    def conversations(self) -> list[Conversation]:
        """Conversations with messages first (latest first), then the other contacts one may
        write to, by name."""
        talked = {(m.recipient if m.mine else m.sender) for m in self.messages.values()
                  if not m.group}
        out = [self.conversation(cid) for cid in talked]
        out.sort(key=lambda c: -(c.last.ts if c.last else 0))
        quiet = sorted((c for cid, c in self.contacts.items() if cid not in talked and c.allowed),
                       key=lambda c: name_key(c.name))
        return out + [Conversation([], contact=c) for c in quiet]

    def group_conversation(self, group_id: int) -> GroupConversation:
        group = self.groups.get(group_id) or Group(group_id, "")
        msgs = sorted((m for m in self.messages.values() if m.group == group_id),
                      key=lambda m: m.ts)
        return GroupConversation(msgs, group=group)

    def group_conversations(self) -> list[GroupConversation]:
        """Groups with an urgent unread post first, then by last activity."""
        out = [self.group_conversation(gid) for gid in self.groups]
        out.sort(key=lambda c: (not c.group.urgent_unread, -c.last_ts, name_key(c.group.name)))
        return out

    def threads(self) -> list[Conversation | GroupConversation]:
        """Home's list: groups with an urgent unread post first, then every conversation
        and group by last activity, then the quiet contacts one may write to."""
        groups = self.group_conversations()
        urgent = [g for g in groups if g.group.urgent_unread]
        rest: list[tuple[float, Conversation | GroupConversation]] = [
            (g.last_ts, g) for g in groups if not g.group.urgent_unread]
        quiet: list[Conversation] = []
        for conv in self.conversations():
            if conv.last is None:
                quiet.append(conv)
            else:
                rest.append((conv.last.ts, conv))
        rest.sort(key=lambda pair: -pair[0])
        return [*urgent, *(c for _ts, c in rest), *quiet]

    def urgent_group(self) -> Group | None:
        """The group whose urgent unread post is shown first at badge-in, if any."""
        urgent = [g for g in self.group_conversations() if g.group.urgent_unread]
        return urgent[0].group if urgent else None

    def postable_groups(self) -> list[Group]:
        return sorted((g for g in self.groups.values() if g.can_post),
                      key=lambda g: name_key(g.name))

    def off_shift_contacts(self) -> list[Contact]:
        """Whom this person may write to once their shift starts: listed greyed, no compose."""
        return sorted((c for c in self.contacts.values() if c.off_shift and not c.allowed),
                      key=lambda c: name_key(c.name))

    def off_shift_pending(self) -> bool:
        """The off-shift notice is to be accepted before anything else is shown."""
        return bool(self.off_shift_notice) and not self.off_shift_accepted

    def accept_off_shift(self) -> bool:
        """Accepted once per badge-in: True the first time (the relay is told then)."""
        if not self.off_shift_pending():
            return False
        self.off_shift_accepted = True
        return True

    def _charter_from(self, me: dict[str, Any]) -> None:
        """The sync's charter and handling; a version accepted here whose uplink the relay
        has not answered yet stays accepted (with when, for the handling screen)."""
        if "handling" in me:  # a sync without it (an older relay) keeps what is known
            self.handling = _handling(me["handling"])
        before, self.charter = self.charter, _charter(me.get("charter"))
        now = self.charter
        if now is not None and not now.accepted and now.version == self.charter_accepted:
            now.accepted = True
            now.accepted_at = (before.accepted_at if before is not None
                               and before.version == now.version else None) or _utcnow()

    def charter_pending(self) -> bool:
        """The messaging charter is to be read and accepted before anything personal."""
        return self.charter is not None and not self.charter.accepted

    def accept_charter(self) -> int:
        """The version accepted, the first time (the relay is told then); 0 when nothing
        was pending."""
        if self.charter is None or not self.charter_pending():
            return 0
        self.charter.accepted, self.charter.accepted_at = True, _utcnow()
        self.charter_accepted = self.charter.version
        return self.charter.version

    def next_gate(self) -> str:
        """What a badge-in shows before Home, one at a time and in this order: the charter
        (``charter``), the off-shift notice (``offshift``), urgent or reminded notices
        (``urgent``); "" when nothing is left."""
        if self.charter_pending():
            return "charter"
        if self.off_shift_pending():
            return "offshift"
        return "urgent" if self.first_pending() else ""

    def allowed_contacts(self) -> list[Contact]:
        return sorted((c for c in self.contacts.values() if c.allowed), key=lambda c: name_key(c.name))

    def unread_total(self) -> int:
        direct = sum(1 for m in self.messages.values() if not m.mine and not m.read and not m.group)
        return direct + sum(c.unread for c in map(self.group_conversation, self.groups))

    def notice_list(self) -> list[Notice]:
        return sorted(self.notices.values(), key=lambda n: (not n.urgent, n.acknowledged, n.title))

    def urgent_pending(self) -> list[Notice]:
        return [n for n in self.notice_list() if n.urgent and n.needs_ack]

    def first_pending(self) -> list[Notice]:
        """What the full-screen notice screen shows before anything else, one at a time:
        urgent notices not acknowledged, then those the relay reminds of."""
        return [n for n in self.notice_list() if n.needs_ack and (n.urgent or n.reminded)]

    def notices_to_do(self) -> int:
        return sum(1 for n in self.notices.values() if n.needs_ack or not n.seen)

    def notices_to_do_more(self) -> bool:
        """Whether notices a cut sync left out may be to do as well: the relay keeps those
        to do first, so only when every notice it kept is (Home then says "3+")."""
        return self.notices_more > 0 and all(n.needs_ack or not n.seen
                                             for n in self.notices.values())

    def clear(self) -> None:
        """Privacy on a shared screen: forget everything about this person."""
        self._earlier.clear()
        self._from_newest.clear()
        for msg in self.messages.values():
            msg.text = msg.caption = msg.from_name = ""
            msg.image = msg.audio = None
            msg.drawing = None
        for group in self.groups.values():
            group.name = group.description = ""
            group.last = None
        self.messages.clear()
        self.contacts.clear()
        self.groups.clear()
        self.notices.clear()
        self.leads = []
        self.sent_notices.clear()
        self.quick_replies = []
        self.off_shift_notice = self.opens = self.opens_day = ""
        self.off_shift = False
        self.charter, self.handling, self.charter_accepted = None, None, 0
        self.name = ""
        self.sid = ""
        self.me_id = 0
