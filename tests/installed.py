"""Packages as an install leaves them for a service user: a copy of the source packages
that the test process may not write (read-only), with its compiled catalogues as
``make catalogues`` leaves them, older than their ``.po`` or none at all, run in a fresh
interpreter, and a snapshot to prove nothing was written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

from hr_console.catalogues import compiled

ROOT = Path(__file__).resolve().parents[1]


def install_copy(dest: Path, packages: tuple[str, ...], *, read_only: bool = True,
                 mo: Literal["fresh", "older", "none"] = "fresh") -> Path:
    """``packages`` copied under ``dest`` (no bytecode, none of the tree's own ``.mo``), each
    ``.po`` compiled beside it (``fresh``: as ``make catalogues`` leaves it; ``older``: the
    ``.po`` newer, as an unpacking order or a later edit leaves it) or not (``none``)."""
    for name in packages:
        shutil.copytree(ROOT / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.mo", "*.tmp"))
    if mo != "none":
        for po in dest.rglob("*.po"):
            target = po.with_suffix(".mo")
            target.write_bytes(compiled(po))
            when = po.stat().st_mtime + (60 if mo == "fresh" else -60)
            os.utime(target, (when, when))
    if read_only:
        make_read_only(dest)
    return dest


def make_read_only(dest: Path) -> None:
    """As root owns an install the service user runs (the test process being root, the
    snapshot, not the modes, is what proves nothing was written)."""
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)


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
