"""Relais on a clustered ejabberd broker (broker_config/ejabberd.py): ``relais broker-auth``,
the password check ejabberd runs as its ``extauth_program``, and ``relais ejabberd render /
run / join`` to set up its nodes from a home (docs/deploy.md, "A clustered broker: ejabberd").

Why an external check rather than accounts copied into ejabberd: the database stays the one
source of truth for who may connect, exactly as with Mosquitto's rendered password file, and
nothing needs re-rendering when a terminal is enrolled, rotated or revoked: ejabberd asks at
every login (``auth_use_cache: false``).

The extauth protocol (ejabberd's documentation, "External Authentication"): each request is a
2-byte big-endian length then ``auth:User:Server:Password`` (or ``isuser:User:Server``,
``setpass``, ``tryregister``, ``removeuser``, ``removeuser3``); each answer is the length 2 then
1 (yes) or 0 (no). Anything this program cannot decide, it refuses: a database error is a
refused login, never an accepted one. Nothing but answers may go to stdout.

Registered on the root group by ``register(main)`` (``hr_console/cli/__init__.py``).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO

import click

from hr_console import config as config_mod
from hr_console.cli.common import fail
from hr_console.cli.i18n import Command, Group, _, _l

log = logging.getLogger("relais.broker_auth")


def relay_accounts(cfg: config_mod.Settings) -> tuple[str, ...]:
    """The home's relay accounts, as ejabberd's ACL lists them (lower-case)."""
    return tuple(cfg.relay_account(i).lower() for i in range(1, config_mod.RELAY_INSTANCES + 1))


class Checker:
    """Answers one extauth question from the home's settings and database."""

    def __init__(self, cfg: config_mod.Settings, domain: str) -> None:
        from hr_console.store.db import Store

        self.domain = domain
        self.store = Store(cfg.database_url)
        # ejabberd lower-cases usernames (nodeprep) before asking: so do we, for the relays.
        self.relays = {name.lower(): cfg.server_passwords[name]
                       for name in (cfg.relay_account(i)
                                    for i in range(1, config_mod.RELAY_INSTANCES + 1))
                       if name in cfg.server_passwords}

    def _terminal_hash(self, user: str) -> str | None:
        """The $7$ hash of an enrolled, not revoked terminal called ``user``; None otherwise."""
        from sqlalchemy import select

        from hr_console.store.models import Terminal
        from relais_wire.topics import valid_terminal_name

        if not valid_terminal_name(user):
            return None
        with self.store.session() as s:
            return s.execute(select(Terminal.password_hash).where(
                Terminal.name == user, Terminal.active.is_(True),
                Terminal.password_hash.is_not(None))).scalar_one_or_none()

    def auth(self, user: str, server: str, password: str) -> bool:
        from broker_config.passwords import verify_password

        if server != self.domain or not password:
            return False
        if user.startswith("_"):
            expected = self.relays.get(user)
            return expected is not None and hmac.compare_digest(
                expected.encode("utf-8"), password.encode("utf-8"))
        digest = self._terminal_hash(user)
        return digest is not None and verify_password(password, digest)

    def isuser(self, user: str, server: str) -> bool:
        if server != self.domain:
            return False
        return user in self.relays if user.startswith("_") else self._terminal_hash(user) is not None

    def answer(self, request: str) -> bool:
        """True or False for one request line; accounts are never changed from ejabberd."""
        op, _, rest = request.partition(":")
        if op == "auth":
            parts = rest.split(":", 2)  # the password may hold ':'
            return len(parts) == 3 and self.auth(*parts)
        if op == "isuser":
            parts = rest.split(":", 1)
            return len(parts) == 2 and self.isuser(*parts)
        return False  # setpass, tryregister, removeuser, removeuser3: enrolment is Relais's


