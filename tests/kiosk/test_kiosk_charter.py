"""What the kiosk makes of the relay's messaging charter (issue 17), without a window: the
gate until the version in force is accepted, one uplink with the version through the real
outbox, a new version asking again, no gate without a charter, the badge-in's order
(charter, then off-shift notice, then urgent notices), the handling facts, and nothing of
it left after logout (the Xvfb walk covers the screens: tests/kiosk/test_charter_walk.py)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from kiosk_app.ui.session import Session

ME = {"id": 1, "name": "Sophie Martin", "language": "fr"}
SECTIONS = {"purpose": "Échanger avec l'équipe.", "moderation": "Les RH lisent avant.",
            "retention": "365 jours.", "contact": "Le service RH."}
HANDLING = {"moderation": "pre", "retention_days": 365, "media_held": True}


def charter(version: int = 1, **more: Any) -> dict[str, Any]:
    return {"version": version, "sections": dict(SECTIONS), "published": "2026-12-04",
            "accepted": False, **more}


def _session(**me: Any) -> Session:
    s = Session("sid-1", ME)
    s.apply_sync({**ME, "handling": HANDLING, **me}, [], [], [], [])
    return s


def test_the_charter_gates_until_accepted_then_a_new_version_asks_again() -> None:
    s = _session(charter=charter(1))
    assert s.charter_pending() and s.next_gate() == "charter"
    assert s.charter.sections == SECTIONS and s.charter.published == dt.date(2026, 12, 4)
    assert s.accept_charter() == 1
    assert not s.charter_pending() and s.next_gate() == ""
    assert s.charter.accepted and s.charter.accepted_at is not None
    assert s.accept_charter() == 0  # once: the relay is told once
    # A sync before the relay answered the uplink: still accepted here, same moment.
    at = s.charter.accepted_at
    s.apply_sync({**ME, "charter": charter(1)}, [], [], [], [])
    assert not s.charter_pending() and s.charter.accepted_at == at
    # HR published version 2: asked again.
    s.apply_sync({**ME, "charter": charter(2)}, [], [], [], [])
    assert s.charter_pending() and s.accept_charter() == 2
    # The relay's own record (another terminal, an earlier day): no gate, its time kept.
    s = _session(charter=charter(3, accepted=True, accepted_at="2026-12-01T07:45"))
    assert not s.charter_pending() and s.accept_charter() == 0
    assert s.charter.accepted_at == dt.datetime(2026, 12, 1, 7, 45)


def test_no_charter_no_gate_but_the_facts_and_hostile_values_are_harmless() -> None:
    s = _session()
    assert s.charter is None and not s.charter_pending() and s.next_gate() == ""
    assert s.accept_charter() == 0
    assert (s.handling.moderation, s.handling.retention_days, s.handling.media_held) == (
        "pre", 365, True)
    for bad in ("x", {"version": 0}, {"version": "deux"}, [1]):
        assert _session(charter=bad).charter is None
    odd = _session(handling={"moderation": "<b>", "retention_days": "-3"},
                   charter={"version": 4, "sections": {"purpose": 7, "evil": "x"},
                            "published": "hier", "accepted_at": "jamais"})
    assert (odd.handling.moderation, odd.handling.retention_days) == ("", 0)
    assert odd.charter.sections == {"purpose": "7", "moderation": "", "retention": "",
                                    "contact": ""}
    assert odd.charter.published is None and odd.charter_pending()
    # A sync without ``handling`` (an older relay) keeps what is known.
    s.apply_sync(ME, [], [], [], [])
    assert s.handling is not None and s.handling.retention_days == 365


def test_the_badge_in_order_is_charter_then_off_shift_then_urgent() -> None:
    urgent = {"notice": "n1", "title": "Évacuation", "body": "Quai 2", "urgent": True,
              "ack_required": True}
    s = Session("sid-1", ME)
    s.apply_sync({**ME, "charter": charter(1), "off_shift": True, "from": "06:00",
                  "off_shift_notice": "Hors temps de travail."}, [], [], [urgent], [])
    assert s.next_gate() == "charter"
    assert s.accept_charter() == 1 and s.next_gate() == "offshift"
    assert s.accept_off_shift() and s.next_gate() == "urgent"
    assert s.acknowledge("n1") and s.next_gate() == ""


def test_logout_forgets_the_charter() -> None:
    s = _session(charter=charter(1))
    s.accept_charter()
    s.clear()
    assert (s.charter, s.handling, s.charter_accepted) == (None, None, 0)


# --- the controller and its real outbox -----------------------------------------------------


@pytest.fixture
def fed(tmp_path: Path) -> Any:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from tests.kiosk.test_kiosk_groups import Fed

    f = Fed(tmp_path)
    f.login()
    yield f
    f.k.link.outbox.close()


def test_accepting_queues_one_uplink_with_the_version_until_the_relay_answers(fed: Any) -> None:
    fed.feed("sync", me={**ME, "handling": HANDLING, "charter": charter(2)}, contacts=[],
             history=[], notices=[], quick_replies=[], groups=[])
    k = fed.k
    assert k.session.charter_pending()
    k.accept_charter()
    k.accept_charter()  # a second touch sends nothing more
    sent = [p for p in fed.uplinks() if p["type"] == "charter"]
    assert len(sent) == 1 and sent[0]["version"] == 2 and sent[0]["sid"] == fed.sid
    assert "seq" not in sent[0] and not k.session.charter_pending()
    fed.feed("state", ref=sent[0]["id"], msg=sent[0]["id"], state="accepted")
    assert [p for p in fed.uplinks() if p["type"] == "charter"] == []
