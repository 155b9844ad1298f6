"""Ports chosen now for a listener that binds later (a service's start, the stored relay port)."""

from __future__ import annotations

import random
import socket
from pathlib import Path

from broker_config import ports
from broker_config.ports import ephemeral_range, free_port, free_ports, quiet_span
from hr_console import config as config_mod


def test_ports_come_from_outside_the_range_of_outgoing_connections() -> None:
    low, high = ephemeral_range()
    chosen = free_ports(50)
    assert len(set(chosen)) == 50
    assert not any(low <= p <= high for p in chosen), chosen


def test_the_span_steers_clear_of_the_ephemeral_range_wherever_the_machine_puts_it() -> None:
    assert quiet_span((32768, 60999)) == (20000, 24999)  # Linux's default: the whole span
    assert quiet_span((1024, 19999)) == (20000, 24999)
    assert quiet_span((22000, 60999)) == (20000, 21999)  # what is left below it
    assert quiet_span((1024, 60999)) == (61000, 65535)  # a range from 1024: above it
    assert quiet_span((1024, 65535)) is None  # no room: the kernel's choice, as before


def test_processes_side_by_side_draw_from_their_own_part_of_the_span(monkeypatch) -> None:  # noqa: ANN001
    """The suite's two processes (``RELAIS_PORT_SHARE``, set by tests/conftest.py for
    what they start too) never pick the same port; a share that makes no sense is none."""
    assert ports.shared((20000, 24999), "0/2") == (20000, 22499)
    assert ports.shared((20000, 24999), "1/2") == (22500, 24999)
    assert ports.shared((20000, 24999), "") == (20000, 24999)
    for odd in ("2/2", "x/2", "1/0", "0/9999"):
        assert ports.shared((20000, 24999), odd) == (20000, 24999), odd
    assert ports.shared(None, "0/2") is None
    monkeypatch.setenv(ports.SHARE_ENV, "1/2")
    low, high = ports.shared(quiet_span())
    assert all(low <= p <= high for p in free_ports(20))


def test_a_process_choosing_ports_all_day_stays_in_its_span(monkeypatch) -> None:  # noqa: ANN001
    """Only the latest ports given are kept from being given again (a test process gives
    thousands): it never runs out of its span and falls back to the kernel's choice, from
    the ephemeral range (seen: the suite's second process, late in a run)."""
    monkeypatch.setattr(ports, "_GIVEN_KEPT", 40)
    low = quiet_span()[0]
    chosen = [free_port(span=(low, low + 99)) for _ in range(300)]
    assert all(low <= p <= low + 99 for p in chosen)
    assert all(len(set(chosen[i:i + 40])) == 40 for i in range(0, 260, 20))  # none twice soon


def test_ports_promised_to_other_listeners_are_not_chosen() -> None:
    """At ``init`` the terminals' port (18883 by default) is not listening yet: the relay
    port drawn then must not be it."""
    span = (30500, 30502)
    got = {free_port(random.Random(seed), span=span, avoid={30500, 30501}) for seed in range(5)}
    assert 30500 not in got and 30501 not in got


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
        ports._given.pop(port, None)
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
    port = free_port(span=(40001, 40000))
    low, high = ephemeral_range()
    assert low <= port <= high  # what bind(0) gives
    with socket.create_server(("127.0.0.1", port)):  # free, and bindable as promised
        pass


def test_a_new_homes_relay_port_is_outside_the_ephemeral_range(tmp_path: Path) -> None:
    """``relais init`` stores the relay's listener port for good: it must not be a port that
    any outgoing connection of the machine may hold at the next boot."""
    low, high = ephemeral_range()
    settings = config_mod.with_secrets(config_mod.load(tmp_path / "home"))
    assert not low <= settings.relay_port <= high
    assert settings.relay_port not in (settings.mqtt_port, settings.console_port)
