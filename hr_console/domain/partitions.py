"""Which relay handles which terminal: terminals fall into a fixed number of partitions,
and each partition is owned by one relay at a time (a lease in the database).

A terminal's partition depends only on its name, so every relay, the console and a
migration compute the same one without asking anybody. CRC-32 rather than ``hash()``:
Python salts string hashes per process.
"""

from __future__ import annotations

import zlib

PARTITIONS = 64  # fixed: enough for a few dozen relays, few enough to list in one query


def partition_of(terminal_name: str) -> int:
    """The partition of a terminal, 0 <= p < PARTITIONS, stable across processes."""
    return zlib.crc32(terminal_name.encode("utf-8")) % PARTITIONS


def fair_share(partitions: int, relays: int) -> int:
    """How many partitions one of ``relays`` live relays should own: the others' share
    rounded up, so that every partition has a place."""
    return -(-partitions // max(1, relays))
