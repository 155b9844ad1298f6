"""Figures 2 and 5: terminal link A -> relay (session, policy, persistence, dedup) ->
terminal link B, saturated and at a paced 100 msg/s, with one relay or several.

The relay meters every terminal (20 msg/s sustained, docs/architecture.md, decision 2),
so the load comes from many pairs (A_j writes to B_j, a teammate), each well inside its allowance.
Saturation is a closed loop: every pair keeps a few messages on their way and sends the
next as soon as one is delivered, so the relay always has work and no backlog grows past
the links' resend timers.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psutil

from bench import traced_relay
from bench.load import Farms
from bench.stats import latency_ms, summary
from bench.system import System, terminal_name


@dataclass(frozen=True)
class Shape:
    runs: int = 3
    # Saturated: enough senders that none nears the 20 uplinks a second the relay allows a
    # terminal. A sender spends two a message (the text, its receipt of `delivered`), so 25
    # pairs capped the figure at ~25 x 10 msg/s plus the bursts: it read 320 msg/s on a fast
    # machine and on one half as fast alike, the relay 27 % idle (measured: 285 msg/s with
    # 25 pairs, 529 with 80, same code, same run of the machine).
    pairs: int = 80
    window: int = 2  # messages on their way per pair: enough to keep the relay busy, few
    # enough that none waits past the links' 3 s resend timer
    seconds: float = 6.0  # one saturated run
    paced_pairs: int = 20  # 5 msg/s each at 100 msg/s: half their allowance, not all of it
    paced_rate: float = 100.0
    paced_seconds: float = 4.0
    processes: int = 2
    drain_timeout: float = 120.0  # past this, what has not arrived counts as lost
    farm: str = "bench.farm"  # the load's process: the shipped link, or bench.lean_farm


def pair_indices(pairs: int) -> list[tuple[int, int]]:
    return [(2 * j + 1, 2 * j + 2) for j in range(pairs)]


def _cpu(system: System) -> float:
    return sum(r.cpu_seconds() for r in system.relays)


def _load_cpu(farms: Farms) -> float:
    """CPU seconds of the load generators so far: with two cores for everything, whether
    the relays or the load ran out of CPU is part of the figure."""
    total = 0.0
    for farm in farms.farms:
        try:
            t = psutil.Process(farm.proc.pid).cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def settle(system: System, *, idle_share: float = 0.05, timeout: float = 30.0) -> float:
    """Wait until the relays are idle (under ``idle_share`` of a core each over a second):
    a relay that just started, or just took partitions over, catches up first (subscribing,
    claiming what is owed); measured under a CPU cap that would count as the figure."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        c0 = _cpu(system)
        time.sleep(1.0)
        if _cpu(system) - c0 < idle_share * max(1, len(system.relays)):
            break
    return round(time.monotonic() - started, 1)


def _idle() -> tuple[float, float]:
    """(idle, total) CPU seconds of the whole machine so far."""
    t = psutil.cpu_times()
    return t.idle + getattr(t, "iowait", 0.0), sum(t)


def saturated(system: System, farms: Farms, shape: Shape) -> dict:
    throughput, cpu, cpu_ms, lost, load_cpu, busy = [], [], [], 0, [], []
    for _ in range(shape.runs):
        run = farms.run_id("sat")
        by_farm: dict = {}
        for a, b in pair_indices(shape.pairs):
            farm = farms.where[terminal_name(a)]
            by_farm.setdefault(farm, []).append(
                [terminal_name(a), farms.employees[terminal_name(b)], terminal_name(b)])
        cpu0, t0, l0, (i0, a0) = _cpu(system), time.monotonic(), _load_cpu(farms), _idle()
        with ThreadPoolExecutor(max_workers=len(by_farm)) as pool:
            answers = list(pool.map(
                lambda kv, r=run: kv[0].ask("closed", run=r, pairs=kv[1], window=shape.window,
                                            seconds=shape.seconds), by_farm.items()))
        cpu1, t1, l1, (i1, a1) = _cpu(system), time.monotonic(), _load_cpu(farms), _idle()
        load_cpu.append(100 * (l1 - l0) / (t1 - t0))
        busy.append(100 * (1 - (i1 - i0) / max(1e-9, a1 - a0)))
        sent = sum(len(a["sent"]) for a in answers)
        started = min(a["started"] for a in answers)
        ended = max(a["ended"] for a in answers)
        done = farms.wait_delivered(run, sent, shape.drain_timeout)
        in_window = _delivered_between(farms, run, started, ended)
        throughput.append(in_window / (ended - started))
        cpu.append(100 * (cpu1 - cpu0) / (t1 - t0))
        cpu_ms.append(1000 * (cpu1 - cpu0) / max(1, in_window))
        lost += sent - done.delivered
    return summary({"throughput_msg_s": throughput, "relay_cpu_percent": cpu,
                    "relay_cpu_ms_per_message": cpu_ms, "load_cpu_percent": load_cpu,
                    "machine_busy_percent": busy},
                   extra={"lost": lost, "pairs": shape.pairs, "window": shape.window,
                          "seconds_per_run": shape.seconds})


