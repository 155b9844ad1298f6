"""Run Relais's broker as a cluster of ejabberd nodes (``mod_mqtt``) instead of one Mosquitto.

Why: one Mosquitto is one process on one machine. ejabberd (Debian: ``apt-get install
ejabberd``, 23.01 in bookworm) speaks MQTT 3.1.1 and 5 through ``mod_mqtt`` and its Erlang
nodes form a cluster (Mnesia replicates sessions and subscriptions), so terminals of a site can
connect to one node while the relays connect to another and every message still reaches its
subscriber (docs/deploy.md, "A clustered broker: ejabberd").

The identity model is Mosquitto's (docs/architecture.md, decision 1): the MQTT username is the
identity; ``access_publish`` / ``access_subscribe`` filters keyed on ``%u`` give a terminal its
own uplink, status and downlink only, and the relay accounts (``_relay-N``) every uplink and
status and every downlink to write. Credentials are not copied into ejabberd: its
``auth_method: external`` asks ``relais broker-auth`` (hr_console/cli/ejabberd.py), which checks
the database's ``$7$`` hashes and the relays' passwords on every login, so a revoked terminal is
refused at its next connection without re-rendering anything (``auth_use_cache: false``).

What ejabberd 23.01 does not do: MQTT 5 shared subscriptions. A SUBSCRIBE to ``$share/...``
makes it close the connection (DISCONNECT 0x9E, "Shared Subscriptions not supported"): relays
must subscribe per terminal or with plain wildcards.

Every node is private: its own directory (config, Mnesia spool, logs, Erlang cookie as
``$HOME/.erlang.cookie``, never on a command line), its own Erlang node name, and an ``epmd``
of the cluster's own on its own port (``EpmdProcess``), so nothing here touches a system
ejabberd, RabbitMQ's epmd or the system Mosquitto on 1883.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from broker_config.errors import BrokerError, BrokerSettingError
from broker_config.process import _accepts, _tail, terminate
from relais_wire.topics import PREFIX

CONFIG_NAME = "ejabberd.yml"
LOG_NAME = "ejabberd.log"
OUT_NAME = "erl.out"
SPOOL_NAME = "db"
COOKIE_NAME = ".erlang.cookie"  # read from $HOME, which is the node's directory

DOMAIN = "relais"  # the ejabberd virtual host; an MQTT username "kiosk-1" is kiosk-1@relais
ERLANG_LIBS = "/usr/lib/x86_64-linux-gnu"  # where Debian puts ejabberd-23.01 and its deps

# Mosquitto's limits (broker_config.render), in ejabberd's words: never drop queued QoS 1
# messages on a count a burst can reach; persistent sessions live as long as Mosquitto's.
MAX_QUEUE = 100_000
MAX_FSM_QUEUE = 100_000
MAX_PAYLOAD_BYTES = 1024 * 1024
SESSION_EXPIRY_SECONDS = 14 * 24 * 3600
LISTEN_BACKLOG = 1024

RELAY_ACCESS = "relais_relay"
TERMINAL_ACCESS = "relais_terminal"
RELAY_ACL = "relais_relays"

_T = f"{PREFIX}/t"
# (topic filter, access rule). A topic (or a subscribed filter) passes if one filter matches it
# and that filter's rule allows the user; with a list given, nothing else passes. "%u" is the
# authenticated username; a terminal's subscription to "+" or "#" never equals it.
PUBLISH_RULES: tuple[tuple[str, str], ...] = (
    (f"{_T}/%u/up", TERMINAL_ACCESS),
    (f"{_T}/%u/status", TERMINAL_ACCESS),
    (f"{_T}/+/down/#", RELAY_ACCESS),
)
SUBSCRIBE_RULES: tuple[tuple[str, str], ...] = (
    (f"{_T}/%u/down/#", TERMINAL_ACCESS),
    (f"{_T}/%u/status", TERMINAL_ACCESS),
    (f"{_T}/+/up", RELAY_ACCESS),
    (f"{_T}/+/status", RELAY_ACCESS),
)


def ejabberd_installed() -> bool:
    """True when Debian's ejabberd and Erlang are here (tests skip otherwise)."""
    return shutil.which("erl") is not None and any(Path(ERLANG_LIBS).glob("ejabberd-*/ebin"))


