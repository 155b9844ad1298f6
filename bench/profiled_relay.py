"""``relais relay`` under pyinstrument, for ``relais bench --profile DIR``.

pyinstrument samples one thread; the relay's work happens in its worker and deliverer
threads, so each of them runs under its own profiler and writes its own text report when
the relay stops (SIGTERM), next to ``--out``.
"""

from __future__ import annotations

from pathlib import Path

from pyinstrument import Profiler

from bench.relay_process import serve
from hr_console.config import Settings
from hr_console.relay.mqtt import Relay
from hr_console.store.db import Store


class ProfiledRelay(Relay):
    def __init__(self, cfg: Settings, store: Store, *, instance: int, out: Path) -> None:
        super().__init__(cfg, store, instance=instance)
        self.out = out

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

    def write(self, _out: Path) -> None:
        for thread in self._threads:  # each profiler writes its report as its thread ends
            thread.join()


if __name__ == "__main__":
    serve(ProfiledRelay)
