"""``relay.sync_fit``: what a sync keeps when it would not fit one packet."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hr_console.relay.sync_fit import fit
from relais_wire.envelope import encode, envelope


def _sync(contacts: int, notices: int, history: list[dict] | None = None) -> dict:
    return envelope("sync", sid="d5c3b0f8-8a0e-4c1e-9c55-6f4f3c1b2a10", me={"id": 1},
                    history=history or [], groups=[], quick_replies=[],
                    notices=[{"uid": f"n{i}", "title": f"Note {i}", "text": "é" * 300}
                             for i in range(notices)],
                    contacts=[{"id": i, "name": f"Personne {i:05d}", "team": "Atelier",
                               "hr": i == contacts - 1} for i in range(2, contacts + 2)])


def test_a_sync_that_fits_is_left_as_it_is() -> None:
    sync = _sync(50, 5)
    assert fit(sync) is sync


def test_the_hr_desk_and_the_people_of_the_history_are_kept_in_the_syncs_order() -> None:
    sync = _sync(2000, 0, history=[{"msg": "a", "from": 1, "to": 1500}])
    out = fit(sync, limit=20_000)
    ids = [c["id"] for c in out["contacts"]]
    assert len(encode(out)) <= 20_000 and out["contacts_more"] == 2000 - len(ids)
    assert 1500 in ids and 1999 in ids, "the history's person and the HR desk (1999)"
    assert ids == sorted(ids), "kept in the sync's own order"
    assert "notices_more" not in out


def test_notices_keep_their_share_and_the_newest_first() -> None:
    out = fit(_sync(2000, 200), limit=40_000)
    assert len(encode(out)) <= 40_000
    kept = [n["uid"] for n in out["notices"]]
    assert kept == [f"n{i}" for i in range(len(kept))] and out["notices_more"] == 200 - len(kept)
    assert len(encode(out["notices"])) >= 40_000 // 5 and out["contacts"]


def test_a_notice_still_owed_is_kept_before_newer_ones() -> None:
    """A lead's many new notices cannot push out an older one the person must acknowledge."""
    sync = _sync(10, 200)
    sync["notices"][-1].update(ack_required=True, reminder=True)  # the oldest
    for n in sync["notices"][:100]:
        n["seen"] = True
    out = fit(sync, limit=40_000)
    kept = [n["uid"] for n in out["notices"]]
    assert kept[-1] == "n199" and out["notices_more"] > 0
    assert kept[:-1] == [f"n{i}" for i in range(100, 100 + len(kept) - 1)], "then the unseen"


def test_a_full_history_gives_up_its_oldest_for_the_lists() -> None:
    history = [{"msg": f"m{i}", "from": 2, "to": 1, "kind": "text", "text": "x" * 900}
               for i in range(40)]  # oldest first, 37 KB
    out = fit(_sync(2000, 10, history=history), limit=40_000)
    kept = [m["msg"] for m in out["history"]]
    assert len(encode(out)) <= 40_000 and out["history_more"] is True
    assert 0 < len(kept) < 40 and kept == [f"m{i}" for i in range(40 - len(kept), 40)]
    assert len(encode(out["contacts"])) + len(encode(out["notices"])) >= 40_000 // 4 - 600


def test_the_history_gives_up_no_more_than_the_lists_need() -> None:
    history = [{"msg": f"m{i}", "from": 2, "to": 1, "kind": "text", "text": "x" * 900}
               for i in range(40)]  # 37 KB
    out = fit(_sync(3, 1, history=history), limit=30_000)
    assert out["history_more"] is True and len(out["contacts"]) == 3 and len(out["notices"]) == 1
    assert 30_000 - 2_500 < len(encode(out)) <= 30_000, "a few messages cut, not a quarter"


@given(st.integers(0, 3000), st.integers(0, 300), st.integers(0, 60),
       st.integers(3_000, 200_000))
def test_whatever_the_sizes_it_fits_and_counts_what_it_left_out(
        contacts: int, notices: int, messages: int, limit: int) -> None:
    history = [{"msg": f"m{i}", "from": 2 + i, "to": 1, "text": "é" * 500}
               for i in range(messages)]
    sync = _sync(contacts, notices, history=history)
    out = fit(sync, limit=limit)
    assert len(encode(out)) <= limit
    assert len(out["contacts"]) + out.get("contacts_more", 0) == contacts
    assert len(out["notices"]) + out.get("notices_more", 0) == notices
    assert out["history"] == history[len(history) - len(out["history"]):]


def test_contacts_the_relay_did_not_read_are_counted_with_those_cut() -> None:
    """The relay reads a head of the contact list (people.sync_contacts) and counts the
    rest in ``contacts_more``: kept as it is when nothing more is cut, added to otherwise."""
    small = {**_sync(50, 0), "contacts_more": 30_000}
    assert fit(small)["contacts_more"] == 30_000
    out = fit({**_sync(2000, 0), "contacts_more": 30_000}, limit=20_000)
    assert out["contacts_more"] == 30_000 + 2000 - len(out["contacts"])
