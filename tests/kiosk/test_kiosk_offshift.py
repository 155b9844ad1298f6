"""What the kiosk's session makes of the relay's off-shift words (issue 16), without a window:
greyed contacts with when, the notice to accept once per badge-in, the refusal's time kept
on the message, and nothing of it left after logout (the Xvfb walk covers the screens:
tests/kiosk/test_offshift_walk.py)."""

from __future__ import annotations

from kiosk_app.ui.session import Session

ME = {"id": 2, "name": "Karim Benali", "language": "fr"}
CONTACTS = [{"id": 1, "name": "Sophie Martin"},
            {"id": 3, "name": "Julie Moreau", "team": "Atelier", "off_shift": True,
             "from": "06:00"},
            {"id": 4, "name": "Zoé Roux", "off_shift": True, "from": "08:00", "from_day": "mon"},
            {"id": 5, "name": "Hostile", "off_shift": True, "from": "x" * 500}]


def _session(me: dict | None = None) -> Session:
    s = Session("sid-1", ME)
    s.apply_sync(me or {**ME, "off_shift": True, "from": "06:00",
                        "off_shift_notice": "Hors temps de travail."}, CONTACTS, [], [], [])
    return s


def test_greyed_contacts_are_listed_apart_with_when() -> None:
    s = _session()
    assert [c.name for c in s.allowed_contacts()] == ["Sophie Martin"]
    greyed = s.off_shift_contacts()
    assert [(c.name, c.opens, c.opens_day) for c in greyed] == [
        ("Hostile", "", ""), ("Julie Moreau", "06:00", ""), ("Zoé Roux", "08:00", "mon")]
    assert not any(c.allowed for c in greyed)
    # Home's quiet contacts are the ones one may write to: no greyed one there.
    assert [c.contact.name for c in s.conversations()] == ["Sophie Martin"]
    # On shift again (a later sync): ordinary contacts.
    s.apply_sync(ME, [{"id": 3, "name": "Julie Moreau"}], [], [], [])
    assert s.off_shift_contacts() == [] and [c.name for c in s.allowed_contacts()] == [
        "Julie Moreau"]


def test_the_notice_is_accepted_once_per_badge_in() -> None:
    s = _session()
    assert s.off_shift and (s.opens, s.opens_day) == ("06:00", "")
    assert s.off_shift_pending() and s.off_shift_notice == "Hors temps de travail."
    assert s.accept_off_shift() is True
    assert not s.off_shift_pending() and s.accept_off_shift() is False
    # A sync after a reconnection does not ask again.
    s.apply_sync({**ME, "off_shift": True, "off_shift_notice": "Hors temps de travail."},
                 CONTACTS, [], [], [])
    assert not s.off_shift_pending()
    # Without the notice setting, or on shift, there is nothing to accept.
    assert not _session({**ME, "off_shift": True}).off_shift_pending()
    assert not _session({**ME, "off_shift_notice": "ignored while on shift"}).off_shift_pending()


def test_an_off_shift_refusal_keeps_when_and_logout_forgets_everything() -> None:
    s = _session()
    s.add_sent("m1", "text", 3, text="Quai 3 ?")
    s.set_state("m1", "refused", "off_shift", opens="06:00", opens_day="")
    assert (s.messages["m1"].state, s.messages["m1"].opens) == ("refused", "06:00")
    s.add_sent("m2", "text", 1, text="x")
    s.set_state("m2", "refused", "not_allowed", opens="06:00")
    assert s.messages["m2"].opens == ""  # only an off-shift refusal says when
    s.clear()
    assert (s.off_shift, s.off_shift_notice, s.opens, s.contacts) == (False, "", "", {})
