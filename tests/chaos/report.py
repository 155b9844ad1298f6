"""The "chaos" section of the reliability report, rewritten by each chaos test from its run
(into build/reliability.md; ``make reliability-report`` copies it to docs/).

Short variants run in ``make test`` and long ones in ``make test-long``, at different
times: the section keeps each scenario's last result in a JSON comment and redraws the
table from it, so a short run does not erase the long run's figures.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from bench.report import machine, replace_section
from tests.build_output import reliability

_DATA = re.compile(r"<!-- chaos-data (.*?) -->", re.DOTALL)
_ORDER = ("chaos", "chaos-two-relays", "netloss", "scale-out-pg")


def _load(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    found = _DATA.search(text)
    if not found:
        return {}
    try:
        return json.loads(found.group(1))
    except ValueError:
        return {}


def _killed(k: dict[str, int]) -> str:
    return ", ".join(f"{name} ×{n}" for name, n in sorted(k.items())) or "none"


def _render(data: dict[str, Any]) -> str:
    keys = sorted(data, key=lambda k: (_ORDER.index(k.split("/")[0]) if k.split("/")[0] in _ORDER
                                       else 99, k))
    lines = [
        "Each scenario runs real processes (Mosquitto, `relais relay`, one process per terminal "
        "on its own SQLite outbox) and kills them with SIGKILL at random moments while "
        "numbered messages flow between three terminals; see tests/chaos. *Delivered*: stored "
        "once, in state delivered, and shown by the recipient's terminal. *Duplicated*: a typed "
        "message stored twice, or one id shown twice by the same terminal process. *Lost*: "
        "typed but not delivered. *Out of order*: against the typing order, in the relay's "
        "commit order per sender or in a conversation as the kiosk sorts it. *Senders missing "
        "a state*: messages whose sender's terminal was never told they were delivered. "
        "*Shown again* (a restarted terminal receives what it had received just before its "
        "kill) and *overtaken* (an arrival after a later one of the same conversation, put back "
        "in place by the kiosk) are absorbed by the message id and are not faults.",
        "",
        "| scenario | run | relays | killed (kill -9) | sent | delivered | duplicated | lost "
        "| out of order | senders missing a state | typed offline | shown again | overtaken "
        "| seconds |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    totals = {"sent": 0, "delivered": 0, "duplicated": 0, "lost": 0, "killed": 0}
    for key in keys:
        r = data[key]
        lines.append(
            f"| {key} | {r['when']} | {r['relays']} | {_killed(r['killed'])} | {r['sent']} "
            f"| {r['delivered']} | {r['duplicated']} | {r['lost']} | {r['out_of_order']} "
            f"| {r['sender_state_missing']} | {r.get('typed_offline', 0)} "
            f"| {r['redelivered_after_restart']} | {r['arrival_inversions']} | {r['seconds']:.0f} |")
        for name in ("sent", "delivered", "duplicated", "lost"):
            totals[name] += r[name]
        totals["killed"] += sum(r["killed"].values())
    lines += [
        "",
        f"Scenarios: {len(keys)}; processes killed: {totals['killed']}; messages sent "
        f"{totals['sent']}, delivered {totals['delivered']}, duplicated {totals['duplicated']}, "
        f"lost {totals['lost']}.",
        "",
        f"Machine of the last run: {machine()}.",
        "",
        f"<!-- chaos-data {json.dumps(data, sort_keys=True)} -->",
    ]
    return "\n".join(lines)


def record(scenario: str, variant: str, outcome: dict[str, Any], *, relays: str,
           seconds: float) -> None:
    with reliability() as path:
        data = _load(path)
        data[f"{scenario}/{variant}"] = {
            **{k: v for k, v in outcome.items() if k != "unknown_recipients"},
            "relays": relays, "seconds": seconds,
            "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
        replace_section(path, "chaos", _render(data))
