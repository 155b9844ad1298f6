"""An urgent group post from the kiosk (issue 15): the uplink carries ``urgent`` only for a
group and only when asked for; the relay decides whether the sender may (a lead of the group
or the HR desk), so the local copy is not marked urgent. The toggle's size on glass is
checked by the group walk (test_group_walk.py) at both window sizes."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.kiosk.test_kiosk_groups import KARIM, LINE3, SAFETY, Fed, group, groups_sync


@pytest.fixture
def fed(tmp_path: Path) -> Any:
    f = Fed(tmp_path)
    f.login()
    yield f
    f.k.link.outbox.close()


def test_the_uplink_carries_urgent_only_when_asked_for_a_group(fed: Fed) -> None:
    fed.sync(groups_sync())
    k = fed.k
    text_id = k.send_text(0, "Évacuation quai 2", group=LINE3, urgent=True)
    quick_id = k.send_quick_reply(0, {"fr": "Bien reçu"}, group=LINE3, urgent=True)
    photo_id = k.send_photo(0, b"\xff\xd8\xffjpeg", group=LINE3, urgent=True)
    drawing_id = k.send_drawing(0, {"w": 10, "h": 10, "strokes": []}, group=LINE3,
                                urgent=True)
    plain_id = k.send_text(0, "Machine 4 repartie", group=LINE3)
    direct_id = k.send_text(KARIM, "Salut", urgent=True)  # a person: never urgent
    sent = {p["id"]: p for p in fed.uplinks()}
    for msg_id in (text_id, quick_id, photo_id, drawing_id):
        assert sent[msg_id]["urgent"] is True and sent[msg_id]["group"] == LINE3
        assert k.session.messages[msg_id].urgent is False  # the relay's word, not ours
    assert "urgent" not in sent[plain_id]
    assert "urgent" not in sent[direct_id] and sent[direct_id]["to"] == KARIM

    # What the relay reads: the wire contract accepts them all as they are.
    from relais_wire.envelope import decode_uplink, encode

    assert decode_uplink(encode(sent[text_id])).body.urgent is True
    assert decode_uplink(encode(sent[plain_id])).body.urgent is False
    assert decode_uplink(encode(sent[direct_id])).body.urgent is False


def test_the_link_refuses_urgent_to_a_person(tmp_path: Path) -> None:
    from kiosk_app.link.client import TerminalLink

    link = TerminalLink(terminal="kiosk-t", password="x", host="127.0.0.1", port=1,
                        outbox_path=tmp_path / "o.db")
    link.sid = str(uuid.uuid4())
    try:
        with pytest.raises(ValueError):
            link.send_text(KARIM, "x", urgent=True)
        with pytest.raises(ValueError):
            link.send_drawing(KARIM, {"w": 1, "h": 1, "strokes": []}, urgent=True)
        body = link.outbox.get(link.send_photo(None, b"\xff\xd8\xff", group=LINE3,
                                               urgent=True)).payload
        assert (body["group"], body["urgent"]) == (LINE3, True)
    finally:
        link.outbox.close()


def test_the_toggle_is_offered_where_one_may_start_a_post(fed: Fed) -> None:
    # A sync that says nothing about urgent: offered wherever one may start a post (the
    # relay stores a non-lead's as an ordinary post); one that says can_urgent is followed.
    fed.sync(groups_sync() + [group(42, "Sécurité site", can_urgent=False)])
    groups = fed.k.session.groups
    assert groups[LINE3].can_urgent is True
    assert groups[SAFETY].can_urgent is False  # members may only reply there
    assert groups[42].can_urgent is False
