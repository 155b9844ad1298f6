"""``relais relay`` that notes, for every uplink, when it arrived and when the transaction
that took it began and committed (for ``bench.relay_tail``).

A text's latency seen by the terminals is the broker's hops, the relay's queue (the worker
busy with another batch) and the transaction that stores it. The load generators see only
the sum; this splits the relay's part in two. Times are ``time.monotonic()``, the same
clock in every process of the machine, so the harness can cut the rows to its own runs.

Only what the worker or the receipts lane commits is traced (a login goes to the login
desk, a refused uplink is answered at once); an uplink counts at its first commit (one
deferred and committed again later is not counted twice). What the measured run pays is
a clock read, a dict entry and a tuple per uplink (about a microsecond against the
~1.4 ms a delivered message costs); kinds and tags are read from the kept payloads when
the relay stops.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bench.farm import parse_text
from bench.load import Farms
from bench.relay_process import serve
from bench.stats import latency_ms, percentile
from hr_console.config import Settings
from hr_console.relay.mqtt import Inbound, Relay
from hr_console.store.db import Store
from relais_wire import topics


def _kind_and_tag(payload: bytes) -> tuple[str, str | None]:
    """The uplink's type ("presence" for a terminal's online/offline), and the load's tag of
    a bench text (``bench.farm.message_text``)."""
    if payload in (topics.ONLINE, topics.OFFLINE):
        return "presence", None
    try:
        obj = json.loads(payload)
    except ValueError:
        return "?", None
    if not isinstance(obj, dict):
        return "?", None
    text = obj.get("text")
    parsed = parse_text(text) if isinstance(text, str) else None
    return str(obj.get("type", "?")), parsed[0] if parsed else None


class TracedRelay(Relay):
    """The relay, with its uplinks' times kept in memory until it stops."""

    def __init__(self, cfg: Settings, store: Store, *, instance: int, out: Path) -> None:
        super().__init__(cfg, store, instance=instance)
        self._arrivals: dict[tuple[int, str], float] = {}
        self._kept: list[tuple[bytes, float, float, float, int, bool]] = []

    def _arrived(self, item: Inbound, retain: bool) -> None:
        self._arrivals[(item.mid, item.topic)] = time.monotonic()
        super()._arrived(item, retain)

    def _commit(self, batch: list[Inbound], *, beside: bool = False) -> None:
        start = time.monotonic()
        super()._commit(batch, beside=beside)
        end = time.monotonic()
        for item in batch:
            arrived = self._arrivals.pop((item.mid, item.topic), None)
            if arrived is not None:  # read when written out: no parsing in the measured run
                self._kept.append((item.payload, arrived, start, end, len(batch), beside))

    def write(self, out: Path) -> None:
        out.write_text(json.dumps({"rows": self.rows()}), encoding="utf-8")

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for payload, arrived, start, end, size, beside in self._kept:
            kind, tag = _kind_and_tag(payload)
            out.append({"kind": kind, "tag": tag, "arrived": arrived, "start": start,
                        "end": end, "batch": size, "beside": beside})
        return out


def summarise(rows: list[dict[str, Any]], since: float = 0.0) -> dict[str, Any]:
    """Per kind of uplink that arrived at or after ``since``: how many, and p50/p99 of the
    wait in the relay's queue, of the transaction that took it, and of both (arrival to
    commit; the replies are published right after)."""
    out: dict[str, Any] = {}
    for kind in sorted({r["kind"] for r in rows}):
        mine = [r for r in rows if r["kind"] == kind and r["arrived"] >= since]
        if not mine:
            continue
        out[kind] = {
            "n": len(mine),
            "queue_ms": latency_ms([r["start"] - r["arrived"] for r in mine]),
            "transaction_ms": latency_ms([r["end"] - r["start"] for r in mine]),
            "in_relay_ms": latency_ms([r["end"] - r["arrived"] for r in mine]),
            "alone": sum(r["batch"] == 1 for r in mine),
            "beside": sum(r["beside"] for r in mine),
        }
    return out


LEGS = ("to_relay", "queue", "transaction", "to_recipient")


def legs(rows: list[dict[str, Any]], arrivals: dict[str, tuple[float, float]]
         ) -> dict[str, Any]:
    """A traced text's whole way, from ``arrivals`` (tag -> (sent, arrived at the
    recipient), the load's clock): sender to relay (the sender's link, the broker),
    the relay's queue, its transaction, relay to recipient (publication, the broker, the
    recipient's link). p50/p99 of each and of the whole, and how the slowest 1 % of texts
    spent their time: the mean of each leg over them, and how many shared their
    transaction with other uplinks."""
    ways = []
    first: dict[str, dict[str, Any]] = {}
    for r in rows:  # a text its outbox sent again is handled twice: its first handling
        tag = r.get("tag")
        if tag in arrivals and (tag not in first or r["arrived"] < first[tag]["arrived"]):
            first[tag] = r
    for tag, r in first.items():
        sent, at = arrivals[tag]
        ways.append({"to_relay": r["arrived"] - sent, "queue": r["start"] - r["arrived"],
                     "transaction": r["end"] - r["start"], "to_recipient": at - r["end"],
                     "whole": at - sent, "batch": r["batch"]})
    if not ways:
        return {"n": 0}
    out: dict[str, Any] = {"n": len(ways)}
    for leg in (*LEGS, "whole"):
        out[f"{leg}_ms"] = latency_ms([w[leg] for w in ways])
    cut = percentile([w["whole"] for w in ways], 99)
    slow = [w for w in ways if w["whole"] >= cut]
    out["slowest_1pc"] = {"n": len(slow), "in_a_batch": sum(w["batch"] > 1 for w in slow), **{
        f"{leg}_ms": round(1000 * sum(w[leg] for w in slow) / len(slow), 2)
        for leg in (*LEGS, "whole")}}
    return out


def read_rows(folder: Path) -> list[dict[str, Any]]:
    """Every traced relay's rows written in ``folder`` (each writes its file as it stops)."""
    return [row for f in sorted(folder.glob("relay-*.json"))
            for row in json.loads(f.read_text(encoding="utf-8"))["rows"]]


def arrivals(farms: Farms, run_ids: list[str]) -> dict[str, tuple[float, float]]:
    """Tag -> (sent, arrived at the recipient) of every text of these load runs."""
    return {tag: (sent, at) for run in run_ids for answer in farms.each("arrivals", run=run)
            for tag, sent, at in answer["arrivals"]}


if __name__ == "__main__":
    serve(TracedRelay)
