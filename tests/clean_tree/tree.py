"""What git sees of the working tree: ``git status --porcelain`` and, for every path it
lists, the content, so that a test rewriting a file someone was already editing is seen."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Tree:
    status: tuple[str, ...]  # the lines of `git status --porcelain`
    contents: tuple[tuple[str, str], ...]  # (path, sha256 or "absent") of each listed path


BEFORE = pytest.StashKey[Tree | None]()


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def state() -> Tree | None:
    """The tree now, or None when this is not a git checkout (an unpacked archive)."""
    if shutil.which("git") is None or _git("rev-parse", "--is-inside-work-tree").returncode:
        return None
    out = _git("status", "--porcelain=v1", "-z", "--untracked-files=all")
    if out.returncode:
        return None
    entries = [e for e in out.stdout.split("\0") if e]
    contents = []
    for entry in entries:
        path = ROOT / entry[3:]
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"
        contents.append((entry[3:], digest))
    return Tree(status=tuple(entries), contents=tuple(contents))
