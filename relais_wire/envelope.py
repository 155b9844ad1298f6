"""The one JSON envelope every MQTT message carries, and its validation.

Shape: ``{"v": 1, "type": KIND, "id": UUID, "ts": ms, ...}`` plus ``seq`` (per-terminal
order of outbox items), ``sid`` (badge session) and the fields of the kind, flat.

Parsing happens once, at the edge: ``decode_uplink`` returns a frozen ``Envelope``
whose ``body`` is a frozen dataclass of the kind, or raises ``WireError`` naming the
field at fault. Nothing that fails here may reach the database.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relais_wire import limits
from relais_wire.drawing import Drawing, parse_drawing
from relais_wire.errors import WireError

WIRE_VERSION = 1

UPLINK_KINDS = frozenset(
    {"login", "logout", "text", "photo", "drawing", "voice", "receipt", "sync", "alert",
     "broadcast", "remind", "offshift", "charter"})
DOWNLINK_KINDS = frozenset(
    {"login", "logout", "text", "photo", "drawing", "voice", "notice", "state", "retract", "sync",
     "error"})
KINDS = UPLINK_KINDS | DOWNLINK_KINDS | {"receipt"}
CONTENT_KINDS = frozenset({"text", "photo", "drawing", "voice"})

# What a safety alert may show: a fixed set, so the receivers draw a known pictogram.
ALERT_PICTOGRAMS = ("fall", "fire", "injury", "machine", "chemical", "other")

# Receipt statuses a terminal may send.
RECEIPT_STATUSES = frozenset({"received", "read", "seen", "acknowledged"})
# Message states the relay reports to the sender.
STATES = frozenset(
    {"accepted", "held", "approved", "refused", "rejected", "delivered", "read", "retracted", "error"}
)

_MAX_TS = 2**53


# --- kinds (uplink bodies) -------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    badge: str
    pin: str | None = None
    # The terminal's outbox mark: the new session's items come after it, and the sessions the
    # terminal hosted before take no item beyond it.
    last_seq: int | None = None


@dataclass(frozen=True)
class Logout:
    # The last ``seq`` the terminal's outbox had given out when the person left: the relay
    # still takes that session's items up to it (typed before the logout, nothing lost) and
    # none after it (nobody speaks for someone who has gone).
    last_seq: int | None = None


# A content kind goes to exactly one of ``to`` (an employee) or ``group`` (a workgroup);
# ``reply_to`` (the client id of the post answered) and ``urgent`` (a lead's or the HR
# desk's post shown first at badge-in; the relay honours it only from them) only with
# ``group``.


@dataclass(frozen=True)
class Text:
    to: int | None
    text: str
    group: int | None = None
    reply_to: str | None = None
    urgent: bool = False


@dataclass(frozen=True)
class Photo:
    to: int | None
    image: bytes = field(repr=False)
    caption: str = ""
    group: int | None = None
    reply_to: str | None = None
    urgent: bool = False


@dataclass(frozen=True)
class DrawingMessage:
    to: int | None
    drawing: Drawing
    group: int | None = None
    reply_to: str | None = None
    urgent: bool = False


@dataclass(frozen=True)
class Voice:
    """A voice message: Opus in Ogg, mono, at most ``limits.MAX_VOICE_SECONDS``. The wire
    checks its size, its container's magic and its declared duration; the relay decodes and
    re-encodes it (``hr_console.services.voice``), since the terminal is not trusted."""

    to: int | None
    audio: bytes = field(repr=False)
    duration_ms: int = 0
    group: int | None = None
    reply_to: str | None = None
    urgent: bool = False


@dataclass(frozen=True)
class Receipt:
    ref: str
    status: str


@dataclass(frozen=True)
class Sync:
    pass


@dataclass(frozen=True)
class Alert:
    """A safety alert: a pictogram and a few words. ``sid`` optional on its envelope: from
    the idle screen it comes from the terminal alone (the relay decides whether it may).
    ``image``: an optional photo of the danger, checked as a photo message's is."""

    pictogram: str
    text: str = ""
    image: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Broadcast:
    """A team lead's notice from the terminal, to one team they lead (``team``) or one of
    its shifts (``shift``); the relay checks they lead it (services.notices)."""

    team: int
    title: str
    text: str = ""
    image: bytes | None = field(default=None, repr=False)
    shift: int | None = None
    urgent: bool = False
    ack: bool = False
    remind_every: int | None = None  # minutes; None: reminded at badge-in only


