"""Shift-aware contact rules and the off-shift notice on the real kiosk App (issue 16),
walked by tests/kiosk/ui_walk.py (``--walks offshift``) against the real broker and relay,
in French and English.

The Atelier and Logistique teams work 06:00-14:00 on weekdays, their team rules are made
on-shift-only, the off-shift notice is on, and the relay's clock (``services.shifts.now``,
the relay runs in this process) says Monday 05:30 in Paris. A worker badges in: the notice
is the first screen, full screen, in their language; "I understand, continue" is audited
by the relay and leads to Home; "New message" lists the colleague only the team rule
allows greyed with "from 06:00", and touching it opens nothing; the supervisor (a rule
without the flag) is an ordinary contact. Screenshots are named ``offshift-...``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

SHOTS = ("offshift-notice", "offshift-contacts")
# lang: (who badges in, the colleague greyed, the supervisor still allowed)
CAST = {"fr": ("Karim Benali", "Julie Moreau", "Sophie Martin"),
        "en": ("Amina Diallo", "Lucas Bernard", "Thomas Petit")}
MONDAY_0530 = dt.datetime(2026, 12, 7, 4, 30, tzinfo=dt.UTC)


def _prepare(back: Any) -> None:
    from sqlalchemy import select, update

    from hr_console.services import settings
    from hr_console.store.models import ContactRule, Shift, Team

    with back.system.store.session() as s:
        for name in ("Atelier", "Logistique"):
            team = s.execute(select(Team).where(Team.name == name)).scalar_one()
            s.add(Shift(name="Matin", team_id=team.id, days="mon,tue,wed,thu,fri",
                        start_time=dt.time(6), end_time=dt.time(14)))
            s.execute(update(ContactRule).where(
                ContactRule.sender_kind == "team", ContactRule.sender_ref == team.id,
                ContactRule.recipient_kind == "team").values(on_shift_only=True))
        settings.put(s, "off_shift_notice", True)


def _accepted(back: Any, name: str) -> int:
    from sqlalchemy import func, select

    from hr_console.services import shifts
    from hr_console.store.models import AuditEntry

    with back.system.store.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == shifts.NOTICE_ACTION,
            AuditEntry.actor == f"employee:{back.employee(name)}")) or 0


async def walk_offshift(d: Any) -> None:
    from hr_console.services import shifts

    _prepare(d.back)
    clock = shifts.now
    shifts.now = lambda: MONDAY_0530  # the relay runs in this process
    try:
        for lang in ("fr", "en"):
            await _walk(d, lang)
    finally:
        shifts.now = clock


async def _walk(d: Any, lang: str) -> None:
    from kivy.tests.common import UnitTestTouch

    from kiosk_app.ui import theme
    from tests.kiosk.ui_walk import _t

    app, back = d.app, d.back
    me, colleague, boss = CAST[lang]
    d.lang, d.t = lang, _t(lang)
    await d.badge(back.badge(me))
    await d.until("the off-shift notice", lambda: app.current == "offshift", 30)
    screen = d.screen("offshift")
    await d.shot("offshift-notice")
    seen = {"screen": app.current, "text": screen.text, "starts": screen.starts}
    await d.tap(d.button(d.t("I understand, continue")), "I understand, continue")
    await d.until("Home", lambda: app.current == "home", 15)
    seen["audited"] = await d.until("the acceptance audited",
                                    lambda: _accepted(back, me), 15)
    await d.tap(d.button(d.t("New message")), "New message")
    await d.until("the contacts", lambda: app.current == "contacts")
    await d.shot("offshift-contacts")
    greyed = d.find(lambda w: getattr(w, "contact_id", 0) == back.employee(colleague),
                    what=colleague)
    allowed = d.find(lambda w: getattr(w, "contact_id", 0) == back.employee(boss), what=boss)
    seen.update(greyed_text=greyed.text, greyed=getattr(greyed, "off_shift", False)
                and tuple(greyed.bg_color) == tuple(theme.DIVIDER),
                allowed=not getattr(allowed, "off_shift", False)
                and tuple(allowed.bg_color) != tuple(theme.DIVIDER))
    # A touch on the greyed contact opens nothing.
    x, y = greyed.to_window(*greyed.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    await d.frames(1)
    touch.touch_up()
    await d.frames(3)
    seen["after_touch"] = app.current
    d.check(f"{lang}_offshift", seen)
    await d.badge(back.badge(me))  # the same badge again: logout
    await d.until("logged out", lambda: app.kiosk.session is None and app.current == "idle")


def check_offshift(checks: dict[str, Any]) -> None:
    """What the walk saw, in both languages."""
    fr, en = checks["fr_offshift"], checks["en_offshift"]
    assert fr["screen"] == en["screen"] == "offshift", (fr, en)
    assert fr["text"] == "Ce temps n'est pas compté comme du temps de travail.", fr
    assert en["text"] == "This time is not counted as working time.", en
    assert fr["starts"] == "Votre poste commence à 06:00." and en["starts"] == \
        "Your shift starts at 06:00.", (fr, en)
    for seen in (fr, en):
        assert seen["audited"] == 1, seen
        assert seen["greyed"] is True and seen["allowed"] is True, seen
        assert seen["after_touch"] == "contacts", seen
    assert fr["greyed_text"] == "Julie Moreau\nHors poste : dès 06:00", fr
    assert en["greyed_text"] == "Lucas Bernard\nOff shift: from 06:00", en
