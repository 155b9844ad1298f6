"""A ``.po`` compiled in memory with the standard library, for a kiosk whose ``.mo`` is
missing or older than its ``.po`` (an install made without ``make catalogues``, a ``.po``
edited since): the kiosk writes nothing into its install and needs no Babel on a terminal.
The ``.mo`` layout is GNU gettext's, as CPython's Tools/i18n/msgfmt.py writes it."""

from __future__ import annotations

import ast
import gettext
import io
import struct
from pathlib import Path


def _entries(text: str) -> list[dict[str, list[str] | bool]]:
    """The entries of a ``.po``: keyword -> its string pieces, and whether it is fuzzy."""
    entries: list[dict] = []
    current: dict = {}
    key = ""
    fuzzy = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        if not line or line.startswith("#"):
            if not line and current:
                entries.append({**current, "fuzzy": fuzzy})
                current, fuzzy = {}, False
            continue
        if line.startswith('"'):
            current[key].append(ast.literal_eval(line))
            continue
        key, _, value = line.partition(" ")
        if key == "msgid" and "msgid" in current:  # no blank line between two entries
            entries.append({**current, "fuzzy": fuzzy})
            current, fuzzy = {}, False
        current[key] = [ast.literal_eval(value.strip())]
    if current:
        entries.append({**current, "fuzzy": fuzzy})
    return entries


def messages(text: str) -> dict[bytes, bytes]:
    """``.mo`` keys and values: translated, non-fuzzy entries (the header included)."""
    out: dict[bytes, bytes] = {}
    for e in _entries(text):
        if "msgid" not in e or (e["fuzzy"] and "".join(e["msgid"])):
            continue
        key = "".join(e["msgid"])
        if "msgid_plural" in e:
            key += "\0" + "".join(e["msgid_plural"])
            forms = sorted((k for k in e if k.startswith("msgstr[")),
                           key=lambda k: int(k[7:-1]))
            value = "\0".join("".join(e[k]) for k in forms)
        else:
            value = "".join(e.get("msgstr", []))
        if "msgctxt" in e:
            key = "".join(e["msgctxt"]) + "\x04" + key
        if value.strip("\0"):
            out[key.encode("utf-8")] = value.encode("utf-8")
    return out


def mo_bytes(table: dict[bytes, bytes]) -> bytes:
    """The GNU ``.mo`` file of ``table`` (keys sorted, no hash table)."""
    keys = sorted(table)
    ids = strs = b""
    index = []
    for k in keys:
        index.append((len(ids), len(k), len(strs), len(table[k])))
        ids += k + b"\0"
        strs += table[k] + b"\0"
    key_start = 7 * 4 + 16 * len(keys)
    value_start = key_start + len(ids)
    key_table = b"".join(struct.pack("<II", n, at + key_start) for at, n, _, _ in index)
    value_table = b"".join(struct.pack("<II", n, at + value_start) for _, _, at, n in index)
    head = struct.pack("<Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + 8 * len(keys), 0, 0)
    return head + key_table + value_table + ids + strs


def translations(po: Path) -> gettext.GNUTranslations:
    """``po`` (UTF-8, as ours are) read as gettext would read its compiled ``.mo``."""
    return gettext.GNUTranslations(io.BytesIO(mo_bytes(messages(po.read_text(encoding="utf-8")))))
