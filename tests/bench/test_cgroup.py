"""A capped relay is really in a cgroup of its own, capped at its share, and the cgroup is
gone afterwards (root with a writable cpu controller; skips elsewhere, saying why)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench import cgroup


def test_a_process_is_held_to_its_share_and_the_cgroup_is_removed() -> None:
    kind, why = cgroup.available()
    if kind is None:
        pytest.skip(why)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    cap = cgroup.CpuCap("test", 0.4)
    try:
        cap.add(proc.pid)
        assert str(proc.pid) in (cap.path / "cgroup.procs").read_text().split()
        if kind == "v2":
            assert (cap.path / "cpu.max").read_text().split() == ["40000", "100000"]
        else:
            assert (cap.path / "cpu.cfs_quota_us").read_text().strip() == "40000"
            assert (cap.path / "cpu.cfs_period_us").read_text().strip() == "100000"
        assert set(cap.throttled()) == {"periods", "throttled", "held_s"}
        own = f"/proc/{proc.pid}/cgroup"
        with open(own, encoding="utf-8") as f:
            assert cap.path.name in f.read()
    finally:
        cap.close()
        proc.kill()
        proc.wait()
    assert not cap.path.exists()
