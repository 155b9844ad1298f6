"""The message ids of the kiosk: every ``tr._("...")``, ``N_("...")`` and ``tr.ngettext`` in
kiosk_app/ui (Python and .kv). ``python -m tests.kiosk.i18n_extract`` prints the ids a
catalogue lacks, ready to paste into its .po file."""

from __future__ import annotations

import re
import sys
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "kiosk_app" / "ui"
_STR = r"""(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")"""
SINGLE = re.compile(r"(?:\b_|\bN_)\(\s*" + _STR)
PLURAL = re.compile(r"ngettext\(\s*" + _STR + r"\s*,\s*" + _STR)


def _unescape(s: str) -> str:
    return s.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")


def msgids() -> set[str]:
    found: set[str] = set()
    for path in sorted(UI.rglob("*")):
        if path.suffix not in (".py", ".kv"):
            continue
        text = path.read_text(encoding="utf-8")
        for m in SINGLE.finditer(text):
            found.add(_unescape(m.group(1) if m.group(1) is not None else m.group(2)))
        for m in PLURAL.finditer(text):
            found.add(_unescape(m.group(1) if m.group(1) is not None else m.group(2)))
    return found


def missing(lang: str) -> list[str]:
    from babel.messages.pofile import read_po

    path = UI / "locales" / lang / "LC_MESSAGES" / "kiosk.po"
    with path.open("rb") as fh:
        po = read_po(fh)
    have = {m.id if isinstance(m.id, str) else m.id[0] for m in po if m.id and m.string
            and (m.string if isinstance(m.string, str) else all(m.string))}
    return sorted(msgids() - have)


if __name__ == "__main__":
    for msgid in missing(sys.argv[1] if len(sys.argv) > 1 else "fr"):
        print(f'msgid "{msgid}"\nmsgstr ""\n')
