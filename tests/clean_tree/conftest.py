"""The clean-tree check runs after every other test of the session, against the state of the
working tree taken before any of them ran (tests/clean_tree/tree.py); in a run shared
between processes, the main process makes it (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clean_tree.tree import BEFORE, state, worker

HERE = Path(__file__).parent


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    last = [item for item in items if Path(item.path).parent == HERE]
    if last and worker(config):  # the main process checks, once both are done
        items[:] = [item for item in items if item not in last]
    elif last:
        items[:] = [item for item in items if item not in last] + last
        config.stash[BEFORE] = state()
