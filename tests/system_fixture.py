"""A whole Relais installation for tests: a home with demo data on SQLite or PostgreSQL,
a real Mosquitto rendered from broker_config on free ports, a relay, terminal links.

PostgreSQL runs only when RELAIS_TEST_PG_URL is set; each test gets its own database.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from broker_config.ports import free_port, free_ports
from broker_config.process import BrokerProcess
from hr_console import config as config_mod
from hr_console.cli.home import broker_process, initialise, load_demo, save_kiosk_config
from hr_console.config import Settings
from hr_console.relay.mqtt import Relay
from hr_console.services.demo import DemoData
from hr_console.store.db import Store
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink

PG_ENV = "RELAIS_TEST_PG_URL"
DEMO_PASSWORD = "demo-password-1"


@dataclass
class PgDatabase:
    admin_url: str
    name: str

    @property
    def url(self) -> str:
        return make_url(self.admin_url).set(database=self.name).render_as_string(hide_password=False)


def _pg_admin(url: str, sql: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'relais.db'}"
        return
    yield from _fresh_pg()


def _fresh_pg() -> Iterator[str]:
    """A fresh, empty PostgreSQL database of its own, dropped afterwards (skips without one)."""
    admin = os.environ.get(PG_ENV)
    if not admin:
        pytest.skip(f"{PG_ENV} is not set")
    db = PgDatabase(admin, f"relais_test_{uuid.uuid4().hex[:12]}")
    _pg_admin(admin, f'CREATE DATABASE "{db.name}"')
    try:
        yield db.url
    finally:
        _pg_admin(admin, f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """PostgreSQL only (tests of several relays or of copying between databases)."""
    yield from _fresh_pg()


@dataclass
class System:
    cfg: Settings
    store: Store
    broker: BrokerProcess
    demo: Any
    tmp: Path
    relays: list[Relay] = field(default_factory=list)
    links: list[TerminalLink] = field(default_factory=list)

    def start_relay(self, instance: int = 1) -> Relay:
        # PINs checked in the desk's threads: a test's relay starts without spawning the
        # hashing processes (`relais relay`, which the chaos and bench runs start, uses them).
        relay = Relay(self.cfg, self.store, instance=instance, pin_hashers=0)
        relay.start()
        self.relays.append(relay)
        return relay

    def link(self, terminal: str, *, outbox: Path | None = None, start: bool = True,
             **kwargs: Any) -> TerminalLink:
        creds = self.demo.terminals[terminal] if terminal in self.demo.terminals else kwargs.pop("creds")
        link = TerminalLink(terminal=terminal, password=creds["password"], host="127.0.0.1",
                            port=self.cfg.mqtt_port,
                            outbox_path=outbox or self.tmp / f"outbox-{terminal}.db", **kwargs)
        self.links.append(link)
        if start:
            link.start()
            assert link.wait_connected(10), f"{terminal} could not connect"
        return link

    def employee(self, name: str) -> int:
        return self.demo.employees[name]

    def badge_in(self, link: TerminalLink, name: str, pin: str | None = None) -> ev.Synced:
        link.login(self.demo.badges[name], pin)
        expect(link, ev.LoginOk)
        return expect(link, ev.Synced)

    def close(self) -> None:
        for link in self.links:
            with contextlib.suppress(Exception):  # a test may have stopped it already
                link.stop()
        for relay in self.relays:
            relay.stop()
        self.broker.stop()
        self.store.dispose()


def expect(link: TerminalLink, kind: type, pred: Callable[[Any], bool] | None = None,
           timeout: float = 15.0) -> Any:
    """The next event of ``kind`` (matching ``pred``) from this link; others are skipped."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {kind.__name__} within {timeout}s; saw {seen[-10:]}")
        try:
            event = link.events.get(timeout=left)
        except queue.Empty:
            continue
        if isinstance(event, kind) and (pred is None or pred(event)):
            return event
        seen.append(event)


def expect_none(link: TerminalLink, kind: type, pred: Callable[[Any], bool] | None = None,
                wait: float = 1.5) -> None:
    """Nothing of ``kind`` arrives within ``wait`` seconds (used only after a positive
    control has shown that deliveries do flow)."""
    try:
        event = expect(link, kind, pred, timeout=wait)
    except AssertionError:
        return
    raise AssertionError(f"unexpected {event!r}")


