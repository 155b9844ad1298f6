"""Render Mosquitto's configuration, password file and ACL, and make a running broker reload them.

The database is the source of truth for who may connect; these files are a projection of it.
Everything is rewritten whole and swapped in atomically, so a broker reloading (SIGHUP) at the
wrong moment never reads half a file. See docs/architecture.md, decisions 1, 2 and 5.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import signal
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from broker_config import plugin
from broker_config.errors import BrokerSettingError, ReloadError
from broker_config.files import write_atomic
from broker_config.passwords import is_password_hash
from relais_wire.limits import MAX_DOWNLINK_BYTES, PACKET_HEADROOM_BYTES
from relais_wire.topics import ALL_STATUS, ALL_UPLINKS, PREFIX, RELAY_USER_PREFIX, valid_terminal_name

# Server accounts (relay, console) are told apart from terminals by the leading "_", which a
# terminal name can never have. The rest stays in a character set that is safe in both files.
_SERVER_NAME = re.compile(r"^_[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

# A burst (a notice to a whole site, a relay catching up) must never overflow a queue: Mosquitto
# drops silently past these limits while still acking the publisher (decision 2). Memory is the
# real bound instead, and the end-to-end receipts cover what memory_limit refuses.
MAX_QUEUED_MESSAGES = 100_000
MEMORY_LIMIT_BYTES = 512 * 1024 * 1024
# But no one client may take that memory: a terminal's password read off its disk let a
# session that never acknowledged ask for 384 KB syncs until the broker held 520 MB, refused
# the relays ("out of memory") and kept it all in its snapshot across a restart. Per client,
# what is queued beyond its in-flight window stops here: an offline kiosk's ~100 photo copies
# (or tens of thousands of texts), a relay's backlog of as many photo uplinks. Past it the
# broker drops, and the outbox's and the relay's resends bring the rest (decision 2).
MAX_QUEUED_BYTES = 32 * 1024 * 1024
MAX_INFLIGHT_MESSAGES = 100
# Uplinks up to ~512 KB (photos); downlinks up to relais_wire.limits.MAX_DOWNLINK_BYTES, which
# the relay never exceeds, plus room for the topic and properties (1 MiB).
MAX_PACKET_SIZE = MAX_DOWNLINK_BYTES + PACKET_HEADROOM_BYTES
# Seconds between snapshots (and one at a clean stop). Each save rewrites the whole database
# while the broker, single-threaded, serves nobody: saved every 1,000 changes, 1,000 kiosks
# reconnecting after a restart set off 38 saves in a minute, and 55 of them were dropped for
# missing their keepalive. The snapshot is only a convenience (sessions kept across a
# restart); the outbox and the relay's resends are what make delivery safe, and a kiosk
# subscribes again at every connection.
AUTOSAVE_SECONDS = 30
PERSISTENT_CLIENT_EXPIRATION = "14d"

CONF_NAME = "mosquitto.conf"
PASSWD_NAME = "passwd"
ACL_NAME = "acl"
PID_NAME = "mosquitto.pid"
LOG_NAME = "mosquitto.log"
PERSISTENCE_NAME = "mosquitto.db"


ACCESS = ("read", "write", "readwrite")
Grant = tuple[str, str]  # (access, topic filter) as one ``topic`` line of the ACL

# What a relay does, and nothing more: it reads every terminal's uplink (through
# $share/relais/..., which the broker checks against the topic after the group) and presence,
# and writes downlinks. It can neither forge a terminal (no uplink or status write) nor read
# another relay's downlinks. "down/#" also matches the exact ".../down" topic.
RELAY_GRANTS: tuple[Grant, ...] = (
    ("read", ALL_UPLINKS),
    ("read", ALL_STATUS),
    ("write", f"{PREFIX}/t/+/down/#"),
)


@dataclass(frozen=True)
class Account:
    """One broker login: a username, its ``$7$`` password hash (never the plaintext) and, for
    a server account, the topics it may use (none by default: least privilege). Terminals
    have no grants of their own: the ``%u`` patterns cover them."""

    username: str
    password_hash: str
    grants: tuple[Grant, ...] = ()


@dataclass(frozen=True)
class BrokerSettings:
    """Where one broker lives and listens. Two Relais homes get two of these, sharing nothing."""

    directory: Path
    terminal_port: int
    relay_port: int
    terminal_bind: str = "127.0.0.1"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    run_as_user: str | None = None

    def __post_init__(self) -> None:
        # Absolute paths: the conf is read by a process whose working directory we don't control.
        object.__setattr__(self, "directory", Path(self.directory).absolute())
        for name in ("tls_cert", "tls_key", "tls_ca"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value).absolute())
        for name in ("terminal_port", "relay_port"):
            port = getattr(self, name)
            if not isinstance(port, int) or not 0 < port < 65536:
                raise BrokerSettingError("bad_port", f"{name} must be a TCP port (1-65535), "
                                         f"got {port!r}", name=name, port=repr(port))
        if self.terminal_port == self.relay_port:
            raise BrokerSettingError("same_ports", "terminal_port and relay_port must differ",
                                     port=self.relay_port)
        if (self.tls_cert is None) != (self.tls_key is None):
            raise BrokerSettingError("tls_pair", "tls_cert and tls_key must be given together")
        if self.tls_ca is not None and self.tls_cert is None:
            raise BrokerSettingError("tls_ca_alone", "tls_ca needs tls_cert and tls_key")
        if not self.terminal_bind or any(c.isspace() for c in self.terminal_bind):
            raise BrokerSettingError("bad_bind", f"invalid terminal_bind {self.terminal_bind!r}",
                                     value=repr(self.terminal_bind))
        if self.run_as_user is not None and (
            not self.run_as_user or any(c.isspace() for c in self.run_as_user)
        ):
            raise BrokerSettingError("bad_user", f"invalid run_as_user {self.run_as_user!r}",
                                     value=repr(self.run_as_user))

    @property
    def conf_path(self) -> Path:
        return self.directory / CONF_NAME

    @property
    def passwd_path(self) -> Path:
        return self.directory / PASSWD_NAME

    @property
    def acl_path(self) -> Path:
        return self.directory / ACL_NAME

    @property
    def pid_path(self) -> Path:
        return self.directory / PID_NAME

    @property
    def log_path(self) -> Path:
        """The broker's own log (``log_dest file``)."""
        return self.directory / LOG_NAME

    @property
    def plugin_path(self) -> Path:
        """The subscription check (``broker_config.plugin``), copied here by ``render``."""
        return self.directory / plugin.NAME

    @property
    def persistence_path(self) -> Path:
        return self.directory / PERSISTENCE_NAME

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


