"""Run inside an X server with no window manager (``xvfb-run``): start ``relais kiosk
--fullscreen`` as a terminal does, wait for its window to be mapped, and print the root
window's size and the kiosk window's geometry as JSON (the kiosk is then stopped).

    xvfb-run -a -s "-screen 0 1280x800x24" python -m tests.kiosk.fullscreen_probe CONFIG
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

GEOMETRY = re.compile(r"(\d+)x(\d+)\+(-?\d+)\+(-?\d+)")


def _tree() -> str:
    return subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True,
                          check=False).stdout


def _root() -> str:
    out = subprocess.run(["xwininfo", "-root"], capture_output=True, text=True, check=False).stdout
    width = re.search(r"Width: (\d+)", out)
    height = re.search(r"Height: (\d+)", out)
    return f"{width.group(1)}x{height.group(1)}" if width and height else "?"


def main() -> int:
    config = sys.argv[1]
    # The kiosk's own output goes to a file beside its config: when no window shows, the
    # probe's answer carries its end and the windows X knew (CI saw none in 90 s, once).
    output = open(Path(config).with_name("kiosk.log"), "w+b")  # noqa: SIM115 - closed below
    kiosk = subprocess.Popen([sys.executable, "-m", "hr_console.cli", "kiosk", "--config", config,
                              "--fullscreen"], stdout=output, stderr=subprocess.STDOUT)
    found: dict[str, object] = {"root": _root(), "window": None}
    try:
        deadline = time.monotonic() + 90  # a generous bound on a loaded machine, not a measure
        while time.monotonic() < deadline and kiosk.poll() is None:
            for line in _tree().splitlines():
                if "Relais" in line:
                    match = GEOMETRY.search(line.split(")")[-1])
                    if match:
                        w, h, x, y = (int(v) for v in match.groups())
                        found["window"] = {"size": f"{w}x{h}", "x": x, "y": y}
            if found["window"]:
                time.sleep(1)  # let a fullscreen request that would move it settle
                for line in _tree().splitlines():
                    if "Relais" in line and (match := GEOMETRY.search(line.split(")")[-1])):
                        w, h, x, y = (int(v) for v in match.groups())
                        found["window"] = {"size": f"{w}x{h}", "x": x, "y": y}
                break
            time.sleep(0.2)
        found["exit"] = kiosk.poll()
        if not found["window"]:
            found["tree"] = _tree()[-1500:]
    finally:
        kiosk.terminate()
        try:
            kiosk.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kiosk.kill()
        if not found["window"]:
            output.seek(0)
            found["kiosk_log"] = output.read().decode("utf-8", "replace")[-3000:]
        output.close()
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
