"""Benchmarks: ``relais bench`` (relay against the raw broker), console and kiosk figures.

Every producer of figures rewrites only its own section of docs/benchmarks.md
(see :mod:`bench.report`), so they can run at different times.
"""

from __future__ import annotations

import os
from pathlib import Path

# The folder that holds this package (the repository, or site-packages once installed).
ROOT = Path(__file__).resolve().parent.parent


def child_env() -> dict[str, str]:
    """The environment of the harness's helper processes (``python -m bench.farm``, the
    relays, ...): this package's folder first on their path, so they import the code of the
    harness that starts them, whatever the working directory (a test's temporary one) and
    however relais is installed."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else "")}
