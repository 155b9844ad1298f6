"""The order of names on the kiosk and the initial ranges of a long contact list
(kiosk_app.ui.name_index, plain Python: the contacts walk covers the screen)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk_app.ui.name_index import initial, jump_ranges, name_key
from kiosk_app.ui.session import Session


def test_accented_names_sort_among_their_letter() -> None:
    s = Session("sid", {"id": 1, "name": "Me"})
    names = ["Zoé Roux", "Élodie Petit", "amina Diallo", "Émile Blanc", "Eric Martin",
             "Œdipe Roi", "Bruno Leroy"]
    s.apply_sync({"id": 1}, [{"id": i + 2, "name": n} for i, n in enumerate(names)], [], [], [])
    assert [c.name for c in s.allowed_contacts()] == [
        "amina Diallo", "Bruno Leroy", "Élodie Petit", "Émile Blanc", "Eric Martin",
        "Œdipe Roi", "Zoé Roux"]
    assert [initial(n) for n in ("Élodie", " émile", "Zoé", "42 Bis", "", "Œdipe")] == [
        "E", "E", "Z", "#", "#", "O"]
    assert name_key("Élodie") == name_key("elodie")


def test_a_short_list_is_one_range_per_letter_and_an_empty_one_none() -> None:
    assert jump_ranges([]) == []
    assert jump_ranges(["A", "B"]) == [("A", 0), ("B", 1)]
    assert jump_ranges(list("AAAB"), most=1) == [("A–B", 0)]


def test_a_long_list_is_cut_into_ranges_of_about_equal_size() -> None:
    initials = sorted("ABCDEFGHIJKLMNOPRSTVYZ" * 5 + "M" * 20)
    ranges = jump_ranges(initials)
    assert len(ranges) == 6
    sizes = [end - first for (_l, first), end in
             zip(ranges, [f for _l, f in ranges[1:]] + [len(initials)], strict=True)]
    assert max(sizes) <= 2.5 * len(initials) / 6, sizes  # M's 25 are one letter, not cut


@given(st.lists(st.sampled_from("ABCDEÉFGHKLMNOPQRSTUVWXYZ#"), max_size=400),
       st.integers(min_value=1, max_value=8))
def test_ranges_cover_the_list_in_order_and_never_split_a_letter(
        letters: list[str], most: int) -> None:
    initials = sorted(letters)
    ranges = jump_ranges(initials, most)
    firsts = [first for _label, first in ranges]
    if not initials:
        assert ranges == []
        return
    assert 1 <= len(ranges) <= most
    assert firsts[0] == 0 and firsts == sorted(set(firsts))
    for (label, first), end in zip(ranges, [*firsts[1:], len(initials)], strict=True):
        assert first < end
        assert label == (initials[first] if initials[first] == initials[end - 1]
                         else f"{initials[first]}–{initials[end - 1]}")
        assert first == 0 or initials[first] != initials[first - 1]  # a letter starts there
