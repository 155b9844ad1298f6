""""How my messages are handled", from Home (issue 17): the installation's plain facts
(whether HR reads messages before or after delivery, how long they are kept, photos and
drawings always checked), the charter's sections when HR has published one, and when this
person accepted it, in the site's time."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from kiosk_app import sitetime
from kiosk_app.ui.i18n import N_, tr
from kiosk_app.ui.screens.base import KioskScreen
from kiosk_app.ui.screens.charter import fill_sections, long_date, version_line
from kiosk_app.ui.session import Charter, Handling

MODERATION = {
    "pre": N_("HR reads your messages to colleagues before they are delivered."),
    "post": N_("HR reads your messages to colleagues after they are delivered."),
    "none": N_("HR does not read your messages in advance but may remove one, saying why."),
}


def facts(handling: Handling | None) -> list[str]:
    """The plain sentences, one per fact the relay gave."""
    if handling is None:
        return []
    out = [tr._(MODERATION[handling.moderation])] if handling.moderation in MODERATION else []
    if handling.retention_days > 0:
        out.append(tr.ngettext("Messages are kept {n} day, then erased.",
                               "Messages are kept {n} days, then erased.",
                               handling.retention_days).format(n=handling.retention_days))
    if handling.media_held:
        out.append(tr._("Photos and drawings are always checked by HR before delivery."))
    return out


def accepted_line(charter: Charter | None) -> str:
    """"You accepted version 2 on Friday 4 December 2026 at 09:12" (the site's time)."""
    if charter is None or not charter.accepted:
        return ""
    if charter.accepted_at is None:
        return tr._("You accepted version {version}.").format(version=charter.version)
    when = sitetime.local(charter.accepted_at)
    return tr._("You accepted version {version} on {date} at {time}.").format(
        version=charter.version, date=long_date(when), time=tr.time(when))


class HandlingScreen(KioskScreen):
    facts = StringProperty("")  # one fact a line, each with a bullet
    version = StringProperty("")  # the charter's version and date, "" without a charter
    accepted = StringProperty("")

    def show(self, **_: Any) -> None:
        self.refresh()
        self.ids.scroll.scroll_y = 1

    def refresh(self) -> None:
        s = self.session
        if s is None:
            return
        self.facts = "\n".join(f"•  {line}" for line in facts(s.handling))
        self.version = version_line(s.charter) if s.charter is not None else ""
        self.accepted = accepted_line(s.charter)
        fill_sections(self.ids.sections, s.charter)

    def clear(self) -> None:
        self.facts = self.version = self.accepted = ""
        self.ids.sections.clear_widgets()
