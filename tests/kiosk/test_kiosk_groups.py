"""Workgroups on the kiosk without a window (issue 15): what the session makes of the sync's
``groups`` list, group posts, the author's ``state`` with ``seen``/``members``, retractions;
and the controller fed real downlinks through the terminal link's own entry point (paho's
``on_message``), its uplinks read back from the link's real outbox. The screens are walked
under Xvfb in test_group_walk.py."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")

from kiosk_app.ui.session import Session  # noqa: E402

ME, KARIM, MARC = 1, 2, 7
LINE3, SAFETY, STOCK = 10, 11, 12


def group(gid: int, name: str, **over: Any) -> dict[str, Any]:
    out = {"id": gid, "name": name, "description": "", "can_post": True, "read_only": False,
           "members_reply": False, "members": 12, "unread": 0, "last": None,
           "urgent_unread": False}
    out.update(over)
    return out


def post(msg: str, gid: int, *, sender: int = MARC, name: str = "Marc Leroy", ts: int,
         **over: Any) -> dict[str, Any]:
    out = {"msg": msg, "kind": "text", "from": sender, "from_name": name, "group": gid,
           "group_name": {LINE3: "Ligne 3", SAFETY: "Consignes sécurité", STOCK: "Inventaire"}
           .get(gid, "?"), "sent_ts": ts, "state": "delivered", "text": f"text of {msg}"}
    out.update(over)
    return out


def groups_sync() -> list[dict[str, Any]]:
    return [
        group(LINE3, "Ligne 3", unread=1, last={"from_name": "Marc Leroy", "kind": "text",
                                                "text": "Machine 4", "sent_ts": 1_700_000_100_000}),
        group(SAFETY, "Consignes sécurité", can_post=False, read_only=False, members_reply=True,
              members=30, unread=2, urgent_unread=True,
              last={"from_name": "Claire Dubois", "kind": "text", "text": "Casques",
                    "sent_ts": 1_699_000_000_000}),
        group(STOCK, "Inventaire", members=5),
    ]


def synced() -> Session:
    s = Session("sid-1", {"id": ME, "name": "Sophie Martin", "language": "fr"})
    s.apply_sync({"id": ME, "name": "Sophie Martin", "language": "fr"},
                 [{"id": KARIM, "name": "Karim Benali"}],
                 [{"msg": "d1", "from": KARIM, "to": ME, "kind": "text", "text": "Bonjour",
                   "sent_ts": 1_700_000_050_000, "state": "delivered"},
                  post("p1", LINE3, ts=1_700_000_100_000, text="Machine 4 bloquée"),
                  post("p2", SAFETY, sender=3, name="Claire Dubois", ts=1_699_000_000_000,
                       urgent=True),
                  post("p0", LINE3, sender=ME, name="Sophie Martin", ts=1_699_999_000_000,
                       seen=3, members=11)],
                 [], [{"fr": "OK", "en": "OK"}], groups_sync())
    return s


def test_the_sync_lists_groups_with_the_relays_counts_and_no_new_contacts() -> None:
    s = synced()
    assert set(s.groups) == {LINE3, SAFETY, STOCK}
    safety = s.groups[SAFETY]
    assert (safety.read_only, safety.can_post, safety.members_reply) == (False, False, True)
    # The relay counts unread posts the history may not hold (2 here, one in the history).
    assert s.group_conversation(SAFETY).unread == 2 and safety.urgent_unread
    assert s.group_conversation(LINE3).unread == 1
    # Authors of posts are not contacts: a group is no way around the contact policy.
    assert set(s.contacts) == {KARIM}
    assert [m.id for m in s.conversation(KARIM).messages] == ["d1"]
    assert [m.id for m in s.group_conversation(LINE3).messages] == ["p0", "p1"]
    mine = s.messages["p0"]
    assert (mine.mine, mine.seen, mine.members) == (True, 3, 11)
    assert s.unread_total() == 1 + 1 + 2


def test_home_lists_the_urgent_group_first_then_by_last_activity() -> None:
    s = synced()
    order = [getattr(t, "group", None) and t.group.id or t.contact.id for t in s.threads()]
    # Safety (urgent unread) first although it is the oldest; then Line 3 (newest post),
    # Karim, then the quiet group.
    assert order == [SAFETY, LINE3, KARIM, STOCK]
    assert s.urgent_group().id == SAFETY
    assert [g.id for g in s.postable_groups()] == [STOCK, LINE3]


def test_opening_a_group_reads_it_and_clears_the_urgent_mark() -> None:
    s = synced()
    assert s.mark_group_read(SAFETY) == ["p2"]
    assert s.group_conversation(SAFETY).unread == 0 and s.urgent_group() is None
    assert s.mark_group_read(SAFETY) == []
    assert [t.group.id for t in s.threads()[:1]] == [LINE3]


def test_a_new_post_counts_and_an_urgent_one_is_marked() -> None:
    s = synced()
    s.mark_group_read(LINE3)
    assert s.add_message(post("p3", LINE3, ts=1_700_000_200_000)) is not None
    assert s.add_message(post("p3", LINE3, ts=1_700_000_200_000)) is None  # twice: once
    assert s.group_conversation(LINE3).unread == 1 and not s.groups[LINE3].urgent_unread
    s.add_message(post("p4", LINE3, ts=1_700_000_300_000, urgent=True))
    assert s.groups[LINE3].urgent_unread and s.group_conversation(LINE3).unread == 2
    assert s.group_conversation(LINE3).last.id == "p4"


def test_own_post_states_and_seen_counts_only_move_forward() -> None:
    s = synced()
    msg = s.add_sent("mine-1", "text", 0, group=LINE3, reply_to="p1", text="Vu")
    assert (msg.group, msg.recipient, msg.reply_to, msg.state) == (LINE3, 0, "p1", "outbox")
    assert msg in s.group_conversation(LINE3).messages
    assert msg not in s.conversation(0).messages
    s.set_state("mine-1", "held")
    s.set_state("mine-1", "delivered", None, 0, 11)
    assert (msg.state, msg.seen, msg.members) == ("delivered", 0, 11)
    s.set_state("mine-1", "delivered", None, 7, 11)
    s.set_state("mine-1", "delivered", None, 5, 11)  # an older count, late
    assert (msg.seen, msg.members) == (7, 11)
    s.add_sent("mine-2", "photo", 0, group=STOCK, image=b"\xff\xd8\xff")
    s.set_state("mine-2", "refused", "read_only")
    assert s.messages["mine-2"].reason == "read_only"


def test_a_retracted_post_leaves_and_its_unread_count_with_it() -> None:
    s = synced()
    assert s.retract("p2")
    assert "p2" not in s.messages
    assert s.groups[SAFETY].unread == 1 and not s.groups[SAFETY].urgent_unread


def test_a_post_of_an_unknown_group_is_kept_read_only_until_the_next_sync() -> None:
    s = synced()
    s.add_message(post("x1", 99, ts=1_700_000_000_000, group_name="Nouveau"))
    assert s.groups[99].name == "Nouveau" and s.groups[99].read_only
    # The next sync no longer lists a group: it leaves the kiosk.
    s.apply_sync({"id": ME}, [], [], [], [], [group(LINE3, "Ligne 3")])
    assert set(s.groups) == {LINE3}


def test_clear_forgets_groups_and_authors() -> None:
    s = synced()
    held = s.groups[LINE3]
    p1 = s.messages["p1"]
    s.clear()
    assert s.groups == {} and held.last is None and held.name == ""
    assert p1.from_name == "" and p1.text == ""


# --- the controller, fed downlinks through the link ------------------------------------------


class Fed:
    """A kiosk controller whose link never reaches a broker: downlinks are handed to the
    link's paho callback as the network thread would, and the queued events are drained as
    Kivy's trigger would. What it sends stays in its real SQLite outbox."""

    def __init__(self, tmp: Path) -> None:
        from kiosk_app.config import KioskConfig
        from kiosk_app.ui.controller import Kiosk

        self.k = Kiosk(KioskConfig(terminal="kiosk-t", password="x", outbox=str(tmp / "o.db"),
                                   sound=False))
        self.sid = str(uuid.uuid4())
        self.urgent: list[int] = []
        self.k.bind(on_urgent_group=lambda _k, gid: self.urgent.append(gid))

    def feed(self, kind: str, /, **body: Any) -> None:
        """One downlink of ``kind``: the body's own ``kind`` (a post's) is the envelope type."""
        import paho.mqtt.client as mqtt

        from relais_wire.envelope import encode, envelope

        body.pop("kind", None)
        body.setdefault("sid", self.sid)
        message = mqtt.MQTTMessage(topic=b"relais/v1/t/kiosk-t/down")
        message.payload = encode(envelope(kind, **body))
        self.k.link._on_message(None, None, message)
        self.k._drain_events()

    def login(self) -> None:
        self.k.link._pending_login = ref = str(uuid.uuid4())
        self.k._pending_badge = "1001"
        self.feed("login", ref=ref, ok=True,
                  employee={"id": ME, "name": "Sophie Martin", "language": "fr"})
        assert self.k.session is not None

    def sync(self, groups: list[dict[str, Any]], history: list[dict[str, Any]] = ()) -> None:
        self.feed("sync", me={"id": ME, "name": "Sophie Martin", "language": "fr"},
                  contacts=[{"id": KARIM, "name": "Karim Benali"}], history=list(history),
                  notices=[], quick_replies=[{"fr": "Bien reçu", "en": "Got it"}], groups=groups)

    def uplinks(self) -> list[dict[str, Any]]:
        return [item.payload for item in self.k.link.outbox.pending()]