def _delivered_between(farms: Farms, run: str, start: float, end: float) -> int:
    seen: set[str] = set()
    for answer in farms.each("arrivals", run=run):
        seen.update(tag for tag, _sent, at in answer["arrivals"] if start <= at <= end)
    return len(seen)


def paced(farms: Farms, shape: Shape) -> dict:
    p50, p99, lost, run_ids = [], [], 0, []
    pairs = pair_indices(shape.paced_pairs)
    per_pair = max(1, round(shape.paced_rate * shape.paced_seconds / len(pairs)))
    interval = len(pairs) / shape.paced_rate
    for _ in range(shape.runs):
        run = farms.run_id("paced")
        run_ids.append(run)
        plan = [[terminal_name(a), terminal_name(b), per_pair, j / shape.paced_rate, interval]
                for j, (a, b) in enumerate(pairs)]
        sent = farms.send(run, plan, at=time.monotonic() + 0.3)
        done = farms.wait_delivered(run, len(sent), shape.drain_timeout)
        stats = latency_ms(done.latencies)
        p50.append(stats["p50"])
        p99.append(stats["p99"])
        lost += len(sent) - done.delivered
    return summary({"p50_ms": p50, "p99_ms": p99},
                   extra={"lost": lost, "paced_rate": shape.paced_rate,
                          "paced_pairs": shape.paced_pairs, "run_ids": run_ids})


def run(system: System, shape: Shape, *, relays: int = 1, paced_too: bool = True,
        cpu_cap: float | None = None) -> dict:
    """Start ``relays`` relay processes (each capped at ``cpu_cap`` of a core in its own
    cgroup when given), measure, stop them."""
    for instance in range(1, relays + 1):
        system.start_relay(instance, cpu_cap=cpu_cap)
    balanced_s = system.wait_balanced()
    indices = list(range(1, 2 * max(shape.pairs, shape.paced_pairs) + 1))
    farms = Farms(system, indices, shape.processes, f"relay{relays}", shape.farm)
    arrivals: dict[str, tuple[float, float]] = {}
    try:
        login_s = farms.login()
        out = {"relays": relays, "login_seconds": round(login_s, 2),
               "partitions_balanced_s": balanced_s, "settled_s": settle(system)}
        out["saturated"] = saturated(system, farms, shape)
        if paced_too:
            # A steady rate from an idle relay: the saturated run's last receipts and
            # states are still being committed when its messages have all arrived.
            out["paced_settled_s"] = settle(system)
            out["paced"] = paced(farms, shape)
            if system.trace_dir is not None:  # bench.traced_relay: where the time went
                arrivals = traced_relay.arrivals(farms, out["paced"]["run_ids"])
        out["relay_rss_mb"] = round(max(r.rss() for r in system.relays) / 2**20, 1)
        if cpu_cap is not None:
            out["cpu_cap"] = cpu_cap
            out["throttled"] = [r.cap.throttled() for r in system.relays if r.cap]
        out["lost"] = out["saturated"]["lost"] + (out["paced"]["lost"] if paced_too else 0)
    finally:
        farms.close()
        system.stop_relays()  # a traced relay writes its rows as it stops
    if arrivals and system.trace_dir is not None:
        out["paced"]["texts"] = traced_relay.legs(traced_relay.read_rows(system.trace_dir),
                                                  arrivals)
    return out
