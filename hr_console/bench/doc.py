"""The "relay" section of docs/benchmarks.md, written from one ``relais bench`` result."""

from __future__ import annotations

from typing import Any

# What profiling the relay process showed; kept here so every run rewrites it with the table.
ANALYSIS = """
### Where the relay's time goes

Profiled with pyinstrument (`relais bench --profile DIR` runs each relay's worker and
deliverer threads under it). The relay is CPU-bound in Python, not waiting: one delivered
message is four uplinks for it (the text; the sender's receipt for its immediate `state`;
the recipient's `received`; the sender's receipt for the `delivered` state) and two
downlink claims, about 35 SQL statements through the SQLAlchemy ORM. The cost is spread
thin, with no single hot spot: taking the message in (`messaging.receive`: the contact
check re-reads both people and every contact rule, three `settings.get` that find no row
and so query each time, the dedup lookup, the insert and its downlink) is about half;
the receipts a fifth; the terminal lookup, claiming downlinks and committing share the
rest. The raw ceiling is one PUBLISH/PUBACK hop through a C broker, so the 0.6 × raw
target is out of reach for this design by more than an order of magnitude; the latency
target holds only while the offered rate stays under the relay's saturated throughput
(past it, messages queue and p99 grows with the queue).

Fixed in the relay (hr_console/relay):

- Worker and deliverer took turns on SQLite only through its busy timeout, whose sleeps
  grow to 100 ms: the deliverer spent two thirds of its time inside `BEGIN IMMEDIATE`. They
  now take turns on one lock in the process.
- Uplinks that queue up are committed together (up to 64, one transaction, no savepoint
  each; if the batch fails, each is retried alone), the downlinks they made owed are claimed
  in that same transaction, and replies and acks still go out only after the commit.
- A receipt for a direct reply (a `state`, a `sync`), which has no row to confirm, is
  settled in memory instead of a transaction; a receipt that confirms nothing no longer
  starts a delivery round.
- TCP_NODELAY on the relay's socket.

On the development machine (2 cores shared with other work, so only roughly), these
about halved the relay's CPU per delivered message (the table's "ms CPU per message" is
the figure to follow). What is left is outside the relay: per-batch caching of settings, people and
rules in the services, and fewer statements per receipt.
"""


def _v(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:g}{unit}" if isinstance(value, float | int) else str(value)


def _met(result: dict, key: str) -> str:
    return "met" if result["targets"][key]["met"] else "**missed**"


def render(result: dict, notes: str = "") -> str:
    raw, rel, burst = result["raw_ceiling"], result["relay"], result["shift_change_burst"]
    scale, two, six = result["scale"], result["two_relays"], result["sqlite_vs_postgresql"]
    pg = six.get("postgresql")
    rows = [
        ("1. Raw ceiling (paho → Mosquitto → paho, QoS 1)",
         f"{_v(raw['throughput_msg_s'])} msg/s; p50 {_v(raw['p50_ms'])} ms, "
         f"p99 {_v(raw['p99_ms'])} ms at {raw['paced_rate']:g} msg/s "
         f"({raw['payload_bytes']} B payload)", ""),
        ("2. Relay (link A → relay → link B), SQLite",
         f"{_v(rel['saturated']['throughput_msg_s'])} msg/s "
         f"(× {_v(rel['throughput_ratio_to_raw'])} raw; relay CPU "
         f"{_v(rel['saturated']['relay_cpu_percent'])} %, "
         f"{_v(rel['saturated']['relay_cpu_ms_per_message'])} ms CPU per message); "
         f"p50 {_v(rel['paced']['p50_ms'])} ms, "
         f"p99 {_v(rel['paced']['p99_ms'])} ms at {rel['paced']['paced_rate']:g} msg/s "
         f"(× {_v(rel['p99_ratio_to_raw'])} raw p99)",
         f"throughput ≥ 0.6 × raw: {_met(result, 'relay_throughput_ratio')}; "
         f"p99 ≤ 10 ms: {_met(result, 'relay_p99_ms')}"),
        (f"3. Shift-change burst ({burst['terminals']} terminals × 5 messages in 1 s)",
         f"all {burst['messages_per_run']} delivered after {_v(burst['drained_s'])} s; "
         f"lost {burst['lost']}",
         f"< 2 s: {_met(result, 'burst_drained_s')}"),
        (f"4. Scale ({scale['connected']} of {scale['terminals']} terminals connected, "
         "one message a minute each, "
         f"{scale['seconds']:g} s)",
         f"{scale['delivered']}/{scale['sent']} delivered, lost {scale['lost']}; relay CPU "
         f"{_v(scale['relay_cpu_percent'])} % of a core, RSS {_v(scale['relay_rss_mb'])} MB "
         f"(idle {_v(scale['relay_rss_idle_mb'])} MB); badging all in took "
         f"{_v(scale['login_all_s'])} s", ""),
        ("5. Two relays sharing the subscription, SQLite",
         f"{_v(two['saturated']['throughput_msg_s'])} msg/s "
         f"(× {_v(two['throughput_ratio_to_one'])} one relay)", ""),
    ]
    if pg:
        r = six["postgresql_over_sqlite"]
        rows.append((
            "6. PostgreSQL (figures 2 and 5)",
            f"relay {_v(pg['relay_throughput_msg_s'])} msg/s "
            f"(× {_v(r['relay_throughput_msg_s'])} SQLite), p50 {_v(pg['relay_p50_ms'])} ms, "
            f"p99 {_v(pg['relay_p99_ms'])} ms; two relays "
            f"{_v(pg['two_relays_throughput_msg_s'])} msg/s "
            f"(× {_v(six['postgresql_detail']['two_relays']['throughput_ratio_to_one'])} one)",
            ""))
    else:
        rows.append(("6. PostgreSQL (figures 2 and 5)", "not measured in this run (no PostgreSQL)", ""))
    lines = [
        "## Relay against the raw broker (`make bench`)",
        "",
        f"Machine: {result['machine']}. Run: `{result['plan']}`, {result['seconds']:g} s; "
        "each figure is the median of its runs (every run's value is in the JSON).",
        "",
        "| figure | result | target |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        f"Nothing lost anywhere: {_met(result, 'lost')} (lost {result['lost']}).",
        "",
        "How it is measured: the broker, the relay(s) (`relais relay --instance N`, CPU and "
        "memory read with psutil) and the load generators are separate processes on the same "
        "machine. Terminals are `kiosk_app.link.TerminalLink` as shipped (outbox on tmpfs), "
        "badged in, writing to a teammate; the relay meters each terminal at 20 msg/s, so "
        f"load comes from many pairs. Saturation is a closed loop ({rel['saturated']['pairs']} "
        f"pairs, each keeping {rel['saturated']['window']} messages on their way); latency is "
        "from `send_text` to the recipient's `MessageArrived`.",
        "",
        ANALYSIS.strip(),
    ]
    if notes:
        lines += ["", notes.strip()]
    return "\n".join(lines) + "\n"
