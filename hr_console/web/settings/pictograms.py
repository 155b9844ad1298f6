"""The kiosk's pictograms named in the reader's language: the icon list of the quick
replies shows these names, not the file names."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

NAMES = {
    "back": _l("Arrow back"), "backspace": _l("Erase key"), "badge": _l("Badge"),
    "camera": _l("Camera"), "check_all": _l("Double tick"), "clear": _l("Eraser"),
    "clock": _l("Clock"), "close": _l("Cross"), "delivered": _l("Delivered"),
    "drawing": _l("Pencil"), "hand": _l("Raised hand"), "held": _l("Hourglass"),
    "help": _l("Question mark"), "image": _l("Picture"), "keyboard": _l("Keyboard"),
    "lock": _l("Padlock"), "logout": _l("Exit door"), "message": _l("Speech bubble"),
    "new": _l("Star"), "no": _l("No"), "notices": _l("Megaphone"),
    "offline": _l("No connection"), "ok": _l("Tick"), "outbox": _l("Outbox"),
    "person": _l("Person"), "read": _l("Open eye"), "refused": _l("No entry"),
    "retracted": _l("Withdrawn"), "send": _l("Paper plane"), "sent": _l("Sent"),
    "shift": _l("Shift"), "thumb": _l("Thumbs up"), "undo": _l("Undo"),
    "warning": _l("Warning"), "zoom": _l("Magnifying glass"),
}


def choices(names: list[str]) -> list[tuple[str, str]]:
    named = [(n, str(NAMES[n]) if n in NAMES else n) for n in names]
    return [("", "—"), *sorted(named, key=lambda c: c[1].lower())]
