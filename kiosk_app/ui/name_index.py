"""How people are ordered and found in the kiosk's long lists (plain Python, no Kivy):
names sorted as a French reader expects, and the initial ranges ("A–D", "E–K", …) that let
a gloved finger jump through a hundred contacts instead of scrolling."""

from __future__ import annotations

import unicodedata

JUMPS_MAX = 6  # ranges at most: more would be narrower targets than a glove needs


_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})  # no Unicode decomposition of their own


def name_key(name: str) -> str:
    """How names are ordered on screen: accents folded and case ignored, so that Élodie
    comes among the E, not after Zoé (code-point order puts "é" after "z"), and Œ reads
    as "oe"."""
    folded = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return bare.casefold().translate(_LIGATURES)


def initial(name: str) -> str:
    """A name's first letter as the index shows it: accents folded ("Élodie" under E, where
    ``name_key`` sorts her), "#" for a name that starts with no letter."""
    first = name_key(name.strip())[:1]
    return first.upper() if first.isalpha() else "#"


def jump_ranges(initials: list[str], most: int = JUMPS_MAX) -> list[tuple[str, int]]:
    """Cut the contacts' initials (in list order, one per contact) into at most ``most``
    ranges of about as many contacts each, never splitting a letter: ("A–D", index of the
    first contact in the range)."""
    n = len(initials)
    if not n:
        return []
    changes = [i for i in range(1, n) if initials[i] != initials[i - 1]]  # a letter starts
    cuts = [0]
    for k in range(1, most):
        target = k * n / most
        later = [i for i in changes if i > cuts[-1]]
        if not later:
            break
        best = min(later, key=lambda i: abs(i - target))
        if (best - cuts[-1]) * most >= n / 2:  # no range of a sliver
            cuts.append(best)
    if len(cuts) > 1 and (n - cuts[-1]) * most < n / 2:  # nor a sliver at the end
        cuts.pop()
    out = []
    for first, end in zip(cuts, [*cuts[1:], n], strict=True):
        a, b = initials[first], initials[end - 1]
        out.append((a if a == b else f"{a}–{b}", first))
    return out
