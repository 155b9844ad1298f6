"""Moderation: which mode applies, what the keyword filter catches, where a message goes.

Pure functions so the rules are tested in milliseconds and shared by relay and console.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

MODES = ("pre", "post", "none")


def effective_mode(employee_mode: str | None, team_mode: str | None, default: str) -> str:
    """The employee's own setting wins over the team's, which wins over the default."""
    for mode in (employee_mode, team_mode, default):
        if mode in MODES:
            return mode
    return "pre"  # an unknown default must fail safe


def _fold(text: str) -> str:
    """Lower case without accents, so 'Grève' and 'greve' are the same word to the filter."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def keyword_hits(text: str, keywords: Iterable[str]) -> list[str]:
    """Keywords found in ``text`` as whole words (or phrases), accent- and case-blind."""
    folded = _fold(text)
    hits = []
    for word in keywords:
        w = _fold(word.strip())
        if w and re.search(rf"(?<!\w){re.escape(w)}(?!\w)", folded):
            hits.append(word.strip())
    return hits


@dataclass(frozen=True)
class Routing:
    state: str  # "held" (waits for HR) or "accepted" (goes out now)
    reviewable: bool  # post-moderation: delivered but listed for review


def route(mode: str, hits: list[str], kind: str, media_always_held: bool,
          voice_always_held: bool = False) -> Routing:
    """Where a message that passed the contact check goes. A keyword hit always holds; so
    does a voice message while ``voice_always_held`` (no keyword filter can hear it)."""
    if hits or mode == "pre" or (media_always_held and kind in ("photo", "drawing")) \
            or (voice_always_held and kind == "voice"):
        return Routing("held", False)
    return Routing("accepted", mode == "post")
