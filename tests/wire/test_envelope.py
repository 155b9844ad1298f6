"""relais_wire.envelope: building, encoding and the validation of every field.

Every refusal is checked for its stable ``code``, the ``field`` it names and, once the
envelope id could be read, the ``ref`` that lets the sender match the error.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid

import pytest

from relais_wire import (
    DOWNLINK_KINDS,
    KINDS,
    UPLINK_KINDS,
    WIRE_VERSION,
    Envelope,
    WireError,
    decode_downlink,
    decode_uplink,
    encode,
    envelope,
    limits,
)
from relais_wire.drawing import Drawing, Stroke
from relais_wire.envelope import (
    CONTENT_KINDS,
    RECEIPT_STATUSES,
    STATES,
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
    b64,
    clean_text,
    new_id,
    now_ms,
)

ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
REF = "16fd2706-8baf-433b-82eb-8c7fada847da"
TS = 1_700_000_000_000
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64))
DRAWING = {"w": 100, "h": 50, "strokes": [{"c": "#1A2B3C", "w": 3, "p": [0, 0, 100, 50]}]}

# The smallest valid fields of each uplink kind, header aside.
UPLINK_BODIES: dict[str, dict] = {
    "login": {"badge": "B-1042", "pin": "1234"},
    "logout": {"sid": SID},
    "text": {"sid": SID, "seq": 7, "to": 42, "text": "Bonjour à tous"},
    "photo": {"sid": SID, "seq": 8, "to": 42, "image": b64(JPEG), "caption": "La presse"},
    "drawing": {"sid": SID, "seq": 9, "to": 42, "drawing": DRAWING},
    "voice": {"sid": SID, "seq": 10, "to": 42, "duration_ms": 1500, "codec": "opus",
              "audio": b64(b"OggS" + bytes(24) + b"OpusHead" + bytes(11))},
    "receipt": {"sid": SID, "ref": REF, "status": "read"},
    "sync": {},
    "alert": {"sid": SID, "pictogram": "fall", "text": "Chute quai 2", "image": b64(JPEG)},
    "broadcast": {"sid": SID, "team": 4, "title": "Réunion 14 h"},
    "remind": {"sid": SID, "ref": REF},
    "offshift": {"sid": SID},
    "charter": {"sid": SID, "version": 3},
}

DROP = object()  # marks a field to leave out


def doc(kind: str = "text", **changes) -> dict:
    """A valid uplink envelope of ``kind`` with ``changes`` applied (``DROP`` removes)."""
    out = {"v": 1, "type": kind, "id": ID, "ts": TS, **UPLINK_BODIES.get(kind, {})}
    for key, value in changes.items():
        if value is DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def raw(kind: str = "text", **changes) -> bytes:
    # ensure_ascii: a lone surrogate becomes the JSON escape "\ud800", as an attacker sends it.
    return json.dumps(doc(kind, **changes)).encode("utf-8")


def refused(payload: bytes, code: str, field: str | None, ref: str | None = ID, *,
            decode=decode_uplink) -> WireError:
    with pytest.raises(WireError) as info:
        decode(payload)
    err = info.value
    assert (err.code, err.field, err.ref) == (code, field, ref), err.message
    assert str(err) == err.message
    return err


# --- kinds, constants -------------------------------------------------------------------


def test_kind_sets():
    assert WIRE_VERSION == 1
    assert UPLINK_KINDS <= KINDS and DOWNLINK_KINDS <= KINDS
    assert "receipt" in UPLINK_KINDS and "receipt" not in DOWNLINK_KINDS
    assert {"notice", "state", "retract", "error"} <= DOWNLINK_KINDS - UPLINK_KINDS
    assert {"text", "photo", "drawing", "voice"} == CONTENT_KINDS
    assert {"received", "read", "seen", "acknowledged"} == RECEIPT_STATUSES
    assert "delivered" in STATES and "delivered" not in RECEIPT_STATUSES


# --- building ---------------------------------------------------------------------------


def test_envelope_builds_header_and_drops_none():
    env = envelope("text", id=ID, ts=TS, sid=SID, seq=None, to=3, text="hi", pin=None)
    assert env == {"v": 1, "type": "text", "id": ID, "ts": TS, "sid": SID, "to": 3, "text": "hi"}


def test_envelope_keeps_falsy_but_not_none_fields():
    env = envelope("photo", id=ID, ts=TS, caption="", seq=0, to=0)
    assert env["caption"] == "" and env["seq"] == 0 and env["to"] == 0


def test_envelope_keeps_ts_zero():
    # ts=0 is a valid timestamp; it used to be replaced by the current time.
    assert envelope("sync", id=ID, ts=0)["ts"] == 0
    assert decode_uplink(encode(envelope("sync", id=ID, ts=0))).ts == 0


def test_envelope_fills_id_and_ts():
    before = now_ms()
    env = envelope("sync")
    after = now_ms()
    assert str(uuid.UUID(env["id"])) == env["id"] and uuid.UUID(env["id"]).version == 4
    assert before <= env["ts"] <= after
    assert envelope("sync")["id"] != env["id"]


@pytest.mark.parametrize("kind", ["", "Text", "bogus", "hello", None])
def test_envelope_rejects_unknown_kind(kind):
    with pytest.raises(ValueError, match="unknown kind"):
        envelope(kind)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_envelope_accepts_every_kind(kind):
    assert envelope(kind, id=ID, ts=TS)["type"] == kind


def test_encode_is_compact_utf8():
    assert encode({"a": "é", "b": [1, 2]}) == '{"a":"é","b":[1,2]}'.encode()


def test_helpers():
    assert b64(b"\xff\xd8\xff") == "/9j/"
    fresh = new_id()
    assert str(uuid.UUID(fresh)) == fresh and fresh != new_id()
    assert abs(now_ms() - time.time() * 1000) < 5_000


def test_wire_error_as_fields():
    full = WireError("bad_field", "nope", "to", ID)
    assert full.as_fields() == {"code": "bad_field", "message": "nope", "field": "to", "ref": ID}
    bare = WireError("bad_json", "nope")
    assert bare.as_fields() == {"code": "bad_json", "message": "nope"}
    assert (bare.field, bare.ref) == (None, None)
    assert isinstance(bare, ValueError)


# --- uplink round trips -----------------------------------------------------------------


def _round_trip(kind: str, **fields) -> Envelope:
    return decode_uplink(encode(envelope(kind, id=ID, ts=TS, **fields)))


def test_login_round_trip():
    env = _round_trip("login", badge="  B-1042 ", pin="0042")
    assert env == Envelope(v=1, type="login", id=ID, ts=TS, body=Login(badge="B-1042", pin="0042"))
    assert env.seq is None and env.sid is None


def test_login_without_pin_with_optional_sid_and_seq():
    env = _round_trip("login", badge="B-1", pin=None, sid=SID, seq=3)
    assert env.body == Login(badge="B-1", pin=None)
    assert (env.sid, env.seq) == (SID, 3)


def test_logout_round_trip():
    assert _round_trip("logout", sid=SID) == Envelope(1, "logout", ID, TS, Logout(), sid=SID)


def test_sync_round_trip():
    assert _round_trip("sync") == Envelope(1, "sync", ID, TS, Sync())


def test_text_round_trip():
    env = _round_trip("text", sid=SID, seq=0, to=42, text="Ligne 1\n\tLigne 2 ✓")
    assert env == Envelope(1, "text", ID, TS, Text(to=42, text="Ligne 1\n\tLigne 2 ✓"), 0, SID)


def test_photo_round_trip():
    env = _round_trip("photo", sid=SID, seq=1, to=5, image=b64(JPEG), caption="Vue")
    assert env.body == Photo(to=5, image=JPEG, caption="Vue")
    assert JPEG.hex() not in repr(env.body)  # the image bytes stay out of logs
    no_caption = _round_trip("photo", sid=SID, seq=1, to=5, image=b64(JPEG))
    assert no_caption.body == Photo(to=5, image=JPEG, caption="")


def test_drawing_round_trip():
    env = _round_trip("drawing", sid=SID, seq=2, to=5, drawing=DRAWING)
    stroke = Stroke(colour="#1a2b3c", width=3, points=(0, 0, 100, 50))
    assert env.body == DrawingMessage(to=5, drawing=Drawing(100, 50, (stroke,)))


@pytest.mark.parametrize("status", sorted(RECEIPT_STATUSES))
def test_receipt_round_trip(status):
    env = _round_trip("receipt", sid=SID, ref=REF.upper(), status=status)
    assert env.body == Receipt(ref=REF, status=status)


@pytest.mark.parametrize("kind", sorted(UPLINK_KINDS))
def test_every_uplink_kind_is_frozen(kind):
    env = decode_uplink(raw(kind))
    assert env.type == kind and env.id == ID and env.ts == TS and env.v == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.id = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.body.x = 1


def test_uplink_accepts_bytearray_and_ignores_unknown_fields():
    env = decode_uplink(bytearray(raw("sync", extra={"anything": [1, 2]})))
    assert env.body == Sync()


def test_uppercase_ids_are_normalised():
    env = decode_uplink(raw("logout", id=ID.upper(), sid=SID.upper()))
    assert (env.id, env.sid) == (ID, SID)


def test_text_is_nfc_normalised():
    env = decode_uplink(raw(text="e\u0301te\u0301"))
    assert env.body.text == "\u00e9t\u00e9"
    # The length limit applies after normalisation.
    assert decode_uplink(raw(text="e\u0301" * limits.MAX_TEXT_CHARS)).body.text == "é" * 1000


# --- the payload itself -----------------------------------------------------------------


@pytest.mark.parametrize("decode", [decode_uplink, decode_downlink])
@pytest.mark.parametrize("payload", ["{}", None, 42, memoryview(b"{}")])
def test_payload_must_be_bytes(decode, payload):
    refused(payload, "bad_payload", None, None, decode=decode)


def _padded(kind: str, size: int) -> bytes:
    body = raw(kind)
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_size_limits():
    limit = limits.MAX_PAYLOAD_BYTES
    assert decode_uplink(_padded("sync", limit)).type == "sync"
    refused(_padded("sync", limit + 1), "too_large", None, None)
    # The relay may send twice as much (a photo plus its metadata).
    notice = _padded("sync", limit + 1).replace(b'"sync"', b'"notice"')
    assert decode_downlink(notice).type == "notice"
    refused(b" " * (2 * limit + 1), "too_large", None, None, decode=decode_downlink)


@pytest.mark.parametrize("decode", [decode_uplink, decode_downlink])
@pytest.mark.parametrize(
    "payload",
    [b'{"v":1,"text":"\xff"}', b"\xc3", b'{"a":"\xed\xa0\x80"}', b"\xef\xbb\xbf\xc0\xaf"],
)
def test_invalid_utf8(decode, payload):
    err = refused(payload, "bad_utf8", None, None, decode=decode)
    assert "byte" in err.message


@pytest.mark.parametrize("decode", [decode_uplink, decode_downlink])
@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"{",
        b'{"v":1,}',
        b"{'v': 1}",
        b'{"v":1}{"v":1}',
        b'\xef\xbb\xbf{"v":1}',  # a UTF-8 BOM
        b'{"v":NaN}',
        b'{"v":1,"x":Infinity}',
        b'{"v":1,"x":-Infinity}',
        b'{"v":1,"x":[1e400]}',  # would decode to inf and re-encode as Infinity
        b'{"v":1,"x":-1E999}',
        b'{"v":1,"x":' + b"9" * 5000 + b"}",  # beyond the int digit limit: a ValueError
        b'{"v":' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # recursion
    ],
)
def test_bad_json(decode, payload):
    refused(payload, "bad_json", None, None, decode=decode)


@pytest.mark.parametrize("decode", [decode_uplink, decode_downlink])
@pytest.mark.parametrize("payload", [b"[]", b"[1]", b'"text"', b"1", b"null", b"true", b" 1.5 "])
def test_json_must_be_an_object(decode, payload):
    err = refused(payload, "bad_json", None, None, decode=decode)
    assert err.message == "payload must be a JSON object"


def test_finite_floats_are_fine_in_downlink_bodies():
    payload = encode({**doc("notice"), "x": 1.5e300, "y": -0.0})
    assert decode_downlink(payload).body["x"] == 1.5e300


# --- the header -------------------------------------------------------------------------


@pytest.mark.parametrize("decode", [decode_uplink, decode_downlink])
class TestHeader:
    def _raw(self, decode, **changes):
        kind = "sync" if decode is decode_uplink else "notice"
        return raw(kind, **changes)

    def test_missing_version(self, decode):
        refused(self._raw(decode, v=DROP), "missing_field", "v", decode=decode)
        refused(self._raw(decode, v=None), "missing_field", "v", decode=decode)

    @pytest.mark.parametrize("v", ["1", 1.0, True, False, [1], {"v": 1}])
    def test_mistyped_version(self, decode, v):
        refused(self._raw(decode, v=v), "bad_field", "v", decode=decode)

    @pytest.mark.parametrize("v", [0, 2, -1, 10**30])
    def test_wrong_version(self, decode, v):
        refused(self._raw(decode, v=v), "bad_version", "v", decode=decode)

    def test_missing_type(self, decode):
        refused(self._raw(decode, type=DROP), "missing_field", "type", decode=decode)

    @pytest.mark.parametrize("kind", [1, True, ["text"], {"t": 1}])
    def test_mistyped_type(self, decode, kind):
        refused(self._raw(decode, type=kind), "bad_field", "type", decode=decode)

    def test_type_with_lone_surrogate(self, decode):
        refused(self._raw(decode, type="\ud800"), "bad_field", "type", decode=decode)

    @pytest.mark.parametrize("kind", ["", "TEXT", "bogus", "x" * 1000])
    def test_unknown_type(self, decode, kind):
        err = refused(self._raw(decode, type=kind), "unknown_type", "type", decode=decode)
        assert len(err.message) < 100  # a long type is cut in the message

    def test_missing_id(self, decode):
        refused(self._raw(decode, id=DROP), "missing_field", "id", None, decode=decode)

    @pytest.mark.parametrize("bad_id", [1, 1.5, True, [ID], {"id": ID}])
    def test_mistyped_id(self, decode, bad_id):
        refused(self._raw(decode, id=bad_id), "bad_field", "id", None, decode=decode)

    @pytest.mark.parametrize(
        "bad_id",
        [
            "",
            "not-a-uuid",
            ID[:-1],
            ID + "0",
            ID.replace("-", ""),  # 32 hex digits: a UUID, but not canonical
            "{" + ID + "}",
            "urn:uuid:" + ID,
            ID.replace("-", "")[:30] + "----" + "ab",  # 36 long, dashes misplaced
            ID.replace("-", "_"),  # underscores are read by int(); not canonical
            ID[:-1] + "g",
            ID[:-1] + "\ud800",
            "\u0661" * 8 + ID[8:],  # Arabic-Indic digits are digits to int()
        ],
    )
    def test_non_canonical_id(self, decode, bad_id):
        # The id cannot be trusted, so no ref comes back either.
        refused(self._raw(decode, id=bad_id), "bad_field", "id", None, decode=decode)

    def test_missing_ts(self, decode):
        refused(self._raw(decode, ts=DROP), "missing_field", "ts", decode=decode)

    @pytest.mark.parametrize("ts", ["1", 1.0, True, False, -1, 2**53 + 1, [1], {}])
    def test_bad_ts(self, decode, ts):
        refused(self._raw(decode, ts=ts), "bad_field", "ts", decode=decode)

    @pytest.mark.parametrize("ts", [0, 2**53])
    def test_ts_bounds(self, decode, ts):
        assert decode(self._raw(decode, ts=ts)).ts == ts

    def test_header_ref_is_normalised(self, decode):
        # The id was fine (upper case is accepted); the error is elsewhere in the header.
        refused(self._raw(decode, id=ID.upper(), ts=DROP), "missing_field", "ts", ID,
                decode=decode)

    def test_header_ref_only_for_a_readable_id(self, decode):
        refused(self._raw(decode, id=ID[:-1], v=2), "bad_version", "v", None, decode=decode)
        refused(self._raw(decode, id=ID.replace("-", "") + "----", v=2), "bad_version", "v",
                None, decode=decode)
        refused(self._raw(decode, id=7, v=2), "bad_version", "v", None, decode=decode)


@pytest.mark.parametrize("kind", sorted(DOWNLINK_KINDS - UPLINK_KINDS))
def test_uplink_refuses_downlink_only_kinds(kind):
    refused(raw(kind), "unknown_type", "type")


def test_downlink_refuses_receipts():
    refused(raw("receipt"), "unknown_type", "type", decode=decode_downlink)


# --- session and sequence ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["logout", "text", "photo", "drawing", "receipt"])
def test_sid_required(kind):
    refused(raw(kind, sid=DROP), "missing_field", "sid")
    refused(raw(kind, sid=None), "missing_field", "sid")


@pytest.mark.parametrize("kind", ["login", "sync"])
def test_sid_optional(kind):
    assert decode_uplink(raw(kind, sid=DROP)).sid is None
    assert decode_uplink(raw(kind, sid=SID)).sid == SID


@pytest.mark.parametrize("kind", sorted(UPLINK_KINDS))
@pytest.mark.parametrize("sid", [1, True, "nope", ID.replace("-", ""), "{" + SID + "}"])
def test_sid_must_be_a_canonical_uuid(kind, sid):
    refused(raw(kind, sid=sid), "bad_field", "sid")


@pytest.mark.parametrize("kind", sorted(CONTENT_KINDS))
def test_seq_required(kind):
    refused(raw(kind, seq=DROP), "missing_field", "seq")


@pytest.mark.parametrize("kind", ["login", "logout", "receipt", "sync"])
def test_seq_optional(kind):
    assert decode_uplink(raw(kind, seq=DROP)).seq is None
    assert decode_uplink(raw(kind, seq=12)).seq == 12


@pytest.mark.parametrize("kind", sorted(UPLINK_KINDS))
@pytest.mark.parametrize("seq", [True, False, "1", 1.0, -1, 2**53 + 1])
def test_bad_seq(kind, seq):
    refused(raw(kind, seq=seq), "bad_field", "seq")


@pytest.mark.parametrize("seq", [0, 2**53])
def test_seq_bounds(seq):
    assert decode_uplink(raw(seq=seq)).seq == seq


# --- recipients -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CONTENT_KINDS))
def test_recipient(kind):
    for bad in (True, False, "42", 42.0, 0, -1, 2**31, [42]):
        refused(raw(kind, to=bad), "bad_field", "to")
    assert decode_uplink(raw(kind, to=1)).body.to == 1
    assert decode_uplink(raw(kind, to=2**31 - 1)).body.to == 2**31 - 1
    body = decode_uplink(raw(kind)).body
    assert (body.to, body.group, body.reply_to) == (42, None, None)


# --- groups: exactly one of to / group, reply_to only with group ------------------------


@pytest.mark.parametrize("kind", sorted(CONTENT_KINDS))
def test_group_post(kind):
    body = decode_uplink(raw(kind, to=DROP, group=7)).body
    assert (body.to, body.group, body.reply_to) == (None, 7, None)
    body = decode_uplink(raw(kind, to=None, group=2**31 - 1, reply_to=REF.upper())).body
    assert (body.to, body.group, body.reply_to) == (None, 2**31 - 1, REF)
    assert decode_uplink(raw(kind, to=DROP, group=1, reply_to=None)).body.reply_to is None
    assert decode_uplink(raw(kind, to=DROP, group=7)).body.urgent is False


@pytest.mark.parametrize("kind", sorted(CONTENT_KINDS))
def test_group_post_urgent(kind):
    # A lead's post shown first at badge-in; whether the sender may is the relay's call.
    assert decode_uplink(raw(kind, to=DROP, group=7, urgent=True)).body.urgent is True
    assert decode_uplink(raw(kind, to=DROP, group=7, urgent=False)).body.urgent is False
    assert decode_uplink(raw(kind, to=DROP, group=7, urgent=None)).body.urgent is False
    body = decode_uplink(raw(kind, to=DROP, group=7, reply_to=REF, urgent=True)).body
    assert (body.group, body.reply_to, body.urgent) == (7, REF, True)


@pytest.mark.parametrize("kind", sorted(CONTENT_KINDS))
def test_bad_urgent(kind):
    for bad in (1, 0, "true", "", 1.0, [True], {"v": True}):
        refused(raw(kind, to=DROP, group=7, urgent=bad), "bad_field", "urgent")


@pytest.mark.parametrize("kind", sorted(CONTENT_KINDS))
def test_urgent_needs_group(kind):
    # A 1:1 message has no "first at badge-in": refused, not silently dropped.
    for flag in (True, False):
        err = refused(raw(kind, urgent=flag), "bad_field", "urgent")
        assert "group" in err.message
    refused(raw(kind, to=DROP, urgent=True), "bad_field", "to")  # neither: the addressee first


@pytest.mark.parametrize("kind", sorted(CONTENT_KINDS))
def test_to_or_group_exactly_one(kind):
    refused(raw(kind, to=DROP), "bad_field", "to")  # neither
    refused(raw(kind, to=None, group=None), "bad_field", "to")
    err = refused(raw(kind, group=7), "bad_field", "to")  # both
    assert "exactly one" in err.message
    refused(raw(kind, group=7, reply_to=REF), "bad_field", "to")


@pytest.mark.parametrize("kind", sorted(CONTENT_KINDS))
def test_bad_group(kind):
    for bad in (True, False, "7", 7.0, 0, -1, 2**31, [7], {"id": 7}):
        refused(raw(kind, to=DROP, group=bad), "bad_field", "group")
        refused(raw(kind, group=bad), "bad_field", "group")  # the group's own fault first


@pytest.mark.parametrize("kind", sorted(CONTENT_KINDS))
def test_bad_reply_to(kind):
    for bad in ("nope", REF[:-1], REF + "0", REF.replace("-", ""), "{" + REF + "}", 7, True,
                [REF], "\ud800"):
        refused(raw(kind, to=DROP, group=7, reply_to=bad), "bad_field", "reply_to")


@pytest.mark.parametrize("kind", sorted(CONTENT_KINDS))
def test_reply_to_needs_group(kind):
    err = refused(raw(kind, reply_to=REF), "bad_field", "reply_to")
    assert "group" in err.message


def test_group_body_positional_order_is_kept():
    # Code written before groups builds bodies positionally: the new fields come last.
    assert Text(3, "hi") == Text(to=3, text="hi", group=None, reply_to=None)
    assert Photo(3, JPEG, "c") == Photo(to=3, image=JPEG, caption="c")
    assert DrawingMessage(None, Drawing(1, 1, ()), 4, REF).group == 4
    assert [f.name for f in dataclasses.fields(Photo)] == [
        "to", "image", "caption", "group", "reply_to", "urgent"]
    assert [f.name for f in dataclasses.fields(Text)][-1] == "urgent"
    assert [f.name for f in dataclasses.fields(DrawingMessage)][-1] == "urgent"
    assert Text(None, "hi", 4, REF, True).urgent is True
    assert Photo(3, JPEG).urgent is False


def test_group_post_round_trip():
    env = decode_uplink(raw("text", to=DROP, group=9, reply_to=REF, urgent=True))
    again = encode(envelope("text", id=env.id, ts=env.ts, sid=env.sid, seq=env.seq,
                            to=env.body.to, group=env.body.group, reply_to=env.body.reply_to,
                            urgent=env.body.urgent, text=env.body.text))
    assert "to" not in json.loads(again)
    assert decode_uplink(again) == env


# --- text -------------------------------------------------------------------------------


def test_text_missing_or_mistyped():
    refused(raw(text=DROP), "missing_field", "text")
    refused(raw(text=None), "missing_field", "text")
    for bad in (1, True, ["a"], {"a": 1}):
        refused(raw(text=bad), "bad_field", "text")


@pytest.mark.parametrize("text", ["", " ", "   \n\t ", "\u3000", "\u00a0\n"])
def test_text_empty(text):
    refused(raw(text=text), "empty", "text")


def test_text_length():
    assert decode_uplink(raw(text="x" * limits.MAX_TEXT_CHARS)).body.text == "x" * 1000
    refused(raw(text="x" * (limits.MAX_TEXT_CHARS + 1)), "too_long", "text")


@pytest.mark.parametrize(
    "char",
    [
        "\x00", "\x07", "\x1b", "\r", "\x7f", "\x85",  # control characters (Cc)
        "\ue000", "\U000f0000",  # private use (Co)
        "\u0378", "\uffff", "\U000e0080",  # unassigned (Cn)
    ],
)
def test_text_control_characters(char):
    err = refused(raw(text=f"ok{char}ok"), "bad_text", "text")
    assert f"U+{ord(char):04X}" in err.message


@pytest.mark.parametrize(
    "char",
    [
        "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",  # zero-width
        "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # bidi embeddings, overrides
        "\u2066", "\u2067", "\u2068", "\u2069", "\u061c",  # bidi isolates, Arabic mark
        # Any other format character (Cf) hides as well: soft hyphen, direction marks,
        # invisible operators, Mongolian vowel separator, a tag character.
        "\u00ad", "\u200e", "\u200f", "\u2061", "\u2064", "\u180e", "\U000e0041",
    ],
)
def test_text_hidden_characters(char):
    err = refused(raw(text=f"pay{char}day"), "bad_text", "text")
    assert "hidden" in err.message


@pytest.mark.parametrize("surrogate", ["\ud800", "\udfff", "ok\udc00"])
def test_text_lone_surrogate(surrogate):
    payload = raw(text=surrogate)
    assert b"\\ud" in payload  # sent as a JSON escape, the only way to smuggle one
    refused(payload, "bad_field", "text")


def test_text_keeps_emoji_pairs():
    # A surrogate *pair* escape is a real character.
    assert decode_uplink(raw(text="\U0001f44d")).body.text == "\U0001f44d"


def test_clean_text_directly():
    assert clean_text("a\tb\n", "x", 10) == "a\tb\n"
    assert clean_text("", "x", 10, allow_empty=True) == ""
    with pytest.raises(WireError) as info:
        clean_text("\ud800", "note", 10)
    assert (info.value.code, info.value.field, info.value.ref) == ("bad_text", "note", None)


# --- login ------------------------------------------------------------------------------


def test_badge():
    refused(raw("login", badge=DROP), "missing_field", "badge")
    refused(raw("login", badge=1042), "bad_field", "badge")
    for empty in ("", "   ", "\t\n"):
        refused(raw("login", badge=empty), "empty", "badge")
    refused(raw("login", badge="B" * (limits.MAX_BADGE_CHARS + 1)), "too_long", "badge")
    refused(raw("login", badge="B\x00"), "bad_text", "badge")
    refused(raw("login", badge="B\u202e1"), "bad_text", "badge")
    refused(raw("login", badge="B\ud800"), "bad_field", "badge")
    assert decode_uplink(raw("login", badge="B" * 64)).body.badge == "B" * 64


@pytest.mark.parametrize("pin", ["1234", "0000", "12345678"])
def test_good_pins(pin):
    assert decode_uplink(raw("login", pin=pin)).body.pin == pin


def test_pin_optional():
    assert decode_uplink(raw("login", pin=DROP)).body.pin is None
    assert decode_uplink(raw("login", pin=None)).body.pin is None


@pytest.mark.parametrize(
    "pin",
    [
        "", "123", "123456789", "12a4", "12 34", " 1234", "1234\n", "-123", "+1234", "12.4",
        "１２３４",  # full-width digits: isdigit() but not ASCII
        "\u0661\u0662\u0663\u0664",  # Arabic-Indic digits
        "\u00b2\u00b3\u00b9\u00b2",  # superscripts: isdigit() too
        1234, 1234.0, True, ["1234"],
        "12\ud8004",
    ],
)
def test_bad_pins(pin):
    refused(raw("login", pin=pin), "bad_field", "pin")


# --- photo ------------------------------------------------------------------------------


def test_image_missing_or_mistyped():
    refused(raw("photo", image=DROP), "missing_field", "image")
    refused(raw("photo", image=[1, 2]), "bad_field", "image")


@pytest.mark.parametrize(
    "image",
    [
        "@@@@",
        "/9j/4A",  # bad padding
        "/9j/ 4AAQ",  # whitespace is not tolerated
        "/9j/4AAQ\n",
        "/9j/4A==AAAA",  # data after padding (excess padding is tolerated by 3.11)
        "=/9j",
        "/9j_4AAQ",  # URL-safe alphabet
        "/9j/4AAé",
        "\ud800\ud800\ud800\ud800",
    ],
)
def test_image_not_base64(image):
    refused(raw("photo", image=image), "bad_field", "image")


def test_image_empty():
    refused(raw("photo", image=""), "empty", "image")


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8", b"\xff\xd8\xfe"])
def test_image_not_jpeg(data):
    refused(raw("photo", image=b64(data)), "bad_image", "image")


def test_image_size():
    biggest = b"\xff\xd8\xff" + bytes(limits.MAX_PHOTO_BYTES - 3)
    assert decode_uplink(raw("photo", image=b64(biggest))).body.image == biggest
    # Decoded one byte too many: the base64 is still short enough for the first check.
    refused(raw("photo", image=b64(biggest + b"\x00")), "too_large", "image")
    # Far too long base64 is refused before it is decoded.
    longest = (limits.MAX_PHOTO_BYTES * 4) // 3 + 4
    refused(raw("photo", image="A" * (longest + 1)), "too_large", "image")


def test_caption():
    assert decode_uplink(raw("photo", caption=DROP)).body.caption == ""
    assert decode_uplink(raw("photo", caption=None)).body.caption == ""
    assert decode_uplink(raw("photo", caption="  ")).body.caption == "  "  # may be blank
    assert decode_uplink(raw("photo", caption="c" * 200)).body.caption == "c" * 200
    refused(raw("photo", caption="c" * (limits.MAX_CAPTION_CHARS + 1)), "too_long", "caption")
    refused(raw("photo", caption=5), "bad_field", "caption")
    refused(raw("photo", caption="a\u202eb"), "bad_text", "caption")
    refused(raw("photo", caption="a\x1bb"), "bad_text", "caption")
    refused(raw("photo", caption="\udfff"), "bad_field", "caption")


# --- drawing (the rules themselves are in test_drawing.py) ------------------------------


@pytest.mark.parametrize("drawing", [DROP, None, "x", [DRAWING], 3])
def test_drawing_must_be_an_object(drawing):
    refused(raw("drawing", drawing=drawing), "bad_drawing", "drawing")


def test_drawing_errors_carry_the_ref():
    bad = {**DRAWING, "strokes": [{"c": "#000000", "w": 3, "p": [0, 51]}]}
    refused(raw("drawing", drawing=bad), "bad_drawing", "drawing.strokes[0].p")


# --- receipt ----------------------------------------------------------------------------


def test_receipt_ref():
    refused(raw("receipt", ref=DROP), "missing_field", "ref")
    refused(raw("receipt", ref=5), "bad_field", "ref")
    refused(raw("receipt", ref="nope"), "bad_field", "ref")
    refused(raw("receipt", ref=REF.replace("-", "")), "bad_field", "ref")


@pytest.mark.parametrize("status", ["", "READ", "delivered", "deleted", " read", "read\n"])
def test_receipt_unknown_status(status):
    err = refused(raw("receipt", status=status), "bad_field", "status")
    assert "acknowledged, read, received, seen" in err.message


def test_receipt_status_missing_or_mistyped():
    refused(raw("receipt", status=DROP), "missing_field", "status")
    refused(raw("receipt", status=1), "bad_field", "status")
    refused(raw("receipt", status="\ud800"), "bad_field", "status")


# --- downlink ---------------------------------------------------------------------------

DOWNLINK_BODIES: dict[str, dict] = {
    "login": {"sid": SID, "name": "Ana", "contacts": [{"id": 3, "name": "RH"}]},
    "logout": {"sid": SID, "reason": "timeout"},
    "text": {"sid": SID, "seq": 4, "from": 3, "text": "Réunion à 14h", "msg": 99},
    "photo": {"sid": SID, "from": 3, "image": b64(JPEG), "caption": ""},
    "drawing": {"sid": SID, "from": 3, "drawing": DRAWING},
    "voice": {"sid": SID, "from": 3, "audio": b64(b"OggS"), "duration_ms": 1500},
    "notice": {"text": "Fermeture vendredi", "level": "info"},
    "state": {"sid": SID, "ref": REF, "state": "held", "seq": 4},
    "retract": {"sid": SID, "msg": 99},
    "sync": {"sid": SID, "messages": [], "more": False, "cursor": None},
    "error": {"code": "bad_field", "field": "to", "ref": REF, "message": "nope"},
}


def test_every_downlink_kind_has_a_sample():
    assert set(DOWNLINK_BODIES) == DOWNLINK_KINDS


@pytest.mark.parametrize("kind", sorted(DOWNLINK_KINDS))
def test_downlink_round_trip(kind):
    fields = DOWNLINK_BODIES[kind]
    env = decode_downlink(encode(envelope(kind, id=ID, ts=TS, **fields)))
    expected_body = {k: v for k, v in fields.items() if k != "sid" and v is not None}
    assert env == Envelope(1, kind, ID, TS, expected_body, seq=None, sid=fields.get("sid"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.sid = None  # type: ignore[misc]


def test_downlink_keeps_explicit_nulls_in_the_body():
    env = decode_downlink(encode({**doc("notice"), "cursor": None, "sid": None}))
    assert env.body == {"cursor": None} and env.sid is None


@pytest.mark.parametrize("sid", [1, "nope", SID.replace("-", ""), "\ud800"])
def test_downlink_bad_sid_carries_the_ref(sid):
    refused(raw("notice", sid=sid), "bad_field", "sid", decode=decode_downlink)


@pytest.mark.parametrize(
    "value",
    ["\ud800", ["ok", "\udfff"], {"a": {"b": ["\ud83d"]}}, {"\udc00": 1}, [[{"k": "a\ud800"}]]],
)
def test_downlink_body_refuses_lone_surrogates(value):
    # It could not be re-encoded (or written to a UTF-8 store) by the terminal.
    refused(raw("notice", text=value), "bad_field", "text", decode=decode_downlink)


def test_downlink_body_refuses_a_lone_surrogate_in_a_field_name():
    payload = raw("notice", **{"te\ud800xt": "x"})
    err = refused(payload, "bad_field", None, decode=decode_downlink)
    err.message.encode("utf-8")  # the error itself must be sendable


def test_downlink_body_surrogate_pairs_are_fine():
    env = decode_downlink(raw("notice", text={"\U0001f600": ["\U0001f44d", 1, None, True]}))
    assert env.body["text"] == {"\U0001f600": ["\U0001f44d", 1, None, True]}


# --- safety alerts ----------------------------------------------------------------------


@pytest.mark.parametrize("pictogram", ["fall", "fire", "injury", "machine", "chemical", "other"])
def test_alert_takes_each_pictogram_of_the_fixed_set(pictogram):
    env = decode_uplink(raw("alert", pictogram=pictogram))
    assert env.type == "alert" and env.body.pictogram == pictogram and env.sid == SID


def test_alert_from_the_idle_screen_needs_no_session_and_no_text():
    env = decode_uplink(raw("alert", sid=DROP, text=DROP, image=DROP))
    assert env.sid is None and env.body.text == "" and env.seq is None
    assert env.body.image is None


def test_alert_carries_an_optional_photo_kept_out_of_logs():
    env = decode_uplink(raw("alert"))
    assert env.body == Alert(pictogram="fall", text="Chute quai 2", image=JPEG)
    assert JPEG.hex() not in repr(env.body)
    assert decode_uplink(raw("alert", image=None)).body.image is None  # null: no photo


@pytest.mark.parametrize(("image", "code"), [
    ("not base64!", "bad_field"), (b64(b"GIF89a" + bytes(32)), "bad_image"), ("", "empty"),
    ([1, 2], "bad_field"), ("A" * ((limits.MAX_PHOTO_BYTES * 4) // 3 + 5), "too_large"),
])
def test_alert_photo_is_checked_as_any_photo(image, code):
    refused(raw("alert", image=image), code, "image")


def test_alert_photo_size_limit_is_the_photos():
    biggest = b"\xff\xd8\xff" + bytes(limits.MAX_PHOTO_BYTES - 3)
    assert decode_uplink(raw("alert", image=b64(biggest))).body.image == biggest
    refused(raw("alert", image=b64(biggest + b"\x00")), "too_large", "image")


@pytest.mark.parametrize("pictogram", ["FALL", "explosion", "", "fall ", 3, None, ["fire"],
                                       "<img src=x>"])
def test_alert_refuses_a_pictogram_outside_the_set(pictogram):
    code = "missing_field" if pictogram is None else "bad_field"
    err = refused(raw("alert", pictogram=pictogram), code, "pictogram")
    assert pictogram is None or "fall, fire, injury, machine, chemical, other" in err.message


def test_alert_text_is_short_and_clean():
    assert decode_uplink(raw("alert", text="a" * 200)).body.text == "a" * 200
    refused(raw("alert", text="a" * 201), "too_long", "text")
    refused(raw("alert", text="gr\u200beve"), "bad_text", "text")
    refused(raw("alert", text=5), "bad_field", "text")


# --- a team lead's notices and the off-shift notice ---------------------------------------


def test_broadcast_takes_its_fields_and_defaults():
    env = decode_uplink(raw("broadcast"))
    assert env.body == Broadcast(team=4, title="Réunion 14 h")
    full = decode_uplink(raw("broadcast", title="  Sécurité  ", text="Casque obligatoire\nligne 3",
                             image=b64(JPEG), shift=2, urgent=True, ack=True, remind_every=5))
    assert full.body == Broadcast(team=4, title="Sécurité", text="Casque obligatoire\nligne 3",
                                  image=JPEG, shift=2, urgent=True, ack=True, remind_every=5)


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"sid": DROP}, "missing_field", "sid"),
    ({"team": DROP}, "missing_field", "team"),
    ({"team": 0}, "bad_field", "team"),
    ({"team": "4"}, "bad_field", "team"),
    ({"title": DROP}, "missing_field", "title"),
    ({"title": "   "}, "empty", "title"),
    ({"title": "t" * 121}, "too_long", "title"),
    ({"title": "r\u202eévu"}, "bad_text", "title"),
    ({"text": "a" * 4001}, "too_long", "text"),
    ({"shift": -1}, "bad_field", "shift"),
    ({"urgent": "yes"}, "bad_field", "urgent"),
    ({"ack": 1}, "bad_field", "ack"),
    ({"remind_every": 4}, "bad_field", "remind_every"),
    ({"remind_every": 1441}, "bad_field", "remind_every"),
    ({"image": "not base64!"}, "bad_field", "image"),
    ({"image": b64(b"GIF89a")}, "bad_image", "image"),
])
def test_broadcast_refuses_bad_fields(changes, code, field):
    refused(raw("broadcast", **changes), code, field)


def test_remind_and_offshift_need_a_session():
    assert decode_uplink(raw("remind")).body == Remind(ref=REF)
    assert decode_uplink(raw("offshift")).body == OffShift()
    refused(raw("remind", ref="not-a-uuid"), "bad_field", "ref")
    refused(raw("remind", ref=DROP), "missing_field", "ref")
    refused(raw("offshift", sid=DROP), "missing_field", "sid")


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"sid": DROP}, "missing_field", "sid"),
    ({"version": DROP}, "missing_field", "version"),
    ({"version": 0}, "bad_field", "version"),
    ({"version": "3"}, "bad_field", "version"),
    ({"version": True}, "bad_field", "version"),
    ({"version": 2**31}, "bad_field", "version"),
])
def test_charter_acceptance_names_one_version_in_a_session(changes, code, field):
    assert decode_uplink(raw("charter")).body == CharterAccepted(version=3)
    refused(raw("charter", **changes), code, field)
