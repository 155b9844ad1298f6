"""The report writer keeps every other section as it was."""

from bench.report import replace_section


def test_sections_are_rewritten_in_place_and_appended_when_missing(tmp_path):
    doc = tmp_path / "b.md"
    doc.write_text("# Title\n\nintro\n", encoding="utf-8")
    replace_section(doc, "relay", "| a | 1 |")
    replace_section(doc, "kiosk", "cold start 2 s")
    replace_section(doc, "relay", "| a | 2 |")
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nintro\n")
    assert "| a | 2 |" in text and "| a | 1 |" not in text
    assert text.index("BEGIN relay") < text.index("BEGIN kiosk")
    assert text.count("BEGIN relay") == 1 and "cold start 2 s" in text


def test_a_body_with_backslashes_is_kept_verbatim(tmp_path):
    doc = tmp_path / "b.md"
    replace_section(doc, "x", "first")
    replace_section(doc, "x", r"C:\path \1 \g<0>")
    assert r"C:\path \1 \g<0>" in doc.read_text(encoding="utf-8")


# --- figure 11 (workgroups) in docs/benchmarks.md -----------------------------------------------


def _sq() -> dict:
    """The SQLite figures ``runner.assemble`` needs, as a run gives them (values made up)."""
    def sat(thr: float) -> dict:
        return {"throughput_msg_s": thr, "relay_cpu_percent": 90.0,
                "relay_cpu_ms_per_message": 2.0, "pairs": 25, "window": 2}

    paced = {"p50_ms": 5.0, "p99_ms": 20.0, "paced_rate": 100.0}
    return {
        "raw_ceiling": {"throughput_msg_s": 8000.0, "p50_ms": 0.5, "p99_ms": 1.0,
                        "paced_rate": 100.0, "payload_bytes": 200, "lost": 0},
        "relay": {"saturated": sat(500.0), "paced": paced, "lost": 0},
        "two_relays": {"saturated": sat(800.0), "paced": paced, "lost": 0},
        "shift_change_burst": {"terminals": 200, "messages_per_run": 1000, "drained_s": 2.5,
                               "lost": 0},
        "scale": {"connected": 1000, "terminals": 1000, "seconds": 60.0, "delivered": 1000,
                  "sent": 1000, "lost": 0, "relay_cpu_percent": 5.0, "relay_rss_mb": 90.0,
                  "relay_rss_idle_mb": 80.0, "login_all_s": 20.0,
                  "broker_restart": {"skipped": "not in this test"}},
    }


def _badge_in() -> dict:
    """Figure 8 at 10,000 employees: the badge-in without groups."""
    ms = {"p50": 16.0, "p99": 30.0, "n": 40}
    return {"sizes": [10_000], "postgresql": {}, "sqlite": {"10000": {
        "rules": 750, "desk_without_pin_ms": ms, "worker_inline_without_pin_ms": ms,
        "desk_with_pin_ms": {"p50": 60.0}, "pin_check_ms": {"p50": 45.0}}}}


def _groups(post_ms: float = 40.0, badge_p50: float = 24.0) -> dict:
    return {
        "post": {"database": "sqlite", "members": 500, "posts": 5,
                 "copies_per_post": [499] * 5, "post_ms": post_ms,
                 "received_receipts_ms": 35.0, "in_all_ms": post_ms + 35.0,
                 "read_receipts_ms": 150.0, "post_statements": 14,
                 "runs_post_ms": [post_ms] * 5, "delivered_receipts": 2495,
                 "read_receipts": 2495},
        "badge_in": {"database": "sqlite", "employees": 10_000, "groups": 20,
                     "group_size": 500, "posts_per_group": 10, "groups_built_s": 12.0,
                     "badge_in_ms": {"p50": badge_p50, "p99": 40.0, "n": 30},
                     "no_groups_badge_in_ms": {"p50": 16.0, "p99": 30.0, "n": 30},
                     "sync_ms": {"p50": 12.0, "p99": 20.0, "n": 30}, "groups_in_sync": 20,
                     "for_sync_ms": {"p50": 6.5, "p99": 9.0, "n": 30},
                     "member_counts_ms": {"p50": 5.2, "p99": 7.0, "n": 30},
                     "sync_history_ms": {"p50": 4.0, "p99": 6.0, "n": 30},
                     "sync_bytes_max": 61_000},
    }


def _rendered(groups: dict | None, badge_in: dict | None = None) -> str:
    from bench.doc import render
    from bench.runner import assemble

    result = assemble(_sq(), None, "test", badge_in=badge_in or _badge_in(), groups=groups)
    result["seconds"] = 1.0
    return render(result)


def _row(text: str, start: str) -> str:
    rows = [line for line in text.splitlines() if line.startswith(f"| {start}")]
    assert len(rows) == 1, rows
    return rows[0]


