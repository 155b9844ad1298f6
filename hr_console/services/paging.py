"""Numbered pages of results, as the console's lists show them."""

from __future__ import annotations


def pages_for(total: int, per_page: int) -> int:
    """How many pages ``total`` results fill, ``per_page`` a page (one, even when empty)."""
    return max(1, -(-total // per_page))


class Numbered:
    """``pages`` for a page of results (a dataclass with ``total`` and ``per_page``)."""

    total: int
    per_page: int

    @property
    def pages(self) -> int:
        return pages_for(self.total, self.per_page)