@dataclass(frozen=True)
class Remind:
    """A team lead's one-tap reminder of their notice ``ref`` (its uid)."""

    ref: str


@dataclass(frozen=True)
class OffShift:
    """The person read the off-shift notice at badge-in and went on (audited)."""


@dataclass(frozen=True)
class CharterAccepted:
    """The person read the messaging charter's ``version`` full screen and accepted it."""

    version: int


Body = (Login | Logout | Text | Photo | DrawingMessage | Receipt | Sync | Alert | Broadcast
        | Remind | OffShift | CharterAccepted)


@dataclass(frozen=True)
class Envelope:
    v: int
    type: str
    id: str
    ts: int
    body: Any
    seq: int | None = None
    sid: str | None = None


# --- building --------------------------------------------------------------------------


def new_id() -> str:
    return str(uuid.uuid4())


def now_ms() -> int:
    return int(time.time() * 1000)


def envelope(kind: str, *, id: str | None = None, ts: int | None = None, **fields: Any) -> dict:
    """A ready-to-encode envelope dict; ``None`` fields are left out."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    out: dict[str, Any] = {"v": WIRE_VERSION, "type": kind, "id": id or new_id(),
                           "ts": now_ms() if ts is None else ts}
    out.update({k: v for k, v in fields.items() if v is not None})
    return out


def encode(env: Mapping[str, Any]) -> bytes:
    return json.dumps(env, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- parsing ---------------------------------------------------------------------------


def _load(raw: bytes, max_bytes: int) -> dict[str, Any]:
    if not isinstance(raw, bytes | bytearray):
        raise WireError("bad_payload", "payload must be bytes")
    if len(raw) > max_bytes:
        raise WireError("too_large", f"payload is {len(raw)} bytes, the limit is {max_bytes}")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError("bad_utf8", f"payload is not valid UTF-8 (byte {exc.start})") from None
    try:
        obj = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:  # ValueError: also int digit limit, 1e400
        raise WireError("bad_json", f"payload is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise WireError("bad_json", "payload must be a JSON object")
    return obj


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not allowed", name, 0)


def _finite_float(text: str) -> float:
    # 1e400 would otherwise become inf, which encode() writes back as the forbidden Infinity.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _int(
    obj: Mapping[str, Any], name: str, *, lo: int, hi: int, required: bool = True
) -> int | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise WireError("missing_field", f"field '{name}' is required", name)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError("bad_field", f"field '{name}' must be an integer", name)
    if not lo <= value <= hi:
        raise WireError("bad_field", f"field '{name}' must be between {lo} and {hi}", name)
    return value


def _str(obj: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise WireError("missing_field", f"field '{name}' is required", name)
        return None
    if not isinstance(value, str):
        raise WireError("bad_field", f"field '{name}' must be a string", name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise WireError("bad_field", f"field '{name}' holds an invalid character", name) from None
    return value


def _uuid(obj: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = _str(obj, name, required=required)
    if value is None:
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise WireError("bad_field", f"field '{name}' must be a UUID", name) from None
    if str(parsed) != value.lower() or len(value) != 36:
        raise WireError("bad_field", f"field '{name}' must be a UUID in canonical form", name)
    return value.lower()


# Bidirectional overrides and isolates can disguise a message; zero-width characters can
# hide words from the keyword filter. A French or English shop-floor message needs neither.
# These are the best known; every other format character (Unicode category Cf: soft hyphen,
# direction marks, invisible operators, tags...) is refused with them.
_FORBIDDEN_CHARS = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
)


def clean_text(value: str, name: str, max_chars: int, *, allow_empty: bool = False) -> str:
    """Human text: NFC, no control characters but newline and tab, no hidden characters."""
    value = unicodedata.normalize("NFC", value)
    for ch in value:
        if ch in _FORBIDDEN_CHARS or unicodedata.category(ch) == "Cf":
            raise WireError(
                "bad_text", f"field '{name}' holds a hidden or direction-changing character "
                f"(U+{ord(ch):04X})", name)
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in "\n\t":
            raise WireError(
                "bad_text", f"field '{name}' holds a control or unassigned character "
                f"(U+{ord(ch):04X})", name)
    if len(value) > max_chars:
        raise WireError("too_long", f"field '{name}' is longer than {max_chars} characters", name)
    if not allow_empty and not value.strip():
        raise WireError("empty", f"field '{name}' is empty", name)
    return value


def _header(obj: Mapping[str, Any], kinds: frozenset[str]) -> tuple[str, str, int]:
    env_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    try:
        v = obj.get("v")
        if v is None:
            raise WireError("missing_field", "field 'v' is required", "v")
        if isinstance(v, bool) or not isinstance(v, int):
            raise WireError("bad_field", "field 'v' must be an integer", "v")
        if v != WIRE_VERSION:
            raise WireError("bad_version", f"wire version {v} is not supported (expected 1)", "v")
        kind = _str(obj, "type")
        assert kind is not None
        if kind not in kinds:
            raise WireError("unknown_type", f"unknown message type {kind[:40]!r}", "type")
        msg_id = _uuid(obj, "id")
        ts = _int(obj, "ts", lo=0, hi=_MAX_TS)
    except WireError as err:
        err.ref = _safe_ref(env_id)
        raise
    assert msg_id is not None and ts is not None
    return kind, msg_id, ts


def _safe_ref(value: str | None) -> str | None:
    # Only an id the sender will recognise: uuid.UUID also reads non-canonical spellings
    # (dashes anywhere, underscores, non-ASCII digits) that would name another message.
    if value is None or len(value) != 36:
        return None
    try:
        ref = str(uuid.UUID(value))
    except ValueError:
        return None
    return ref if ref == value.lower() else None


def _blob(obj: Mapping[str, Any], name: str, max_bytes: int) -> bytes:
    """A required base64 field of at most ``max_bytes`` once decoded (judged on its length
    before decoding anything)."""
    value = _str(obj, name)
    assert value is not None
    too_large = WireError("too_large", f"field '{name}' is larger than {max_bytes} bytes", name)
    if len(value) > (max_bytes * 4) // 3 + 4:
        raise too_large
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise WireError("bad_field", f"field '{name}' must be base64", name) from None
    if not data:
        raise WireError("empty", f"field '{name}' is empty", name)
    if len(data) > max_bytes:
        raise too_large
    return data


def _image(obj: Mapping[str, Any]) -> bytes:
    data = _blob(obj, "image", limits.MAX_PHOTO_BYTES)
    if not data.startswith(b"\xff\xd8\xff"):
        raise WireError("bad_image", "field 'image' must be a JPEG", "image")
    return data


def _audio(obj: Mapping[str, Any]) -> bytes:
    data = _blob(obj, "audio", limits.MAX_VOICE_BYTES)
    # An Ogg page first, holding Opus's identification header.
    if not data.startswith(b"OggS") or b"OpusHead" not in data[:128]:
        raise WireError("bad_audio", "field 'audio' must be Opus in Ogg", "audio")
    return data


def _voice(obj: Mapping[str, Any]) -> Voice:
    codec = obj.get("codec")
    if codec != "opus":
        raise WireError("bad_field", "field 'codec' must be 'opus'", "codec")
    duration = _int(obj, "duration_ms", lo=1, hi=limits.MAX_VOICE_SECONDS * 1000)
    assert duration is not None
    return Voice(audio=_audio(obj), duration_ms=duration, **_addressee(obj))


def _flag(obj: Mapping[str, Any], name: str) -> bool:
    value = obj.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise WireError("bad_field", f"field '{name}' must be a boolean", name)
    return value


def _broadcast(obj: Mapping[str, Any]) -> Broadcast:
    lo, hi = limits.REMIND_EVERY_MIN
    text = _str(obj, "text", required=False) or ""
    return Broadcast(
        team=_int(obj, "team", lo=1, hi=2**31 - 1) or 0,
        title=clean_text(_str(obj, "title") or "", "title",
                         limits.MAX_NOTICE_TITLE_CHARS).strip(),
        text=clean_text(text, "text", limits.MAX_NOTICE_BODY_CHARS, allow_empty=True),
        image=_image(obj) if obj.get("image") is not None else None,
        shift=_int(obj, "shift", lo=1, hi=2**31 - 1, required=False),
        urgent=_flag(obj, "urgent"), ack=_flag(obj, "ack"),
        remind_every=_int(obj, "remind_every", lo=lo, hi=hi, required=False))


def _addressee(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``to`` or ``group``, exactly one, and ``reply_to`` and ``urgent`` only with ``group``:
    the keyword fields of a content body."""
    to = _int(obj, "to", lo=1, hi=2**31 - 1, required=False)
    group = _int(obj, "group", lo=1, hi=2**31 - 1, required=False)
    if (to is None) == (group is None):
        raise WireError("bad_field", "exactly one of the fields 'to' and 'group' is required",
                        "to")
    reply_to = _uuid(obj, "reply_to", required=False)
    if reply_to is not None and group is None:
        raise WireError("bad_field", "field 'reply_to' is only allowed with 'group'", "reply_to")
    urgent = obj.get("urgent")
    if urgent is not None:
        if not isinstance(urgent, bool):
            raise WireError("bad_field", "field 'urgent' must be a boolean", "urgent")
        if group is None:
            # A 1:1 message has no "first at badge-in": refused rather than silently dropped.
            raise WireError("bad_field", "field 'urgent' is only allowed with 'group'", "urgent")
    return {"to": to, "group": group, "reply_to": reply_to, "urgent": bool(urgent)}


