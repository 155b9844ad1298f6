"""English left on a French page: words that only English uses, and whole English
sentences of the console's catalogues whose French differs."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[2] / "hr_console" / "web"

_ENGLISH_WORDS = """
the and of with without not yes is are was this that these your you for from all never ago
days today yesterday sent received waiting held approved rejected approve reject reason read
seen unread search filter save cancel delete edit add remove new none there have has been
will which what who when where only every each after before show hide team teams people
person employee employees notice notices settings language last first next previous page of
online offline since until within median other others nobody everyone something nothing
select selected more less name names site sites shift shifts active inactive deactivated
terminal terminals enrol enrolled audit log entries entry action target detail when
dashboard moderation contacts rules rule reply replies allowed allow kind group personal
sign out signed in to on at by per total count export import file rows row error errors
"""
# Words French writes the same way (they are not evidence of English).
_SHARED = {"contacts", "site", "sites", "total", "terminal", "moderation", "page", "action", "rule",
           "import", "export", "on", "per", "en", "date", "message", "messages", "photo", "photos",
           "badge", "badges", "code", "notice", "audit"}
ENGLISH_ONLY = set(_ENGLISH_WORDS.split()) - _SHARED
# Words French shares with English, or that are data rather than interface.
IGNORED_TOKENS = {"admin", "hr", "supervisor", "auditor", "demo", "relais", "csv", "pin", "mqtt"}


@cache
def english_sentences() -> tuple[str, ...]:
    """Catalogue sentences (three words or more) that read differently in French."""
    found = set()
    for po in WEB.rglob("translations/fr/LC_MESSAGES/messages.po"):
        with po.open("rb") as fh:
            for m in read_po(fh):
                msgid = m.id if isinstance(m.id, str) else (m.id[0] if m.id else "")
                msgstr = m.string if isinstance(m.string, str) else (m.string[0] if m.string else "")
                if not msgid or msgid == msgstr:
                    continue
                for piece in re.split(r"%\([a-z_]+\)[sd]|%[sd]", msgid):
                    piece = piece.strip(" .,:;()")
                    if len(piece.split()) >= 3:
                        found.add(piece)
    return tuple(sorted(found))


def english_left(text: str) -> list[str]:
    problems = [s for s in english_sentences() if s in text]
    for word in re.findall(r"[A-Za-z]+(?:'[a-z]+)?", text):
        low = word.lower()
        if low in ENGLISH_ONLY and low not in IGNORED_TOKENS:
            problems.append(word)
    return sorted(set(problems))
