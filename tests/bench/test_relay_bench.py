"""`relais bench --quick` runs every figure end to end: the harness works and loses nothing.
Speed is not asserted here (docs/architecture.md, decision 8): it belongs in
docs/benchmarks.md."""

from __future__ import annotations

import json

from click.testing import CliRunner

from hr_console.cli import main

FIGURES = ("raw_ceiling", "relay", "shift_change_burst", "scale", "two_relays",
           "sqlite_vs_postgresql")


def test_quick_bench_delivers_everything_and_prints_every_figure(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["bench", "--quick", "--no-write", "--no-pg"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in FIGURES:
        assert key in data, key
    assert data["lost"] == 0
    assert data["raw_ceiling"]["lost"] == 0 and data["raw_ceiling"]["throughput_msg_s"] > 0
    rel = data["relay"]
    assert rel["saturated"]["throughput_msg_s"] > 0 and rel["lost"] == 0
    assert {"p50_ms", "p99_ms"} <= rel["paced"].keys()
    assert {"throughput_ratio_to_raw", "p50_ratio_to_raw", "p99_ratio_to_raw"} <= rel.keys()
    burst = data["shift_change_burst"]
    assert burst["lost"] == 0 and burst["drained_s"] > 0
    scale = data["scale"]
    assert scale["delivered"] == scale["sent"] == scale["terminals"] and scale["lost"] == 0
    assert scale["relay_rss_mb"] > 0
    assert "throughput_ratio_to_one" in data["two_relays"]
    assert data["sqlite_vs_postgresql"]["sqlite"]["relay_throughput_msg_s"] > 0
    assert set(data["targets"]) == {"relay_throughput_ratio", "relay_p99_ms",
                                    "burst_drained_s", "lost"}
