"""The gettext catalogues of the console and the kiosk: the ``.po`` sources are in git, the
compiled ``.mo`` are build output (ignored by git), made at install by ``make catalogues``
(``pybabel compile``, run by ``make venv``, ``make run`` and ``make test``).

A console that finds a ``.mo`` missing or older than its ``.po`` (an install made without
``make``, a ``.po`` edited since) neither fails nor writes into its install: a service runs
as an unprivileged user from a root-owned install (a catalogue compiled there once took the
console down: "Permission denied: …/messages.mo.tmp"). It compiles the catalogue into its
home instead (``<home>/.cache/catalogues``, named by the hash of the sources, so a later
edit or upgrade never meets an old copy); the kiosk compiles in memory
(kiosk_app/ui/i18n.py).

``python -m hr_console.catalogues`` compiles the stale ``.mo`` of the tree, as
``make catalogues`` does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import sys
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "hr_console" / "web" / "translations", ROOT / "kiosk_app" / "ui" / "locales")
# Our .po files carry no POT-Creation-Date, for which Babel would write "now" into the
# compiled header: the same .po would never give the same bytes twice.
FIXED_DATE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
FIX = "make catalogues"


def sources() -> list[Path]:
    """Every catalogue source of the console and the kiosk, in a stable order."""
    return sorted(po for base in SOURCES for po in base.rglob("*/LC_MESSAGES/*.po"))


def compiled(po: Path) -> bytes:
    """The ``.mo`` bytes of ``po`` (fuzzy entries left out, as gettext tools do);
    the same source always gives the same bytes."""
    raw = po.read_bytes()
    catalog = read_po(io.BytesIO(raw), locale=po.parent.parent.name, domain=po.stem)
    if b"POT-Creation-Date:" not in raw:
        catalog.creation_date = FIXED_DATE
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def is_fresh(po: Path) -> bool:
    """The ``.mo`` beside ``po`` exists and is not older than it (make's rule)."""
    mo = po.with_suffix(".mo")
    return mo.is_file() and mo.stat().st_mtime_ns >= po.stat().st_mtime_ns


def _write(path: Path, data: bytes) -> None:
    """Through a temporary file in the same folder: a reader never sees half a catalogue."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a tree's catalogue from a service account
    os.replace(tmp, path)


def translation_dir(directory: Path, cache: Path) -> Path:
    """``directory`` (``<lang>/LC_MESSAGES/*.po``) itself when every ``.mo`` in it is fresh,
    else its catalogues compiled under ``cache``; nothing is written into ``directory``."""
    pos = sorted(directory.glob("*/LC_MESSAGES/*.po"))
    if all(is_fresh(po) for po in pos):
        return directory
    digest = hashlib.sha256()
    for po in pos:
        digest.update(str(po.relative_to(directory)).encode() + b"\0" + po.read_bytes() + b"\0")
    target = cache / digest.hexdigest()[:16]
    for po in pos:
        mo = target / po.relative_to(directory).with_suffix(".mo")
        if not mo.is_file():
            _write(mo, compiled(po))
    return target


def stale() -> list[Path]:
    """The ``.mo`` files of the tree missing or older than their ``.po``."""
    return [po.with_suffix(".mo") for po in sources() if not is_fresh(po)]


def write_all() -> list[Path]:
    """Compile every stale ``.mo`` of the tree beside its ``.po``."""
    written = []
    for mo in stale():
        _write(mo, compiled(mo.with_suffix(".po")))
        written.append(mo)
    return written


def main() -> int:
    written = write_all()
    for mo in written:
        print(f"compiled {mo.relative_to(ROOT)}")
    print(f"{len(sources())} catalogues, {len(written)} recompiled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