# --- a demo home per test, copied from one built per test process ---------------------------
#
# `relais init` + `relais demo-data` cost about 3 s (migrations, five scrypt hashes); hundreds
# of tests need exactly that state. It is built once per process and database kind through
# the real commands' code, then copied (SQLite file, or PostgreSQL's CREATE DATABASE ...
# TEMPLATE), with fresh ports and the broker files rendered anew for the copy.

_templates: dict[str, tuple[Path, DemoData, str]] = {}


def _cleanup_templates() -> None:
    for kind, (home, _demo, url) in _templates.items():
        shutil.rmtree(home.parent, ignore_errors=True)
        if kind == "postgresql":
            with contextlib.suppress(Exception):
                name = make_url(url).database
                _pg_admin(os.environ[PG_ENV], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


atexit.register(_cleanup_templates)


def _template(kind: str) -> tuple[Path, DemoData, str]:
    if kind not in _templates:
        root = Path(tempfile.mkdtemp(prefix="relais-template-"))
        if kind == "sqlite":
            url = f"sqlite:///{root / 'relais.db'}"
        else:
            name = f"relais_tmpl_{uuid.uuid4().hex[:12]}"
            _pg_admin(os.environ[PG_ENV], f'CREATE DATABASE "{name}"')
            url = PgDatabase(os.environ[PG_ENV], name).url
        cfg = initialise(config_mod.load(root / "home", db_url=url, mqtt_port=free_port()))
        demo = load_demo(cfg, DEMO_PASSWORD)
        assert demo is not None
        _templates[kind] = (root / "home", demo, url)
    return _templates[kind]


def prepared_home(tmp_path: Path, db_url: str, **flags: Any) -> tuple[Settings, DemoData | None]:
    """``relais init`` + ``relais demo-data`` in ``tmp_path/home`` on ``db_url`` (an existing
    home is only upgraded, and gets no second demo, exactly as the commands behave)."""
    home = tmp_path / "home"
    mqtt_port, console_port, relay_port = free_ports(3)
    flags = {"db_url": db_url, "mqtt_port": mqtt_port, "console_port": console_port, **flags}
    if (home / config_mod.CONFIG_FILE).exists():
        cfg = initialise(config_mod.load(home, **flags))
        return cfg, load_demo(cfg, DEMO_PASSWORD)
    kind = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    tmpl_home, demo, tmpl_url = _template(kind)
    shutil.copytree(tmpl_home, home)
    if kind == "sqlite":
        target = Path(make_url(db_url).database or "")
        source = Path(make_url(tmpl_url).database or "")
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    else:
        admin, name = os.environ[PG_ENV], make_url(db_url).database
        _pg_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _pg_admin(admin, f'CREATE DATABASE "{name}" TEMPLATE "{make_url(tmpl_url).database}"')
    cfg = initialise(config_mod.load(home, relay_port=relay_port, **flags))
    for creds in demo.terminals.values():
        save_kiosk_config(cfg, creds)
    return cfg, copy.deepcopy(demo)


def make_system(tmp_path: Path, db_url: str, *, relay: bool = True) -> System:
    cfg, demo = prepared_home(tmp_path, db_url)
    broker = broker_process(cfg)
    broker.start()
    # The relay's store as `relais relay` opens it: SQLite's log checkpointed by its thread.
    system = System(cfg, Store(cfg.database_url, wal_autocheckpoint=not relay), broker, demo,
                    tmp_path)
    if relay:
        system.start_relay()
    return system


@pytest.fixture
def system(tmp_path: Path, db_url: str) -> Iterator[System]:
    sys_ = make_system(tmp_path, db_url)
    try:
        yield sys_
    finally:
        sys_.close()


# --- a relay in a process of its own, for killing -------------------------------------------

_ROOT = Path(__file__).resolve().parents[1]
_RELAIS = Path(sys.executable).parent / "relais"


def child_env() -> dict[str, str]:
    """The environment of a Relais process a test starts: this checkout first, output
    unbuffered."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def relay_process(system: System, log: Path) -> subprocess.Popen[bytes]:
    """``relais relay`` on the system's home, its output appended to ``log``; returned once
    it has connected to the broker."""
    mark = log.stat().st_size if log.exists() else 0
    with log.open("ab") as out:
        proc = subprocess.Popen([str(_RELAIS), "--home", str(system.cfg.home), "relay"],
                                cwd=_ROOT, env=child_env(), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with log.open("rb") as fh:
            fh.seek(mark)
            if b" connected to " in fh.read():
                return proc
        if proc.poll() is not None:
            raise RuntimeError(f"relay exited: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("relay did not connect")
