"""A CPU cap for one relay process: its own cgroup, limited to a share of one core.

Scale-out is measured with every relay capped at the same share (issue 14: 40 % of a
core), so that N relays on a small machine are N equal slices, not whatever the broker,
the database and the load generators leave over. Needs root and a writable cpu
controller: cgroup v2 (``cpu.max`` = "40000 100000") where the unified hierarchy has the
cpu controller, else cgroup v1 (``cpu.cfs_quota_us`` = 40000 over ``cpu.cfs_period_us`` =
100000). :func:`available` says which, or why neither.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


def _v2_root() -> Path | None:
    controllers = ROOT / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return ROOT
    return None


def _v1_root() -> Path | None:
    cpu = ROOT / "cpu"
    return cpu if (cpu / "cpu.cfs_quota_us").exists() else None


def available() -> tuple[str | None, str]:
    """("v2" | "v1", the file that caps) or (None, why not)."""
    if os.geteuid() != 0:
        return None, "not root: cgroups cannot be made"
    if _v2_root() is not None:
        return "v2", "cpu.max"
    if _v1_root() is not None:
        return "v1", "cpu.cfs_quota_us"
    return None, "no cpu controller under /sys/fs/cgroup"


class CpuCap:
    """One cgroup ``relais-bench-<pid>-<name>`` holding processes to ``share`` of a core."""

    def __init__(self, name: str, share: float) -> None:
        kind, why = available()
        if kind is None:
            raise RuntimeError(f"cannot cap a relay's CPU: {why}")
        self.kind = kind
        self.share = share
        base = _v2_root() if kind == "v2" else _v1_root()
        assert base is not None
        self.base = base
        self.path = base / f"relais-bench-{os.getpid()}-{name}"
        if kind == "v2":  # the root must hand the cpu controller to its children
            with contextlib.suppress(OSError):
                (base / "cgroup.subtree_control").write_text("+cpu")
        self.path.mkdir(exist_ok=True)
        quota = int(share * PERIOD_US)
        if kind == "v2":
            (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def throttled(self) -> dict[str, float]:
        """How often the cap bit: periods run, periods throttled, seconds held back."""
        stat = dict(line.split() for line in
                    (self.path / "cpu.stat").read_text().splitlines() if line.strip())
        held = int(stat.get("throttled_usec", 0)) / 1e6 if self.kind == "v2" else \
            int(stat.get("throttled_time", 0)) / 1e9
        return {"periods": int(stat.get("nr_periods", 0)),
                "throttled": int(stat.get("nr_throttled", 0)), "held_s": held}

    def close(self) -> None:
        """Move whatever is left back to the parent and remove the cgroup."""
        with contextlib.suppress(OSError):
            for pid in (self.path / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    (self.base / "cgroup.procs").write_text(pid)
        with contextlib.suppress(OSError):
            self.path.rmdir()
