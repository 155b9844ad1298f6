"""The coordinator's side of the farms: start them, badge every link in, send plans, and
gather arrivals until every message is delivered or the time is up."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench import child_env
from bench.system import System, badge, terminal_name


class FarmProcess:
    def __init__(self, system: System, indices: list[int], name: str,
                 module: str = "bench.farm") -> None:
        assert system.cfg is not None
        spec = {
            "host": "127.0.0.1", "port": system.cfg.mqtt_port,
            "outbox_dir": str(system.scratch / name),
            "links": [{"terminal": terminal_name(i), "badge": badge(i),
                       "password": system.org.terminals[terminal_name(i)]} for i in indices],
        }
        path = system.tmp / f"{name}.json"
        path.write_text(json.dumps(spec), encoding="utf-8")
        self.log = (system.tmp / f"{name}.log").open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", module, str(path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, env=child_env())
        self.name = name
        self.employees: dict[str, int] = {}

    def ask(self, cmd: str, **fields: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({"cmd": cmd, **fields}) + "\n").encode())
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"load process {self.name} died; see its log")
        answer = json.loads(line)
        if not answer.pop("ok"):
            raise RuntimeError(f"load process {self.name}: {answer['error']}")
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


@dataclass
class Delivery:
    sent: int
    delivered: int
    latencies: list[float]  # seconds, one per delivered message
    last_arrival: float  # monotonic
    first_sent: float


LINKS_PER_PROCESS = 120


class Farms:
    """Links ``indices`` (terminal i hosts employee i) spread over ``processes`` farms, each
    a ``module`` process (``bench.farm``, the shipped link, or ``bench.lean_farm``)."""

    def __init__(self, system: System, indices: list[int], processes: int, label: str,
                 module: str = "bench.farm") -> None:
        # paho waits on its socket with select(), which cannot watch a descriptor numbered
        # 1024 or more; each link holds about six (socket, paho's wake-up pair, the outbox's
        # SQLite files), so past ~170 links in one process the later ones never connect
        # (1,000 terminals in 5 farms: 850 connected). A kiosk has one link per process.
        processes = max(processes, -(-len(indices) // LINKS_PER_PROCESS))
        processes = max(1, min(processes, len(indices) // 2 or 1))
        size = -(-len(indices) // processes)
        size += size % 2  # even blocks: pairs (2j+1, 2j+2) stay in one process
        chunks = [indices[k:k + size] for k in range(0, len(indices), size)]
        self.farms = [FarmProcess(system, chunk, f"{label}-{k}", module)
                      for k, chunk in enumerate(chunks)]
        self.where: dict[str, FarmProcess] = {}
        self.employees: dict[str, int] = {}
        self._runs = 0

    def each(self, cmd: str, **fields: Any) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(max_workers=len(self.farms)) as pool:
            return list(pool.map(lambda f: f.ask(cmd, **fields), self.farms))

    def login(self) -> float:
        started = time.monotonic()
        for farm, answer in zip(self.farms, self.each("login"), strict=True):
            farm.employees = answer["employees"]
            for terminal, emp in answer["employees"].items():
                self.where[terminal] = farm
                self.employees[terminal] = emp
        return time.monotonic() - started

    def run_id(self, what: str) -> str:
        self._runs += 1
        return f"{what}{self._runs}"

    def send(self, run: str, plan: list[list[Any]], at: float | None = None) -> list[str]:
        """``plan`` rows: [sender terminal, recipient terminal, count, offset, interval]."""
        by_farm: dict[FarmProcess, list[list[Any]]] = {}
        for sender, recipient, count, offset, interval in plan:
            by_farm.setdefault(self.where[sender], []).append(
                [sender, self.employees[recipient], count, offset, interval])
        with ThreadPoolExecutor(max_workers=len(by_farm)) as pool:
            answers = list(pool.map(lambda kv: kv[0].ask("send", run=run, plan=kv[1], at=at),
                                    by_farm.items()))
        return [tag for a in answers for tag in a["sent"]]

    def wait_delivered(self, run: str, expected: int, timeout: float) -> Delivery:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = sum(a["count"] for a in self.each("arrivals", run=run, count_only=True))
            if got >= expected:
                break
            time.sleep(0.1)
        return self.delivery(run, expected)

    def delivery(self, run: str, sent: int) -> Delivery:
        seen: dict[str, tuple[float, float]] = {}
        for answer in self.each("arrivals", run=run):
            for tag, t_sent, at in answer["arrivals"]:
                if tag not in seen or at < seen[tag][1]:
                    seen[tag] = (t_sent, at)
        lat = [at - t for t, at in seen.values()]
        last = max((at for _t, at in seen.values()), default=0.0)
        first = min((t for t, _at in seen.values()), default=0.0)
        return Delivery(sent, len(seen), lat, last, first)

    def pending_outbox(self) -> int:
        return sum(a["outbox"] for a in self.each("pending"))

    def close(self) -> None:
        with ThreadPoolExecutor(max_workers=len(self.farms)) as pool:
            list(pool.map(lambda f: f.close(), self.farms))
