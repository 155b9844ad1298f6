"""``relais bench``: every figure of the relay benchmark in one run, on one machine, as JSON,
and the "relay" section of docs/benchmarks.md rewritten from it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hr_console.bench import burst, raw, relay, scale
from hr_console.bench.load import Farms
from hr_console.bench.report import BENCHMARKS, machine, replace_section
from hr_console.bench.system import System, pg_create, pg_drop


@dataclass(frozen=True)
class Plan:
    terminals: int = 1000  # the scale figure's; the others use the first of them
    raw_runs: int = 3
    raw_messages: int = 10_000
    raw_paced_seconds: float = 5.0
    relay: relay.Shape = relay.Shape()  # figures 2, 5 and 6
    burst_terminals: int = 200
    burst_runs: int = 3
    burst_processes: int = 4
    scale_seconds: float = 60.0
    scale_period: float = 60.0
    scale_processes: int = 5
    scale_windows: int = 3
    pg_terminals: int = 100
    drain_timeout: float = 120.0  # past this, what has not arrived counts as lost


QUICK = Plan(terminals=12, raw_runs=2, raw_messages=300, raw_paced_seconds=1.0,
             relay=relay.Shape(runs=1, pairs=3, window=1, seconds=1.0, paced_pairs=3,
                               paced_rate=15.0, paced_seconds=1.0, processes=1),
             burst_terminals=12, burst_runs=1, burst_processes=1, scale_seconds=2.0,
             scale_period=2.0, scale_processes=1, scale_windows=1, pg_terminals=6)
LONG = replace(Plan(), scale_seconds=600.0, scale_windows=10)

TARGETS = {
    "relay_throughput_ratio": 0.6,  # relay saturated throughput >= 0.6 x raw
    "relay_p99_ms": 10.0,  # at 100 msg/s
    "burst_drained_s": 2.0,
}


def _sqlite_figures(plan: Plan, say: Callable[[str], None], profile: Path | None) -> dict:
    system = System(db_url=None, terminals=plan.terminals, profile_dir=profile)
    try:
        t0 = time.monotonic()
        system.start()
        say(f"home ready with {plan.terminals} terminals in {time.monotonic() - t0:.0f} s")
        out: dict[str, Any] = {}
        out["raw_ceiling"] = raw.run(system, runs=plan.raw_runs, messages=plan.raw_messages,
                                     paced_seconds=plan.raw_paced_seconds)
        say(f"raw ceiling: {out['raw_ceiling']['throughput_msg_s']} msg/s")
        out["relay"] = relay.run(system, plan.relay)
        say(f"relay: {out['relay']['saturated']['throughput_msg_s']} msg/s, "
            f"p99 {out['relay']['paced']['p99_ms']} ms")
        system.start_relay(1)
        farms = Farms(system, list(range(1, plan.burst_terminals + 1)), plan.burst_processes,
                      "burst")
        try:
            farms.login()
            out["shift_change_burst"] = burst.run(farms, terminals=plan.burst_terminals,
                                                  runs=plan.burst_runs, timeout=plan.drain_timeout)
        finally:
            farms.close()
            system.stop_relays()
        say(f"burst drained in {out['shift_change_burst']['drained_s']} s")
        out["two_relays"] = relay.run(system, plan.relay, relays=2, paced_too=False)
        say(f"two relays: {out['two_relays']['saturated']['throughput_msg_s']} msg/s")
        out["scale"] = scale.run(system, terminals=plan.terminals, seconds=plan.scale_seconds,
                                 period=plan.scale_period, processes=plan.scale_processes,
                                 windows=plan.scale_windows)
        say(f"scale: {out['scale']['delivered']}/{out['scale']['sent']} delivered")
        return out
    finally:
        system.close()


def _pg_figures(plan: Plan, admin_url: str, say: Callable[[str], None]) -> dict:
    url = pg_create(admin_url)
    system = System(db_url=url, terminals=plan.pg_terminals)
    try:
        system.start()
        one = relay.run(system, plan.relay)
        say(f"PostgreSQL relay: {one['saturated']['throughput_msg_s']} msg/s, "
            f"p99 {one['paced']['p99_ms']} ms")
        two = relay.run(system, plan.relay, relays=2, paced_too=False)
        say(f"PostgreSQL two relays: {two['saturated']['throughput_msg_s']} msg/s")
        return {"relay": one, "two_relays": two}
    finally:
        system.close()
        pg_drop(admin_url)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _side(figs: dict) -> dict:
    return {"relay_throughput_msg_s": figs["relay"]["saturated"]["throughput_msg_s"],
            "relay_p50_ms": figs["relay"]["paced"]["p50_ms"],
            "relay_p99_ms": figs["relay"]["paced"]["p99_ms"],
            "two_relays_throughput_msg_s": figs["two_relays"]["saturated"]["throughput_msg_s"]}


def assemble(sq: dict, pg: dict | None, plan_name: str) -> dict:
    raw_f, rel = sq["raw_ceiling"], sq["relay"]
    rel["throughput_ratio_to_raw"] = _ratio(rel["saturated"]["throughput_msg_s"],
                                            raw_f["throughput_msg_s"])
    rel["p50_ratio_to_raw"] = _ratio(rel["paced"]["p50_ms"], raw_f["p50_ms"])
    rel["p99_ratio_to_raw"] = _ratio(rel["paced"]["p99_ms"], raw_f["p99_ms"])
    sq["two_relays"]["throughput_ratio_to_one"] = _ratio(
        sq["two_relays"]["saturated"]["throughput_msg_s"], rel["saturated"]["throughput_msg_s"])
    sixth: dict[str, Any] = {"sqlite": _side(sq)}
    if pg is not None:
        pg["two_relays"]["throughput_ratio_to_one"] = _ratio(
            pg["two_relays"]["saturated"]["throughput_msg_s"],
            pg["relay"]["saturated"]["throughput_msg_s"])
        sixth["postgresql"] = _side(pg)
        sixth["postgresql_over_sqlite"] = {
            k: _ratio(sixth["postgresql"][k], sixth["sqlite"][k]) for k in sixth["sqlite"]}
        sixth["postgresql_detail"] = pg
    else:
        sixth["postgresql"] = None
    lost = (raw_f["lost"] + rel["lost"] + sq["shift_change_burst"]["lost"] + sq["scale"]["lost"]
            + sq["two_relays"]["lost"] + (pg["relay"]["lost"] + pg["two_relays"]["lost"]
                                          if pg else 0))
    targets = {
        "relay_throughput_ratio": {"target": f">= {TARGETS['relay_throughput_ratio']}",
                                   "value": rel["throughput_ratio_to_raw"]},
        "relay_p99_ms": {"target": f"<= {TARGETS['relay_p99_ms']}",
                         "value": rel["paced"]["p99_ms"]},
        "burst_drained_s": {"target": f"< {TARGETS['burst_drained_s']}",
                            "value": sq["shift_change_burst"]["drained_s"]},
        "lost": {"target": "0", "value": lost},
    }
    targets["relay_throughput_ratio"]["met"] = (
        (rel["throughput_ratio_to_raw"] or 0) >= TARGETS["relay_throughput_ratio"])
    targets["relay_p99_ms"]["met"] = rel["paced"]["p99_ms"] <= TARGETS["relay_p99_ms"]
    targets["burst_drained_s"]["met"] = (
        sq["shift_change_burst"]["drained_s"] < TARGETS["burst_drained_s"])
    targets["lost"]["met"] = lost == 0
    return {
        "plan": plan_name, "machine": machine(),
        "raw_ceiling": raw_f, "relay": rel, "shift_change_burst": sq["shift_change_burst"],
        "scale": sq["scale"], "two_relays": sq["two_relays"], "sqlite_vs_postgresql": sixth,
        "lost": lost, "targets": targets,
    }


def run(*, quick: bool = False, long: bool = False, pg_url: str | None = None,
        profile: Path | None = None, say: Callable[[str], None] = print) -> dict:
    plan = QUICK if quick else LONG if long else Plan()
    name = "quick" if quick else "long" if long else "default"
    started = time.monotonic()
    sq = _sqlite_figures(plan, say, profile)
    pg = _pg_figures(plan, pg_url, say) if pg_url else None
    result = assemble(sq, pg, name)
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def write_doc(result: dict, path: Path = BENCHMARKS, notes: str = "") -> None:
    from hr_console.bench.doc import render

    replace_section(path, "relay", render(result, notes))
