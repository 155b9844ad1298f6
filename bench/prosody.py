"""The peer row: Prosody (Debian's 0.12) with mod_mam archiving every 1:1 message to
SQLite, measured with the relay's figure-2 shape (same pairs, same messages on their way per
pair, same text, same paced rate) on the same machine in the same run.

Prosody runs as a private instance: its own configuration, data directory, log and pid
file in a temporary directory, on free loopback ports, never the system's /etc/prosody or
/var/lib/prosody. Accounts are written as Prosody's own account files before it starts
(``internal_plain``), the archive goes to SQLite through mod_storage_sql (lua-dbi-sqlite3).
The load runs in :mod:`bench.xmpp_load` processes (slixmpp clients), as the
relay's runs in :mod:`bench.farm` processes.
"""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

from bench import child_env
from bench.relay import Shape, pair_indices
from bench.stats import latency_ms, summary
from broker_config.ports import free_port

DOMAIN = "bench.local"
PASSWORD = "bench-password"


def missing() -> str | None:
    """Why the peer cannot run here, or None."""
    if shutil.which("prosody") is None:
        return "prosody is not installed (make sysdeps-bench: apt prosody lua-dbi-sqlite3)"
    try:
        import slixmpp  # noqa: F401
    except ImportError:
        return "slixmpp is not installed (pip install -e '.[dev]')"
    if shutil.which("dpkg") is not None and subprocess.run(
            ["dpkg", "-s", "lua-dbi-sqlite3"], capture_output=True, check=False).returncode:
        return "lua-dbi-sqlite3 is not installed (make sysdeps-bench)"
    return None


def _version() -> str:
    if shutil.which("dpkg-query") is None:
        return "?"
    return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "prosody"],
                          capture_output=True, text=True, check=False).stdout.strip() or "?"


def user(i: int) -> str:
    return f"u{i:04d}"


CONFIG = """-- A private Prosody for the benchmark; written by bench/prosody.py.
run_as_root = true
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
certificates = "{dir}/certs"
log = {{ {{ levels = {{ min = "warn" }}, to = "file", filename = "{dir}/prosody.log" }} }}
modules_enabled = {{ "roster", "saslauth", "disco", "ping", "mam" }}
modules_disabled = {{ "s2s", "http", "offline" }}
c2s_ports = {{ {port} }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_direct_tls_ports = {{}}
legacy_ssl_ports = {{}}
s2s_ports = {{}}
component_ports = {{}}
http_ports = {{}}
https_ports = {{}}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = {{ archive = "sql" }}
sql = {{ driver = "SQLite3", database = "prosody.sqlite" }}
default_archive_policy = true
archive_expires_after = "never"
VirtualHost "{domain}"
"""


