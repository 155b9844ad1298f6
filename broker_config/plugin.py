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
It is built once per machine, source and Mosquitto version (``cc``, with Mosquitto's
headers: Debian's ``gcc``, ``mosquitto-dev`` and ``libmosquitto-dev``), cached where only
its user may write, and copied next to the broker's other files, which the broker reads as
their owner.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from broker_config.errors import BrokerError
from broker_config.files import write_atomic

log = logging.getLogger("relais.broker")

SOURCE = Path(__file__).with_name("relais_subscribe.c")
NAME = "relais_subscribe.so"
_COMPILE_TIMEOUT_S = 120


def install(directory: Path, owner: tuple[int, int] | None = None) -> Path:
    """The plugin, built for this machine, at ``directory``/``NAME`` (replaced atomically
    when it differs, readable by ``owner``). A build that fails keeps the one installed
    before: a broker told to take a revoked terminal's files must never lose its
    subscription check, nor be left unable to reload; with none installed yet it raises."""
    target = directory / NAME
    try:
        data = _read(built(directory))
    except BrokerError as exc:
        if target.is_file():
            log.warning("kept the broker's subscription check as it was: %s", exc.message)
            return target
        raise
    with contextlib.suppress(OSError):
        if _read(target) == data:
            return target
    write_atomic(target, data, 0o600, owner)
    return target


def built(workdir: Path) -> Path:
    """The compiled plugin for the current source: from this user's cache when it is safe
    (``_cache_dir``), else compiled now, into that cache or, without one, into ``workdir``
    (the broker's own folder, private to its owner)."""
    name = f"relais_subscribe-{_build_key()}.so"
    cache = _cache_dir()
    home = cache if cache is not None else workdir
    path = home / name
    if _private(path, directory=False):
        return path
    compiler = next((c for c in ("/usr/bin/cc", shutil.which("cc"), shutil.which("gcc"))
                     if c and os.access(c, os.X_OK)), None)
    if compiler is None:
        raise BrokerError("no_compiler", "no C compiler to build the broker's subscription "
                          "check (Debian: apt-get install gcc mosquitto-dev libmosquitto-dev)")
    fd, tmp = tempfile.mkstemp(prefix=".relais_subscribe.", suffix=".so", dir=home)
    os.close(fd)
    try:
        try:
            done = subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", tmp, str(SOURCE)],
                                  capture_output=True, text=True, timeout=_COMPILE_TIMEOUT_S,
                                  check=False)
            error = "" if done.returncode == 0 else \
                (done.stderr.strip().splitlines() or [f"status {done.returncode}"])[0]
        except (OSError, subprocess.TimeoutExpired) as exc:
            error = str(exc)
        if error:
            raise BrokerError("plugin_not_built", "the broker's subscription check could not "
                              f"be built ({error}): Debian: apt-get install gcc mosquitto-dev "
                              "libmosquitto-dev", error=error)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # whole or not at all, if two builds race
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return path


# The headers the source includes: an upgraded Mosquitto may change the structures and
# calls the plugin was compiled against.
HEADERS = ("mosquitto.h", "mosquitto_broker.h", "mosquitto_plugin.h", "mqtt_protocol.h")
INCLUDE = Path("/usr/include")


def _build_key() -> str:
    """What a cached build was made from: the source, Mosquitto's headers as installed now
    and the machine's architecture (a home folder shared between machines). A Mosquitto
    upgrade, or another machine, builds again instead of loading a plugin made for another
    broker, which could crash the one running."""
    digest = hashlib.sha256(SOURCE.read_bytes())
    digest.update(platform.machine().encode())
    for header in HEADERS:
        digest.update(header.encode())
        with contextlib.suppress(OSError):
            digest.update(hashlib.sha256((INCLUDE / header).read_bytes()).digest())
    return digest.hexdigest()[:16]


def _cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/relais`` (else ``~/.cache/relais``) when it is this user's alone:
    the broker (root's, if root runs it) loads what is found there, so a folder or a file
    another user could write or swap is never used. None: build in the broker's folder."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cache = base / "relais"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(base, directory=True):
            return None
        cache.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    return cache if _private(cache, directory=True) else None


def _private(path: Path, *, directory: bool) -> bool:
    """Whether ``path`` is, itself (not through a symbolic link), a folder or a regular file
    of the current user that nobody else may write."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    kind = stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)
    return kind and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _read(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        return f.read()
