"""The shared contract between terminals and the relay: topics, envelope, kinds, limits.

Pure Python on purpose: the kiosk, the relay, the console and the tests all import it,
and none of them may drag a framework into the others.
"""

from relais_wire.envelope import (
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
)

__all__ = [
    "DOWNLINK_KINDS",
    "KINDS",
    "UPLINK_KINDS",
    "WIRE_VERSION",
    "Envelope",
    "WireError",
    "decode_downlink",
    "decode_uplink",
    "encode",
    "envelope",
]