def serve(checker: Checker, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Answer requests until ejabberd closes our stdin; returns how many were answered."""
    answered = 0
    while True:
        header = stdin.read(2)
        if len(header) < 2:
            return answered
        (length,) = struct.unpack(">H", header)
        body = stdin.read(length)
        if len(body) < length:
            return answered
        try:
            ok = checker.answer(body.decode("utf-8"))
        except Exception:  # noqa: BLE001 - whatever failed, the login is refused
            log.exception("broker-auth: refused a request it could not check")
            ok = False
        stdout.write(struct.pack(">HH", 2, 1 if ok else 0))
        stdout.flush()
        answered += 1


@click.command("broker-auth", cls=Command, help=_l(
    "ejabberd's extauth_program: check broker logins against the home's database."))
@click.option("--domain", default=None, help=_l("The ejabberd host the accounts belong to."))
@click.pass_obj
def broker_auth(obj: Any, domain: str | None) -> None:
    from broker_config.ejabberd import DOMAIN

    cfg = obj.cfg
    if not cfg.config_path.exists():
        raise click.ClickException(_("{home} is not a Relais home yet").format(home=cfg.home))
    checker = Checker(cfg, domain or DOMAIN)
    try:
        serve(checker, sys.stdin.buffer, sys.stdout.buffer)
    finally:
        checker.store.dispose()


def _node(obj: Any, name: str, directory: str, mqtt_port: int, epmd_port: int,
          cookie_file: str, mqtt_bind: str, dist_interface: str, tls: bool = False) -> Any:
    from broker_config.ejabberd import EjabberdNode, extauth_command

    cfg = obj.cfg
    if tls and not cfg.tls:
        raise click.ClickException(
            _("{home} has no TLS certificate: relais init --tls").format(home=cfg.home))
    try:
        cookie = Path(cookie_file).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(_("cannot read the cluster's cookie from {path}: {error}").format(
            path=cookie_file, error=getattr(exc, "strerror", None) or exc)) from None
    try:
        return EjabberdNode(name=name, directory=Path(directory), mqtt_port=mqtt_port,
                            epmd_port=epmd_port, cookie=cookie, extauth=extauth_command(cfg.home),
                            relay_accounts=relay_accounts(cfg), mqtt_bind=mqtt_bind,
                            dist_interface=dist_interface,
                            tls_cert=Path(cfg.tls_cert) if tls else None,
                            tls_key=Path(cfg.tls_key) if tls else None,
                            tls_ca=Path(cfg.tls_ca) if tls and cfg.tls_ca else None)
    except ValueError as exc:
        raise fail(exc) from None


def _node_options(f: Any) -> Any:
    for option in reversed([
        click.option("--node", "name", required=True,
                     help=_l("Erlang node name, e.g. relais-a@host1.")),
        click.option("--dir", "directory", required=True, help=_l("The node's own directory.")),
        click.option("--mqtt-port", type=int, required=True, help=_l("The node's MQTT port.")),
        click.option("--epmd-port", type=int, required=True, help=_l("The cluster's epmd port.")),
        click.option("--cookie-file", required=True,
                     help=_l("File holding the cluster's cookie.")),
        click.option("--mqtt-bind", default="127.0.0.1", show_default=True),
        click.option("--dist-interface", default="127.0.0.1", show_default=True,
                     help=_l("IPv4 address other nodes reach this one on.")),
    ]):
        f = option(f)
    return f


@click.group("ejabberd", cls=Group,
             help=_l("Run the broker as a cluster of ejabberd nodes (mod_mqtt)."))
def ejabberd_group() -> None:
    pass


@ejabberd_group.command("render",
                        help=_l("Write a node's ejabberd.yml and cookie from the home's settings."))
@_node_options
@click.option("--tls", is_flag=True,
              help=_l("TLS on the MQTT listener with the home's certificate (the terminals' node)."))
@click.pass_obj
def ejabberd_render(obj: Any, **kw: Any) -> None:
    from broker_config.ejabberd import render

    node = _node(obj, **kw)
    try:
        render(node)
    except (OSError, ValueError) as exc:
        raise fail(exc) from None
    click.echo(str(node.config_path))


@ejabberd_group.command("run", help=_l(
    "Render and run a node in the foreground (a service manager's ExecStart) until SIGTERM. "
    "Erlang starts the cluster's epmd on --epmd-port if none answers there. Meanwhile, every "
    "--watch-every seconds, a terminal revoked or given a new password in the database has its "
    "open connections closed anywhere in the cluster (ejabberd checks at login only)."))
@_node_options
@click.option("--watch-every", type=click.FloatRange(0.5, 3600), default=2.0, show_default=True,
              help=_l("Seconds between looks for revoked terminals whose connections to close."))
@click.option("--tls", is_flag=True,
              help=_l("TLS on the MQTT listener with the home's certificate (the terminals' node)."))
@click.pass_obj
def ejabberd_run(obj: Any, watch_every: float, **kw: Any) -> None:
    import signal
    import time

    from broker_config.ejabberd import EjabberdProcess, kick, render
    from hr_console.store.db import Store

    node = _node(obj, **kw)
    proc = EjabberdProcess(node)
    try:
        render(node)
        proc.start()
    except (OSError, RuntimeError, ValueError) as exc:
        raise fail(exc) from None
    signal.signal(signal.SIGTERM, lambda *_: proc.stop())
    store = Store(obj.cfg.database_url)
    watch = LoginWatch(store)
    next_look = time.monotonic() + watch_every
    try:
        while proc.running:
            time.sleep(0.5)
            if time.monotonic() < next_look:
                continue
            next_look = time.monotonic() + watch_every
            try:
                for name in watch.lost():
                    log.info("%s lost its login: %d session(s) closed", name, kick(node, name))
                    watch.closed(name)
            except Exception:  # noqa: BLE001 - the broker keeps running; the next look retries
                log.exception("could not check for revoked terminals")
    except KeyboardInterrupt:
        pass
    finally:
        proc.stop()
        store.dispose()


class LoginWatch:
    """Which terminals lost their login since the last look: revoked, deleted or given a new
    password (an old connection must not outlive the credentials it was opened with). A name
    stays pending until ``closed`` says its sessions were closed."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.pending: set[str] = set()
        self.seen: dict[str, str] | None = None
        with contextlib.suppress(Exception):  # a database not up yet: the first look starts it
            self.seen = self._logins()

    def _logins(self) -> dict[str, str]:
        from sqlalchemy import select

        from hr_console.store.models import Terminal

        with self.store.session() as s:
            rows = s.execute(select(Terminal.name, Terminal.password_hash).where(
                Terminal.active.is_(True), Terminal.password_hash.is_not(None))).all()
        return {name: digest for name, digest in rows}

    def lost(self) -> list[str]:
        now = self._logins()
        if self.seen is not None:
            self.pending |= {name for name, digest in self.seen.items() if now.get(name) != digest}
        self.seen = now
        return sorted(self.pending)

    def closed(self, name: str) -> None:
        self.pending.discard(name)


@ejabberd_group.command("join", help=_l("Have a running node join the cluster of ``--seed``."))
@_node_options
@click.option("--seed", required=True,
              help=_l("A node of the cluster to join, e.g. relais-a@host1."))
@click.pass_obj
def ejabberd_join(obj: Any, seed: str, **kw: Any) -> None:
    from broker_config.ejabberd import cluster_members, ctl

    node = _node(obj, **kw)
    try:
        result = ctl(node, "join_cluster", seed)
        if result.returncode != 0:
            raise click.ClickException(_("join_cluster failed: {output}").format(
                output=(result.stdout + result.stderr).strip()))
        click.echo(" ".join(cluster_members(node)))
    except RuntimeError as exc:  # no Erlang here
        raise fail(exc) from None


@ejabberd_group.command("kick", help=_l(
    "Close the live MQTT sessions of USERNAME in the cluster (after a revocation: ejabberd "
    "checks passwords at login only)."))
@_node_options
@click.argument("username")
@click.pass_obj
def ejabberd_kick(obj: Any, username: str, **kw: Any) -> None:
    from broker_config.ejabberd import kick

    try:
        closed = kick(_node(obj, **kw), username)
    except (RuntimeError, ValueError) as exc:
        raise fail(exc) from None
    click.echo(_("{username}: {closed} session(s) closed").format(username=username, closed=closed))


def register(main: click.Group) -> None:
    main.add_command(broker_auth)
    main.add_command(ejabberd_group)