@pytest.fixture
def fed(tmp_path: Path) -> Any:
    f = Fed(tmp_path)
    f.login()
    yield f
    f.k.link.outbox.close()


def test_controller_sends_to_a_group_through_the_outbox(fed: Fed) -> None:
    fed.sync(groups_sync(), [post("p1", LINE3, ts=1_700_000_100_000)])
    k = fed.k
    text_id = k.send_text(0, "Machine 4 repartie", group=LINE3)
    quick_id = k.send_quick_reply(0, {"fr": "Bien reçu"}, group=LINE3)
    photo_id = k.send_photo(0, b"\xff\xd8\xffjpeg", group=LINE3)
    drawing_id = k.send_drawing(0, {"w": 10, "h": 10, "strokes": []}, group=LINE3,
                                reply_to="p1")
    reply_id = k.send_text(0, "Compris", group=SAFETY, reply_to="p2")
    direct_id = k.send_text(KARIM, "Salut")
    sent = {p["id"]: p for p in fed.uplinks()}
    for msg_id in (text_id, quick_id, photo_id, drawing_id):
        assert sent[msg_id]["group"] == LINE3 and "to" not in sent[msg_id]
    assert sent[quick_id]["text"] == "Bien reçu"
    assert sent[drawing_id]["reply_to"] == "p1" and "reply_to" not in sent[text_id]
    assert (sent[reply_id]["group"], sent[reply_id]["reply_to"]) == (SAFETY, "p2")
    assert sent[direct_id]["to"] == KARIM and "group" not in sent[direct_id]
    assert [sent[i]["seq"] for i in (text_id, quick_id, photo_id)] == sorted(
        sent[i]["seq"] for i in (text_id, quick_id, photo_id))
    s = k.session
    assert all(s.messages[i].state == "outbox" and s.messages[i].group == LINE3
               for i in (text_id, quick_id, photo_id, drawing_id))

    # The relay's answers: held, then delivered with the count of readers, which grows.
    fed.feed("state", ref=text_id, msg=text_id, state="held")
    assert s.messages[text_id].state == "held"
    fed.feed("state", msg=text_id, state="delivered", group=LINE3, seen=0, members=11)
    fed.feed("state", msg=text_id, state="delivered", group=LINE3, seen=7, members=11)
    assert (s.messages[text_id].state, s.messages[text_id].seen) == ("delivered", 7)
    fed.feed("state", ref=photo_id, msg=photo_id, state="refused", reason="reply_only")
    assert (s.messages[photo_id].state, s.messages[photo_id].reason) == ("refused", "reply_only")
    assert text_id not in {p["id"] for p in fed.uplinks()}  # answered: off the outbox


