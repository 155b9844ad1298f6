"""Figure 4b: the broker restarts under 1,000 connected, badged-in terminals (issue 14,
point 1). Each terminal reconnects and asks for a sync (the relay's login desk builds them
beside the worker); messages typed during the outage wait in the outboxes. Reported: how
long until every terminal is back in sync, and whether every message typed meanwhile
arrived (once: the farms count distinct tags)."""

from __future__ import annotations

import time

from bench.burst import teammate
from bench.load import Farms
from bench.system import System, terminal_name

TARGET_S = 30.0  # every terminal back in sync within this


def run(system: System, farms: Farms, *, terminals: int, outage_s: float = 3.0,
        timeout: float = 90.0) -> dict:
    """``farms``: logged in, every link badged in (the scale figure's)."""
    assert system.broker is not None
    up = farms.employees
    plan = [[terminal_name(i), terminal_name(teammate(i, terminals)), 1, 0.0, 1.0]
            for i in range(1, terminals + 1)
            if terminal_name(i) in up and terminal_name(teammate(i, terminals)) in up]
    run_id = farms.run_id("restart")
    cpu0 = sum(r.cpu_seconds() for r in system.relays)
    system.broker.kill()  # kill -9: what its last snapshot did not hold is lost with it
    killed = time.monotonic()
    sent = farms.send(run_id, plan)  # typed while the broker is down: into the outboxes
    time.sleep(max(0.0, outage_s - (time.monotonic() - killed)))
    system.broker.start()
    restarted = time.monotonic()
    synced: dict[str, float] = {}
    while time.monotonic() - restarted < timeout and len(synced) < len(up):
        for answer in farms.each("synced_after", at=restarted):
            synced.update(answer["synced"])
        time.sleep(1.0)
    cpu_synced = sum(r.cpu_seconds() for r in system.relays) - cpu0
    done = farms.wait_delivered(run_id, len(sent), timeout)
    back = sorted(at - restarted for at in synced.values())
    all_back = back[-1] if len(back) == len(up) and back else None
    return {
        "terminals": len(up), "outage_s": outage_s,
        "synced": len(synced), "all_synced_s": round(all_back, 1) if all_back else None,
        "p50_synced_s": round(back[len(back) // 2], 1) if back else None,
        "typed_during_outage": len(sent), "delivered": done.delivered,
        "lost": len(sent) - done.delivered,
        "relay_cpu_s_until_synced": round(cpu_synced, 1),
        "target_s": TARGET_S,
        "met": all_back is not None and all_back <= TARGET_S and done.delivered == len(sent),
    }
