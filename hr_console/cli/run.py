"""``relais broker``, ``relais relay``, ``relais console`` and ``relais up``: the running
parts, alone (systemd, one unit each) or together (``make run``)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import click

from hr_console import config as config_mod
from hr_console.cli import events, logs
from hr_console.cli.common import Ctx, fail, obj_store, refusal, settle_heap, stop_on_signals
from hr_console.cli.home import (
    DEMO_NOTE,
    broker_process,
    console_url,
    initialise,
    load_demo,
    print_demo,
)
from hr_console.cli.i18n import Command, _, _l
from hr_console.config import Settings, SettingsError

# Under the home: relais.log (the relay and console of `relais up`) and one file per demo kiosk.
LOG_DIR = "logs"


def _started_broker(cfg: Settings):  # noqa: ANN202
    """The home's broker, rendered from the database and running (or a one-line failure)."""
    proc = broker_process(cfg)
    try:
        proc.start()
    except RuntimeError as exc:
        hint = _busy_relay_port(cfg, str(exc))
        raise (fail(exc) if hint is None else click.ClickException(f"{refusal(exc)}\n{hint}")) from None
    return proc


def _busy_relay_port(cfg: Settings, error: str) -> str | None:
    """What to do when the broker could not listen because its relay port is taken and that
    port lies in the kernel's range for outgoing connections (a home made before ``init``
    chose it outside that range): any program's connection may hold it at a given boot."""
    from broker_config.ports import ephemeral_range, free_port

    low, high = ephemeral_range()
    if "Address already in use" not in error or not low <= cfg.relay_port <= high:
        return None
    return _("relay_port {port} in relais.toml lies in the range this system gives its "
             "outgoing connections ({low}-{high}), so another program's connection can hold "
             "it. Set relay_port to a free port outside that range (for example {free}) in "
             "relais.toml, the same on every machine that runs a relay, and start again."
             ).format(port=cfg.relay_port, low=low, high=high,
                      free=free_port(avoid={cfg.mqtt_port, cfg.console_port}))


def _rerender(obj: Ctx) -> None:
    """Read relais.toml again, render the broker files from the database and have the
    running broker take them (what ``systemctl reload`` asks of ``relais broker``); one
    line if it could not. Listeners (ports, TLS files) change only with a restart."""
    from broker_config.errors import BrokerError
    from broker_config.render import ReloadError
    from hr_console.services import broker as broker_svc

    try:
        cfg = config_mod.load(obj.cfg.home, **obj.flags)
    except ValueError as exc:
        click.echo(_("broker: reload failed: {error}").format(error=refusal(exc)), err=True)
        return
    store = obj_store(cfg)
    try:
        with store.session() as s:
            broker_svc.apply(s, cfg)
        click.echo(_("broker: configuration reloaded"))
    except (ReloadError, BrokerError, OSError, ValueError) as exc:
        click.echo(_("broker: reload failed: {error}").format(error=refusal(exc)), err=True)
    finally:
        store.dispose()
        sys.stdout.flush()


@click.command(cls=Command, help=_l(
    "Run the Mosquitto broker of this home in the foreground. SIGHUP renders its files from "
    "the database again and reloads it; SIGTERM and SIGINT stop it."))
@click.pass_obj
def broker(obj: Ctx) -> None:
    cfg = obj.ready_cfg()
    stop, hup = threading.Event(), threading.Event()
    stop_on_signals(stop)

    def on_hup(_sig, _frame) -> None:  # noqa: ANN001 - the work is done in the loop below
        hup.set()

    signal.signal(signal.SIGHUP, on_hup)
    proc = _started_broker(cfg)
    try:
        click.echo(_("broker: terminals on {bind}:{port}, relay on 127.0.0.1:{relay_port}")
                   .format(bind=cfg.mqtt_bind, port=cfg.mqtt_port, relay_port=cfg.relay_port))
        sys.stdout.flush()
        while not stop.wait(0.2):
            if hup.is_set():
                hup.clear()
                _rerender(obj)
            if not proc.running:
                raise click.ClickException(
                    _("the broker stopped; see {folder}").format(folder=cfg.broker_dir))
    finally:
        proc.stop()


@click.command(cls=Command,
               help=_l("Run a relay: the only authority over who may say what to whom."))
@click.option("--instance", type=click.IntRange(1, config_mod.RELAY_INSTANCES), default=1,
              help=_l("Relay number, when several share the load (1-8); each has its own "
                      "broker account and password."))
@click.pass_obj
def relay(obj: Ctx, instance: int) -> None:
    from hr_console.relay.mqtt import Relay

    cfg = obj.ready_cfg()
    stop = threading.Event()
    stop_on_signals(stop)
    store = obj_store(cfg, relay=True)
    r = Relay(cfg, store, instance=instance)
    try:
        r.start()
    except (RuntimeError, SettingsError) as exc:
        raise fail(exc) from None
    settle_heap()
    click.echo(_("relay {name} connected to 127.0.0.1:{port}").format(name=r.username,
                                                                       port=cfg.relay_port))
    stop.wait()
    r.stop()
    store.dispose()


@click.command(cls=Command, help=_l("Serve the web console and the kiosk API (waitress) until "
                                    "Ctrl-C / SIGTERM."))
@click.option("--threads", type=click.IntRange(1, 64), default=8, help=_l("WSGI worker threads."))
@click.pass_obj
def console(obj: Ctx, threads: int) -> None:
    cfg = obj.ready_cfg()
    stop = threading.Event()
    stop_on_signals(stop)
    try:
        server = _start_console(cfg, threads=threads)
    except (OSError, RuntimeError) as exc:
        raise fail(exc) from None
    click.echo(_("console: {url}").format(url=f"http://{cfg.console_host}:{cfg.console_port}/"))
    sys.stdout.flush()
    stop.wait()
    server.close()