def test_controller_posts_arrive_are_read_and_retracted(fed: Fed) -> None:
    fed.sync(groups_sync())
    k, s = fed.k, fed.k.session
    # The relay counted one unread post the sync did not carry: its copy follows.
    assert s.group_conversation(LINE3).unread == 1
    fed.feed("text", **post("p9", LINE3, ts=1_700_000_500_000))
    assert s.group_conversation(LINE3).unread == 1  # not twice
    fed.feed("text", **post("p11", LINE3, ts=1_700_000_550_000))
    assert s.group_conversation(LINE3).unread == 2
    photo = post("p10", LINE3, ts=1_700_000_600_000, kind="photo", caption="Quai 2",
                 has_image=True, text=None)
    del photo["text"]
    fed.feed("photo", **photo)
    assert s.messages["p10"].has_image and s.messages["p10"].image is None
    k.read_group(LINE3)
    assert s.group_conversation(LINE3).unread == 0
    assert k._receipts == [("read", "p9"), ("read", "p11"), ("read", "p10")]  # sent once online
    fed.feed("retract", msg="p9", **{"from": MARC}, group=LINE3)
    assert "p9" not in s.messages


def test_an_urgent_post_is_shown_first_live_and_after_a_resync(fed: Fed) -> None:
    fed.sync([group(LINE3, "Ligne 3")])
    assert fed.urgent == [] and fed.k.session.urgent_group() is None
    fed.feed("text", **post("u1", LINE3, ts=1_700_000_700_000, urgent=True))
    assert fed.urgent == [LINE3]
    fed.k.read_group(LINE3)
    fed.sync(groups_sync())  # a later sync (a reconnect) brings an urgent post in Safety
    assert fed.urgent == [LINE3, SAFETY]
    fed.sync(groups_sync())  # the same again: not shown twice
    assert fed.urgent == [LINE3, SAFETY]


