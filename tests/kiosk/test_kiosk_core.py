"""The kiosk's plain-Python core, without a window: the catalogues, what a session holds,
the badge reader and the inactivity watch (milliseconds; the walk covers the screens)."""

from __future__ import annotations

from kiosk_app.ui.inactivity import BadgeReader, InactivityWatch
from kiosk_app.ui.session import Session
from tests.kiosk.i18n_extract import missing, msgids


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_every_word_of_the_kiosk_is_translated() -> None:
    assert len(msgids()) > 50
    assert missing("fr") == []
    assert missing("en") == []


def _session() -> Session:
    s = Session("sid-1", {"id": 1, "name": "Sophie Martin", "language": "fr"})
    s.apply_sync({"id": 1, "name": "Sophie Martin", "language": "fr"},
                 [{"id": 2, "name": "Karim Benali"}, {"id": 3, "name": "Claire Dubois", "hr": True}],
                 [{"msg": "m1", "from": 2, "to": 1, "kind": "text", "text": "Bonjour",
                   "sent_ts": 1_700_000_000_000, "state": "delivered"}],
                 [{"notice": "n1", "title": "Feu", "body": "14 h", "urgent": True,
                   "ack_required": True}], [{"fr": "OK", "en": "OK"}])
    return s


def test_sent_message_states_only_move_forward() -> None:
    s = _session()
    s.add_sent("m2", "text", 2, text="Merci")
    assert s.messages["m2"].state == "outbox"
    s.set_state("m2", "read")
    s.set_state("m2", "delivered")  # late
    assert s.messages["m2"].state == "read"
    s.add_sent("m3", "text", 2, text="x")
    s.set_state("m3", "rejected", "Pas ici")
    s.set_state("m3", "delivered")
    assert (s.messages["m3"].state, s.messages["m3"].reason) == ("rejected", "Pas ici")


def test_home_lists_allowed_contacts_and_unread() -> None:
    s = _session()
    convs = s.conversations()
    assert [c.contact.name for c in convs] == ["Karim Benali", "Claire Dubois"]
    assert convs[0].unread == 1 and s.unread_total() == 1
    assert s.mark_read(2) == ["m1"] and s.unread_total() == 0
    assert [n.id for n in s.urgent_pending()] == ["n1"]
    assert s.acknowledge("n1") and s.urgent_pending() == []


def test_someone_a_cut_contact_list_left_out_can_be_answered() -> None:
    """The HR desk of a large company: the sync lists whom it could (one packet) and says
    how many it left out; whoever writes from outside the list may be answered (the relay
    judges), where a complete list makes such a conversation read-only."""
    me = {"id": 1, "name": "Claire Dubois", "language": "fr"}
    listed = [{"id": 2, "name": "Karim Benali"}]
    late = {"msg": "m9", "from": 4000, "from_name": "Inès Roy", "to": 1, "kind": "text",
            "text": "Bonjour", "sent_ts": 1_700_000_000_000, "state": "delivered"}
    cut = Session("sid-1", me)
    cut.apply_sync(me, listed, [], [], [], contacts_more=12_000)
    whole = Session("sid-2", me)
    whole.apply_sync(me, listed, [], [], [])
    for s in (cut, whole):
        s.add_message(dict(late))
    assert cut.contacts_more == 12_000 and cut.conversation(4000).contact.allowed
    assert whole.contacts_more == 0 and not whole.conversation(4000).contact.allowed
    # A later sync says again who may be written to: someone it does not list (removed by
    # HR, or its list cut) is not, whoever wrote earlier.
    cut.apply_sync(me, [{"id": 5, "name": "Léa Morel"}], [], [], [], contacts_more=12_000)
    assert not cut.conversation(4000).contact.allowed and not cut.contacts[2].allowed
    cut.apply_sync(me, listed, [], [], [])
    assert not cut.conversation(4000).contact.allowed and cut.contacts[2].allowed


