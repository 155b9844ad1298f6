"""The ``relais`` command. Every subcommand exits non-zero with a one-line reason when it
cannot do its job (docs/architecture.md, "Operating contract")."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import click

from hr_console import config as config_mod
from hr_console.config import Settings

log = logging.getLogger("relais")

# Whatever the caller's umask, what relais creates (the home, database, its -wal/-shm, broker
# files and logs, kiosk outboxes) is for this account alone: messages, photos, PIN hashes.
PRIVATE_UMASK = 0o077


class Ctx:
    def __init__(self, home: str | None, flags: dict[str, Any]) -> None:
        self.home = home
        self.flags = flags
        self._cfg: Settings | None = None
        self._prepared = False

    @property
    def cfg(self) -> Settings:
        """The home's settings, read once; from here on this process acts as the home's
        owner (``cli_owner``), so every command, whoever runs it, leaves only files the
        services can read."""
        if self._cfg is None:
            from hr_console.cli_owner import WrongUser, act_as_owner, home_of

            try:
                act_as_owner(home_of(self.home))
                self._cfg = config_mod.load(self.home, **self.flags)
            except (ValueError, WrongUser) as exc:
                raise click.ClickException(str(exc)) from None
        return self._cfg

    def ready_cfg(self) -> Settings:
        """Settings of an initialised home, or a clear error. The home is brought up to this
        version first (``prepare_home``): any command may be the first to run after an
        upgrade, and one that renders the broker files must not drop the relays' accounts."""
        if not self.cfg.config_path.exists():
            raise click.ClickException(
                f"{self.cfg.home} is not a Relais home yet: run `relais --home {self.cfg.home} init`")
        if not self._prepared:
            self._cfg = _prepared(self.cfg)
            self._prepared = True
        return self.cfg

    def store(self):  # noqa: ANN201 - keeps SQLAlchemy out of CLI start-up
        from hr_console.store.db import Store

        return Store(self.ready_cfg().database_url)


def _fail(exc: Exception) -> click.ClickException:
    if isinstance(exc, ModuleNotFoundError):
        return _missing_extra(exc)
    message = getattr(exc, "message", None) or str(exc)
    return click.ClickException(message)


class _Main(click.Group):
    """A broker that did not take its new files is one line and a non-zero exit, from any
    command (they all reach it through ``services.broker.apply``)."""

    def invoke(self, ctx: click.Context) -> Any:
        from broker_config.render import ReloadError

        try:
            return super().invoke(ctx)
        except ReloadError as exc:
            raise click.ClickException(str(exc)) from None
        except ModuleNotFoundError as exc:
            raise _missing_extra(exc) from None


# What each extra brings (pyproject.toml): a terminal installs relais[kiosk] and never gets the
# server's stack, so a server command there says what to install instead of a traceback.
_SERVER_MODULES = ("flask", "flask_", "sqlalchemy", "alembic", "psycopg", "waitress", "wtforms",
                   "cryptography", "babel", "limits")


def _missing_extra(exc: ModuleNotFoundError) -> click.ClickException:
    """One line naming the extra that provides the module this command could not import."""
    root = (exc.name or "").split(".")[0]
    if root == "kivy":
        return click.ClickException(f"the kiosk needs Kivy: pip install 'relais[kiosk]' ({exc})")
    if root.startswith(_SERVER_MODULES):
        return click.ClickException(f"this command runs on the server, which needs "
                                    f"pip install 'relais[server]' ({exc})")
    return click.ClickException(str(exc))


@click.group(cls=_Main)
@click.option("--home", envvar="RELAIS_HOME", default=None,
              help="Data directory (default ./var, or RELAIS_HOME).")
@click.option("--mqtt-port", type=int, default=None, help="The terminals' MQTT port.")
@click.option("--console-port", type=int, default=None, help="The console's HTTP port.")
@click.option("--db-url", default=None, help="Database URL (default: SQLite in the home).")
@click.option("--trusted-proxies", type=click.IntRange(0, 10), default=None,
              help="Reverse proxies in front of the console whose X-Forwarded-* to believe.")
@click.option("--public-mqtt-host", default=None,
              help="The broker's name as terminals reach it (given at enrolment).")
@click.option("--public-console-url", default=None,
              help="The console's address as terminals reach it, e.g. https://relais.usine.local.")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def main(ctx: click.Context, home: str | None, mqtt_port: int | None, console_port: int | None,
         db_url: str | None, trusted_proxies: int | None, public_mqtt_host: str | None,
         public_console_url: str | None, verbose: bool) -> None:
    """Relais: HR-moderated messaging for shop-floor terminals."""
    os.umask(PRIVATE_UMASK)  # first, before anything is created; Mosquitto inherits it
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)
    ctx.obj = Ctx(home, {"mqtt_port": mqtt_port, "console_port": console_port, "db_url": db_url,
                         "trusted_proxies": trusted_proxies, "public_mqtt_host": public_mqtt_host,
                         "public_console_url": public_console_url})


