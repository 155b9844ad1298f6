"""The installation a benchmark runs against: a throw-away home with its own broker, an
organisation of bench terminals and people, relays as separate ``relais relay`` processes.

Relays run in their own processes so their CPU and memory can be read with psutil and so
they never share a GIL with the load generators (see :mod:`bench.farm`).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import child_env
from bench.cgroup import CpuCap
from broker_config.ports import free_port
from broker_config.process import BrokerProcess
from hr_console import config as config_mod
from hr_console.config import Settings
from hr_console.services.broker import BENCH_ACCOUNT, BENCH_TERMINAL

PG_DATABASE = "relais_bench_relay"
TEAM_SIZE = 20
RAW_TERMINAL = BENCH_TERMINAL  # the one uplink the _bench account may read


def terminal_name(i: int) -> str:
    return f"bench-{i:04d}"


def badge(i: int) -> str:
    return f"B{i:05d}"


def raise_fd_limit() -> int:
    """1,000 connections need more descriptors than a shell's default soft limit; the broker
    started from here inherits the raised limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pg_reachable(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def _pg_admin(admin_url: str, sql: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def pg_create(admin_url: str) -> str:
    """A fresh database of our own next to the admin URL's (never the admin one itself)."""
    _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
    _pg_admin(admin_url, f'CREATE DATABASE "{PG_DATABASE}"')
    return make_url(admin_url).set(database=PG_DATABASE).render_as_string(hide_password=False)


def pg_drop(admin_url: str) -> None:
    _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')


@dataclass
class Bench:
    """Credentials of the bench organisation: terminal i hosts employee i (badge ``badge(i)``)."""

    terminals: dict[str, str] = field(default_factory=dict)  # name -> password
    raw_password: str = ""


def create_org(cfg: Settings, count: int) -> Bench:
    """Teams of ``TEAM_SIZE`` who may write to each other, unmoderated, one terminal each."""
    from hr_console.services import broker, directory
    from hr_console.store.db import Store

    out = Bench()
    store = Store(cfg.database_url)
    try:
        with store.session() as s:
            site = directory.site(s, "bench")
            team = None
            for i in range(1, count + 1):
                if (i - 1) % TEAM_SIZE == 0:
                    team = directory.team(s, f"Bench {i // TEAM_SIZE + 1}", site,
                                          moderation_mode="none")
                    directory.contact_rule(s, "team", team.id, "team", team.id)
                directory.employee(s, f"Bench {i:04d}", pepper=cfg.badge_pepper, team_row=team,
                                   badge=badge(i), moderation_mode="none")
                _, creds = directory.terminal(s, terminal_name(i), site)
                out.terminals[creds.username] = creds.password
            _, creds = directory.terminal(s, RAW_TERMINAL, site)
            out.raw_password = creds.password
            s.flush()
            broker.apply(s, cfg)
    finally:
        store.dispose()
    return out


@dataclass
class RelayProcess:
    instance: int
    proc: subprocess.Popen[bytes]
    ps: psutil.Process
    cap: CpuCap | None = None  # its own cgroup when its CPU is capped

    def cpu_seconds(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def rss(self) -> int:
        return self.ps.memory_info().rss


class System:
    """One bench home: ``start()`` renders and starts the broker; relays come and go."""

    def __init__(self, *, db_url: str | None, terminals: int, workdir: Path | None = None,
                 profile_dir: Path | None = None) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="relais-bench-", dir=workdir))
        # Outboxes on tmpfs when there is one: the kiosk's fsync is the kiosk's disk, not the
        # relay we are measuring.
        shm = Path("/dev/shm")
        self.scratch = Path(tempfile.mkdtemp(prefix="relais-bench-", dir=shm)) \
            if shm.is_dir() and os.access(shm, os.W_OK) else self.tmp / "scratch"
        self.db_url = db_url
        self.count = terminals
        self.profile_dir = profile_dir
        self.trace_dir: Path | None = None  # set by traced()
        self.cfg: Settings | None = None
        self.org = Bench()
        self.broker: BrokerProcess | None = None
        self.relays: list[RelayProcess] = []

    @property
    def home(self) -> Path:
        return self.tmp / "home"

    def start(self) -> System:
        from hr_console.cli.home import broker_process, initialise

        raise_fd_limit()
        cfg = config_mod.load(self.home, db_url=self.db_url, mqtt_port=free_port(),
                              console_port=free_port())
        # The raw figure needs the _bench account: only this throw-away home has one.
        self.cfg = initialise(config_mod.with_secrets(cfg, (BENCH_ACCOUNT,)))
        self.org = create_org(self.cfg, self.count)
        self.broker = broker_process(self.cfg)
        self.broker.start()
        return self

    def start_relay(self, instance: int = 1, cpu_cap: float | None = None) -> RelayProcess:
        """``relais relay --instance N`` in its own process; ``cpu_cap`` (a share of one
        core) puts it in a cgroup of its own before it connects."""
        assert self.cfg is not None
        log = (self.tmp / f"relay-{instance}.log").open("ab")
        cmd = [sys.executable, "-m", "hr_console.cli", "--home", str(self.home), "relay",
               "--instance", str(instance)]
        variant = self._variant(instance)
        if variant is not None:  # bench.relay_process.serve's arguments
            module, out = variant
            cmd = [sys.executable, "-m", module, "--home", str(self.home),
                   "--instance", str(instance), "--out", str(out)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                env=child_env())
        log.close()
        cap = None
        if cpu_cap is not None:
            try:
                cap = CpuCap(f"relay-{instance}", cpu_cap)
                cap.add(proc.pid)
            except (OSError, RuntimeError):
                proc.kill()
                if cap is not None:
                    cap.close()
                raise
        line = proc.stdout.readline() if proc.stdout else b""
        if b"connected" not in line:
            proc.kill()
            if cap is not None:
                cap.close()
            raise RuntimeError(f"relay {instance} did not start; see {self.tmp}/relay-{instance}.log")
        relay = RelayProcess(instance, proc, psutil.Process(proc.pid), cap)
        self.relays.append(relay)
        return relay

    def _variant(self, instance: int) -> tuple[str, Path] | None:
        """The bench variant of ``relais relay`` to start, and where it writes: profiled
        (``relais bench --profile``) before traced (``traced()``); None: the command."""
        if self.profile_dir is not None:
            return "bench.profiled_relay", self.profile_dir / f"relay-{instance}-{int(time.time())}"
        if self.trace_dir is not None:
            return "bench.traced_relay", self.trace_dir / f"relay-{instance}-{time.time_ns()}.json"
        return None

    @contextlib.contextmanager
    def traced(self) -> Iterator[Path]:
        """Relays started inside run as ``bench.traced_relay`` (unless profiled), each
        writing its uplinks' times in the folder yielded as it stops; removed afterwards."""
        folder = Path(tempfile.mkdtemp(prefix="trace-", dir=self.tmp))
        self.trace_dir = folder
        try:
            yield folder
        finally:
            self.trace_dir = None
            shutil.rmtree(folder, ignore_errors=True)

    def wait_balanced(self, timeout: float = 30.0) -> float | None:
        """Seconds until the running relays own every partition between them, none more
        than its fair share (the leases of issue 14); None if that did not happen in time."""
        from hr_console.domain.partitions import PARTITIONS, fair_share
        from hr_console.services import leases
        from hr_console.store.db import Store

        assert self.cfg is not None
        store = Store(self.cfg.database_url)
        started = time.monotonic()
        try:
            while time.monotonic() - started < timeout:
                with store.session() as s:
                    owners = leases.owners(s)
                counts: dict[str, int] = {}
                for owner in owners.values():
                    if owner is not None:
                        counts[owner] = counts.get(owner, 0) + 1
                n = len(self.relays)
                if (len(owners) == PARTITIONS and sum(counts.values()) == PARTITIONS
                        and len(counts) == n
                        and max(counts.values()) <= fair_share(PARTITIONS, n)):
                    return round(time.monotonic() - started, 1)
                time.sleep(0.25)
            return None
        finally:
            store.dispose()

    def stop_relays(self) -> None:
        for relay in self.relays:
            relay.proc.terminate()
        for relay in self.relays:
            try:
                relay.proc.wait(30)
            except subprocess.TimeoutExpired:
                relay.proc.kill()
                relay.proc.wait()
            if relay.cap is not None:
                relay.cap.close()
        self.relays.clear()

    def close(self) -> None:
        self.stop_relays()
        if self.broker is not None:
            self.broker.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.scratch, ignore_errors=True)
