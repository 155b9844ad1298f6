"""Voice clips: the codec keeps their length, the wire's checks, and a hostile corpus."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relais_wire import audio, limits
from relais_wire.envelope import Voice, b64, decode_uplink, encode, envelope
from relais_wire.errors import WireError
from tests.wire.hostile_audio import clip, corpus, pages, tone

SID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
GOOD = clip(2.0)
CORPUS = corpus()


@pytest.mark.parametrize("seconds", [0.5, 3.333, 59.9])
def test_encoding_then_decoding_keeps_the_length_within_50_ms(seconds):
    pcm = tone(seconds)
    again = audio.decode(audio.encode(pcm))
    assert abs(audio.duration_ms(again) - audio.duration_ms(pcm)) <= 50
    # ... and a second generation too (the relay re-encodes what the kiosk encoded).
    twice = audio.decode(audio.encode(again))
    assert abs(audio.duration_ms(twice) - audio.duration_ms(pcm)) <= 50


def test_a_minute_is_about_120_kb_at_16_kbit_s():
    size = len(audio.encode(tone(60.0)))
    assert 90_000 < size < 150_000, size
    assert size < limits.MAX_VOICE_BYTES


def test_the_decoded_clip_is_not_silence():
    pcm = audio.decode(GOOD)
    samples = memoryview(pcm).cast("h")
    assert max(abs(v) for v in samples) > 3000


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_hostile_clip_gets_its_clear_error(name):
    data, code = CORPUS[name]
    if not code:
        # Seventy seconds of sound whose pages say one: what is taken is what they say.
        assert audio.duration_ms(audio.decode(data)) <= 1100
        return
    with pytest.raises(WireError) as err:
        audio.decode(data)
    assert err.value.code == code and err.value.field == "audio"
    assert err.value.message.startswith("the audio")


def _voice(**fields):
    base = {"sid": SID, "seq": 3, "to": 42, "audio": b64(GOOD), "duration_ms": 2000,
            "codec": "opus"}
    base.update(fields)
    return encode(envelope("voice", **{k: v for k, v in base.items() if v is not None}))


def test_the_wire_takes_a_clip_with_its_duration_and_codec():
    env = decode_uplink(_voice())
    assert isinstance(env.body, Voice)
    assert env.body.audio == GOOD and env.body.duration_ms == 2000 and env.body.to == 42


@pytest.mark.parametrize(("fields", "code", "field"), [
    ({"codec": "vorbis"}, "bad_field", "codec"),
    ({"codec": None}, "bad_field", "codec"),
    ({"duration_ms": 0}, "bad_field", "duration_ms"),
    ({"duration_ms": limits.MAX_VOICE_SECONDS * 1000 + 1}, "bad_field", "duration_ms"),
    ({"duration_ms": "2000"}, "bad_field", "duration_ms"),
    ({"audio": "not base64!"}, "bad_field", "audio"),
    ({"audio": ""}, "empty", "audio"),
    ({"audio": b64(b"\xff\xd8\xff" + bytes(100))}, "bad_audio", "audio"),
    ({"audio": b64(b"OggS" + bytes(200))}, "bad_audio", "audio"),
    ({"audio": b64(GOOD + bytes(limits.MAX_VOICE_BYTES))}, "too_large", "audio"),
    ({"seq": None}, "missing_field", "seq"),
    ({"to": None}, "bad_field", "to"),
])
def test_the_wire_refuses_a_bad_clip_field_by_field(fields, code, field):
    with pytest.raises(WireError) as err:
        decode_uplink(_voice(**fields))
    assert (err.value.code, err.value.field) == (code, field)


FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes_are_decoded_or_refused_with_a_wire_error(data):
    try:
        pcm = audio.decode(data)
    except WireError as err:
        assert err.field == "audio" and err.code in ("bad_audio", "too_long", "too_large")
    else:
        assert 0 < audio.duration_ms(pcm) <= limits.MAX_VOICE_SECONDS * 1000 + audio.SLACK_MS


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)),
                min_size=1, max_size=12),
       st.integers(0, 64))
def test_a_real_clip_with_bytes_changed_or_cut_is_decoded_or_refused(changes, cut):
    data = bytearray(GOOD)
    for at, value in changes:
        data[at] = value
    data = bytes(data[: len(data) - cut])
    try:
        pcm = audio.decode(data)
    except WireError as err:
        assert err.code in ("bad_audio", "too_long", "too_large")
    else:
        assert 0 < audio.duration_ms(pcm) <= limits.MAX_VOICE_SECONDS * 1000 + audio.SLACK_MS
        # Whatever was taken encodes again into a clean clip the checks take.
        assert audio.check_ogg(audio.encode(pcm)).channels == 1


def test_every_page_of_a_clip_is_walked():
    assert len(pages(GOOD)) >= 3
    assert audio.check_ogg(GOOD).claimed_ms == 2000
