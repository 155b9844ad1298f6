"""The broker's subscription check: a Mosquitto plugin, built on the machine that runs it.

Mosquitto's ``acl_file`` decides what a client publishes and what is delivered to it, but
grants every SUBSCRIBE (its 2.0 check says "allowed" to any). A terminal's password read off
a kiosk's disk then let one client subscribe to millions of filters: the broker kept each one
and checked each at every message, until it slowed every pair (median 6 → 540 ms) or ran out
of memory and exited, taking every terminal's link with it. ``relais_subscribe.c`` (next to
this file) lets a terminal subscribe to its own downlink topic and nothing else; server
accounts keep their ACL grants.

It is C because Mosquitto loads only C plugins, and Debian ships none that does this alone
(its dynamic-security plugin would replace the password file and ACL the database renders).
It is built once per machine and source (``cc``, with Mosquitto's headers: Debian's ``gcc``,
``mosquitto-dev`` and ``libmosquitto-dev``), cached, and copied next to the broker's other
files, which the broker reads as their owner.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from broker_config.errors import BrokerError

SOURCE = Path(__file__).with_name("relais_subscribe.c")
NAME = "relais_subscribe.so"
_COMPILE_TIMEOUT_S = 120


def install(directory: Path, owner: tuple[int, int] | None = None) -> Path:
    """The plugin, built for this machine, at ``directory``/``NAME`` (replaced atomically
    when it differs, readable by ``owner``)."""
    data = built().read_bytes()
    target = directory / NAME
    with contextlib.suppress(OSError):
        if target.read_bytes() == data:
            return target
    fd, tmp = tempfile.mkstemp(prefix=f".{NAME}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            os.fchmod(f.fileno(), 0o600)
            if owner is not None:
                os.fchown(f.fileno(), *owner)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def built() -> Path:
    """The compiled plugin for the current source, from the cache or compiled now."""
    source = SOURCE.read_bytes()
    name = f"relais_subscribe-{hashlib.sha256(source).hexdigest()[:16]}.so"
    cache = _cache_dir()
    path = cache / name
    if path.is_file():
        return path
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise BrokerError("no_compiler", "no C compiler to build the broker's subscription "
                          "check (Debian: apt-get install gcc mosquitto-dev libmosquitto-dev)")
    fd, tmp = tempfile.mkstemp(prefix=".relais_subscribe.", suffix=".so", dir=cache)
    os.close(fd)
    try:
        done = subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", tmp, str(SOURCE)],
                              capture_output=True, text=True, timeout=_COMPILE_TIMEOUT_S,
                              check=False)
        if done.returncode != 0:
            error = (done.stderr.strip().splitlines() or [f"status {done.returncode}"])[0]
            raise BrokerError("plugin_not_built", "the broker's subscription check could not "
                              f"be built ({error}): Debian: apt-get install gcc mosquitto-dev "
                              "libmosquitto-dev",
                              error=error)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # whole or not at all, if two builds race
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return path


def _cache_dir() -> Path:
    """``$XDG_CACHE_HOME/relais`` (else ``~/.cache/relais``); a private temporary folder when
    that cannot be written (a service user without a home)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    cache = Path(base) / "relais"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        if os.access(cache, os.W_OK):
            return cache
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="relais-plugin-"))
