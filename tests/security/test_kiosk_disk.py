"""What a shared terminal's disk holds once its messages are gone: a kiosk read off its disk
(a stolen or opened terminal) must not give away what its workers wrote. The outbox keeps an
item until the relay answers for it, then its row is overwritten and, once the outbox is
empty, the log that still held it is emptied too (kiosk_app.link.outbox). Read here the
way a thief would: every byte of the outbox's files, through the real broker and relay."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from kiosk_app.link import events as ev
from tests.system_fixture import System, expect


def _disk(outbox: Path) -> bytes:
    return b"".join(p.read_bytes() for p in outbox.parent.glob(outbox.name + "*"))


def test_a_kiosks_disk_keeps_none_of_the_messages_once_they_are_sent(system: System) -> None:
    outbox = system.tmp / "disk" / "outbox-kiosk-1.db"
    k1, k2 = system.link("kiosk-1", outbox=outbox), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    # Something still waiting in the outbox all along (an item the relay has not answered
    # yet: an offline moment, an alert over its budget) must not keep the others on disk.
    # Here: sent once, its answer lost, its next try far off.
    waiting = f"waiting {uuid.uuid4().hex}"
    item = k1.outbox.add({"id": str(uuid.uuid4()), "type": "text", "text": waiting},
                         ordered=False)
    k1.outbox.sent(item.id, now=time.time() + 3600)
    secrets = [f"secret {uuid.uuid4().hex}" for _ in range(5)]
    for text in secrets:
        k1.send_text(system.employee("Karim Benali"), text)
    for text in secrets:
        expect(k2, ev.MessageArrived, lambda e, t=text: e.message.get("text") == t)
    deadline = time.monotonic() + 10
    while k1.outbox.pending_count() > 1 and time.monotonic() < deadline:  # the relay's answers
        time.sleep(0.05)
    assert [item.payload["text"] for item in k1.outbox.pending()] == [waiting]
    # While the kiosk runs (its database open), and after it stops; what still waits for
    # the relay is there, as it must be (never lost).
    disk = _disk(outbox)
    assert not [t for t in secrets if t.encode() in disk] and waiting.encode() in disk
    k1.stop()
    disk = _disk(outbox)
    assert not [t for t in secrets if t.encode() in disk] and waiting.encode() in disk
