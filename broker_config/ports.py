"""Free TCP ports for listeners that bind later: below the kernel's ephemeral range.

A port the kernel hands out for ``bind(0)`` comes from ``ip_local_port_range``, the same range
it draws every outgoing connection's local port from. Chosen now and bound seconds (a service's
start) or months (the relay port stored in ``relais.toml``) later, such a port can meanwhile be
the source port of any connection on the machine, and the listener then fails with "Address
already in use". Ports below that range are never given to outgoing connections, so a port
free there now stays free unless something asks for it by number.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LINUX_DEFAULT = (32768, 60999)
_LOWEST = 10000  # below: the well-known and most registered services' ports
_TRIES = 200
_given: set[int] = set()  # handed out by this process: two calls never answer the same port


def ephemeral_range(path: Path = _RANGE_FILE) -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux's default elsewhere)."""
    try:
        low, high = (int(x) for x in path.read_text(encoding="ascii").split())
    except (OSError, ValueError):
        return _LINUX_DEFAULT
    return low, high


def _bindable(port: int) -> bool:
    """Nothing on the machine holds ``port`` now, on any address (no SO_REUSEADDR: a
    connection in TIME_WAIT on it also counts as taken)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("0.0.0.0", port))
    except OSError:
        return False
    return True


def _kernel_choice() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port(rng: random.Random | None = None, span: tuple[int, int] | None = None) -> int:
    """A TCP port free right now, outside the ephemeral range, not yet given by this process.

    ``span``: the ports to draw from (default: from 10000 up to the ephemeral range's start);
    when it is empty or full, the kernel's own choice, as before."""
    low, high = span or (_LOWEST, ephemeral_range()[0] - 1)
    draw = rng or random.SystemRandom()
    if high > low:
        for _ in range(_TRIES):
            port = draw.randint(low, high)
            if port not in _given and _bindable(port):
                _given.add(port)
                return port
    port = _kernel_choice()
    _given.add(port)
    return port


def free_ports(n: int) -> list[int]:
    """``n`` different free ports (a broker whose two listeners share a port does not start)."""
    return [free_port() for _ in range(n)]