class Prosody:
    """One private Prosody process with ``users`` accounts (password PASSWORD)."""

    def __init__(self, users: list[str], workdir: Path | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="relais-prosody-", dir=workdir))
        self.port = free_port()
        self.users = users
        self.proc: subprocess.Popen[bytes] | None = None
        self.ps: psutil.Process | None = None

    def start(self) -> Prosody:
        accounts = self.dir / "data" / DOMAIN.replace(".", "%2e") / "accounts"
        accounts.mkdir(parents=True)
        (self.dir / "certs").mkdir()
        for name in self.users:
            (accounts / f"{name}.dat").write_text(
                f'return {{\n\t["password"] = "{PASSWORD}";\n}};\n', encoding="utf-8")
        cfg = self.dir / "prosody.cfg.lua"
        cfg.write_text(CONFIG.format(dir=self.dir, port=self.port, domain=DOMAIN),
                       encoding="utf-8")
        out = (self.dir / "stdout.log").open("ab")
        self.proc = subprocess.Popen(["prosody", "-F", "--config", str(cfg)], stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prosody stopped at start; see {self.dir}/prosody.log")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    self.ps = psutil.Process(self.proc.pid)
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"prosody did not listen on {self.port}; see {self.dir}")

    def cpu_seconds(self) -> float:
        assert self.ps is not None
        t = self.ps.cpu_times()
        return t.user + t.system

    def archived(self) -> int:
        """Rows in mod_mam's archive (one per message in the sender's archive and one in
        the recipient's)."""
        db = self.dir / "data" / "prosody.sqlite"
        if not db.exists():
            return 0
        with sqlite3.connect(db) as conn:
            try:
                return conn.execute("SELECT count(*) FROM prosodyarchive "
                                    "WHERE store = 'archive'").fetchone()[0]
            except sqlite3.OperationalError:
                return 0

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class _Load:
    def __init__(self, server: Prosody, users: list[str], name: str) -> None:
        spec = {"host": "127.0.0.1", "port": server.port, "domain": DOMAIN,
                "password": PASSWORD, "users": users}
        path = server.dir / f"{name}.json"
        path.write_text(json.dumps(spec), encoding="utf-8")
        self.log = (server.dir / f"{name}.log").open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.xmpp_load",
                                      str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, env=child_env())
        self.users = set(users)
        self.name = name

    def ask(self, cmd: str, **fields: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({"cmd": cmd, **fields}) + "\n").encode())
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"XMPP load process {self.name} died; see its log")
        answer = json.loads(line)
        if not answer.pop("ok"):
            raise RuntimeError(f"XMPP load process {self.name}: {answer['error']}")
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask("stop")
                self.proc.wait(30)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class _Loads:
    def __init__(self, server: Prosody, indices: list[int], processes: int) -> None:
        processes = max(1, min(processes, len(indices) // 2 or 1))
        size = -(-len(indices) // processes)
        size += size % 2  # pairs (2j+1, 2j+2) stay in one process
        self.loads = [_Load(server, [user(i) for i in indices[k:k + size]], f"xmpp-{n}")
                      for n, k in enumerate(range(0, len(indices), size))]
        self._runs = 0

    def each(self, cmd: str, loads: list[_Load] | None = None,
             fields: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        loads = loads or self.loads
        fields = fields or [{} for _ in loads]
        with ThreadPoolExecutor(max_workers=len(loads)) as pool:
            return list(pool.map(lambda lf: lf[0].ask(cmd, **lf[1]), zip(loads, fields,
                                                                          strict=True)))

    def where(self, u: str) -> _Load:
        return next(load for load in self.loads if u in load.users)

    def run_id(self, what: str) -> str:
        self._runs += 1
        return f"x{what}{self._runs}"

    def wait_delivered(self, run: str, expected: int, timeout: float) -> list[list[Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = sum(a["count"] for a in self.each("arrivals", fields=[
                {"run": run, "count_only": True}] * len(self.loads)))
            if got >= expected:
                break
            time.sleep(0.1)
        seen: dict[str, list[Any]] = {}
        for answer in self.each("arrivals", fields=[{"run": run}] * len(self.loads)):
            for tag, sent, at in answer["arrivals"]:
                seen.setdefault(tag, [tag, sent, at])
        return list(seen.values())

    def cpu_seconds(self) -> float:
        """The load processes' CPU so far: the peer's clients share the two cores with it,
        as the relay's farms do."""
        total = 0.0
        for load in self.loads:
            try:
                t = psutil.Process(load.proc.pid).cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def stanza_bytes(self) -> int:
        return max(a.get("stanza_bytes", 0) for a in self.each(
            "arrivals", fields=[{"run": "none"}] * len(self.loads)))

    def close(self) -> None:
        with ThreadPoolExecutor(max_workers=len(self.loads)) as pool:
            list(pool.map(lambda load: load.close(), self.loads))


def _saturated(server: Prosody, loads: _Loads, shape: Shape) -> dict:
    throughput, cpu, cpu_ms, load_cpu, lost, total = [], [], [], [], 0, 0
    for _ in range(shape.runs):
        run = loads.run_id("sat")
        by_load: dict[_Load, list[list[str]]] = {}
        for a, b in pair_indices(shape.pairs):
            by_load.setdefault(loads.where(user(a)), []).append([user(a), user(b)])
        order = list(by_load)
        cpu0, t0, l0 = server.cpu_seconds(), time.monotonic(), loads.cpu_seconds()
        answers = loads.each("closed", loads=order, fields=[
            {"run": run, "pairs": by_load[load], "window": shape.window,
             "seconds": shape.seconds} for load in order])
        cpu1, t1, l1 = server.cpu_seconds(), time.monotonic(), loads.cpu_seconds()
        load_cpu.append(100 * (l1 - l0) / (t1 - t0))
        sent = sum(len(a["sent"]) for a in answers)
        started = min(a["started"] for a in answers)
        ended = max(a["ended"] for a in answers)
        arrivals = loads.wait_delivered(run, sent, shape.drain_timeout)
        in_window = sum(1 for _tag, _sent, at in arrivals if started <= at <= ended)
        throughput.append(in_window / (ended - started))
        cpu.append(100 * (cpu1 - cpu0) / (t1 - t0))
        cpu_ms.append(1000 * (cpu1 - cpu0) / max(1, in_window))
        lost += sent - len(arrivals)
        total += sent
    return summary({"throughput_msg_s": throughput, "server_cpu_percent": cpu,
                    "server_cpu_ms_per_message": cpu_ms, "load_cpu_percent": load_cpu},
                   extra={"lost": lost, "sent": total, "pairs": shape.pairs,
                          "window": shape.window,
                          "seconds_per_run": shape.seconds})


def _paced(loads: _Loads, shape: Shape) -> dict:
    p50, p99, lost, total = [], [], 0, 0
    pairs = pair_indices(shape.paced_pairs)
    per_pair = max(1, round(shape.paced_rate * shape.paced_seconds / len(pairs)))
    interval = len(pairs) / shape.paced_rate
    for _ in range(shape.runs):
        run = loads.run_id("paced")
        by_load: dict[_Load, list[list[Any]]] = {}
        for j, (a, b) in enumerate(pairs):
            by_load.setdefault(loads.where(user(a)), []).append(
                [user(a), user(b), per_pair, j / shape.paced_rate, interval])
        order = list(by_load)
        at = time.monotonic() + 0.3
        answers = loads.each("paced", loads=order, fields=[
            {"run": run, "plan": by_load[load], "at": at} for load in order])
        sent = sum(len(a["sent"]) for a in answers)
        arrivals = loads.wait_delivered(run, sent, shape.drain_timeout)
        stats = latency_ms([at_ - t for _tag, t, at_ in arrivals])
        p50.append(stats["p50"])
        p99.append(stats["p99"])
        lost += sent - len(arrivals)
        total += sent
    return summary({"p50_ms": p50, "p99_ms": p99},
                   extra={"lost": lost, "sent": total, "paced_rate": shape.paced_rate,
                          "paced_pairs": shape.paced_pairs})


def run(shape: Shape, workdir: Path | None = None) -> dict:
    """Prosody with mod_mam, saturated (closed loop) and paced, as figure 2 runs the relay;
    ``{"skipped": reason}`` when Prosody or its SQLite driver is not installed."""
    reason = missing()
    if reason is not None:
        return {"skipped": reason}
    indices = list(range(1, 2 * max(shape.pairs, shape.paced_pairs) + 1))
    server = Prosody([user(i) for i in indices], workdir).start()
    loads: _Loads | None = None
    try:
        loads = _Loads(server, indices, shape.processes)
        t0 = time.monotonic()
        loads.each("login")
        out: dict[str, Any] = {"login_seconds": round(time.monotonic() - t0, 2)}
        out["saturated"] = _saturated(server, loads, shape)
        out["paced"] = _paced(loads, shape)
        out["stanza_bytes"] = loads.stanza_bytes()
        out["lost"] = out["saturated"]["lost"] + out["paced"]["lost"]
        out["server_rss_mb"] = round((server.ps.memory_info().rss if server.ps else 0) / 2**20, 1)
        out["version"] = _version()
    finally:
        if loads is not None:
            loads.close()
        archived = server.archived()
        server.close()
    out["archived_rows"] = archived  # two per delivered message: sender's and recipient's
    return out