def new_cookie() -> str:
    """A cluster's Erlang cookie: whoever has it can run code in every node, so it is long,
    random and kept in files of mode 0600 only."""
    return secrets.token_hex(24)


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON's quoting is valid YAML for these strings)."""
    if any(c in value for c in "\n\r\0"):
        raise BrokerSettingError("line_break", f"line break or NUL in a configuration value: "
                                 f"{value!r}", name="a configuration value", value=repr(value))
    return json.dumps(value)


@dataclass(frozen=True)
class EjabberdNode:
    """One node of the cluster: where it lives, its Erlang name and its MQTT listener.

    ``name`` is the Erlang node name (``relais-a@localhost``; a host with a dot means a long
    name, ``-name`` instead of ``-sname``). All nodes of a cluster share ``cookie``,
    ``epmd_port``, ``relay_accounts`` and ``extauth`` (the command checking passwords).
    """

    name: str
    directory: Path
    mqtt_port: int
    epmd_port: int
    cookie: str = field(repr=False)
    extauth: tuple[str, ...]
    relay_accounts: tuple[str, ...]
    mqtt_bind: str = "127.0.0.1"
    dist_interface: str = "127.0.0.1"  # where Erlang distribution listens (other nodes)
    extauth_pool_size: int = 2
    tls_cert: Path | None = None  # TLS on the MQTT listener (the terminals' node): PEM files
    tls_key: Path | None = None
    tls_ca: Path | None = None  # the CA that signed tls_cert (a private one: Relais's local CA)

    def __post_init__(self) -> None:
        object.__setattr__(self, "directory", Path(self.directory).absolute())
        for name in ("tls_cert", "tls_key", "tls_ca"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value).absolute())
        if (self.tls_cert is None) != (self.tls_key is None):
            raise BrokerSettingError("tls_pair", "tls_cert and tls_key must be given together")
        if "@" not in self.name or any(c.isspace() or c in "'\"" for c in self.name):
            raise BrokerSettingError("bad_node_name", f"an Erlang node name looks like "
                                     f"relais-a@localhost, not {self.name!r}", value=repr(self.name))
        for port_name in ("mqtt_port", "epmd_port"):
            port = getattr(self, port_name)
            if not isinstance(port, int) or not 0 < port < 65536:
                raise BrokerSettingError("bad_port", f"{port_name} must be a TCP port (1-65535), "
                                         f"got {port!r}", name=port_name, port=repr(port))
        if not self.cookie.isalnum() or len(self.cookie) < 20:
            raise BrokerSettingError("bad_cookie", "the cookie must be at least 20 letters or "
                                     "digits (new_cookie())")
        if not self.extauth or any(not a or any(c.isspace() for c in a) for a in self.extauth):
            # ejabberd splits extauth_program on spaces: an argument may not hold one (a home
            # or a Python environment whose path has a space).
            raise BrokerSettingError("bad_extauth", f"extauth arguments may not be empty or "
                                     f"contain spaces: {self.extauth!r}",
                                     value=" ".join(self.extauth))
        if any(not a.startswith("_") for a in self.relay_accounts):
            raise BrokerSettingError("bad_relay_account", "relay accounts start with '_' (a "
                                     "terminal name never does)")
        _dotted_quad(self.dist_interface)

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_NAME

    @property
    def log_path(self) -> Path:
        return self.directory / LOG_NAME

    @property
    def out_path(self) -> Path:
        return self.directory / OUT_NAME

    @property
    def spool_dir(self) -> Path:
        return self.directory / SPOOL_NAME

    @property
    def long_name(self) -> bool:
        return "." in self.name.split("@", 1)[1]


def _dotted_quad(address: str) -> tuple[int, ...]:
    parts = address.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise BrokerSettingError("bad_interface", f"dist_interface must be an IPv4 address, "
                                 f"not {address!r}", value=repr(address))
    return tuple(int(p) for p in parts)


