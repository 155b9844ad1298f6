"""Packages as an install leaves them for a service user: a copy of the source packages
that the test process may not write (read-only, every ``.po`` newer than its ``.mo`` as
pip unpacks them), run in a fresh interpreter, and a snapshot to prove nothing was written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def install_copy(dest: Path, packages: tuple[str, ...], *, read_only: bool = True) -> Path:
    """``packages`` copied under ``dest`` (no bytecode), each .po made newer than its .mo."""
    for name in packages:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    later = max((p.stat().st_mtime for p in dest.rglob("*.mo")), default=time.time()) + 60
    for po in dest.rglob("*.po"):
        os.utime(po, (later, later))
    if read_only:
        for path in [dest, *dest.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
    return dest


def writable_again(dest: Path) -> None:
    """Let the test's tmp_path be removed afterwards."""
    for path in [dest, *dest.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every path under ``root`` with its mode, modification time and content."""
    return {str(p.relative_to(root)): (p.stat().st_mode, p.stat().st_mtime_ns,
                                       p.read_bytes() if p.is_file() else b"")
            for p in root.rglob("*")}


def run_from(site: Path, code: str, *args: str, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess:
    """``python -c code args`` importing our packages from ``site`` only, writing no bytecode
    (pip compiles it at install time)."""
    full = {**os.environ, **(env or {}), "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=site, env=full,
                          capture_output=True, text=True, timeout=120)
