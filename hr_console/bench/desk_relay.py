"""The relay with its login desk (``hr_console.relay.logins``) composed in, until
``relay/mqtt.py`` wires the desk itself: the shift-change benchmark and the desk's tests run
this one. ``python -m hr_console.bench.desk_relay --home DIR [--instance N] [--timings FILE]``
prints the same "connected" line as ``relais relay``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import threading
from pathlib import Path

from hr_console import config as config_mod
from hr_console.relay.logins import LoginDesk
from hr_console.relay.mqtt import Relay
from hr_console.store.db import Store
from relais_wire import topics


class DeskRelay(Relay):
    """``Relay`` whose worker routes every uplink through the login desk first."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - Relay's
        super().__init__(*args, **kwargs)
        self.logins = LoginDesk(self.cfg, self.store,
                                publish=lambda replies: self._publish(replies, direct=True),
                                ack=self._ack,
                                wake_worker=lambda: self._inbox.put(None),
                                wake_delivery=self._wake.set,
                                db_lock=self._db)

    def _work(self) -> None:
        while not self._stop.is_set():
            # Uplinks held behind a login that is done come first: they arrived before
            # anything the inbox gives now.
            items = self.logins.released() + self._next_batch()
            batch = [item for item in items if self._admit(item)
                     and not self.logins.route(topics.terminal_of(item.topic) or "", item)]
            if batch:
                self._commit(batch)
            self.logins.dispatch()  # logins routed above start once the batch is committed

    def stop(self) -> None:
        super().stop()
        self.logins.stop()


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
    relay = DeskRelay(cfg, store, instance=args.instance)
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
