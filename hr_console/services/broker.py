"""Keeps the broker's password file and ACL equal to the database: the terminals that are
enrolled and not revoked, plus the server accounts (the relays, and ``_bench`` in a bench's
home), each with its own password from relais.toml and only the topics it uses.

The console has no broker account: it never publishes (use cases queue a ``Downlink`` row
that a relay sends), so an account for it would only be one more password to steal."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from broker_config.passwords import hash_password
from broker_config.render import (  # noqa: F401 - ReloadError is part of apply's contract
    RELAY_GRANTS,
    Account,
    BrokerSettings,
    Grant,
    ReloadError,
    reload,
    render,
)
from hr_console.config import RELAY_INSTANCES, Settings
from hr_console.store.models import Terminal
from relais_wire import topics

# The raw-broker benchmark publishes as this terminal and reads its uplink as _bench: the
# only thing that account may do, and it exists only in homes that asked for it
# (``with_secrets(cfg, (BENCH_ACCOUNT,))``, done by the benchmark's temporary home).
BENCH_ACCOUNT = "_bench"
BENCH_TERMINAL = "bench-raw"
BENCH_GRANTS: tuple[Grant, ...] = (("read", topics.uplink(BENCH_TERMINAL)),)


def home_owner(cfg: Settings) -> str | None:
    """The name of the account that owns the home (None: no home yet, or a uid without a
    name). The services run as that account, so the broker's ``user`` is it, never the
    account (root) that happened to run an admin command."""
    import pwd

    try:
        return pwd.getpwuid(cfg.home.stat().st_uid).pw_name
    except (OSError, KeyError):
        return None


def broker_settings(cfg: Settings) -> BrokerSettings:
    from pathlib import Path

    return BrokerSettings(
        directory=cfg.broker_dir, terminal_port=cfg.mqtt_port, relay_port=cfg.relay_port,
        terminal_bind=cfg.mqtt_bind,
        tls_cert=Path(cfg.tls_cert) if cfg.tls_cert else None,
        tls_key=Path(cfg.tls_key) if cfg.tls_key else None,
        tls_ca=Path(cfg.tls_ca) if cfg.tls_ca else None,
        run_as_user=home_owner(cfg),
    )


def server_accounts(cfg: Settings) -> list[Account]:
    """Relays 1..RELAY_INSTANCES (each its own password) and, where asked for, _bench.
    A relay instance without a password in relais.toml gets no account rather than a guessable
    one; ``relais`` fills them in at start (``config.upgrade_secrets``)."""
    accounts = [
        Account(name, hash_password(cfg.server_passwords[name]), RELAY_GRANTS)
        for name in (cfg.relay_account(i) for i in range(1, RELAY_INSTANCES + 1))
        if name in cfg.server_passwords
    ]
    if BENCH_ACCOUNT in cfg.server_passwords:
        accounts.append(Account(BENCH_ACCOUNT, hash_password(cfg.server_passwords[BENCH_ACCOUNT]),
                                BENCH_GRANTS))
    return accounts


def terminal_accounts(session: Session) -> list[Account]:
    rows = session.execute(
        select(Terminal.name, Terminal.password_hash)
        .where(Terminal.active.is_(True), Terminal.password_hash.is_not(None))
        .order_by(Terminal.name)
    ).all()
    return [Account(name, digest) for name, digest in rows]


def apply(session: Session, cfg: Settings, settings: BrokerSettings | None = None) -> bool:
    """Render the broker files from the database and reload a running broker.
    Returns True when a running broker reloaded them; raises ``ReloadError`` (one line: why)
    when it was told to and did not take them."""
    settings = settings or broker_settings(cfg)
    render(settings, server_accounts(cfg), terminal_accounts(session))
    return reload(settings)
