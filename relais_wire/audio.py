"""Voice messages' audio: Opus in Ogg, mono, the one format on the wire.

The terminal encodes what its microphone recorded (``encode``) and plays what it receives
(``decode`` to PCM, ``wav`` for the sound player); the relay decodes every voice message a
terminal sends and encodes it again from its samples alone (``hr_console.services.voice``),
so that nothing but sound reaches another terminal or the console. The codec is FFmpeg's
libopus through PyAV (a maintained binding whose wheels carry FFmpeg).

Before FFmpeg reads a byte, ``check_ogg`` walks the Ogg pages by hand: one logical stream,
pages that follow each other to the last byte (no trailing payload), an Opus header of at
most two channels, and a last granule position that does not claim more than the longest
message (a "ten-hour" header is refused before anything is decoded). Decoding then counts
the samples it really gets and stops past the limit, whatever the header said.
"""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass

from relais_wire import limits
from relais_wire.errors import WireError

OPUS_RATE = 48_000  # Opus's granule positions are always counted at 48 kHz
FRAME_SAMPLES = 320  # 20 ms at VOICE_RATE: what the encoder is fed at a time
_PAGE = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, seq, crc, nsegs
_MAX_PAGES = 20_000
# A clip may be a little longer than declared: the encoder pads its last frame.
SLACK_MS = 120


def _bad(message: str) -> WireError:
    return WireError("bad_audio", message, "audio")


@dataclass(frozen=True)
class OggInfo:
    channels: int
    pre_skip: int
    claimed_ms: int  # from the last page's granule position, pre-skip removed


def check_ogg(data: bytes) -> OggInfo:
    """The Ogg structure of an Opus file, checked without decoding; ``WireError`` if it is
    not one clean Opus stream of at most ``MAX_VOICE_SECONDS``."""
    if len(data) > limits.MAX_VOICE_BYTES:
        raise WireError("too_large", f"the audio is larger than {limits.MAX_VOICE_BYTES} bytes",
                        "audio")
    if not data:
        raise _bad("the audio is empty")
    pos = pages = 0
    serial: int | None = None
    granule = -1
    first: bytes | None = None
    while pos < len(data):
        if len(data) - pos < _PAGE.size:
            raise _bad("the audio ends inside an Ogg page")
        capture, version, _flags, gpos, page_serial, _seq, _crc, nsegs = _PAGE.unpack_from(data, pos)
        if capture != b"OggS" or version != 0:
            raise _bad("the audio is not Ogg from start to end")
        lacing_at = pos + _PAGE.size
        if lacing_at + nsegs > len(data):
            raise _bad("the audio ends inside an Ogg page")
        body = sum(data[lacing_at:lacing_at + nsegs])
        end = lacing_at + nsegs + body
        if end > len(data):
            raise _bad("the audio ends inside an Ogg page")
        if serial is None:
            serial = page_serial
            first = data[lacing_at + nsegs:end]
        elif page_serial != serial:
            raise _bad("the audio holds more than one stream")
        if gpos != -1:
            granule = max(granule, gpos)
        pages += 1
        if pages > _MAX_PAGES:
            raise _bad("the audio has too many Ogg pages")
        pos = end
    if first is None or len(first) < 19 or not first.startswith(b"OpusHead"):
        raise _bad("the audio is not Opus")
    channels, pre_skip = first[9], struct.unpack_from("<H", first, 10)[0]
    if not 1 <= channels <= 2 or first[18] != 0:
        raise _bad("the audio must be mono or stereo")
    claimed = max(0, granule - pre_skip) * 1000 // OPUS_RATE
    if claimed > limits.MAX_VOICE_SECONDS * 1000 + SLACK_MS:
        raise WireError("too_long", f"the audio is longer than {limits.MAX_VOICE_SECONDS} s",
                        "audio")
    return OggInfo(channels, pre_skip, claimed)


def decode(data: bytes) -> bytes:
    """The samples of an Opus-in-Ogg file: mono, signed 16-bit, ``VOICE_RATE``. Refuses
    (``WireError``) anything ``check_ogg`` refuses, anything FFmpeg cannot decode whole, and
    more sound than ``MAX_VOICE_SECONDS`` (counted while decoding)."""
    import av  # here: a terminal without voice never loads FFmpeg

    check_ogg(data)
    most = (limits.MAX_VOICE_SECONDS * 1000 + SLACK_MS) * limits.VOICE_RATE // 1000 * 2
    out = bytearray()
    try:
        with av.open(io.BytesIO(data), format="ogg") as src:
            streams = src.streams.audio
            if len(streams) != 1 or streams[0].codec_context.name != "opus":
                raise _bad("the audio is not one Opus stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=limits.VOICE_RATE)
            for frame in src.decode(streams[0]):
                for chunk in resampler.resample(frame):
                    out += bytes(chunk.planes[0])[:chunk.samples * 2]
                if len(out) > most:
                    raise WireError("too_long",
                                    f"the audio is longer than {limits.MAX_VOICE_SECONDS} s",
                                    "audio")
            for chunk in resampler.resample(None):
                out += bytes(chunk.planes[0])[:chunk.samples * 2]
    except WireError:
        raise
    except (av.FFmpegError, ValueError, IndexError, EOFError, OSError):
        raise _bad("the audio cannot be decoded") from None
    if not out:
        raise _bad("the audio holds no sound")
    if len(out) > most:
        raise WireError("too_long", f"the audio is longer than {limits.MAX_VOICE_SECONDS} s",
                        "audio")
    return bytes(out)


def encode(pcm: bytes) -> bytes:
    """Opus in Ogg from mono signed 16-bit samples at ``VOICE_RATE``, at ``VOICE_BITRATE``."""
    import av

    if not pcm:
        raise ValueError("no samples to encode")
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as dst:
        stream = dst.add_stream("libopus", rate=limits.VOICE_RATE, layout="mono")
        stream.bit_rate = limits.VOICE_BITRATE
        # Speech at 16 kbit/s sounds the same at a middling effort, for half the CPU of 10.
        stream.codec_context.options = {"compression_level": "5", "application": "voip"}
        step = FRAME_SAMPLES * 2
        for start in range(0, len(pcm) - len(pcm) % 2, step):
            chunk = pcm[start:start + step]
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(chunk) // 2)
            frame.planes[0].update(chunk)
            frame.sample_rate = limits.VOICE_RATE
            frame.pts = start // 2
            for packet in stream.encode(frame):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    return out.getvalue()


def duration_ms(pcm: bytes) -> int:
    return len(pcm) // 2 * 1000 // limits.VOICE_RATE


def wav(pcm: bytes) -> bytes:
    """A WAV file of the samples, for a sound player that does not read Opus."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(limits.VOICE_RATE)
        w.writeframes(pcm)
    return out.getvalue()
