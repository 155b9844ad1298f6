"""Property tests: whatever arrives, the wire either parses it or raises ``WireError``.

Three sources of input for each entry point: arbitrary bytes, arbitrary JSON-ish
structures, and valid messages with one to three places perturbed, replaced by arbitrary
JSON, removed or given a stray sibling (for the decoders, also a value swapped for a raw
JSON token such as ``1e400`` or a 5,000-digit integer). Whatever parses must satisfy the
contract's promises, and re-encode and re-parse to the same result; whatever is refused
must carry a sendable error whose ``ref`` is the sender's id once the JSON was read.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
import uuid
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from relais_wire import (
    DOWNLINK_KINDS,
    KINDS,
    UPLINK_KINDS,
    Envelope,
    WireError,
    decode_downlink,
    decode_uplink,
    encode,
    envelope,
    limits,
    topics,
)
from relais_wire.drawing import Drawing, parse_drawing
from relais_wire.envelope import (
    ALERT_PICTOGRAMS,
    RECEIPT_STATUSES,
    Alert,
    Broadcast,
    CharterAccepted,
    DrawingMessage,
    Login,
    Logout,
    OffShift,
    Photo,
    Receipt,
    Remind,
    Sync,
    Text,
    Voice,
    b64,
)
from relais_wire.topics import terminal_of, valid_terminal_name

FUZZ = settings(
    max_examples=1000,
    deadline=None,
    database=None,  # nothing written outside tests/; failures print their reproducer
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
REF = "16fd2706-8baf-433b-82eb-8c7fada847da"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"
# The smallest thing the wire takes for a clip: an Ogg page holding Opus's header (the relay
# decodes the rest, relais_wire.audio).
OGG = b"OggS\x00\x02" + bytes(20) + b"\x01\x13OpusHead\x01\x01\x38\x01\x80\x3e\x00\x00\x00\x00\x00"
DRAWING = {
    "w": 40,
    "h": 30,
    "strokes": [{"c": "#1A2B3C", "w": 3, "p": [0, 0, 40, 30]}, {"c": "#ffffff", "w": 1,
                                                                 "p": [5, 5]}],
}

HEADER = {"v": 1, "id": ID, "ts": 1_700_000_000_000}
UPLINKS: dict[str, dict] = {
    "login": {"badge": "B-1042", "pin": "1234"},
    "logout": {"sid": SID},
    "text": {"text": "Bonjour à tous", "to": 42, "seq": 7, "sid": SID},
    "photo": {"caption": "La presse", "image": b64(JPEG), "to": 42, "seq": 8, "sid": SID},
    "drawing": {"drawing": DRAWING, "to": 42, "seq": 9, "sid": SID},
    "voice": {"audio": b64(OGG), "duration_ms": 1500, "codec": "opus", "to": 42, "seq": 13,
              "sid": SID},
    "receipt": {"status": "read", "ref": REF, "sid": SID},
    "sync": {},
    "alert": {"pictogram": "fire", "text": "Fumée ligne 3", "image": b64(JPEG), "sid": SID},
    "broadcast": {"team": 4, "title": "Relève 6 h", "text": "Casque obligatoire",
                  "image": b64(JPEG), "shift": 2, "urgent": True, "ack": True,
                  "remind_every": 5, "sid": SID},
    "remind": {"ref": REF, "sid": SID},
    "offshift": {"sid": SID},
    "charter": {"version": 2**31 - 1, "sid": SID},
    # Group posts: ``group`` instead of ``to``, perhaps a ``reply_to`` and ``urgent``.
    "text+group": {"type": "text", "text": "Machine 4 bloquée", "group": 7, "reply_to": REF,
                   "urgent": True, "seq": 10, "sid": SID},
    "photo+group": {"type": "photo", "caption": "", "image": b64(JPEG), "group": 7, "seq": 11,
                    "urgent": False, "sid": SID},
    "drawing+group": {"type": "drawing", "drawing": DRAWING, "group": 2**31 - 1,
                      "reply_to": REF, "seq": 12, "sid": SID},
    "voice+group": {"type": "voice", "audio": b64(OGG), "duration_ms": 60_000,
                    "codec": "opus", "group": 7, "seq": 14, "sid": SID},
}
DOWNLINKS: dict[str, dict] = {
    "login": {"sid": SID, "name": "Ana", "contacts": [{"id": 3, "name": "RH"}]},
    "logout": {"sid": SID, "reason": "timeout"},
    "text": {"sid": SID, "seq": 4, "from": 3, "text": "Réunion à 14h"},
    "photo": {"sid": SID, "from": 3, "image": b64(JPEG), "caption": ""},
    "drawing": {"sid": SID, "from": 3, "drawing": DRAWING},
    "voice": {"sid": SID, "from": 3, "audio": b64(OGG), "duration_ms": 1500},
    "notice": {"text": "Fermeture vendredi", "level": "info"},
    "state": {"sid": SID, "ref": REF, "state": "held"},
    "retract": {"sid": SID, "msg": 99},
    "sync": {"sid": SID, "messages": [], "more": False},
    "error": {"code": "bad_field", "field": "to", "ref": REF, "message": "nope"},
}
# Body first: Hypothesis favours early choices, and a broken header hides the body rules.
UPLINK_TEMPLATES = {k: {**v, "type": k.split("+")[0], **HEADER} for k, v in UPLINKS.items()}
DOWNLINK_TEMPLATES = {k: {**v, "type": k, **HEADER} for k, v in DOWNLINKS.items()}

CODES = {
    "bad_payload", "too_large", "bad_utf8", "bad_json", "missing_field", "bad_field",
    "bad_version", "unknown_type", "bad_text", "too_long", "empty", "bad_image", "bad_drawing",
    "bad_audio",  # a voice message whose clip is not Opus in Ogg (relais_wire.audio)
}

# --- strategies -------------------------------------------------------------------------

# Values that sit on or next to a rule, so mutations probe the edges and not only noise.
EDGES: list[Any] = [
    0, 1, -1, 2, 3, 4, 7, 30, 40, 41, 2000, 2001, 2**31 - 1, 2**31, 2**53, 2**53 + 1, 10**30,
    True, False, None, 0.0, 1.0, -0.0, 1e308, "", " ", "\n", "1", "1234", "12345678",
    "123456789", "１２３４", ID, ID.upper(), SID, REF, "{" + REF + "}", REF.replace("-", ""),
    "#000000", "#ABCdef", "#aabbcc\n", "red", b64(JPEG), b64(b"\x89PNG"), "=/9j", "/9j/",
    "a\u202eb", "a\u200bb", "\ud800", "x\udfffx", "\x00", "\r", "e\u0301", "\U0001f44d",
    "a" * 201, "a" * 1001, "Bonjour", *sorted(KINDS), "notice", "received", "seen",
    "acknowledged", "deleted", [], {}, [0, 0], [0, 0, 40, 30], [1], {"w": 1},
]

# Text, and text with what st.text() leaves out: a lone surrogate. (Beware: st.text() over
# a one_of of st.characters() strategies silently drops the Cs category again.)
any_text = st.text(max_size=8) | st.builds(
    "{}{}{}".format, st.text(max_size=3), st.integers(0xD800, 0xDFFF).map(chr), st.text(max_size=3)
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities too: written as the forbidden constants
    | any_text
    | st.sampled_from(EDGES).map(copy.deepcopy)  # near() mutates: never share an edge
)
# Small on purpose: generating data is where the time goes, and the rules are shallow.
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=4,
)
header_keys = st.sampled_from(["v", "type", "id", "ts", "sid", "seq", "to", "group", "reply_to",
                               "urgent", "text", "badge",
                               "pin", "image", "caption", "drawing", "ref", "status", "w", "h",
                               "strokes", "c", "p"])
any_key = header_keys | any_text
json_objects = st.dictionaries(any_key, json_values, max_size=4)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out += _paths(value, (*prefix, i))
    return out


# A value of the same JSON type: keeps most messages valid, so the round trip gets tested.
_edge_ints = [v for v in EDGES if type(v) is int]
_edge_strs = [v for v in EDGES if isinstance(v, str)]
_same_type = {
    bool: st.booleans(),
    int: st.integers(0, 64) | st.integers(-2, 2**31) | st.integers() | st.sampled_from(_edge_ints),
    float: st.floats(),
    str: any_text | st.text(min_size=1, max_size=40) | st.sampled_from(_edge_strs),
}


def _mutate(draw, obj: Any) -> Any:
    """One place in ``obj`` perturbed, replaced, removed or given a sibling."""
    paths = _paths(obj)
    mode = draw(st.sampled_from(["body", "body", "top", "any"]))
    if mode == "top":  # a header or body field itself
        paths = [p for p in paths if len(p) == 1] or paths
    elif mode == "body":  # leave the header alone: it would hide the body rules
        paths = [p for p in paths if p and p[0] not in ("v", "type", "id", "ts")] or paths
    path = draw(st.sampled_from(paths))
    op = draw(st.sampled_from(["perturb", "perturb", "replace", "delete", "insert"]))
    if not path:
        return draw(json_values) if op == "replace" else obj
    parent = obj
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if op == "perturb":
        strategy = _same_type.get(type(parent[last]), json_values)
        parent[last] = copy.deepcopy(draw(strategy))
    elif op == "replace":
        parent[last] = draw(json_values)
    elif op == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent[draw(any_key)] = draw(json_values)
    else:
        parent.insert(last, draw(json_values))
    return obj


@st.composite
def near(draw, templates: dict[str, dict]) -> Any:
    """A valid message with one to three mutations, one most often."""
    obj: Any = copy.deepcopy(templates[draw(st.sampled_from(sorted(templates)))])
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        obj = _mutate(draw, obj)
    return obj


def as_bytes(obj: Any, ascii_only: bool) -> bytes:
    # ensure_ascii writes lone surrogates as "\ud800" escapes; without it they become
    # (invalid) UTF-8 bytes. allow_nan is json's default: NaN and Infinity get written.
    return json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


# JSON text that json.dumps of a Python value never writes.
raw_tokens = st.builds(
    "{}{}e{}".format, st.integers(-99, 99), st.sampled_from(["", ".5", ".0"]), st.integers(-999, 999)
) | st.sampled_from([
    "1e400", "-1E999", "1e-400", "9" * 5000, "-" + "1" * 4301, "NaN", "Infinity", "-Infinity",
    "[" * 3000 + "]" * 3000, '"\\ud800"', '"a\\udfff"', '"\\ud83d\\ude00"', '"\\u0000"',
    '"\\u202e"', "01", "+1", ".5", "1.", "tru", '"\\x41"', "'a'", "", '"a', "}",
])
_HOLE = "\x00hole\x00"


@st.composite
def near_payload(draw, templates: dict[str, dict]) -> tuple[bytes, Any]:
    """(payload, the object meant): a near-valid object as JSON, or that JSON with one
    value swapped for a raw token (big or out-of-range numbers, escapes, junk)."""
    obj = draw(near(templates))
    paths = [p for p in _paths(obj) if p]
    if not paths or draw(st.sampled_from([True, True, False])):
        return as_bytes(obj, draw(st.booleans())), obj
    path = draw(st.sampled_from(paths))
    parent = obj
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = _HOLE
    text = json.dumps(obj).replace(json.dumps(_HOLE), draw(raw_tokens), 1)
    return text.encode("utf-8", "surrogatepass"), None


_colours = st.builds(
    "#{:06x}{}".format, st.integers(0, 0xFFFFFF), st.sampled_from(["", "", "", "", "\n", "0"])
).map(lambda c: c.upper() if c[-1] in "02468" else c)


@st.composite
def plausible_drawings(draw) -> Any:
    """A random drawing whose points sit on the canvas, then perhaps one mutation."""
    w = draw(st.integers(1, 64) | st.sampled_from([1, 2000]))
    h = draw(st.integers(1, 64) | st.sampled_from([1, 2000]))
    strokes = []
    for _ in range(draw(st.integers(1, 4))):
        points = []
        for _ in range(draw(st.integers(1, 5))):
            points += [draw(st.integers(0, w)), draw(st.integers(0, h))]
        strokes.append({"c": draw(_colours), "w": draw(st.integers(1, 40)), "p": points})
    obj = {"w": w, "h": h, "strokes": strokes}
    return _mutate(draw, obj) if draw(st.booleans()) else obj


# --- the checks -------------------------------------------------------------------------


def _check_error(err: WireError, sent: Any = None) -> None:
    assert err.code in CODES
    assert err.field is None or isinstance(err.field, str)
    assert str(err) == err.message
    encode(err.as_fields())  # the relay must be able to send the error back
    if err.ref is not None:
        assert str(uuid.UUID(err.ref)) == err.ref
        if isinstance(sent, dict):  # the ref is the id the sender used, never another
            assert isinstance(sent.get("id"), str) and sent["id"].lower() == err.ref
    if isinstance(sent, dict) and err.code not in {"bad_payload", "too_large", "bad_utf8",
                                                   "bad_json"}:
        # Once the JSON is read, an id in canonical form always comes back as the ref.
        sent_id = sent.get("id")
        if isinstance(sent_id, str) and len(sent_id) == 36:
            try:
                canonical = str(uuid.UUID(sent_id)) == sent_id.lower()
            except ValueError:
                canonical = False
            assert err.ref == (sent_id.lower() if canonical else None)


_FORBIDDEN = set("\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e"
                 "\u2066\u2067\u2068\u2069\u061c")


def _canonical(value: Any) -> bool:
    return isinstance(value, str) and str(uuid.UUID(value)) == value


def _human(text: str, max_chars: int) -> bool:
    return (
        len(text) <= max_chars
        and unicodedata.is_normalized("NFC", text)
        and not _FORBIDDEN & set(text)
        and all(unicodedata.category(c)[0] != "C" or c in "\n\t" for c in text)
    )


def _check_drawing_shape(d: Drawing) -> None:
    """What a parsed drawing promises, restated: a bad value that slips through fails."""
    assert type(d.width) is int and 1 <= d.width <= limits.DRAWING_MAX_SIDE
    assert type(d.height) is int and 1 <= d.height <= limits.DRAWING_MAX_SIDE
    assert 1 <= len(d.strokes) <= limits.DRAWING_MAX_STROKES
    assert sum(len(s.points) for s in d.strokes) <= 2 * limits.DRAWING_MAX_POINTS
    for s in d.strokes:
        assert re.fullmatch(r"#[0-9a-f]{6}", s.colour)
        assert type(s.width) is int and 1 <= s.width <= limits.DRAWING_MAX_WIDTH
        assert len(s.points) >= 2 and len(s.points) % 2 == 0
        assert all(type(v) is int for v in s.points)
        assert all(0 <= x <= d.width for x in s.points[0::2])
        assert all(0 <= y <= d.height for y in s.points[1::2])


def _check_uplink_shape(env: Envelope) -> None:
    assert _canonical(env.id) and (env.sid is None or _canonical(env.sid))
    assert 0 <= env.ts <= 2**53 and (env.seq is None or 0 <= env.seq <= 2**53)
    body = env.body
    if isinstance(body, Text | Photo | DrawingMessage | Voice):
        assert (body.to is None) != (body.group is None) and env.seq is not None
        for target in (body.to, body.group):
            assert target is None or (type(target) is int and 1 <= target < 2**31)
        assert body.reply_to is None or (body.group is not None and _canonical(body.reply_to))
        assert type(body.urgent) is bool and (not body.urgent or body.group is not None)
    if isinstance(body, Login):
        assert body.badge == body.badge.strip() != "" and _human(body.badge, 64)
        assert body.pin is None or re.fullmatch(r"[0-9]{4,8}", body.pin)
    elif isinstance(body, Text):
        assert body.text.strip() and _human(body.text, limits.MAX_TEXT_CHARS)
    elif isinstance(body, Photo):
        assert body.image[:3] == b"\xff\xd8\xff" and len(body.image) <= limits.MAX_PHOTO_BYTES
        assert _human(body.caption, limits.MAX_CAPTION_CHARS)
    elif isinstance(body, DrawingMessage):
        _check_drawing_shape(body.drawing)
    elif isinstance(body, Voice):
        assert body.audio[:4] == b"OggS" and len(body.audio) <= limits.MAX_VOICE_BYTES
        assert type(body.duration_ms) is int
        assert 1 <= body.duration_ms <= limits.MAX_VOICE_SECONDS * 1000
    elif isinstance(body, Receipt):
        assert _canonical(body.ref) and body.status in RECEIPT_STATUSES
    elif isinstance(body, Alert):
        assert body.pictogram in ALERT_PICTOGRAMS
        assert _human(body.text, limits.MAX_ALERT_CHARS)
        assert body.image is None or (body.image[:3] == b"\xff\xd8\xff"
                                      and len(body.image) <= limits.MAX_PHOTO_BYTES)
    elif isinstance(body, Broadcast):
        assert env.sid is not None and type(body.team) is int and 1 <= body.team < 2**31
        assert body.title == body.title.strip() != ""
        assert _human(body.title, limits.MAX_NOTICE_TITLE_CHARS)
        assert _human(body.text, limits.MAX_NOTICE_BODY_CHARS)
        assert body.image is None or (body.image[:3] == b"\xff\xd8\xff"
                                      and len(body.image) <= limits.MAX_PHOTO_BYTES)
        assert body.shift is None or (type(body.shift) is int and 1 <= body.shift < 2**31)
        assert type(body.urgent) is bool and type(body.ack) is bool
        lo, hi = limits.REMIND_EVERY_MIN
        assert body.remind_every is None or lo <= body.remind_every <= hi
    elif isinstance(body, Remind):
        assert env.sid is not None and _canonical(body.ref)
    elif isinstance(body, OffShift):
        assert env.sid is not None
    elif isinstance(body, CharterAccepted):
        assert env.sid is not None and type(body.version) is int and 1 <= body.version < 2**31


def _uplink_fields(env: Envelope) -> dict[str, Any]:
    body = env.body
    if isinstance(body, Login):
        return {"badge": body.badge, "pin": body.pin}
    if isinstance(body, Text | Photo | DrawingMessage | Voice):
        target = {"to": body.to, "group": body.group, "reply_to": body.reply_to,
                  "urgent": body.urgent or None}
    if isinstance(body, Text):
        return {**target, "text": body.text}
    if isinstance(body, Photo):
        return {**target, "image": b64(body.image), "caption": body.caption}
    if isinstance(body, DrawingMessage):
        return {**target, "drawing": body.drawing.to_json()}
    if isinstance(body, Voice):
        return {**target, "audio": b64(body.audio), "duration_ms": body.duration_ms,
                "codec": "opus"}
    if isinstance(body, Receipt):
        return {"ref": body.ref, "status": body.status}
    if isinstance(body, Alert):
        return {"pictogram": body.pictogram, "text": body.text,
                "image": b64(body.image) if body.image is not None else None}
    if isinstance(body, Broadcast):
        return {"team": body.team, "title": body.title, "text": body.text,
                "image": b64(body.image) if body.image is not None else None,
                "shift": body.shift, "urgent": body.urgent, "ack": body.ack,
                "remind_every": body.remind_every}
    if isinstance(body, Remind):
        return {"ref": body.ref}
    if isinstance(body, CharterAccepted):
        return {"version": body.version}
    assert isinstance(body, Logout | Sync | OffShift)
    return {}


def check_uplink(raw: bytes, sent: Any = None) -> Envelope | None:
    try:
        env = decode_uplink(raw)
    except WireError as err:
        _check_error(err, sent)
        return None
    assert env.type in UPLINK_KINDS
    _check_uplink_shape(env)
    again = encode(envelope(env.type, id=env.id, ts=env.ts, sid=env.sid, seq=env.seq,
                            **_uplink_fields(env)))
    assert len(again) <= limits.MAX_PAYLOAD_BYTES
    assert decode_uplink(again) == env
    return env


def check_downlink(raw: bytes, sent: Any = None) -> Envelope | None:
    try:
        env = decode_downlink(raw)
    except WireError as err:
        _check_error(err, sent)
        return None
    assert env.type in DOWNLINK_KINDS and env.seq is None
    assert _canonical(env.id) and (env.sid is None or _canonical(env.sid))
    assert 0 <= env.ts <= 2**53
    assert not {"v", "type", "id", "ts", "sid"} & env.body.keys()
    header = {"v": env.v, "type": env.type, "id": env.id, "ts": env.ts}
    again = encode({**header, **({"sid": env.sid} if env.sid else {}), **env.body})
    assert decode_downlink(again) == env
    return env


def check_drawing(obj: Any) -> Drawing | None:
    try:
        drawing = parse_drawing(obj)
    except WireError as err:
        assert err.code == "bad_drawing" and err.ref is None
        assert err.field is not None and err.field.startswith("drawing")
        _check_error(err)
        return None
    _check_drawing_shape(drawing)
    again = json.loads(json.dumps(drawing.to_json(), allow_nan=False))
    assert parse_drawing(again) == drawing
    assert parse_drawing(again).to_json() == again
    return drawing


# --- sanity: the templates the mutations start from are valid -----------------------------


def test_templates_are_valid():
    assert {t["type"] for t in UPLINK_TEMPLATES.values()} == UPLINK_KINDS
    assert set(DOWNLINK_TEMPLATES) == DOWNLINK_KINDS
    for obj in UPLINK_TEMPLATES.values():
        assert check_uplink(encode(obj)) is not None
    for obj in DOWNLINK_TEMPLATES.values():
        assert check_downlink(encode(obj)) is not None
    assert check_drawing(DRAWING) is not None


# --- the three entry points -------------------------------------------------------------
# Generating examples is what costs time, so each example goes through every entry point
# that can take it: each still sees 1,000 examples or more from every source.


@FUZZ
@given(st.binary(max_size=200))
@example(b'{"v":1,"x":' + b"9" * 5000 + b"}")  # beyond the int digit limit: was a ValueError
@example(encode(DOWNLINK_TEMPLATES["notice"])[:-1] + b',"x":[1e400]}')  # inf: no re-encoding
def test_arbitrary_bytes(raw):
    check_uplink(raw)
    check_downlink(raw)


@FUZZ
@given(json_values | json_objects, st.booleans())
def test_arbitrary_json(obj, ascii_only):
    raw = as_bytes(obj, ascii_only)
    check_uplink(raw, obj)
    check_downlink(raw, obj)
    check_drawing(obj)


@FUZZ
@given(near_payload(UPLINK_TEMPLATES))
def test_uplink_near_valid(payload):
    check_uplink(*payload)
    check_downlink(*payload)  # an uplink sent down: only the receipt kind is foreign


_BAD_BODY = {**DOWNLINK_TEMPLATES["notice"], "x": {"k": "\ud800"}}
_BAD_SID = {**DOWNLINK_TEMPLATES["notice"], "sid": "nope"}


@FUZZ
@given(near_payload(DOWNLINK_TEMPLATES))
@example((as_bytes(_BAD_BODY, True), _BAD_BODY))  # would not re-encode
@example((as_bytes(_BAD_SID, True), _BAD_SID))  # used to come back without a ref
def test_downlink_near_valid(payload):
    check_downlink(*payload)
    check_uplink(*payload)


@FUZZ
@given(near({"drawing": DRAWING}) | plausible_drawings())
def test_drawing_near_valid(obj):
    check_drawing(obj)
    # The same drawing inside an otherwise valid uplink: the same verdict, and the ref.
    sent = {**UPLINK_TEMPLATES["drawing"], "drawing": obj}
    env = check_uplink(as_bytes(sent, True), sent)
    if env is not None:
        assert env.body.drawing == parse_drawing(obj)


# --- terminal names ---------------------------------------------------------------------


@settings(FUZZ, max_examples=500)
@given(st.text(max_size=40) | st.builds(
    "{}{}{}".format,
    st.sampled_from(["", "", "", "-", "_", "A"]),
    st.lists(st.sampled_from("az09-"), max_size=33).map("".join),
    st.sampled_from(["", "", "", "\n", "+", "#", "/", " ", "A"]),
))
def test_terminal_names(name):
    if not valid_terminal_name(name):
        assert terminal_of(f"relais/v1/t/{name}/up") is None
        return
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", name)
    for topic in (topics.uplink(name), topics.downlink(name), topics.status(name)):
        assert topic.count("/") == 4 and terminal_of(topic) == name