def render_config(node: EjabberdNode) -> str:
    """The text of the node's ejabberd.yml (pure; ``render`` writes it). Only mod_mqtt is
    loaded: no XMPP, HTTP or admin listener exists to attack."""
    relays = "\n".join(f"      - {_q(a)}" for a in node.relay_accounts) or '      - "_none"'
    tls = ""
    certfiles = ""
    if node.tls_cert is not None and node.tls_key is not None:
        # mod_mqtt serves the certificate ejabberd_pkix holds (certfiles), with TLS from the
        # first byte (no STARTTLS in MQTT), like Mosquitto's TLS listener.
        tls = "    tls: true\n"
        files = [node.tls_cert, node.tls_key, *([node.tls_ca] if node.tls_ca else [])]
        certfiles = "certfiles:\n" + "".join(f"  - {_q(str(f))}\n" for f in files)
    publish = "\n".join(f"      {_q(f)}: {a}" for f, a in PUBLISH_RULES)
    subscribe = "\n".join(f"      {_q(f)}: {a}" for f, a in SUBSCRIBE_RULES)
    return f"""\
# Rendered by broker_config.ejabberd: every edit here is overwritten.
hosts:
  - {_q(DOMAIN)}
loglevel: info
hide_sensitive_log_data: true
listen:
  -
    port: {node.mqtt_port}
    ip: {_q(node.mqtt_bind)}
    module: mod_mqtt
    backlog: {LISTEN_BACKLOG}
    max_payload_size: {MAX_PAYLOAD_BYTES}
    max_fsm_queue: {MAX_FSM_QUEUE}
{tls}{certfiles}# Passwords stay in Relais's database: each login is checked by `relais broker-auth`, never
# cached, so a revoked terminal is refused at its next connection.
auth_method: external
extauth_program: {_q(" ".join(node.extauth))}
extauth_pool_size: {node.extauth_pool_size}
auth_use_cache: false
acme:
  auto: false
acl:
  {RELAY_ACL}:
    user:
{relays}
access_rules:
  {RELAY_ACCESS}:
    allow: {RELAY_ACL}
  {TERMINAL_ACCESS}:
    deny: {RELAY_ACL}
    allow: all
modules:
  mod_mqtt:
    max_queue: {MAX_QUEUE}
    session_expiry: {SESSION_EXPIRY_SECONDS}
    access_publish:
{publish}
    access_subscribe:
{subscribe}
"""


def render(node: EjabberdNode) -> None:
    """Write the node's config and cookie (mode 0600) and make its spool directory."""
    node.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    node.spool_dir.mkdir(exist_ok=True, mode=0o700)
    for path, text in ((node.config_path, render_config(node)),
                       (node.directory / COOKIE_NAME, node.cookie)):
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)


def _env(node: EjabberdNode) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "HOME": str(node.directory),  # Erlang reads the cookie from $HOME/.erlang.cookie
        "ERL_LIBS": ERLANG_LIBS,
        "ERL_EPMD_PORT": str(node.epmd_port),
        "ERL_EPMD_ADDRESS": node.dist_interface,
        "ERL_CRASH_DUMP_BYTES": "0",
        "EJABBERD_CONFIG_PATH": str(node.config_path),
        "EJABBERD_LOG_PATH": str(node.log_path),
    })
    env.pop("EJABBERD_PID_PATH", None)
    return env


def _dist_args(node: EjabberdNode, name: str) -> list[str]:
    interface = "{" + ",".join(str(p) for p in _dotted_quad(node.dist_interface)) + "}"
    return ["-name" if node.long_name else "-sname", name,
            "-kernel", "inet_dist_use_interface", interface]


def _erl() -> str:
    found = shutil.which("erl")
    if found is None:
        raise BrokerError("no_erlang", "Erlang is not installed (Debian: apt-get install "
                          "ejabberd)")
    return found


