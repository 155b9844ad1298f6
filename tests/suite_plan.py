"""How ``make test`` shares the suite between two pytest processes (pytest-xdist,
``-n 2 --dist loadfile``): most of a test is waiting on a broker, a relay, a database or
a browser, so two run side by side in about half the time on two cores.

Each test file goes whole to one process (its module fixtures are set up once), with two
exceptions to xdist's own order:

- the kiosk walks (the real App under Xvfb, two window sizes side by side, each minutes
  long) are one unit, started first and walked one after the other: a walk beside another
  walk is four Kivy processes on two cores, and its timings are a user's, not a machine's;
- the other long files (the quick bench, chaos) come next, so that no long file is left
  to run alone at the end.

The clean-tree check is the main process's, once both are done (tests/clean_tree/tree.py).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

WALKS = "kiosk walks"
_WALK = re.compile(r"tests/kiosk/test_\w*walk\.py")
_LONG = ("tests/bench/test_relay_bench.py", "tests/chaos/")


def rank(scope: str) -> int:
    """Where a unit of work goes in the queue: 0 first."""
    if scope == WALKS:
        return 0
    return 1 if scope.startswith(_LONG) else 2


def scheduler(config: Any, log: Any) -> Any:
    """xdist's file scheduling with the order and the two groupings above."""
    from xdist.scheduler import LoadFileScheduling  # only where xdist runs the suite

    class SuitePlan(LoadFileScheduling):
        _ordered = False

        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return WALKS if _WALK.fullmatch(scope) else scope

        def _assign_work_unit(self, node: Any) -> None:
            if not self._ordered:  # the queue is built by then; stable: xdist's order kept
                self._ordered = True
                self.workqueue = OrderedDict(
                    sorted(self.workqueue.items(), key=lambda unit: rank(unit[0])))
            super()._assign_work_unit(node)

    return SuitePlan(config, log)
