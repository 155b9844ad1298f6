"""What git sees of the working tree: ``git status --porcelain`` and, for every path it
lists, the content, so that a test rewriting a file someone was already editing is seen.

Run in one process, the check is the test run last (tests/clean_tree); run by two (``make
test``: tests/suite_plan.py), it is the main process's, before and after both: a test given
out last may still run beside another's last one."""

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


def left_dirty(before: Tree | None, after: Tree | None) -> str | None:
    """What the tests did to the tree (None: nothing, or no git checkout to compare)."""
    if before is None or after is None:
        return None
    if not before.status:
        if after.status:
            return ("the tests left the tree dirty (write to build/ instead, or ignore the "
                    f"file): {list(after.status)}")
        return None
    if after != before:
        changed = sorted(set(after.contents) ^ set(before.contents))
        return f"the tests changed these paths of the working tree: {changed}"
    return None


def parallel(config: pytest.Config) -> bool:
    """Whether pytest-xdist shares this run between processes (``-n``)."""
    return bool(getattr(config.option, "numprocesses", None))


def worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")
