"""`relais bench --quick` runs every figure end to end: the harness works and loses nothing.
Speed is not asserted here (docs/architecture.md, decision 8): it belongs in
docs/benchmarks.md."""

from __future__ import annotations

import json

from click.testing import CliRunner

from hr_console.cli import main

FIGURES = ("raw_ceiling", "relay", "shift_change_burst", "scale", "two_relays",
           "sqlite_vs_postgresql", "peer", "badge_in", "scale_out_capped", "shift_change")


def test_quick_bench_delivers_everything_and_prints_every_figure(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["bench", "--quick", "--no-write", "--no-pg"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in FIGURES:
        assert key in data, key
    # Which figure lost what, when one did (CI read 1 twice, every figure's own count at 0).
    assert data["lost"] == sum(data["lost_parts"].values())
    assert data["lost"] == 0, (data["lost_parts"], result.stderr[-3000:])
    assert data["raw_ceiling"]["lost"] == 0 and data["raw_ceiling"]["throughput_msg_s"] > 0
    rel = data["relay"]
    assert rel["saturated"]["throughput_msg_s"] > 0 and rel["lost"] == 0
    assert {"p50_ms", "p99_ms"} <= rel["paced"].keys()
    # Figure 2's relay ran traced: every paced text's way is cut into its legs.
    texts = rel["paced"]["texts"]
    assert texts["n"] == 15 * len(rel["paced"]["runs_p99_ms"])  # the quick plan's 15 a run
    assert texts["slowest_1pc"]["n"] >= 1
    # Figure 2's loop again with the lean load: it delivers everything too.
    assert rel["lean_load"]["throughput_msg_s"] > 0 and rel["lean_load"]["lost"] == 0
    assert {"throughput_ratio_to_raw", "p50_ratio_to_raw", "p99_ratio_to_raw"} <= rel.keys()
    burst = data["shift_change_burst"]
    assert burst["lost"] == 0 and burst["drained_s"] > 0
    scale = data["scale"]
    assert scale["delivered"] == scale["sent"] == scale["terminals"] and scale["lost"] == 0
    assert scale["relay_rss_mb"] > 0
    assert "throughput_ratio_to_one" in data["two_relays"]
    assert data["sqlite_vs_postgresql"]["sqlite"]["relay_throughput_msg_s"] > 0
    assert set(data["targets"]) == {"relay_throughput_ratio", "relay_p99_ms",
                                    "burst_drained_s", "relay_over_peer", "badge_in_ms",
                                    "two_capped_over_one", "three_capped_over_one",
                                    "uncapped_two_over_one", "shift_pair_p99_ms",
                                    "broker_restart_s", "group_post_ms", "group_badge_in_ms",
                                    "lost"}
    voice = data["voice"]  # figure 12: a clip's size, its re-encoding, its relay cost
    assert voice["size"]["bytes"] < 150_000 and voice["reencode"]["kept_ms"] == 60_000
    assert voice["relay"]["voice"]["delivered"] == voice["relay"]["text"]["delivered"] > 0
    groups = data["groups"]  # figure 11: a post to a group, a badge-in with groups
    assert groups["post"]["post_ms"] > 0 and groups["badge_in"]["groups_in_sync"] > 0
    # The broker killed and restarted under every terminal: all back in sync, nothing lost.
    restart = scale["broker_restart"]
    assert restart["synced"] == restart["terminals"] == scale["terminals"]
    assert restart["delivered"] == restart["typed_during_outage"] and restart["lost"] == 0
    # The peer: Prosody archived every message twice (sender's and recipient's copy).
    peer = data["peer"]
    if "skipped" not in peer:
        assert peer["lost"] == 0 and peer["saturated"]["throughput_msg_s"] > 0
        assert peer["archived_rows"] == 2 * (peer["saturated"]["sent"] + peer["paced"]["sent"])
        assert peer["relay_sqlite_throughput_ratio"] > 0
    else:
        assert "prosody" in peer["skipped"] or "slixmpp" in peer["skipped"]
    capped = data["scale_out_capped"]
    if "skipped" not in capped:  # root with a cpu controller: each relay in its own cgroup
        assert capped["database"] == "sqlite" and capped["cpu_cap"] == 0.4
        assert set(capped["runs"]) == {"1", "2"} and capped["ratio_2_to_1"] > 0
        for n, got in capped["runs"].items():
            assert len(got["throttled"]) == int(n) and got["lost"] == 0
    badge_in = data["badge_in"]
    if "skipped" not in badge_in:
        got = badge_in["sqlite"]["300"]
        assert got["employees"] == 300 and got["rules"] > 100
        assert got["desk_without_pin_ms"]["n"] == 3
    shift = data["shift_change"]
    if "skipped" not in shift:
        assert shift["desk"]["pair_lost"] == 0 and shift["desk"]["synced"] == 8


def test_a_text_handled_twice_is_one_way() -> None:
    """A text its outbox sent again (no answer in time on a loaded machine) reaches the
    traced relay twice: its way is its first handling, not a sixteenth text of fifteen
    (CI once counted 16)."""
    from bench.traced_relay import legs

    rows = [{"tag": "t1", "arrived": 1.0, "start": 1.1, "end": 1.2, "batch": 1},
            {"tag": "t1", "arrived": 4.0, "start": 4.1, "end": 4.2, "batch": 1},
            {"tag": "t2", "arrived": 2.0, "start": 2.1, "end": 2.3, "batch": 2}]
    out = legs(rows, {"t1": (0.9, 1.3), "t2": (1.9, 2.4)})
    assert out["n"] == 2
    assert out["to_relay_ms"] == {"p50": 100.0, "p99": 100.0}  # not the resend's 3.1 s