def test_a_cut_lists_history_and_shifts_still_say_who_cannot_be_written_to() -> None:
    """A cut list names the people of the history first: one of them missing from it is
    someone the rules leave out (someone who left), and stays read-only; so does a contact
    listed as off shift, even when they write."""
    me = {"id": 1, "name": "Claire Dubois", "language": "fr"}
    left = {"msg": "m1", "from": 1, "to": 4000, "kind": "text", "text": "Au revoir",
            "sent_ts": 1_700_000_000_000, "state": "read"}
    later = {"id": 6, "name": "Paul Girard", "off_shift": True, "from": "06:00"}
    s = Session("sid-1", me)
    s.apply_sync(me, [{"id": 2, "name": "Karim Benali"}, later], [left], [], [],
                 contacts_more=12_000)
    assert not s.conversation(4000).contact.allowed
    assert 4000 not in {c.id for c in s.allowed_contacts()}
    s.add_message({"msg": "m2", "from": 6, "to": 1, "kind": "text", "text": "Bonjour",
                   "sent_ts": 1_700_000_001_000, "state": "delivered"})
    assert not s.contacts[6].allowed and s.contacts[6].off_shift


def test_someone_found_by_name_may_be_written_to() -> None:
    """A name search (kiosk API ``/contacts``) gives people the cut list left out: they
    may be written to, greyed if only their shift opens them; never oneself."""
    me = {"id": 1, "name": "Claire Dubois", "language": "fr"}
    s = Session("sid-1", me)
    s.apply_sync(me, [{"id": 2, "name": "Karim Benali"}], [], [], [], contacts_more=12_000)
    found = s.add_found([{"id": 4000, "name": "Inès Roy", "team": "Expédition", "hr": False},
                         {"id": 4001, "name": "Paul Girard", "off_shift": True, "from": "06:00"},
                         {"id": 1, "name": "Claire Dubois"}, {"id": "x", "name": "?"}])
    assert [c.id for c in found] == [4000, 4001]
    assert s.conversation(4000).contact.allowed and s.contacts[4000].team == "Expédition"
    assert not s.contacts[4001].allowed and s.contacts[4001].opens == "06:00"
    assert [c.id for c in s.allowed_contacts()] == [4000, 2]  # by name: Inès, Karim
    assert [c.id for c in s.off_shift_contacts()] == [4001]
    assert 1 not in s.contacts


def test_home_says_when_notices_left_out_may_be_to_do_too() -> None:
    """A cut sync keeps the notices to do first: only when all it kept are to do may those
    it left out be too (Home's badge says "2+"), and once they are read it is exact."""
    me = {"id": 1, "name": "Luc Petit", "language": "fr"}
    owed = [{"notice": f"n{i}", "title": "Consigne", "ack_required": True} for i in range(2)]
    s = Session("sid-1", me)
    s.apply_sync(me, [], [], owed, [], notices_more=70)
    assert s.notices_to_do() == 2 and s.notices_to_do_more()
    done = {"notice": "n9", "title": "Vu", "seen": True}
    s.apply_sync(me, [], [], [*owed, done], [], notices_more=70)
    assert s.notices_to_do() == 2 and not s.notices_to_do_more()  # the rest is done too
    s.apply_sync(me, [], [], owed, [])
    assert not s.notices_to_do_more()  # nothing left out


def test_earlier_messages_come_a_page_at_a_time_while_the_sync_left_some_out() -> None:
    """A sync whose history left older messages out offers "Earlier messages" in every
    conversation; a page starts before the oldest held, the next where the last ended, and
    once the console says there is nothing before, none is offered there again."""
    me = {"id": 1, "name": "Karim Benali", "language": "fr"}

    def text(i: int) -> dict:
        return {"msg": f"m{i}", "from": 2 if i % 2 else 1, "to": 1 if i % 2 else 2,
                "kind": "text", "text": f"n°{i}", "sent_ts": 1_700_000_000_000 + i * 60_000,
                "state": "read"}

    s = Session("sid-1", me)
    s.apply_sync(me, [{"id": 2, "name": "Julie Moreau"}], [text(i) for i in range(40, 50)],
                 [], [])
    assert not s.may_have_earlier(2)  # the sync held everything
    s.apply_sync(me, [{"id": 2, "name": "Julie Moreau"}], [text(i) for i in range(40, 50)],
                 [], [], history_more=True)
    assert s.may_have_earlier(2) and s.may_have_earlier(group_id=7)
    assert s.earlier_cursor(2) == "m40" and s.earlier_cursor(3) is None
    assert s.add_earlier({"messages": [text(i) for i in range(10, 41)], "more": True,
                          "before": "m10"}, 2) == 30  # m40 was held already
    assert s.earlier_cursor(2) == "m10" and s.may_have_earlier(2)
    assert [m.text for m in s.conversation(2).messages][:2] == ["n°10", "n°11"]
    s.add_earlier({"messages": [text(i) for i in range(10)], "more": False, "before": None}, 2)
    assert not s.may_have_earlier(2) and len(s.conversation(2).messages) == 50
    assert s.may_have_earlier(3)  # another conversation is its own
    # Held as read (no unread count, no read receipt asked): the relay's numbers stay its own.
    assert all(m.read for m in s.conversation(2).messages if not m.mine)


