"""The shift-change and badge-in-at-scale figures (bench/shift_change.py) run end
to end at a toy size: every badge-in answered with its sync, the pair's messages all
delivered, the desk's server timings read back from the relay process. Speed is not
asserted here (it belongs in docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

from bench import shift_change
from bench.system import System


def test_a_small_shift_change_answers_every_badge_in_and_loses_nothing(tmp_path: Path) -> None:
    system = System(db_url=None, terminals=8, workdir=tmp_path).start()
    try:
        out = shift_change.run(system, badge_ins=12, seconds=2.0, terminals=4, pair_rate=10.0,
                               quiet_seconds=2.0)
    finally:
        system.close()
    run = out["desk"]
    assert run["badge_ins"] == run["synced"] == 12, run
    assert run["pair_lost"] == 0 and run["pair_sent"] == 20
    assert run["terminal_login_to_sync_ms"]["n"] == 12
    server = out["desk"]["server_ms"]
    assert server["badge_in_to_sync"]["n"] == 12
    assert server["pin_check"]["p50"] > 0  # every badge carried its PIN, checked at the desk
    quiet = out["quiet"]
    assert quiet["badge_ins"] == 0 and quiet["pair_lost"] == 0 and quiet["pair_sent"] == 20
    assert out["pair_p99_ratio_to_quiet"] is not None


def test_badge_in_at_scale_measures_desk_and_worker_paths(tmp_path: Path) -> None:
    out = shift_change.badge_in_at_scale(None, 300, logins=5, workdir=tmp_path)
    assert out["rules"] > 0 and out["messages"] == 1200
    for key in ("desk_without_pin_ms", "worker_inline_without_pin_ms", "desk_with_pin_ms",
                "worker_inline_with_pin_ms", "desk_pin_always_ms"):
        assert out[key]["n"] == 5, key
    assert out["pin_check_ms"]["p50"] > 0
    notice = out["notice_to_everyone"]  # every active employee reached, three runs timed
    assert 250 <= notice["reached"] <= 300 and len(notice["runs_ms"]) == 3
    assert notice["median_ms"] > 0 and notice["per_person_us"] > 0
    desk = out["hr_desk"]  # everyone's contact: every active employee listed, none counted
    assert desk["badge_in_ms"]["n"] == 3 and desk["search_ms"]["n"] == 30
    assert 240 <= desk["contacts_listed"] < 300 and desk["contacts_more"] == 0
    assert desk["sync_bytes"] > 0 and desk["search_matches_p50"] >= 1
