"""Run inside an X server (``xvfb-run``): start the kiosk App with a config file, let the
idle screen tick, print its clock and date as JSON, and stop.

    TZ=UTC xvfb-run -a python -m tests.kiosk.clock_probe CONFIG
"""

from __future__ import annotations

import json
import sys

from kiosk_app import config as kiosk_config
from kiosk_app.ui.launch import prepare


def main() -> int:
    cfg = kiosk_config.load(sys.argv[1])
    prepare(cfg)
    from kivy.clock import Clock

    from kiosk_app.ui.app import KioskApp

    app = KioskApp(cfg)
    seen: dict[str, str] = {}

    def read(_dt: float) -> None:
        idle = app.sm.get_screen("idle")
        seen.update(clock=idle.clock, today=idle.today)
        app.stop()

    Clock.schedule_once(read, 1.5)
    app.run()
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
