"""Figure 13: relays auditing at once, on one chain's head (as before) and on their
terminals' chains (services.audit), PostgreSQL, in process.

Each relay is a thread with its own connection that, transaction after transaction, audits
one event for its terminal (``audit.record``, as a wrong PIN or an accepted charter does)
and then holds the transaction open for ``hold_ms`` (the rest of its batch) before
committing; the console appends to main once in a while. The two layouts run the same code
and differ only in the chain each relay appends to: ``main`` for every relay, which is how
the log was one chain, or each terminal's own. Measured: audited transactions a second, and
how long an append waited for its chain's head (p50, p99), the console's included.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from bench.stats import percentile
from hr_console.services import audit
from hr_console.store.db import Store
from hr_console.store.migrate import upgrade


def _layout(store: Store, chains: list[str], rounds: int, hold_ms: float,
            console_every: int) -> dict[str, Any]:
    waits: list[float] = []
    console_waits: list[float] = []
    lock = threading.Lock()

    def relay(chain: str) -> None:
        for i in range(rounds):
            with store.session() as s:
                t0 = time.perf_counter()
                audit.record(s, f"bench:{chain}", "bench.audited", chain=chain)
                waited = (time.perf_counter() - t0) * 1000
                time.sleep(hold_ms / 1000)
            with lock:
                waits.append(waited)
            if chain == chains[0] and i % console_every == 0:
                with store.session() as s:
                    t0 = time.perf_counter()
                    audit.record(s, "bench:hr", "bench.console")
                    console_waits.append((time.perf_counter() - t0) * 1000)

    threads = [threading.Thread(target=relay, args=(c,)) for c in chains]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    return {"relays": len(chains), "audited": len(waits), "seconds": round(seconds, 2),
            "per_s": round(len(waits) / seconds, 1),
            "wait_ms": {"p50": round(percentile(waits, 50), 2),
                        "p99": round(percentile(waits, 99), 2)},
            "console_wait_ms": {"p50": round(percentile(console_waits, 50), 2),
                                "max": round(max(console_waits), 2)}}


def run(url: str, *, relays: int = 3, rounds: int = 60, hold_ms: float = 20.0,
        console_every: int = 5, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Both layouts on the empty database at ``url``, one after the other."""
    upgrade(url)
    store = Store(url)
    try:
        one = _layout(store, [audit.MAIN] * relays, rounds, hold_ms, console_every)
        say(f"audit, one chain: {one['per_s']} audited transactions/s, "
            f"wait p99 {one['wait_ms']['p99']} ms")
        own = _layout(store, [audit.terminal_chain(900_000 + i) for i in range(relays)],
                      rounds, hold_ms, console_every)
        say(f"audit, a chain per terminal: {own['per_s']} audited transactions/s, "
            f"wait p99 {own['wait_ms']['p99']} ms")
        with store.session() as s:
            intact = audit.verify(s)
    finally:
        store.dispose()
    return {"hold_ms": hold_ms, "one_chain": one, "per_terminal": own,
            "ratio_per_s": round(own["per_s"] / one["per_s"], 3) if one["per_s"] else None,
            "verified": intact.ok, "entries": intact.entries, "chains": intact.chains}