def test_a_post_of_a_group_unknown_here_asks_for_a_sync(fed: Fed) -> None:
    fed.sync([group(LINE3, "Ligne 3")])
    asked: list[bool] = []
    fed.k.link.request_sync = lambda: asked.append(True)
    fed.feed("text", **post("n1", 42, ts=1_700_000_800_000, group_name="Nouveau groupe"))
    assert asked == [True] and fed.k.session.groups[42].name == "Nouveau groupe"


def test_logout_forgets_the_groups(fed: Fed) -> None:
    fed.sync(groups_sync(), [post("p1", LINE3, ts=1_700_000_100_000)])
    session = fed.k.session
    fed.k.logout("badge")
    assert fed.k.session is None and session.groups == {} and session.messages == {}


def test_the_link_sends_to_a_person_or_a_group_never_both(tmp_path: Path) -> None:
    from kiosk_app.link.client import TerminalLink

    link = TerminalLink(terminal="kiosk-t", password="x", host="127.0.0.1", port=1,
                        outbox_path=tmp_path / "o.db")
    link.sid = str(uuid.uuid4())
    try:
        with pytest.raises(ValueError):
            link.send_text(KARIM, "x", reply_to=str(uuid.uuid4()))  # reply_to only in a group
        with pytest.raises(ValueError):
            link.send_text(None, "x")
        both = link.outbox.get(link.send_text(KARIM, "x", group=LINE3)).payload
        assert both["group"] == LINE3 and "to" not in both  # the group wins, never both
    finally:
        link.outbox.close()


def test_a_label_failing_at_the_language_switch_does_not_stop_a_badge_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A .kv rule raising while the labels learn the person's language (CI once saw one)
    is logged; the badge-in still reaches its screens, and the sync that follows is shown."""
    from kiosk_app.ui import controller

    f = Fed(tmp_path)
    logged_in: list[bool] = []
    f.k.bind(on_logged_in=lambda _k: logged_in.append(True))

    def broken(_lang: str) -> None:
        raise ReferenceError("weakly-referenced object no longer exists")

    monkeypatch.setattr(controller.tr, "switch", broken)
    try:
        f.login()
        assert logged_in == [True]
        monkeypatch.undo()
        f.sync(groups_sync())
        assert f.k.session.synced and f.k.person == "Sophie Martin"
    finally:
        f.k.link.outbox.close()
