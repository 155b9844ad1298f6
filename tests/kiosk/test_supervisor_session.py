"""Supervisor mode in the kiosk's plain-Python core (issue 16), without a window: what the
sync says a person leads, what a lead's broadcast and reminder became, what logout forgets
(the walk covers the screens)."""

from __future__ import annotations

from typing import Any

from kiosk_app.ui.session import Lead, Session

ME = {"id": 1, "name": "Sophie Martin", "language": "fr"}


def _session(leads: Any) -> Session:
    s = Session("sid-1", ME)
    s.apply_sync({**ME, "leads": leads}, [], [], [], [])
    return s


def test_the_sync_says_which_teams_and_shifts_a_person_leads() -> None:
    s = _session([{"id": 3, "name": "Atelier", "shifts": [{"id": 7, "name": "Matin"}]},
                  {"id": 4, "name": "Quai", "shifts": []}])
    assert s.leads == [Lead(3, "Atelier", [(7, "Matin")]), Lead(4, "Quai", [])]
    # A later sync without the key (an older relay) keeps what is known; a new list replaces it.
    s.apply_sync(ME, [], [], [], [])
    assert [t.id for t in s.leads] == [3, 4]
    s.apply_sync({**ME, "leads": []}, [], [], [], [])
    assert s.leads == []


def test_malformed_leads_are_dropped_not_trusted() -> None:
    s = _session([{"id": "x", "name": "?"}, {"name": "no id"}, "Atelier", None,
                  {"id": 5, "name": "Quai", "shifts": [{"id": 0}, "Matin", {"id": 9}]}])
    assert s.leads == [Lead(5, "Quai", [(9, "")])]
    assert _session("Atelier").leads == [] and _session(None).leads == []


def test_a_broadcast_keeps_the_relays_answer_and_logout_forgets_it() -> None:
    s = _session([{"id": 3, "name": "Atelier", "shifts": []}])
    sent = s.track_sent("b1")
    assert sent.state == "outbox"
    s.set_state("b1", "accepted", None, None, 12)
    assert (sent.state, sent.reached) == ("accepted", 12)
    s.set_state("b1", "outbox")  # the link's own "outbox" event, late: never goes back
    assert sent.state == "accepted"
    refused = s.track_sent("b2")
    s.set_state("b2", "error", "out_of_scope")
    assert (refused.state, refused.reason) == ("error", "out_of_scope")
    assert "b1" not in s.messages  # not a message: nothing in any conversation
    s.clear()
    assert s.leads == [] and s.sent_notices == {}