def _body(kind: str, obj: Mapping[str, Any]) -> Any:
    if kind == "login":
        badge = clean_text(_str(obj, "badge") or "", "badge", limits.MAX_BADGE_CHARS).strip()
        pin = _str(obj, "pin", required=False)
        if pin is not None and not (
            pin.isascii() and pin.isdigit()
            and limits.PIN_MIN_DIGITS <= len(pin) <= limits.PIN_MAX_DIGITS
        ):
            raise WireError("bad_field", f"field 'pin' must be {limits.PIN_MIN_DIGITS}-"
                            f"{limits.PIN_MAX_DIGITS} digits", "pin")
        return Login(badge=badge, pin=pin,
                     last_seq=_int(obj, "last_seq", lo=0, hi=_MAX_TS, required=False))
    if kind == "logout":
        return Logout(last_seq=_int(obj, "last_seq", lo=0, hi=_MAX_TS, required=False))
    if kind == "sync":
        return Sync()
    if kind == "text":
        text = clean_text(_str(obj, "text") or "", "text", limits.MAX_TEXT_CHARS)
        return Text(text=text, **_addressee(obj))
    if kind == "photo":
        caption = _str(obj, "caption", required=False) or ""
        caption = clean_text(caption, "caption", limits.MAX_CAPTION_CHARS, allow_empty=True)
        return Photo(image=_image(obj), caption=caption, **_addressee(obj))
    if kind == "drawing":
        return DrawingMessage(drawing=parse_drawing(obj.get("drawing")), **_addressee(obj))
    if kind == "voice":
        return _voice(obj)
    if kind == "receipt":
        ref = _uuid(obj, "ref")
        status = _str(obj, "status")
        if status not in RECEIPT_STATUSES:
            raise WireError("bad_field", "field 'status' must be one of "
                            + ", ".join(sorted(RECEIPT_STATUSES)), "status")
        assert ref is not None
        return Receipt(ref=ref, status=status)
    if kind == "alert":
        pictogram = obj.get("pictogram")
        if pictogram is None:
            raise WireError("missing_field", "field 'pictogram' is required", "pictogram")
        if not isinstance(pictogram, str) or pictogram not in ALERT_PICTOGRAMS:
            raise WireError("bad_field", "field 'pictogram' must be one of "
                            + ", ".join(ALERT_PICTOGRAMS), "pictogram")
        text = _str(obj, "text", required=False) or ""
        return Alert(pictogram=pictogram,
                     text=clean_text(text, "text", limits.MAX_ALERT_CHARS, allow_empty=True),
                     image=_image(obj) if obj.get("image") is not None else None)
    if kind == "broadcast":
        return _broadcast(obj)
    if kind == "remind":
        ref = _uuid(obj, "ref")
        assert ref is not None
        return Remind(ref=ref)
    if kind == "offshift":
        return OffShift()
    if kind == "charter":
        number = _int(obj, "version", lo=1, hi=2**31 - 1)
        assert number is not None
        return CharterAccepted(version=number)
    raise WireError("unknown_type", f"unknown message type {kind!r}", "type")  # pragma: no cover


