"""Free TCP ports for listeners that bind later: outside the kernel's ephemeral range.

A port the kernel hands out for ``bind(0)`` comes from ``ip_local_port_range``, the same range
it draws every outgoing connection's local port from. Chosen now and bound seconds (a service's
start) or months (the relay port stored in ``relais.toml``) later, such a port can meanwhile be
the source port of any connection on the machine, and the listener then fails with "Address
already in use". Ports outside that range are never given to outgoing connections, so a port
free there now stays free unless something asks for it by number.
"""

from __future__ import annotations

import os
import random
import socket
from collections import OrderedDict
from collections.abc import Collection
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LINUX_DEFAULT = (32768, 60999)
# Where to draw from: above the well-known ports and clear of the registered services most
# often met on a server (Webmin 10000, Zabbix 10050, memcached 11211, RabbitMQ 15672 and
# 25672, our own 18883, netdata 19999, Redis Sentinel 26379, MongoDB 27017, Kubernetes'
# node ports 30000-32767).
_SPAN = (20000, 24999)
_TRIES = 200
# "k/n": this process draws only from the k-th of n equal parts of its span (counted from
# 0), so that n processes started side by side (the test suite's two) never pick the same
# port between choosing it and binding it. Inherited by the processes it starts.
SHARE_ENV = "RELAIS_PORT_SHARE"
# Handed out by this process, most recent last: two calls close together never answer the
# same port (one is chosen, then bound a moment later). Only the latest are kept: a process
# that chooses ports all day (the test suite) would otherwise use its span up, and then get
# the kernel's choice, from the ephemeral range.
_given: OrderedDict[int, None] = OrderedDict()
_GIVEN_KEPT = 512


def ephemeral_range(path: Path = _RANGE_FILE) -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux's default elsewhere)."""
    try:
        low, high = (int(x) for x in path.read_text(encoding="ascii").split())
    except (OSError, ValueError):
        return _LINUX_DEFAULT
    return low, high


def quiet_span(ephemeral: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """The ports to draw from: ``_SPAN`` minus the ephemeral range, or, on a machine whose
    ephemeral range covers it, what lies above that range (None: no such room)."""
    low, high = ephemeral or ephemeral_range()
    if high < _SPAN[0] or low > _SPAN[1]:
        return _SPAN
    if low > _SPAN[0] + 1000:
        return _SPAN[0], low - 1
    if high <= 64535:
        return high + 1, 65535
    return None


def _bindable(port: int) -> bool:
    """Nothing on the machine holds ``port`` now, on any address (no SO_REUSEADDR: a
    connection in TIME_WAIT on it also counts as taken)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("0.0.0.0", port))
    except OSError:
        return False
    return True


def shared(span: tuple[int, int] | None, share: str | None = None) -> tuple[int, int] | None:
    """``span``'s part for this process (``SHARE_ENV``); the whole span without one."""
    share = os.environ.get(SHARE_ENV) if share is None else share
    if span is None or not share:
        return span
    try:
        k, n = (int(x) for x in share.split("/"))
    except ValueError:
        return span
    size = (span[1] - span[0] + 1) // n if 0 <= k < n else 0
    if size < 1:
        return span
    low = span[0] + k * size
    return low, low + size - 1


def _kernel_choice() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port(rng: random.Random | None = None, span: tuple[int, int] | None = None,
              avoid: Collection[int] = ()) -> int:
    """A TCP port free right now, outside the ephemeral range (``quiet_span``), not yet
    given by this process and not in ``avoid`` (ports already promised to other listeners
    that are not listening yet, as a new home's terminal port is at ``init``).

    ``span``: the ports to draw from instead; when there is no room anywhere, the
    kernel's own choice, as before."""
    low, high = span or shared(quiet_span()) or (0, -1)
    draw = rng or random.SystemRandom()
    if high >= low:
        for _ in range(_TRIES):
            port = draw.randint(low, high)
            if port not in _given and port not in avoid and _bindable(port):
                return _give(port)
    port = _kernel_choice()
    while port in avoid:
        port = _kernel_choice()
    return _give(port)


def _give(port: int) -> int:
    _given[port] = None
    _given.move_to_end(port)
    while len(_given) > _GIVEN_KEPT:
        _given.popitem(last=False)
    return port


def free_ports(n: int) -> list[int]:
    """``n`` different free ports (a broker whose two listeners share a port does not start)."""
    return [free_port() for _ in range(n)]
