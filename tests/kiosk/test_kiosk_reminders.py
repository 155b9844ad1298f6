"""Reminders until acknowledged on the kiosk, without a window (issue 16): the controller fed
real downlinks through the terminal link's own entry point. What the sync says the relay
reminds of comes full screen first after the urgent notices; a reminder arriving while the
person is badged in opens the notice full screen (the urgent sound if it is urgent, the
message sound if not); one already acknowledged here, or that asks for no acknowledgement,
opens nothing; acknowledging sends the receipt as before."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")

from tests.kiosk.test_kiosk_groups import ME, Fed  # noqa: E402


def notice(uid: str, **over: Any) -> dict[str, Any]:
    out = {"notice": uid, "title": f"title {uid}", "body": "", "urgent": False,
           "ack_required": True, "photo": False, "valid_until": None, "seen": False,
           "acknowledged": False, "reminder": False}
    out.update(over)
    return out


class Seen:
    """What the controller told the screens, and the sounds it played."""

    def __init__(self, fed: Fed) -> None:
        self.opened: list[str] = []
        self.sounds: list[str] = []
        fed.k.bind(on_urgent=lambda _k, n: self.opened.append(n.id))
        fed.k.sounds.play = self.sounds.append  # type: ignore[method-assign]


@pytest.fixture
def fed(tmp_path: Path) -> Any:
    f = Fed(tmp_path)
    f.login()
    yield f
    f.k.link.outbox.close()


def _sync(fed: Fed, notices: list[dict[str, Any]]) -> None:
    fed.feed("sync", me={"id": ME, "name": "Sophie Martin", "language": "fr"}, contacts=[],
             history=[], notices=notices, quick_replies=[], groups=[])


def test_the_sync_puts_reminded_notices_first_after_the_urgent_ones(fed: Fed) -> None:
    seen = Seen(fed)
    _sync(fed, [notice("plain", ack_required=False), notice("new"),
                notice("again", reminder=True), notice("fire", urgent=True),
                notice("done", reminder=False, acknowledged=True)])
    s = fed.k.session
    assert [n.id for n in s.first_pending()] == ["fire", "again"]
    assert [n.id for n in s.urgent_pending()] == ["fire"]
    assert seen.sounds == ["urgent"]  # the urgent one is the first thing shown


def test_a_reminder_alone_at_badge_in_plays_the_message_sound(fed: Fed) -> None:
    seen = Seen(fed)
    _sync(fed, [notice("again", reminder=True)])
    assert [n.id for n in fed.k.session.first_pending()] == ["again"]
    assert seen.sounds == ["message"]


@pytest.mark.parametrize("urgent,sound", [(False, "message"), (True, "urgent")])
def test_a_reminder_while_badged_in_opens_the_notice_full_screen(fed: Fed, urgent: bool,
                                                                  sound: str) -> None:
    _sync(fed, [])
    seen = Seen(fed)
    fed.feed("notice", **notice("epi", urgent=urgent))  # its first arrival
    opened_at_first = list(seen.opened)
    fed.feed("notice", **notice("epi", urgent=urgent, reminder=True))
    assert seen.opened == [*opened_at_first, "epi"]
    assert seen.sounds[-1] == sound
    assert [n.id for n in fed.k.session.first_pending()] == ["epi"]
    # Acknowledging sends the receipt as before, and the reminder stops showing.
    fed.k.acknowledge("epi")
    assert fed.k.session.first_pending() == []
    assert ("acknowledged", "epi") in fed.k._receipts  # noqa: SLF001 - offline: kept to send


def test_a_reminder_of_something_acknowledged_here_or_without_acknowledgement_opens_nothing(
        fed: Fed) -> None:
    _sync(fed, [notice("done"), notice("info", ack_required=False)])
    fed.k.acknowledge("done")  # here, the receipt not yet at the relay
    seen = Seen(fed)
    fed.feed("notice", **notice("done", reminder=True))
    fed.feed("notice", **notice("info", ack_required=False, reminder=True))
    assert seen.opened == [] and seen.sounds == []
    assert fed.k.session.first_pending() == []


def test_a_reminder_of_a_notice_not_yet_known_opens_it_too(fed: Fed) -> None:
    _sync(fed, [])
    seen = Seen(fed)
    fed.feed("notice", **notice("late", reminder=True))
    assert seen.opened == ["late"] and seen.sounds == ["message"]