def test_a_page_of_earlier_messages_keeps_to_its_conversation() -> None:
    """Only the page's messages of the conversation asked for are taken (not another
    person's, nor a group's; a group post counts in no unread number and makes no group
    urgent); a place the console does not know is asked again from the newest, once; a
    group left since the sync offers no page."""
    me = {"id": 1, "name": "Karim Benali", "language": "fr"}
    s = Session("sid-1", me)
    s.apply_sync(me, [{"id": 2, "name": "Julie Moreau"}], [], [], [],
                 [{"id": 7, "name": "Ligne 3", "can_post": True, "unread": 4,
                   "urgent_unread": False}], history_more=True)
    stray = [{"msg": "x1", "from": 3, "to": 1, "kind": "text", "text": "autre"},
             {"msg": "x2", "from": 2, "to": 1, "group": 7, "kind": "text", "text": "groupe"},
             {"msg": "x3", "from": 2, "to": 1, "kind": "text", "text": "oui"}, "x", 5]
    assert s.add_earlier({"messages": stray, "more": False}, 2) == 1
    assert [m.text for m in s.conversation(2).messages] == ["oui"] and 3 not in s.contacts
    post = {"msg": "p1", "from": 2, "group": 7, "kind": "text", "text": "vieux",
            "urgent": True, "state": "approved"}
    assert s.add_earlier({"messages": [post], "more": True, "before": "p1"}, group_id=7) == 1
    group = s.groups[7]
    assert group.unread == 4 and not group.urgent_unread
    assert s.earlier_cursor(group_id=7) == "p1"
    assert s.earlier_from_newest(group_id=7) and s.earlier_cursor(group_id=7) == "p1"
    s.add_earlier({"messages": [], "more": True, "before": "p0"}, group_id=7)
    assert s.earlier_cursor(group_id=7) == "p0"
    assert s.earlier_cursor(4) is None and s.earlier_from_newest(4)
    assert s.earlier_cursor(4) is None and not s.earlier_from_newest(4)  # once
    s.no_earlier(group_id=7)
    assert not s.may_have_earlier(group_id=7)


def test_retract_and_clear_forget_everything() -> None:
    s = _session()
    assert s.retract("m1") and "m1" not in s.messages
    s.clear()
    assert (s.messages, s.contacts, s.notices, s.name, s.sid) == ({}, {}, {}, "", "")


def test_badge_reader_takes_a_fast_burst_and_drops_stray_keys() -> None:
    clock = FakeClock()
    reader = BadgeReader(gap=1.0, now=clock)
    reader.feed("7")
    clock.t += 5  # a stray key long ago
    for ch in "1001":
        reader.feed(ch)
        clock.t += 0.01
    assert reader.enter() == "1001"
    assert reader.enter() is None


def test_inactivity_warns_then_expires() -> None:
    clock = FakeClock()
    watch = InactivityWatch(60, 15, now=clock)
    clock.t += 44
    assert watch.check().state == "active"
    clock.t += 2
    assert watch.check().state == "warning"
    watch.touch()
    clock.t += 59
    assert watch.check().state == "warning"
    clock.t += 1
    assert watch.check().state == "expired"
