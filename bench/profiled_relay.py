"""``relais relay`` under pyinstrument, for ``relais bench --profile DIR``.

pyinstrument samples one thread; the relay's work happens in its worker and deliverer
threads, so each of them runs under its own profiler and writes its own text report when
the relay stops (SIGTERM), next to ``--out``.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from pyinstrument import Profiler

from hr_console import config as config_mod
from hr_console.relay.mqtt import Relay
from hr_console.store.db import Store


class ProfiledRelay(Relay):
    out: Path

    def _profiled(self, name: str, target) -> None:  # noqa: ANN001
        profiler = Profiler(interval=0.0005)
        profiler.start()
        try:
            target()
        finally:
            profiler.stop()
            Path(f"{self.out}-{name}.txt").write_text(
                profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")

    def _work(self) -> None:
        self._profiled("worker", super()._work)

    def _deliver(self) -> None:
        self._profiled("deliverer", super()._deliver)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--instance", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    cfg = config_mod.load(args.home)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_a: stop.set())
    store = Store(cfg.database_url)
    relay = ProfiledRelay(cfg, store, instance=args.instance)
    relay.out = Path(args.out)
    relay.start()
    print(f"relay {relay.username} connected", flush=True)
    stop.wait()
    relay.stop()
    for thread in relay._threads:  # let each profiler write its report
        thread.join()
    store.dispose()


if __name__ == "__main__":
    main()
