"""Keeps the broker's password file and ACL equal to the database: the terminals that are
enrolled and not revoked, plus the server accounts (relays, console)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from broker_config.passwords import hash_password
from broker_config.render import Account, BrokerSettings, reload, render
from hr_console.config import Settings
from hr_console.store.models import Terminal

RELAY_INSTANCES = 8  # relay accounts _relay-1 .. _relay-8: several relays, one secret


def broker_settings(cfg: Settings) -> BrokerSettings:
    from pathlib import Path

    return BrokerSettings(
        directory=cfg.broker_dir, terminal_port=cfg.mqtt_port, relay_port=cfg.relay_port,
        terminal_bind=cfg.mqtt_bind,
        tls_cert=Path(cfg.tls_cert) if cfg.tls_cert else None,
        tls_key=Path(cfg.tls_key) if cfg.tls_key else None,
        tls_ca=Path(cfg.tls_ca) if cfg.tls_ca else None,
    )


def server_accounts(cfg: Settings) -> list[Account]:
    digest = hash_password(cfg.relay_password)
    names = [f"{cfg.relay_username}-{i}" for i in range(1, RELAY_INSTANCES + 1)]
    names += ["_console", "_bench"]
    return [Account(name, digest) for name in names]


def terminal_accounts(session: Session) -> list[Account]:
    rows = session.execute(
        select(Terminal.name, Terminal.password_hash)
        .where(Terminal.active.is_(True), Terminal.password_hash.is_not(None))
        .order_by(Terminal.name)
    ).all()
    return [Account(name, digest) for name, digest in rows]


def apply(session: Session, cfg: Settings, settings: BrokerSettings | None = None) -> bool:
    """Render the broker files from the database and reload a running broker.
    Returns True when a running broker was told to reload."""
    settings = settings or broker_settings(cfg)
    render(settings, server_accounts(cfg), terminal_accounts(session))
    return reload(settings)