class EpmdProcess:
    """The cluster's own Erlang port mapper, a child of ours on ``port`` (foreground, so
    ``stop`` ends it: no daemon left behind, and the system's epmd is never touched)."""

    def __init__(self, port: int, directory: Path, address: str = "127.0.0.1") -> None:
        self.port, self.directory, self.address = port, Path(directory), address
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 5.0) -> None:
        epmd = shutil.which("epmd") or str(Path(_erl()).parent / "epmd")
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "epmd.out").open("ab") as out:
            self._proc = subprocess.Popen(
                [epmd, "-port", str(self.port), "-address", self.address],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while not _accepts(self.address, self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BrokerError("epmd_failed", f"epmd did not start on port {self.port}",
                                  tail=_tail(self.directory / "epmd.out").strip(), port=self.port)
            time.sleep(0.05)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class EjabberdProcess:
    """One ejabberd node as a child process (``erl ... -s ejabberd``, not ``ejabberdctl``,
    which insists on /etc/ejabberd, the ``ejabberd`` user and its own node name).
    ``render`` the node before ``start``; the cluster's epmd must run."""

    def __init__(self, node: EjabberdNode) -> None:
        self.node = node
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _failure(self, code: str, reason: str, **detail: object) -> BrokerError:
        parts = []
        for path in (self.node.out_path, self.node.log_path):
            tail = _tail(path).strip()
            if tail:
                parts.append(f"--- {path} (tail) ---\n{tail}")
        return BrokerError(code, f"ejabberd node {self.node.name} {reason}",
                           tail="\n".join(parts), node=self.node.name, **detail)

    def start(self, timeout: float = 60.0) -> None:
        """Spawn the node and return once its MQTT listener accepts connections."""
        if self.running:
            raise BrokerError("node_running", f"ejabberd node {self.node.name} already runs",
                              node=self.node.name)
        if not self.node.config_path.is_file():
            raise BrokerError("no_node_configuration", f"no ejabberd configuration at "
                              f"{self.node.config_path}: render it", path=self.node.config_path)
        if _accepts(self.node.mqtt_bind, self.node.mqtt_port):
            raise BrokerError("port_taken", f"port {self.node.mqtt_port} is already taken",
                              port=self.node.mqtt_port)
        n = self.node
        cmd = [_erl(), *_dist_args(n, n.name), "-noinput", "-noshell", "+K", "true",
               "+P", "250000", "-mnesia", "dir", json.dumps(str(n.spool_dir)), "-s", "ejabberd"]
        with n.out_path.open("ab") as out:
            self._proc = subprocess.Popen(
                cmd, env=_env(n), cwd=n.directory, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        self._await_listener(timeout)

    def _await_listener(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not _accepts(self.node.mqtt_bind, self.node.mqtt_port):
            if self._proc is None or self._proc.poll() is not None:
                code = self._proc.returncode if self._proc is not None else None
                self._proc = None
                raise self._failure("node_exited", f"exited with status {code} while starting",
                                    status=code)
            if time.monotonic() > deadline:
                self.kill()
                raise self._failure("node_not_ready", f"did not accept MQTT connections within "
                                    f"{timeout:g}s", seconds=f"{timeout:g}")
            time.sleep(0.1)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (the Erlang VM runs ``init:stop()``: Mnesia closes cleanly), then SIGKILL."""
        proc, self._proc = self._proc, None
        if proc is not None:
            terminate(proc, timeout)

    def kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def ctl(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run an ``ejabberdctl`` command against this node (a hidden Erlang node with the
        same cookie and epmd), e.g. ``ctl("list_cluster")``."""
        return ctl(self.node, *args, timeout=timeout)

    def join(self, seed: EjabberdNode, timeout: float = 60.0) -> None:
        """Join ``seed``'s cluster: this node drops its own Mnesia data, copies the cluster's,
        and restarts its ejabberd application (its MQTT listener closes for a moment)."""
        result = self.ctl("join_cluster", seed.name, timeout=timeout)
        if result.returncode != 0:
            raise self._failure("join_failed", f"could not join {seed.name}: "
                                f"{(result.stdout + result.stderr).strip()}", seed=seed.name,
                                output=(result.stdout + result.stderr).strip())
        deadline = time.monotonic() + timeout
        while True:
            members = cluster_members(self.node)
            if {seed.name, self.node.name} <= set(members) and _accepts(
                    self.node.mqtt_bind, self.node.mqtt_port):
                return
            if time.monotonic() > deadline:
                raise self._failure("not_joined", f"did not show {seed.name} in its cluster "
                                    f"within {timeout:g}s (members: {members})", seed=seed.name,
                                    seconds=f"{timeout:g}", members=" ".join(members))
            time.sleep(0.2)

    def __enter__(self) -> EjabberdProcess:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def ctl(node: EjabberdNode, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``ejabberdctl`` without the script: a hidden node named ``ctl-<random>`` runs
    ``ejabberd_ctl`` against ``node``. Exit status 0 is success (ejabberdctl's convention)."""
    host = node.name.split("@", 1)[1]
    cmd = [_erl(), *_dist_args(node, f"ctl-{uuid.uuid4().hex[:8]}@{host}"), "-hidden", "-noinput",
           "-noshell", "-s", "ejabberd_ctl", "-extra", node.name, *args]
    return subprocess.run(cmd, env=_env(node), cwd=node.directory, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, check=False)


def cluster_members(node: EjabberdNode) -> list[str]:
    """The nodes ``node`` sees in its cluster (``list_cluster``), empty if it does not answer."""
    result = ctl(node, "list_cluster")
    if result.returncode != 0:
        return []
    return [line.strip().strip("'") for line in result.stdout.splitlines() if "@" in line]


_ACCOUNT = re.compile(r"^[a-z0-9_][a-z0-9_-]{0,64}$")

# Erlang run by a hidden node: every live MQTT session of user U@S, on whichever node of the
# cluster it is (the session table is replicated), gets {replaced, _}, which mod_mqtt_session
# handles by sending DISCONNECT 0x8E and ending the session (expiry 0: nothing kept for it).
_KICK = """
Node = '{node}', U = <<"{user}">>, S = <<"{domain}">>,
USRs = rpc:call(Node, mod_mqtt_mnesia, get_sessions, [U, S]),
N = lists:foldl(fun(USR, Acc) ->
        case rpc:call(Node, mod_mqtt_mnesia, lookup_session, [USR]) of
            {{ok, Pid}} -> rpc:call(Node, erlang, send, [Pid, {{replaced, self()}}]), Acc + 1;
            _ -> Acc
        end
    end, 0, USRs),
io:format("~p~n", [N]), halt().
"""


def kick(node: EjabberdNode, username: str, timeout: float = 30.0) -> int:
    """Close every live MQTT session of ``username`` in the cluster; returns how many.

    ejabberd checks passwords at login only: a revoked terminal's open connection lives on
    until this is done (Mosquitto's reload drops it by itself)."""
    user = username.lower()
    if not _ACCOUNT.fullmatch(user):
        raise BrokerSettingError("bad_account", f"not a broker account name: {username!r}",
                                 value=repr(username))
    host = node.name.split("@", 1)[1]
    code = _KICK.format(node=node.name, user=user, domain=DOMAIN)
    cmd = [_erl(), *_dist_args(node, f"ctl-{uuid.uuid4().hex[:8]}@{host}"), "-hidden", "-noinput",
           "-noshell", "-eval", code]
    result = subprocess.run(cmd, env=_env(node), cwd=node.directory, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=timeout, check=False)
    last = result.stdout.strip().splitlines()[-1:] or [""]
    if result.returncode != 0 or not last[0].isdigit():
        output = (result.stdout + result.stderr).strip()
        raise BrokerError("kick_failed", f"could not close the sessions of {user} on "
                          f"{node.name}: {output}", user=user, node=node.name, output=output)
    return int(last[0])


def extauth_command(home: Path, python: str | None = None) -> tuple[str, ...]:
    """The ``extauth_program`` for a Relais home: this interpreter running ``relais
    broker-auth`` (hr_console/cli/ejabberd.py) on the home's database."""
    import sys

    return (python or sys.executable, "-m", "hr_console.cli", "--home", str(Path(home).absolute()),
            "broker-auth")


def nodes_for(home: Path, relays: Sequence[str], directory: Path, names: Sequence[str],
              mqtt_ports: Sequence[int], epmd_port: int, cookie: str) -> list[EjabberdNode]:
    """The nodes of one cluster serving a Relais home, each in ``directory/<short name>``.
    ``relays``: the home's relay accounts (hr_console.cli.ejabberd.relay_accounts), which
    ejabberd sees lower-cased (it applies nodeprep to usernames before any check)."""
    accounts = tuple(a.lower() for a in relays)
    return [EjabberdNode(name=name, directory=Path(directory) / name.split("@", 1)[0],
                         mqtt_port=port, epmd_port=epmd_port, cookie=cookie,
                         extauth=extauth_command(home), relay_accounts=accounts)
            for name, port in zip(names, mqtt_ports, strict=True)]
