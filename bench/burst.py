"""Figure 3, the shift change: 200 terminals each send 5 messages within one second; the
figure is the time from the first send until every message has reached its recipient."""

from __future__ import annotations

import random
import time

from bench.load import Farms
from bench.stats import summary
from bench.system import TEAM_SIZE, terminal_name


def teammate(i: int, count: int) -> int:
    """The next person of i's team among the first ``count`` (terminal i hosts employee i;
    teams are blocks of TEAM_SIZE)."""
    first = (i - 1) // TEAM_SIZE * TEAM_SIZE + 1
    last = min(first + TEAM_SIZE - 1, count)
    return first if i >= last else i + 1


def run(farms: Farms, *, terminals: int, per_terminal: int = 5, within: float = 1.0,
        runs: int = 3, timeout: float = 60.0, seed: int = 5) -> dict:
    rng = random.Random(seed)
    drained, lost, late = [], 0, []
    interval = within / per_terminal
    for _ in range(runs):
        run_id = farms.run_id("burst")
        plan = [[terminal_name(i), terminal_name(teammate(i, terminals)), per_terminal,
                 rng.uniform(0, interval), interval] for i in range(1, terminals + 1)]
        start = time.monotonic() + 0.5
        sent = farms.send(run_id, plan, at=start)
        done = farms.wait_delivered(run_id, len(sent), timeout)
        lost += len(sent) - done.delivered
        drained.append(done.last_arrival - start if done.delivered == len(sent) else timeout)
        late.append(max(done.latencies, default=0.0))
    return summary({"drained_s": drained, "slowest_message_s": late},
                   extra={"terminals": terminals, "messages_per_run": terminals * per_terminal,
                          "within_s": within, "lost": lost})