# --- setting up ---------------------------------------------------------------------------


def initialise(cfg: Settings) -> Settings:
    """Create or upgrade a home: settings with secrets, database schema, broker files."""
    from hr_console.services import broker
    from hr_console.store.db import Store
    from hr_console.store.migrate import upgrade

    cfg = config_mod.with_secrets(cfg)
    config_mod.save(cfg)
    upgrade(cfg.database_url)
    store = Store(cfg.database_url)
    try:
        with store.session() as s:
            broker.apply(s, cfg)
    finally:
        store.dispose()
    secure_home(cfg)
    return cfg


def _sqlite_files(cfg: Settings) -> list[Path]:
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
    for path in _sqlite_files(cfg):
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
    _apply_broker(upgraded)
    log.info("server accounts in %s now have one password each", upgraded.config_path)
    return upgraded


@main.command()
@click.option("--tls", is_flag=True,
              help="Encrypt the terminals' listener with a local CA made in HOME/tls.")
@click.option("--tls-host", "tls_hosts", multiple=True,
              help="A name or address terminals use to reach this machine (repeatable; "
                   "default: this host's names and 127.0.0.1).")
@click.pass_obj
def init(obj: Ctx, tls: bool, tls_hosts: tuple[str, ...]) -> None:
    """Create the home: settings, database, broker configuration."""
    from dataclasses import replace

    cfg = obj.cfg
    try:
        if tls or tls_hosts:
            from broker_config.tls import make_local_ca

            files = make_local_ca(cfg.home / "tls", list(tls_hosts) or None)
            cfg = replace(cfg, tls_cert=str(files.cert), tls_key=str(files.key),
                          tls_ca=str(files.ca_cert))
        cfg = initialise(cfg)
    except Exception as exc:
        raise _fail(exc) from None
    click.echo(f"Relais home ready in {cfg.home} (database {cfg.database_url.split('@')[-1]})")
    if cfg.tls:
        click.echo(f"Terminals connect with TLS on port {cfg.mqtt_port}; they trust {cfg.tls_ca} "
                   "(sent to each terminal at enrolment).")


def _console_url(cfg: Settings) -> str:
    """Where a kiosk of this home reaches the console's kiosk API (served over plain HTTP by
    waitress; a wildcard bind address is reached on loopback)."""
    host = cfg.console_host if cfg.console_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{cfg.console_port}"


def _save_kiosk_config(cfg: Settings, creds: dict[str, str], site: str | None = None) -> Path:
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
            "tls_ca": cfg.tls_ca or None, "api_url": cfg.public_console_url or _console_url(cfg),
            "site": site or ""}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    return path


@main.command("demo-data")
@click.option("--password", default=None, help="Password of the demo console logins.")
@click.pass_obj
def demo_data(obj: Ctx, password: str | None) -> None:
    """Create the demo site, people, terminals and console logins."""
    from hr_console.services.errors import ServiceError

    cfg = obj.ready_cfg()
    try:
        data = load_demo(cfg, password)
    except ServiceError as exc:  # a password the console would refuse: say why, change nothing
        raise click.ClickException(exc.message) from None
    if data is None:
        raise click.ClickException("demo data already exists in this home")
    _print_demo(data, cfg)


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
        _save_kiosk_config(cfg, creds, site=demo.SITE_NAME)
    return data


DEMO_NOTE = "demo-logins.txt"


