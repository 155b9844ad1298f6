"""Ports chosen now for a listener that binds later (a service's start, the stored relay port)."""

from __future__ import annotations

import random
import socket
from pathlib import Path

from broker_config import ports
from broker_config.ports import ephemeral_range, free_port, free_ports
from hr_console import config as config_mod


def test_ports_come_from_below_the_range_of_outgoing_connections() -> None:
    low, _high = ephemeral_range()
    chosen = free_ports(50)
    assert len(set(chosen)) == 50
    assert all(10000 <= p < low for p in chosen), chosen


def test_an_outgoing_connections_source_port_is_never_chosen() -> None:
    """The failure seen in CI: a port the kernel gave for bind(0) was, by the time the console
    started, the local port of one of the machine's own connections."""
    with socket.create_server(("127.0.0.1", 0)) as server, \
            socket.create_connection(server.getsockname()) as client:
        source = client.getsockname()[1]
        assert ephemeral_range()[0] <= source  # the kernel drew it from that range
        assert source not in free_ports(200)


def test_a_port_in_use_is_skipped() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        ports._given.discard(port)
        # Only the taken port and its neighbour to draw from: the taken one is never answered.
        got = {free_port(random.Random(seed), span=(port, port + 1)) for seed in range(3)}
        assert port not in got


def test_the_range_falls_back_to_linuxs_default(tmp_path: Path) -> None:
    (tmp_path / "range").write_text("1024\t65000\n", encoding="ascii")
    assert ephemeral_range(tmp_path / "range") == (1024, 65000)
    (tmp_path / "broken").write_text("garbage", encoding="ascii")
    assert ephemeral_range(tmp_path / "broken") == (32768, 60999)
    assert ephemeral_range(tmp_path / "missing") == (32768, 60999)


def test_an_empty_span_falls_back_to_the_kernels_choice() -> None:
    port = free_port(span=(40000, 40000))
    with socket.create_server(("127.0.0.1", port)):  # free, and bindable as promised
        pass


def test_a_new_homes_relay_port_is_below_the_ephemeral_range(tmp_path: Path) -> None:
    """``relais init`` stores the relay's listener port for good: it must not be a port that
    any outgoing connection of the machine may hold at the next boot."""
    settings = config_mod.with_secrets(config_mod.load(tmp_path / "home"))
    assert 10000 <= settings.relay_port < ephemeral_range()[0]
