"""Compiling the gettext catalogues (``make catalogues``): a build step, never run by the
console or the kiosk.

Every ``.po`` of the console (``hr_console/web/**/translations/<lang>/LC_MESSAGES``) and of
the kiosk (``kiosk_app/ui/locales/<lang>/LC_MESSAGES``) has its compiled ``.mo`` beside it
in the source tree, so an install ships them and the programs only read them: a service
running as an unprivileged user from a root-owned install can write nothing there (a
catalogue compiled at start-up once took the console down: "Permission denied:
…/messages.mo.tmp"). A test compiles every ``.po`` in memory and compares it with its
``.mo``, so a ``.po`` edited without ``make catalogues`` fails the suite.

``python -m hr_console.catalogues`` writes the ``.mo`` files that differ and names them.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "hr_console" / "web", ROOT / "kiosk_app" / "ui" / "locales")
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


def stale() -> list[Path]:
    """The ``.mo`` files missing or different from what their ``.po`` compiles to."""
    out = []
    for po in sources():
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != compiled(po):
            out.append(mo)
    return out


def write_all() -> list[Path]:
    """Write every stale ``.mo`` (through a temporary file: a reader never sees half of one)."""
    written = []
    for mo in stale():
        tmp = mo.with_name(mo.name + ".tmp")
        tmp.write_bytes(compiled(mo.with_suffix(".po")))
        tmp.replace(mo)
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
