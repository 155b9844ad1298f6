"""Where a text's latency goes at a steady rate (figures 2 and 6's paced part): the terminals'
p50/p99 beside the relay's own share, split into its queue and the transaction that
stores the text (``bench.traced_relay``), and each text's whole way cut into four legs:
sender to relay, the relay's queue, its transaction, relay to recipient (with the mean of
each over the slowest 1 %, which is what a p99 target is about).

    python -m bench.relay_tail                      # SQLite
    python -m bench.relay_tail --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
    python -m bench.relay_tail --pg ... --saturate-first 3   # saturated runs first, as figure 6

The terminals' figures are figure 2's (the median of each run's percentile); the relay's
pool every text of those runs.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import relay, traced_relay
from bench.load import Farms
from bench.relay import Shape
from bench.system import System, pg_create, pg_drop


def measure(db_url: str | None, shape: Shape, *, saturate_first: int = 0,
            workdir: Path | None = None) -> dict[str, Any]:
    """One relay, the load of ``shape``, its paced runs traced; ``saturate_first``
    saturated runs before them (figure 6 comes after figure 9's dozen)."""
    system = System(db_url=db_url, terminals=2 * max(shape.pairs, shape.paced_pairs),
                    workdir=workdir)
    try:
        system.start()
        with system.traced() as traces:
            system.start_relay(1)
            indices = list(range(1, 2 * max(shape.pairs, shape.paced_pairs) + 1))
            farms = Farms(system, indices, shape.processes, "tail", shape.farm)
            try:
                farms.login()
                relay.settle(system)
                out: dict[str, Any] = {"database": "sqlite" if db_url is None else "postgresql"}
                if saturate_first:
                    out["saturated_msg_s"] = relay.saturated(
                        system, farms, replace(shape, runs=saturate_first))["throughput_msg_s"]
                    relay.settle(system)
                since = time.monotonic()
                out["terminals"] = relay.paced(farms, shape)
                arrivals = traced_relay.arrivals(farms, out["terminals"]["run_ids"])
            finally:
                farms.close()
                system.stop_relays()  # each traced relay writes its rows as it stops
            rows = traced_relay.read_rows(traces)
        out["relay"] = traced_relay.summarise(rows, since)
        out["texts"] = traced_relay.legs(rows, arrivals)
        return out
    finally:
        system.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=None, help="a PostgreSQL admin URL (default: SQLite)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--saturate-first", type=int, default=0, metavar="RUNS",
                        help="saturated runs before the paced ones (figure 6: 3)")
    parser.add_argument("--farm", default=Shape.farm,
                        help="the load's process: bench.farm (the shipped link) or bench.lean_farm")
    args = parser.parse_args()
    shape = replace(Shape(), runs=args.runs, farm=args.farm)
    url = pg_create(args.pg) if args.pg else None
    try:
        print(json.dumps(measure(url, shape, saturate_first=args.saturate_first), indent=2))
    finally:
        if args.pg:
            pg_drop(args.pg)


if __name__ == "__main__":
    main()
