"""The relay as ``relais relay`` runs it (its login desk included), writing the desk's own
login timings when it stops: the shift-change figure reads the server side of each
badge-in from them. ``python -m bench.desk_relay --home DIR [--instance N]
[--timings FILE]`` prints the same "connected" line as ``relais relay``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import threading
from pathlib import Path

from hr_console import config as config_mod
from hr_console.relay.mqtt import Relay
from hr_console.store.db import Store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--instance", type=int, default=1)
    parser.add_argument("--timings", help="where to write the desk's login timings (JSON) at stop")
    args = parser.parse_args()
    cfg = config_mod.load(args.home)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_a: stop.set())
    store = Store(cfg.database_url)
    relay = Relay(cfg, store, instance=args.instance)
    relay.start()
    print(f"relay {relay.username} connected", flush=True)
    stop.wait()
    relay.stop()
    store.dispose()
    if args.timings:
        Path(args.timings).write_text(json.dumps([dataclasses.asdict(t) for t in
                                                  relay.logins.timings]), encoding="utf-8")


if __name__ == "__main__":
    main()