def _check_conf_value(what: str, value: str) -> None:
    """A newline or NUL in a value would let it inject extra lines into a rendered file."""
    if "\n" in value or "\r" in value or "\0" in value:
        raise BrokerSettingError("line_break", f"{what} must not contain line breaks or NUL: "
                                 f"{value!r}", name=what, value=repr(value))


def current_user() -> str:
    """The effective user's name: Mosquitto started as root would otherwise drop to 'mosquitto'
    and lose access to the home (decision 5)."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return getpass.getuser()


def render_conf(settings: BrokerSettings) -> str:
    """The text of mosquitto.conf (pure; ``render`` writes it)."""
    d = settings.directory
    for path in (d, settings.tls_cert, settings.tls_key, settings.tls_ca):
        if path is not None:
            _check_conf_value("path", str(path))
    user = settings.run_as_user or current_user()
    lines = [
        "# Rendered by broker_config.render: every edit here is overwritten.",
        "# One password file and one ACL shared by both listeners (never per listener: later",
        "# 2.0.x releases break last wills and offline queues with that); the relay is told",
        "# apart by its username, terminals by theirs.",
        "",
        "allow_anonymous false",
        f"password_file {settings.passwd_path}",
        f"acl_file {settings.acl_path}",
        "# The ACL grants any SUBSCRIBE: a terminal may subscribe to its own downlink topic",
        "# and nothing else (broker_config.plugin). Server accounts keep their ACL grants.",
        f"plugin {settings.plugin_path}",
        "",
        f"user {user}",
        f"pid_file {settings.pid_path}",
        "",
        "persistence true",
        f"persistence_location {d}",  # Mosquitto adds the "/"
        f"persistence_file {PERSISTENCE_NAME}",
        "autosave_on_changes false",
        f"autosave_interval {AUTOSAVE_SECONDS}",
        f"persistent_client_expiration {PERSISTENT_CLIENT_EXPIRATION}",
        "",
        "# Memory is the bound, never a count of messages; and no one client takes it all.",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        f"max_queued_bytes {MAX_QUEUED_BYTES}",
        f"memory_limit {MEMORY_LIMIT_BYTES}",
        f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
        f"max_packet_size {MAX_PACKET_SIZE}",
        "set_tcp_nodelay true",
        "",
        f"log_dest file {settings.log_path}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
        "log_timestamp true",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        "",
        "# Listener options below: use_username_as_clientid is one of them, and set before any",
        "# listener it would open a default listener on 1883.",
        "",
        "# Terminals. Listeners open in this order, so the relay's (last) accepting means",
        "# this one is open too: readiness is probed there, never with a half TLS handshake.",
        f"listener {settings.terminal_port} {settings.terminal_bind}",
        "# Identity is the username: a client cannot pick another terminal's client id.",
        "use_username_as_clientid true",
    ]
    if settings.tls_cert is not None and settings.tls_key is not None:
        lines += [f"certfile {settings.tls_cert}", f"keyfile {settings.tls_key}"]
        if settings.tls_ca is not None:
            lines.append(f"cafile {settings.tls_ca}")
    lines += [
        "",
        "# Relay and console: loopback only.",
        f"listener {settings.relay_port} 127.0.0.1",
        "use_username_as_clientid true",
    ]
    return "\n".join(lines) + "\n"


def _check_accounts(
    server_accounts: Iterable[Account], terminals: Iterable[Account]
) -> tuple[list[Account], list[Account]]:
    servers, terms = list(server_accounts), list(terminals)
    seen: set[str] = set()
    for account in servers:
        if not _SERVER_NAME.match(account.username):
            raise ValueError(
                f"invalid server account name {account.username!r}: it must start with "
                f"{RELAY_USER_PREFIX!r} followed by letters, digits, '_' or '-'"
            )
        for access, topic in account.grants:
            if access not in ACCESS:
                raise ValueError(f"invalid access {access!r} for {account.username!r}")
            # One ACL line per grant: no whitespace (the line's separator) or control chars.
            if not topic or any(c.isspace() or ord(c) < 32 or c == "\x7f" for c in topic):
                raise ValueError(f"invalid topic {topic!r} for {account.username!r}")
    for account in terms:
        if not valid_terminal_name(account.username):
            raise ValueError(f"invalid terminal name {account.username!r}")
        if account.grants:
            raise ValueError(f"terminal {account.username!r} takes no grants: the %u patterns apply")
    for account in servers + terms:
        if account.username in seen:
            raise ValueError(f"duplicate broker account {account.username!r}")
        seen.add(account.username)
        if not is_password_hash(account.password_hash):
            raise ValueError(f"password hash for {account.username!r} is not in $7$ format")
    return servers, terms


def render_passwd(server_accounts: Iterable[Account], terminals: Iterable[Account]) -> str:
    """The text of the password file (pure)."""
    servers, terms = _check_accounts(server_accounts, terminals)
    return "".join(f"{a.username}:{a.password_hash}\n" for a in servers + terms)


def render_acl(server_accounts: Iterable[Account]) -> str:
    """The text of the ACL (pure).

    Terminals get ``pattern`` lines keyed on ``%u`` (never ``%c``: the client id is the
    client's choice). Patterns apply to every user, so terminals need no lines of their own
    and adding one needs only a password-file change.
    """
    servers, _ = _check_accounts(server_accounts, [])
    t = f"{PREFIX}/t/%u"
    lines = [
        "# Rendered by broker_config.render: every edit here is overwritten.",
        "# Terminals: own uplink (write), own status (retained presence, last will), own downlink.",
        f"pattern write {t}/up",
        f"pattern readwrite {t}/status",
        "# down/# also matches the exact .../down topic (checked on Mosquitto 2.0.11).",
        f"pattern read {t}/down/#",
        "",
        "# Server accounts: each only what it does (a relay: read uplinks and status, write",
        "# downlinks). An account without a line below may log in and use no topic at all.",
    ]
    for account in servers:
        lines.append(f"user {account.username}")
        lines += [f"topic {access} {topic}" for access, topic in account.grants]
        lines.append("")
    return "\n".join(lines) + "\n"


def _broker_owner(settings: BrokerSettings) -> tuple[int, int] | None:
    """Who must own the broker's files: as root with another ``user``, Mosquitto reads them
    (and writes its log, pid and database) after dropping privileges. None = leave as is."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    try:
        import pwd

        entry = pwd.getpwnam(settings.run_as_user or current_user())
    except (ImportError, KeyError):
        return None  # Mosquitto itself refuses to start, with a clear message
    if entry.pw_uid == 0:
        return None
    return entry.pw_uid, entry.pw_gid


def render(
    settings: BrokerSettings, server_accounts: Iterable[Account], terminals: Iterable[Account]
) -> None:
    """Write mosquitto.conf, the password file and the ACL atomically, all 0600 (the broker
    runs as their owner: ``_broker_owner``; nobody else on the machine reads who may log in).

    Everything is validated before anything is written, so a bad account leaves the files as
    they were. Call ``reload`` afterwards to apply it to a running broker.
    """
    servers, terms = _check_accounts(server_accounts, terminals)
    conf = render_conf(settings)
    passwd = render_passwd(servers, terms)
    acl = render_acl(servers)
    owner = _broker_owner(settings)
    settings.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if owner is not None:
        # The broker's own files too, in case an earlier run created them as another user.
        for path in (settings.directory, settings.log_path, settings.persistence_path):
            with contextlib.suppress(FileNotFoundError):
                os.chown(path, *owner)
    plugin.install(settings.directory, owner)
    write_atomic(settings.passwd_path, passwd, 0o600, owner)
    write_atomic(settings.acl_path, acl, 0o600, owner)
    write_atomic(settings.conf_path, conf, 0o600, owner)


def read_pid(settings: BrokerSettings) -> int | None:
    """The pid of the broker running for ``settings``, or None (no pid file, stale, not ours)."""
    try:
        pid = int(settings.pid_path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by someone else
    # A stale pid file may name a pid since reused by an unrelated process: never signal it.
    # A zombie (exited, not yet reaped) has an empty cmdline: not running either.
    if Path("/proc/self").exists():
        try:
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            return None
        if b"mosquitto" not in os.path.basename(argv0):
            return None
    return pid


_RELOAD_MARK = b"Reloading config."
_RELOAD_WAIT = 5.0


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def log_since(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as f:
            if f.seek(0, os.SEEK_END) < offset:
                offset = 0  # log truncated or replaced meanwhile
            f.seek(offset)
            return f.read()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _await_log(path: Path, offset: int, pid: int, needle: bytes, timeout: float) -> bytes | None:
    """The log past ``offset`` once it holds ``needle``; None if the broker dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        text = log_since(path, offset)
        if needle in text:
            return text
        if time.monotonic() >= deadline or not _alive(pid):
            return None
        time.sleep(0.01)


def _await_log_mark(path: Path, offset: int, pid: int, timeout: float) -> bool:
    """Wait until the broker logs the reload mark past ``offset`` (or dies, or time runs out)."""
    return _await_log(path, offset, pid, _RELOAD_MARK, timeout) is not None


def _reload_errors(settings: BrokerSettings, offset: int, pid: int, timeout: float) -> list[str]:
    """The errors Mosquitto logged while reloading (an unreadable password file, an entry it
    removed...). It reloads everything in one go before it serves another socket, so a
    connection opened now is logged after the last of them: that line is the end mark."""
    try:
        probe = socket.create_connection(("127.0.0.1", settings.relay_port), timeout=timeout)
    except OSError:
        probe = None
    try:
        if probe is not None:
            port = probe.getsockname()[1]
            _await_log(settings.log_path, offset, pid, f"127.0.0.1:{port} ".encode(), timeout)
        text = log_since(settings.log_path, offset).decode("utf-8", "replace")
    finally:
        if probe is not None:
            probe.close()
    errors = []
    for line in text.splitlines():
        message = line.split(": ", 1)[1] if re.match(r"^\S+: ", line) else line
        if message.startswith("Error"):
            errors.append(message.removeprefix("Error: ").strip())
    return errors


def reload(settings: BrokerSettings, *, wait: float = _RELOAD_WAIT) -> bool:
    """SIGHUP the broker whose pid is in ``pid_path``; False if none is running.

    Mosquitto then rereads the password file and the ACL and disconnects clients whose
    credentials are gone or changed (listeners are not reloaded). The signal is handled on the
    broker's next loop iteration, which logs "Reloading config." and then applies everything
    before it touches another socket; so we wait (up to ``wait`` seconds, 0 = don't) for that
    line: a client connecting after this returns meets the new credentials. Mosquitto never
    refuses a reload, it logs an error and keeps going without the entries (or the whole
    password file: every login then fails), so the errors it logged raise ``ReloadError``,
    as does a broker that cannot be signalled or never reloads.
    """
    pid = read_pid(settings)
    if pid is None:
        return False
    offset = log_size(settings.log_path)
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return False
    except PermissionError:
        raise ReloadError(
            "cannot_signal", f"cannot tell the broker (pid {pid}) to reload: it runs as another "
            f"user; restart it as the owner of {settings.directory}", pid=pid,
            folder=settings.directory) from None
    if wait <= 0:
        return True
    if not _await_log_mark(settings.log_path, offset, pid, wait):
        if not _alive(pid):
            raise ReloadError("broker_stopped", f"the broker (pid {pid}) stopped; see "
                              f"{settings.log_path}", pid=pid, log=settings.log_path)
        raise ReloadError("no_reload", f"the broker (pid {pid}) did not reload within {wait:g} s; "
                          f"see {settings.log_path}", pid=pid, seconds=f"{wait:g}",
                          log=settings.log_path)
    errors = _reload_errors(settings, offset, pid, wait)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ReloadError("reload_refused" if len(errors) == 1 else "reload_refused_more",
                          f"the broker did not take its new files: {errors[0]}{more}; "
                          f"see {settings.log_path}", error=errors[0], more=len(errors) - 1,
                          log=settings.log_path)
    return True