@click.command(cls=Command,
               help=_l("Start broker, relay and console together; Ctrl-C stops all three."))
@click.option("--demo", is_flag=True, help=_l("Initialise the home and add demo data if missing."))
@click.pass_obj
def up(obj: Ctx, demo: bool) -> None:
    from hr_console.relay.mqtt import Relay

    cfg = obj.cfg
    demo_info = None
    if demo or not cfg.config_path.exists():
        if not demo:
            raise click.ClickException(
                _("{home} is not a Relais home yet: run `relais --home {home} init`")
                .format(home=cfg.home))
        try:
            cfg = initialise(cfg)
            demo_info = load_demo(cfg, os.environ.get("RELAIS_DEMO_PASSWORD"))
        except Exception as exc:
            raise fail(exc) from None
    else:
        cfg = obj.ready_cfg()
    verbose = logs.verbose_wanted(obj.verbose)
    log_dir = cfg.home / LOG_DIR
    logs.quiet_terminal(log_dir / "relais.log", verbose)
    stop = threading.Event()
    stop_on_signals(stop)
    proc = _started_broker(cfg)
    store = obj_store(cfg, relay=True)
    with _no_sigint_in_workers():  # the relay's login desk starts its PIN-hashing pool
        r = Relay(cfg, store)
    server = None
    kiosks: list = []
    watcher = events.Watcher(store, console_url(cfg))
    try:
        r.start()
        server = _start_console(cfg)
        click.echo(_("broker:  terminals on mqtt://{bind}:{port} (relay listener "
                     "127.0.0.1:{relay_port})").format(bind=cfg.mqtt_bind, port=cfg.mqtt_port,
                                                       relay_port=cfg.relay_port))
        click.echo(_("relay:   {name} running").format(name=r.username))
        click.echo(_("console: {url}").format(url=f"http://{cfg.console_host}:{cfg.console_port}/"))
        click.echo(_("logs:    {file} (relay, console)").format(file=log_dir / "relais.log")
                   + ("" if verbose else _("; here: events and warnings (--verbose: everything)")))
        note = cfg.home / DEMO_NOTE
        if demo_info is not None:
            print_demo(demo_info, cfg)
        elif demo and note.exists():
            click.echo(note.read_text(encoding="utf-8").rstrip())
        elif demo:
            click.echo(_("Demo data was created earlier: its passwords were printed then "
                         "(or reset one with `relais user add`)."))
        kiosks = _open_kiosks(cfg, demo, log_dir, verbose)
        sys.stdout.flush()
        watcher.start()
        settle_heap()
        while not stop.wait(0.5):
            if not proc.running:
                raise click.ClickException(_("the broker stopped unexpectedly"))
    except (RuntimeError, SettingsError) as exc:
        raise fail(exc) from None
    finally:
        watcher.stop.set()
        _close_kiosks(kiosks)
        if server is not None:
            server.close()
        r.stop()
        proc.stop()
        if watcher.is_alive():
            watcher.join(timeout=5)
        store.dispose()
        click.echo(_("stopped"))


@contextlib.contextmanager
def _no_sigint_in_workers() -> Iterator[None]:
    """Processes started here (the relay's PIN-hashing pool) ignore SIGINT for good: the
    terminal's Ctrl-C reaches every process of its group, and each worker would print a
    KeyboardInterrupt traceback. This process takes it and stops them all in order."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start_console(cfg: Settings, threads: int = 8):  # noqa: ANN202
    from waitress.server import create_server

    from hr_console.web import create_app
    from hr_console.web.app import server_options

    app = create_app(cfg)
    server = create_server(app, host=cfg.console_host, port=cfg.console_port, threads=threads,
                           **server_options(cfg))
    threading.Thread(target=server.run, name="console", daemon=True).start()
    return server


def _open_kiosks(cfg: Settings, demo: bool, log_dir: Path, verbose: bool) -> list:
    """With a display, a demo also opens one kiosk window per demo terminal, on the ports
    this very run uses (they may differ from those recorded when the demo was made). Each
    writes to ``log_dir/NAME.log``; its events come to this terminal (``events.follow``).
    In a process group of its own: the terminal's Ctrl-C reaches ``up``, which closes the
    kiosks, not each kiosk and its photo workers with a traceback apiece."""
    if not demo or not os.environ.get("DISPLAY"):
        return []
    import subprocess

    procs = []
    for name in ("kiosk-1", "kiosk-2"):
        if (cfg.home / "kiosks" / name / "config.json").exists():
            log_file = log_dir / f"{name}.log"
            proc = subprocess.Popen(
                [sys.executable, "-m", "hr_console.cli", *(["--verbose"] if verbose else []),
                 "--home", str(cfg.home), "--mqtt-port", str(cfg.mqtt_port),
                 "--console-port", str(cfg.console_port), "kiosk", "--terminal", name],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, errors="replace", env={**os.environ, "PYTHONUNBUFFERED": "1"},
                process_group=0)
            events.follow(proc, log_file, name, verbose)
            click.echo(_("kiosk:   {name} opening, log {file}").format(name=name, file=log_file))
            procs.append(proc)
    return procs


def _close_kiosks(procs: list) -> None:
    """SIGTERM to each kiosk's process group (the kiosk and its photo workers)."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except Exception:  # noqa: BLE001 - a kiosk that will not stop is killed
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def register(main: click.Group) -> None:
    for command in (broker, relay, console, up):
        main.add_command(command)