# Which kinds need a badge session id, and which are ordered outbox items with a seq.
_NEEDS_SID = frozenset({"logout", "text", "photo", "drawing", "voice", "receipt", "broadcast",
                        "remind", "offshift", "charter"})
_NEEDS_SEQ = CONTENT_KINDS


def decode_uplink(raw: bytes) -> Envelope:
    """Parse and validate what a terminal published. Raises ``WireError``."""
    obj = _load(raw, limits.MAX_PAYLOAD_BYTES)
    kind, msg_id, ts = _header(obj, UPLINK_KINDS)
    try:
        sid = _uuid(obj, "sid", required=kind in _NEEDS_SID)
        seq = _int(obj, "seq", lo=0, hi=_MAX_TS, required=kind in _NEEDS_SEQ)
        body = _body(kind, obj)
    except WireError as err:
        err.ref = msg_id
        raise
    return Envelope(v=WIRE_VERSION, type=kind, id=msg_id, ts=ts, body=body, seq=seq, sid=sid)


def _unencodable(value: Any) -> bool:
    """True if a decoded JSON value holds a string UTF-8 cannot carry: a lone surrogate,
    which only a ``\\ud800`` escape can produce. Iterative, so depth costs no stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def decode_downlink(raw: bytes) -> Envelope:
    """Parse what the relay sent a terminal. The body stays a plain dict: the relay is
    trusted, but the header is still checked so a stray payload cannot crash the kiosk."""
    obj = _load(raw, limits.MAX_DOWNLINK_BYTES)
    kind, msg_id, ts = _header(obj, DOWNLINK_KINDS)
    body = {k: v for k, v in obj.items() if k not in ("v", "type", "id", "ts", "sid")}
    try:
        sid = _uuid(obj, "sid", required=False)
        for key, value in body.items():
            if _unencodable(key):
                raise WireError("bad_field", "a field name holds an invalid character")
            if _unencodable(value):
                raise WireError("bad_field", f"field '{key}' holds an invalid character", key)
    except WireError as err:
        err.ref = msg_id
        raise
    return Envelope(v=WIRE_VERSION, type=kind, id=msg_id, ts=ts, body=body, sid=sid)
