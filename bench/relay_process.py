"""A bench variant of ``relais relay`` run as its own process (``python -m bench.X --home H
--instance N --out PATH``), opened as the command opens its relay: the same store, the
start-up heap frozen out of the collector (``settle_heap``), the same "connected" line the
harness waits for. The variant writes what it measured to ``--out`` once stopped.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from hr_console import config as config_mod
from hr_console.cli.common import obj_store, settle_heap
from hr_console.config import Settings
from hr_console.store.db import Store


class Measured(Protocol):
    username: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def write(self, out: Path) -> None:
        """What the variant measured, once it has stopped."""


def serve(make: Callable[..., Measured]) -> None:
    """Runs ``make(cfg, store, instance=N, out=PATH)`` until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--instance", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    cfg: Settings = config_mod.load(args.home)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_a: stop.set())
    store: Store = obj_store(cfg, relay=True)
    relay = make(cfg, store, instance=args.instance, out=Path(args.out))
    relay.start()
    settle_heap()
    print(f"relay {relay.username} connected", flush=True)
    stop.wait()
    relay.stop()
    relay.write(Path(args.out))
    store.dispose()
