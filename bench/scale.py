"""Figure 4: many terminals connected at once, each sending one message a minute; what
arrives, what is lost, and what it costs the relay process in CPU and memory."""

from __future__ import annotations

import random
import statistics
import threading
import time

from bench import restart as restart_figure
from bench.burst import teammate
from bench.load import Farms
from bench.system import System, terminal_name


class _Sampler(threading.Thread):
    """The relay's CPU (per window) and resident memory (each second) while the load runs."""

    def __init__(self, system: System, window: float) -> None:
        super().__init__(daemon=True)
        self.system, self.window = system, window
        self.cpu: list[float] = []
        self.rss: list[int] = []
        self.stop = threading.Event()

    def _cpu(self) -> float:
        return sum(r.cpu_seconds() for r in self.system.relays)

    def run(self) -> None:
        c0, t0 = self._cpu(), time.monotonic()
        while not self.stop.wait(1.0):
            self.rss.append(sum(r.rss() for r in self.system.relays))
            if time.monotonic() - t0 >= self.window:
                c1, t1 = self._cpu(), time.monotonic()
                self.cpu.append(100 * (c1 - c0) / (t1 - t0))
                c0, t0 = c1, t1


def run(system: System, *, terminals: int, seconds: float, period: float = 60.0,
        processes: int = 5, windows: int = 3, seed: int = 11, restart: bool = True) -> dict:
    """Each terminal sends one message every ``period`` seconds at its own phase, for
    ``seconds``; the relay's CPU is the median of ``windows`` equal windows. ``restart``:
    then the broker is killed and started again under all of them (figure 4b)."""
    rng = random.Random(seed)
    system.start_relay(1)
    farms = Farms(system, list(range(1, terminals + 1)), processes, "scale")
    sampler = _Sampler(system, max(1.0, seconds / windows))
    try:
        rss_idle = system.relays[0].rss()
        login_s = farms.login()
        run_id = farms.run_id("scale")
        count = max(1, round(seconds / period))
        up = farms.employees  # a link that could not connect neither sends nor receives
        plan = [[terminal_name(i), terminal_name(teammate(i, terminals)), count,
                 rng.uniform(0, period), period] for i in range(1, terminals + 1)
                if terminal_name(i) in up and terminal_name(teammate(i, terminals)) in up]
        sampler.start()
        sent = farms.send(run_id, plan, at=time.monotonic() + 0.5)
        done = farms.wait_delivered(run_id, len(sent), 60.0)
        sampler.stop.set()
        sampler.join()
        rss_end = system.relays[0].rss()
        restarted = restart_figure.run(system, farms, terminals=terminals) if restart else None
    finally:
        farms.close()
        system.stop_relays()
    lat = sorted(done.latencies)
    return {
        "terminals": terminals, "connected": len(farms.employees), "seconds": seconds,
        "sent": len(sent), "delivered": done.delivered, "lost": len(sent) - done.delivered,
        "login_all_s": round(login_s, 1),
        "relay_cpu_percent": round(statistics.median(sampler.cpu), 1) if sampler.cpu else None,
        "runs_relay_cpu_percent": [round(c, 1) for c in sampler.cpu],
        "relay_rss_mb": round(max([*sampler.rss, rss_end]) / 2**20, 1),
        "relay_rss_idle_mb": round(rss_idle / 2**20, 1),
        "p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
        "broker_restart": restarted or {"skipped": "not run"},
    }