def test_workgroup_rows_give_each_figure_against_its_target_and_a_ratio_of_the_same_run():
    text = _rendered(_groups())
    post = _row(text, "11a. ")
    assert "500-member group" in post and "40 ms" in post
    # Against a 1:1 message's relay CPU in the same run (figure 2: 2 ms per message).
    assert "× 20 a delivered 1:1 message (2 ms, figure 2)" in post
    assert "75 ms, 0.15 ms per member (× 0.075 a 1:1 message)" in post
    assert "499 copies per post" in post
    assert post.endswith("post ≤ 100 ms: met |")
    badge = _row(text, "11b. ")
    assert "member of 20 groups of 500 (10,000 employees, SQLite)" in badge
    assert "p50 24 ms" in badge and "sync alone p50 12 ms" in badge
    # Against the badge-in of someone in no group, turn by turn in the same run (16 ms).
    assert "× 1.5 the badge-in of someone in no group, measured turn by turn with it (16 ms)" \
        in badge
    assert ("its parts timed alone, p50: groups list 6.5 ms, of which member counts 5.2 ms, "
            "history 4 ms") in badge
    assert "20 groups listed in each sync" in badge
    assert badge.endswith("≤ 50 ms: met |")


def test_workgroup_rows_say_missed_and_what_was_not_measured():
    text = _rendered(_groups(post_ms=130.0, badge_p50=70.0))
    assert _row(text, "11a. ").endswith("post ≤ 100 ms: **missed** |")
    assert _row(text, "11b. ").endswith("≤ 50 ms: **missed** |")
    # No badge-in without groups in the result: no ratio is made up.
    groups = _groups()
    for key in ("for_sync_ms", "member_counts_ms", "sync_history_ms", "no_groups_badge_in_ms"):
        del groups["badge_in"][key]  # a result from before these were timed
    badge = _row(_rendered(groups), "11b. ")
    assert "the badge-in without groups was not measured in this run" in badge
    assert "×" not in badge.split("the sync alone")[1].split(";")[0]
    assert "timed alone" not in badge
    skipped = _row(_rendered(None), "11. ")
    assert "not measured: not run" in skipped


def test_the_badge_in_row_gives_a_notice_to_everyone_per_person_against_a_1_1_message():
    badge = _badge_in()
    badge["sqlite"]["10000"]["notice_to_everyone"] = {
        "reached": 9_800, "runs_ms": [250.0, 240.0, 260.0], "median_ms": 250.0,
        "per_person_us": 25.51}
    row = _row(_rendered(None, badge), "8. Badge-in")
    one = _sq()["relay"]["saturated"]["relay_cpu_ms_per_message"]
    assert "a notice to everyone (9,800 people, 4,000-character body)" in row
    assert "250 ms (SQLite's one writer held as long), 25.51 µs a person" in row
    assert f"(× {round(0.02551 / one, 3):g} a delivered 1:1 message)" in row
    assert "notice" not in _row(_rendered(None), "8. Badge-in")  # a result without it


def test_the_badge_in_row_gives_the_hr_desks_sync_and_name_search():
    badge = _badge_in()
    f = badge["sqlite"]["10000"]
    f["hr_desk"] = {"badge_in_ms": {"p50": 150.0, "p99": 190.0, "n": 3},
                    "sync_bytes": 1_020_000, "contacts_listed": 9_790, "contacts_more": 12,
                    "search_ms": {"p50": 12.0, "p99": 24.0, "n": 30}, "search_matches_p50": 386}
    row = _row(_rendered(None, badge), "8. Badge-in")
    ratio = round(12.0 / f["desk_without_pin_ms"]["p50"], 3)
    assert ("the HR desk (everyone's contact): badge-in 150 ms, 9,790 contacts listed and 12 "
            "counted in a 1,020,000 B sync; a name search of her contacts p50 12 ms, p99 24 ms "
            f"(× {ratio:g} a worker's badge-in)") in row
    assert "HR desk" not in _row(_rendered(None), "8. Badge-in")


def _texts(whole: float) -> dict:
    """``bench.traced_relay.legs`` of figure 2's or 6's paced texts."""
    ms = {"p50": 3.0, "p99": whole}
    return {"n": 1200, "to_relay_ms": ms, "queue_ms": ms, "transaction_ms": ms,
            "to_recipient_ms": ms, "whole_ms": ms,
            "slowest_1pc": {"n": 12, "in_a_batch": 2, "to_relay_ms": 1.5, "queue_ms": 2.5,
                            "transaction_ms": 9.0, "to_recipient_ms": 3.0, "whole_ms": whole}}


def test_figures_2_and_6_say_where_their_slowest_texts_spent_their_time():
    from bench.doc import render
    from bench.runner import assemble

    sq, pg = _sq(), _sq()
    sq["relay"]["paced"] = {**sq["relay"]["paced"], "texts": _texts(16.0)}
    pg["relay"]["paced"] = {**pg["relay"]["paced"], "texts": _texts(24.0)}
    pg["capped"] = {"skipped": "not in this test"}
    result = assemble(sq, pg, "test", badge_in=_badge_in(), groups=None)
    result["seconds"] = 1.0
    text = render(result)
    two, six = _row(text, "2. Relay"), _row(text, "6. PostgreSQL")
    assert "the slowest 1 % of texts (12 of 1200) took 16 ms" in two
    assert "the slowest 1 % of texts (12 of 1200) took 24 ms" in six
    assert "in their transaction 9 (p50 of all texts 3)" in six
    # A run without the trace (a profiled relay) says nothing of it.
    assert "slowest" not in _row(_rendered(None), "2. Relay")
