"""Tests never write tracked files (nor leave untracked ones git would see): screenshots and
report sections go to build/, catalogues compile to ignored .mo. Run last (conftest.py):
after ``make test`` on a clean clone, ``git status`` is empty.

In a working tree that already had changes, the check is that the tests changed none of
them and added nothing: the same ``git status`` and the same content for every path in it."""

from __future__ import annotations

import pytest

from tests.clean_tree.tree import BEFORE, left_dirty, state


def test_the_tests_leave_the_working_tree_as_they_found_it(request: pytest.FixtureRequest) -> None:
    before = request.config.stash.get(BEFORE, None)
    after = state()
    if before is None or after is None:
        pytest.skip("not a git checkout (or git is missing): no working tree to compare")
    problem = left_dirty(before, after)
    assert problem is None, problem
