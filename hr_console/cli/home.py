"""The home a command works on: creating and upgrading it, its private file modes, its
broker files, and the demo's logins and kiosk configurations. No command here: the command
modules (and the benchmark harness, and the tests) call these."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import click

from hr_console import config as config_mod
from hr_console.cli.i18n import _
from hr_console.config import Settings

log = logging.getLogger("relais")


def initialise(cfg: Settings) -> Settings:
    """Create or upgrade a home: settings with secrets, database schema, broker files."""
    from hr_console.store.migrate import upgrade

    cfg = config_mod.with_secrets(cfg)
    config_mod.save(cfg)
    upgrade(cfg.database_url)
    apply_broker(cfg)
    secure_home(cfg)
    return cfg


def sqlite_files(cfg: Settings) -> list[Path]:
    """The SQLite database and its companions, wherever db_url puts them."""
    prefix = "sqlite:///"
    if not cfg.database_url.startswith(prefix):
        return []
    db = Path(cfg.database_url[len(prefix):].split("?", 1)[0])
    return [db.with_name(db.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]


def _private(path: Path) -> None:
    """Take group and other bits off ``path`` (never following a symlink)."""
    try:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
            path.chmod(stat.S_IMODE(mode) & ~0o077)
    except FileNotFoundError:
        pass
    except PermissionError:
        log.warning("cannot make %s private (owned by another account?)", path)


def secure_home(cfg: Settings) -> None:
    """Make the home and everything in it private to this account (0700 directories, 0600
    files): homes made by earlier versions, or under a 022 umask, let every local account
    read the database. Mosquitto runs as the same account (or is given its files:
    broker_config.render), so it still reads its own. Only a Relais home is touched."""
    if not cfg.config_path.exists():
        return
    _private(cfg.home)
    for root, dirs, files in os.walk(cfg.home):  # os.walk does not follow symlinks
        for name in dirs + files:
            _private(Path(root) / name)
    for path in sqlite_files(cfg):
        _private(path)


def prepare_home(cfg: Settings) -> Settings:
    """What every long-running command does first on an existing home: private file modes,
    and the secrets this version needs (a home whose server accounts shared one password
    gets one per account, and the broker of this home is given them at once, reloading if
    it runs, so a relay starting next can log in)."""

    secure_home(cfg)
    upgraded = config_mod.upgrade_secrets(cfg)
    if upgraded is None:
        return cfg
    apply_broker(upgraded)
    log.info("server accounts in %s now have one password each", upgraded.config_path)
    return upgraded

def apply_broker(cfg: Settings) -> None:
    """Render the broker's files from the database (and reload a running broker)."""
    from hr_console.services import broker
    from hr_console.store.db import Store

    store = Store(cfg.database_url)
    try:
        with store.session() as s:
            broker.apply(s, cfg)
    finally:
        store.dispose()


def broker_process(cfg: Settings):  # noqa: ANN201
    """The home's broker, its files rendered from the database, not started yet."""
    from broker_config.process import BrokerProcess
    from hr_console.services import broker

    apply_broker(cfg)
    # Tied to this process: whatever ends it, even SIGKILL, Mosquitto does not outlive it.
    return BrokerProcess(broker.broker_settings(cfg), tie_to_parent=True)


def console_url(cfg: Settings) -> str:
    """Where a kiosk of this home reaches the console's kiosk API (served over plain HTTP by
    waitress; a wildcard bind address is reached on loopback)."""
    host = cfg.console_host if cfg.console_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{cfg.console_port}"


def save_kiosk_config(cfg: Settings, creds: dict[str, str], site: str | None = None) -> Path:
    """What a terminal's enrolment produces, kept for the demo's kiosks run from this home
    (``relais kiosk --terminal NAME``: ``make run``, the tests). Only the demo's terminals get
    one: a real terminal's password is shown once and kept on the terminal alone, by
    ``relais kiosk-enrol``. ``site`` is the name its idle screen shows (kept from the
    previous file when not given)."""
    path = cfg.home / "kiosks" / creds["username"] / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if site is None and path.exists():
        try:
            site = str(json.loads(path.read_text(encoding="utf-8")).get("site") or "")
        except (OSError, ValueError):
            site = None
    data = {"terminal": creds["username"], "password": creds["password"],
            "mqtt_host": cfg.public_mqtt_host or cfg.mqtt_host, "mqtt_port": cfg.mqtt_port,
            "tls_ca": cfg.tls_ca or None, "api_url": cfg.public_console_url or console_url(cfg),
            "site": site or ""}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    return path

def load_demo(cfg: Settings, password: str | None):  # noqa: ANN201
    from hr_console.services import broker, demo
    from hr_console.store.db import Store

    store = Store(cfg.database_url)
    try:
        with store.session() as s:
            if demo.exists(s):
                return None
            data = demo.create(s, cfg.badge_pepper, password)
            s.flush()
            broker.apply(s, cfg)
    finally:
        store.dispose()
    for creds in data.terminals.values():
        save_kiosk_config(cfg, creds, site=demo.SITE_NAME)
    return data


DEMO_NOTE = "demo-logins.txt"


def print_demo(data, cfg: Settings | None = None) -> None:  # noqa: ANN001
    """Print the demo logins, and keep them (mode 0600) in the home so that the next
    ``make run`` can show them again: a newcomer must never be locked out of the demo."""
    lines = [
        _("Demo console logins (user / password): {logins}").format(logins=", ".join(
            f"{r} / {data.password}" for r in ("admin", "hr", "supervisor", "auditor"))),
        _("Demo badges: {badges} (Julie's PIN: 4321)").format(
            badges=", ".join(f"{n} {b}" for n, b in data.badges.items())),
        _("Demo terminals: {names}").format(names=", ".join(data.terminals)),
    ]
    click.echo("\n".join(lines))
    if cfg is not None:
        fd = os.open(cfg.home / DEMO_NOTE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")