def _print_demo(data, cfg: Settings | None = None) -> None:  # noqa: ANN001
    """Print the demo logins, and keep them (mode 0600) in the home so that the next
    ``make run`` can show them again: a newcomer must never be locked out of the demo."""
    lines = [
        "Demo console logins (user / password): "
        + ", ".join(f"{r} / {data.password}" for r in ("admin", "hr", "supervisor", "auditor")),
        "Demo badges: " + ", ".join(f"{n} {b}" for n, b in data.badges.items()) + " (Julie's PIN: 4321)",
        "Demo terminals: " + ", ".join(data.terminals),
    ]
    click.echo("\n".join(lines))
    if cfg is not None:
        fd = os.open(cfg.home / DEMO_NOTE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")


@main.group()
def terminal() -> None:
    """Enrol, revoke and rotate terminals."""


@terminal.command("add")
@click.argument("name")
@click.option("--site", "site_name", required=True, help="Site the terminal stands on.")
@click.pass_obj
def terminal_add(obj: Ctx, name: str, site_name: str) -> None:
    """Enrol a terminal; prints its credentials as JSON, once."""
    from hr_console.services import broker, directory
    from hr_console.services.errors import ServiceError

    cfg = obj.ready_cfg()
    store = obj.store()
    try:
        with store.session() as s:
            site = directory.site_by_name(s, site_name)
            _, creds = directory.terminal(s, name, site, actor="cli")
            s.flush()
            broker.apply(s, cfg)
    except ServiceError as exc:
        raise _fail(exc) from None
    finally:
        store.dispose()
    # Shown once and written nowhere: the terminal keeps what `relais kiosk-enrol` gives it.
    from hr_console.cli_kiosk import enrol_hint

    click.echo(json.dumps(enrol_hint(cfg, creds.as_json())))


def _terminal_change(obj: Ctx, name: str, change):  # noqa: ANN001, ANN202
    """Run ``change(session, terminal_row)`` on a named terminal, then re-render and reload
    the broker in the same unit of work, so the broker never lags the database."""
    from hr_console.services import broker, sessions
    from hr_console.services.errors import ServiceError

    cfg = obj.ready_cfg()
    store = obj.store()
    try:
        with store.session() as s:
            row = sessions.terminal_by_name(s, name)
            if row is None:
                raise click.ClickException(f"no terminal named {name!r}")
            result = change(s, row)
            s.flush()
            broker.apply(s, cfg)
    except ServiceError as exc:
        raise _fail(exc) from None
    finally:
        store.dispose()
    return cfg, result


@terminal.command("revoke")
@click.argument("name")
@click.pass_obj
def terminal_revoke(obj: Ctx, name: str) -> None:
    """Revoke a terminal's credentials; the broker drops it at once."""
    from hr_console.services import terminals

    _, ended = _terminal_change(obj, name, lambda s, row: terminals.revoke(s, row, actor="cli"))
    click.echo(f"terminal {name} revoked ({ended} badge session(s) ended)")


def _is_demo_kiosk(row: Any) -> bool:
    """A terminal ``relais demo-data`` made, whose kiosk runs from this home's files."""
    from hr_console.services import demo

    return row.name in demo.TERMINALS and row.site is not None and row.site.name == demo.SITE_NAME


@terminal.command("rotate")
@click.argument("name")
@click.pass_obj
def terminal_rotate(obj: Ctx, name: str) -> None:
    """New credentials for a terminal (the old password stops working); printed once."""
    from hr_console.services import terminals

    cfg, (creds, demo_kiosk) = _terminal_change(
        obj, name, lambda s, row: (terminals.rotate(s, row, actor="cli"), _is_demo_kiosk(row)))
    if demo_kiosk:  # the demo's kiosk window keeps working with its new password
        _save_kiosk_config(cfg, creds.as_json())
    else:  # a file an earlier version wrote for it holds an old password: gone
        (cfg.home / "kiosks" / name / "config.json").unlink(missing_ok=True)
    click.echo(json.dumps(creds.as_json()))


@main.group()
def user() -> None:
    """Console users."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "hr", "supervisor", "auditor"]), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--language", type=click.Choice(["fr", "en"]), default="fr")
@click.pass_obj
def user_add(obj: Ctx, username: str, role: str, password: str, language: str) -> None:
    """Create a console user."""
    from hr_console.services import directory
    from hr_console.services.errors import ServiceError

    store = obj.store()
    try:
        with store.session() as s:
            directory.console_user(s, username, password, role, language=language, actor="cli")
    except ServiceError as exc:
        raise _fail(exc) from None
    finally:
        store.dispose()
    click.echo(f"console user {username} ({role}) created")


@main.command("broker-config")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Directory to write mosquitto.conf, passwd and acl (default: the home's).")
@click.pass_obj
def broker_config_cmd(obj: Ctx, out_dir: str | None) -> None:
    """Render the Mosquitto configuration from the database."""
    from dataclasses import replace

    from hr_console.services import broker

    cfg = obj.ready_cfg()
    settings = broker.broker_settings(cfg)
    if out_dir:
        settings = replace(settings, directory=Path(out_dir).absolute())
    store = obj.store()
    try:
        with store.session() as s:
            broker.apply(s, cfg, settings)
    finally:
        store.dispose()
    click.echo(f"broker configuration written to {settings.directory}")


@main.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.pass_obj
def audit_verify(obj: Ctx) -> None:
    """Check that no audit entry was altered, deleted or reordered."""
    from hr_console.services import audit as audit_svc

    store = obj.store()
    try:
        with store.session() as s:
            result = audit_svc.verify(s)
    finally:
        store.dispose()
    if not result.ok:
        raise click.ClickException(
            f"audit log NOT intact at entry {result.first_bad_id}: {result.problem}")
    click.echo(f"audit log intact: {result.entries} entries")


# --- running -------------------------------------------------------------------------------


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(_sig, _frame) -> None:  # noqa: ANN001
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _apply_broker(cfg: Settings) -> None:
    """Render the broker's files from the database (and reload a running broker)."""
    from hr_console.services import broker

    store = obj_store(cfg)
    try:
        with store.session() as s:
            broker.apply(s, cfg)
    finally:
        store.dispose()


def _broker_process(cfg: Settings):  # noqa: ANN202
    from broker_config.process import BrokerProcess
    from hr_console.services import broker

    _apply_broker(cfg)
    # Tied to this process: whatever ends it, even SIGKILL, Mosquitto does not outlive it.
    return BrokerProcess(broker.broker_settings(cfg), tie_to_parent=True)


def _started_broker(cfg: Settings):  # noqa: ANN202
    """The home's broker, rendered from the database and running (or a one-line failure)."""
    proc = _broker_process(cfg)
    try:
        proc.start()
    except RuntimeError as exc:
        raise _fail(exc) from None
    return proc


def _prepared(cfg: Settings) -> Settings:
    """``prepare_home`` with a one-line failure."""
    try:
        return prepare_home(cfg)
    except (OSError, ValueError) as exc:
        raise _fail(exc) from None


def obj_store(cfg: Settings):  # noqa: ANN201
    from hr_console.store.db import Store

    return Store(cfg.database_url)


def _rerender(obj: Ctx) -> None:
    """Read relais.toml again, render the broker files from the database and have the
    running broker take them (what ``systemctl reload`` asks of ``relais broker``); one
    line if it could not. Listeners (ports, TLS files) change only with a restart."""
    from broker_config.render import ReloadError
    from hr_console.services import broker as broker_svc

    try:
        cfg = config_mod.load(obj.cfg.home, **obj.flags)
    except ValueError as exc:
        click.echo(f"broker: reload failed: {exc}", err=True)
        return
    store = obj_store(cfg)
    try:
        with store.session() as s:
            broker_svc.apply(s, cfg)
        click.echo("broker: configuration reloaded")
    except (ReloadError, OSError, ValueError) as exc:
        click.echo(f"broker: reload failed: {exc}", err=True)
    finally:
        store.dispose()
        sys.stdout.flush()


@main.command()
@click.pass_obj
def broker(obj: Ctx) -> None:
    """Run the Mosquitto broker of this home in the foreground. SIGHUP renders its files
    from the database again and reloads it; SIGTERM and SIGINT stop it."""
    cfg = obj.ready_cfg()
    stop, hup = threading.Event(), threading.Event()
    _stop_on_signals(stop)

    def on_hup(_sig, _frame) -> None:  # noqa: ANN001 - the work is done in the loop below
        hup.set()

    signal.signal(signal.SIGHUP, on_hup)
    proc = _started_broker(cfg)
    try:
        click.echo(f"broker: terminals on {cfg.mqtt_bind}:{cfg.mqtt_port}, "
                   f"relay on 127.0.0.1:{cfg.relay_port}")
        sys.stdout.flush()
        while not stop.wait(0.2):
            if hup.is_set():
                hup.clear()
                _rerender(obj)
            if not proc.running:
                raise click.ClickException("the broker stopped; see " + str(cfg.broker_dir))
    finally:
        proc.stop()


@main.command()
@click.option("--instance", type=click.IntRange(1, config_mod.RELAY_INSTANCES), default=1,
              help="Relay number, when several share the load (1-8); each has its own "
                   "broker account and password.")
@click.pass_obj
def relay(obj: Ctx, instance: int) -> None:
    """Run a relay: the only authority over who may say what to whom."""
    from hr_console.relay.mqtt import Relay

    cfg = obj.ready_cfg()
    stop = threading.Event()
    _stop_on_signals(stop)
    store = obj_store(cfg)
    r = Relay(cfg, store, instance=instance)
    try:
        r.start()
    except RuntimeError as exc:
        raise _fail(exc) from None
    click.echo(f"relay {r.username} connected to 127.0.0.1:{cfg.relay_port}")
    stop.wait()
    r.stop()
    store.dispose()


@main.command()
@click.option("--threads", type=click.IntRange(1, 64), default=8, help="WSGI worker threads.")
@click.pass_obj
def console(obj: Ctx, threads: int) -> None:
    """Serve the web console and the kiosk API (waitress) until Ctrl-C / SIGTERM."""
    cfg = obj.ready_cfg()
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        server = _start_console(cfg, threads=threads)
    except (OSError, RuntimeError) as exc:
        raise _fail(exc) from None
    click.echo(f"console: http://{cfg.console_host}:{cfg.console_port}/")
    sys.stdout.flush()
    stop.wait()
    server.close()


@main.command()
@click.option("--demo", is_flag=True, help="Initialise the home and add demo data if missing.")
@click.pass_obj
def up(obj: Ctx, demo: bool) -> None:
    """Start broker, relay and console together; Ctrl-C stops all three."""
    from hr_console.relay.mqtt import Relay

    cfg = obj.cfg
    demo_info = None
    if demo or not cfg.config_path.exists():
        if not demo:
            raise click.ClickException(
                f"{cfg.home} is not a Relais home yet: run `relais --home {cfg.home} init`")
        try:
            cfg = initialise(cfg)
            demo_info = load_demo(cfg, os.environ.get("RELAIS_DEMO_PASSWORD"))
        except Exception as exc:
            raise _fail(exc) from None
    else:
        cfg = obj.ready_cfg()
    stop = threading.Event()
    _stop_on_signals(stop)
    proc = _started_broker(cfg)
    store = obj_store(cfg)
    r = Relay(cfg, store)
    server = None
    kiosks: list = []
    try:
        r.start()
        server = _start_console(cfg)
        click.echo(f"broker:  terminals on mqtt://{cfg.mqtt_bind}:{cfg.mqtt_port} "
                   f"(relay listener 127.0.0.1:{cfg.relay_port})")
        click.echo(f"relay:   {r.username} running")
        click.echo(f"console: http://{cfg.console_host}:{cfg.console_port}/")
        note = cfg.home / DEMO_NOTE
        if demo_info is not None:
            _print_demo(demo_info, cfg)
        elif demo and note.exists():
            click.echo(note.read_text(encoding="utf-8").rstrip())
        elif demo:
            click.echo("Demo data was created earlier: its passwords were printed then "
                       "(or reset one with `relais user add`).")
        kiosks = _open_kiosks(cfg, demo)
        sys.stdout.flush()
        while not stop.wait(0.5):
            if not proc.running:
                raise click.ClickException("the broker stopped unexpectedly")
    except RuntimeError as exc:
        raise _fail(exc) from None
    finally:
        _close_kiosks(kiosks)
        if server is not None:
            server.close()
        r.stop()
        proc.stop()
        store.dispose()
        click.echo("stopped")


def _start_console(cfg: Settings, threads: int = 8):  # noqa: ANN202
    from waitress.server import create_server

    from hr_console.web import create_app
    from hr_console.web.app import server_options

    app = create_app(cfg)
    server = create_server(app, host=cfg.console_host, port=cfg.console_port, threads=threads,
                           **server_options(cfg))
    threading.Thread(target=server.run, name="console", daemon=True).start()
    return server


def _open_kiosks(cfg: Settings, demo: bool) -> list:
    """With a display, a demo also opens one kiosk window per demo terminal, on the ports
    this very run uses (they may differ from those recorded when the demo was made)."""
    if not demo or not os.environ.get("DISPLAY"):
        return []
    import subprocess

    procs = []
    for name in ("kiosk-1", "kiosk-2"):
        if (cfg.home / "kiosks" / name / "config.json").exists():
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "hr_console.cli", "--home", str(cfg.home),
                 "--mqtt-port", str(cfg.mqtt_port), "--console-port", str(cfg.console_port),
                 "kiosk", "--terminal", name]))
    return procs


def _close_kiosks(procs: list) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except Exception:  # noqa: BLE001 - a kiosk that will not stop is killed
            proc.kill()


def _register_extra_commands() -> None:
    """Commands kept in their own modules so this file stays about the backbone."""
    from hr_console.cli_admin import register as register_admin
    from hr_console.cli_backup import register as register_backup
    from hr_console.cli_bench import bench
    from hr_console.cli_db import register as register_db
    from hr_console.cli_ejabberd import register as register_ejabberd
    from hr_console.cli_kiosk import kiosk, kiosk_enrol
    from hr_console.cli_relays import register as register_relays
    from hr_console.cli_site import register as register_site

    register_admin(main)
    register_backup(main)
    main.add_command(kiosk)
    main.add_command(kiosk_enrol)
    main.add_command(bench)
    register_site(main)
    register_relays(main)
    register_db(main)
    register_ejabberd(main)


_register_extra_commands()

if __name__ == "__main__":
    main()
