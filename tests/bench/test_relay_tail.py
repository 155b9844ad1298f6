"""bench.relay_tail: the traced relay accounts for every text the terminals sent, each time
in the relay cut into its queue and its transaction. Speed is not asserted here
(docs/architecture.md, decision 8)."""

from __future__ import annotations

import json

from bench import relay_tail
from bench.farm import message_text
from bench.relay import Shape
from bench.traced_relay import _kind_and_tag, summarise

QUICK = Shape(runs=2, pairs=3, window=1, seconds=1.0, paced_pairs=3, paced_rate=15.0,
              paced_seconds=1.0, processes=1)


def test_every_paced_text_is_traced_through_the_relay(tmp_path):
    got = relay_tail.measure(None, QUICK, saturate_first=1, workdir=tmp_path)
    sent = QUICK.runs * QUICK.paced_pairs * round(QUICK.paced_rate * QUICK.paced_seconds
                                                  / QUICK.paced_pairs)
    assert got["terminals"]["lost"] == 0
    text = got["relay"]["text"]
    # Only the paced runs' texts: the saturated run's came before `since`; a text its
    # outbox sent again (no answer within its resend time on a loaded machine) is handled,
    # and counted, twice. Each text's way below is counted once.
    assert text["n"] >= sent
    for part in ("queue_ms", "transaction_ms", "in_relay_ms"):
        assert 0 <= text[part]["p50"] <= text[part]["p99"]
    assert text["in_relay_ms"]["p99"] >= text["transaction_ms"]["p50"]
    assert got["relay"]["receipt"]["n"] > 0  # the copies' and the ticks' receipts
    # Each text's whole way, joined on its tag with where the load saw it arrive.
    way = got["texts"]
    assert way["n"] == sent
    slow = way["slowest_1pc"]
    assert slow["n"] >= 1
    legs = sum(slow[f"{leg}_ms"] for leg in ("to_relay", "queue", "transaction", "to_recipient"))
    assert abs(legs - slow["whole_ms"]) < 0.1
    assert way["whole_ms"]["p99"] >= way["transaction_ms"]["p50"] > 0
    assert not any(tmp_path.iterdir()), "the home and its traces are removed"


def test_summarise_splits_the_wait_from_the_transaction():
    rows = [{"kind": "text", "arrived": 10.0, "start": 10.002, "end": 10.007, "batch": 1,
             "beside": False},
            {"kind": "text", "arrived": 5.0, "start": 5.5, "end": 6.0, "batch": 2,
             "beside": False},  # before `since`: not counted
            {"kind": "receipt", "arrived": 10.1, "start": 10.1, "end": 10.103, "batch": 4,
             "beside": True}]
    got = summarise(rows, since=9.0)
    assert got["text"]["n"] == 1 and got["text"]["alone"] == 1
    assert got["text"]["queue_ms"] == {"p50": 2.0, "p99": 2.0}
    assert got["text"]["transaction_ms"] == {"p50": 5.0, "p99": 5.0}
    assert got["text"]["in_relay_ms"] == {"p50": 7.0, "p99": 7.0}
    assert got["receipt"]["beside"] == 1 and got["receipt"]["alone"] == 0


def test_kinds_are_read_from_the_kept_payloads():
    """Presence is a word, not JSON: named so, not "?" (the farms' goodbyes after a run)."""
    assert _kind_and_tag(b"offline") == ("presence", None)
    assert _kind_and_tag(b"online") == ("presence", None)
    text = message_text("t7", 12.5)
    assert _kind_and_tag(json.dumps({"type": "text", "text": text}).encode()) == ("text", "t7")
    assert _kind_and_tag(b'{"type": "receipt"}') == ("receipt", None)
    assert _kind_and_tag(b"\xff") == ("?", None)
