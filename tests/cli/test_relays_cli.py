"""`relais relays`: the live relays and what each handles, read from the leases, as the
person who starts a second relay checks that it took its share."""

from __future__ import annotations

import json
from pathlib import Path

from hr_console.domain.partitions import PARTITIONS
from tests.cli.test_cli import run
from tests.system_fixture import System


def _listed(home: Path) -> dict:
    result = run(home, "relays", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_relays_lists_who_handles_which_terminals(system: System) -> None:
    home = system.cfg.home
    one = _listed(home)
    assert [r["partitions"] for r in one["relays"]] == [PARTITIONS]
    assert one["relays"][0]["terminals"] == len(system.demo.terminals)
    assert one["partitions_without_relay"] == [] and one["terminals_without_relay"] == 0

    second = system.start_relay(2)
    for _ in range(4):  # a few lease rounds, without waiting for the timers
        system.relays[0].keeper.round()
        second.keeper.round()
    two = _listed(home)
    assert sorted(r["partitions"] for r in two["relays"]) == [PARTITIONS // 2] * 2
    assert sum(r["terminals"] for r in two["relays"]) == len(system.demo.terminals)
    text = run(home, "relays").output
    assert text.count(" partitions ") == 2 and "_relay-2/" in text

    for relay in system.relays:
        relay.stop()
    system.relays.clear()
    gone = _listed(home)
    assert gone["partitions_without_relay"] == list(range(PARTITIONS))
    assert gone["terminals_without_relay"] == len(system.demo.terminals)
    assert "no relay is running" in run(home, "relays").output
