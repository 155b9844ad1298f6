"""Reminders until acknowledged on the real kiosk App (issue 16), walked by
tests/kiosk/ui_walk.py (``--walks reminder``) against the real broker and relay, in French
and English.

While badged in: a notice asking for acknowledgement every 5 minutes arrives (an ordinary
notice: the person stays on Home); the reminder clock is moved past the interval and the
relay's reminder opens it full screen (the notice screen of urgent notices, in blue and
titled as a reminder); "I have read it" acknowledges it. At badge-in: a notice given and not
acknowledged is shown full screen first. Screenshots are named ``reminder-...``.

The relay looks for reminders every 0.2 s here and ``services.reminders.clock`` is moved,
as in tests/e2e/test_reminders.py: the walk waits seconds, not minutes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

SHOTS = ("reminder-while-in", "reminder-badge-in")

WHO = {"fr": "Karim Benali", "en": "Amina Diallo"}
TITLES = {"fr": ("Nouvelles consignes EPI", "Inventaire samedi"),
          "en": ("New safety glasses rule", "Stocktake on Saturday")}


class _Moved:
    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        from hr_console.store.models import utcnow

        return utcnow() + self.offset


async def walk_reminder(d: Any) -> None:
    from hr_console.services import reminders

    clock = _Moved()
    reminders.clock = clock
    for relay in d.back.system.relays:
        relay.remind_check_s = 0.2
    for lang in ("fr", "en"):
        await _walk(d, lang, clock)


def _notice(back: Any, name: str, title: str, every: int | None) -> str:
    from hr_console.services import notices
    from hr_console.store.models import Employee

    with back.system.store.session() as s:
        team = s.get_one(Employee, back.employee(name)).team_id
        return notices.create(s, title=title, body=title + ".", target_kind="team",
                              target_ref=team, ack_required=True, remind_every_min=every,
                              actor="hr").uid


def _receipt(back: Any, name: str, uid: str) -> Any:
    from sqlalchemy import select

    from hr_console.store.models import Notice, NoticeReceipt

    with back.system.store.session() as s:
        return s.execute(select(NoticeReceipt).join(Notice, Notice.id == NoticeReceipt.notice_id)
                         .where(Notice.uid == uid,
                                NoticeReceipt.employee_id == back.employee(name))).scalar_one()


async def _walk(d: Any, lang: str, clock: _Moved) -> None:
    from tests.kiosk.alert_walk import _home
    from tests.kiosk.ui_walk import _t

    app, back, k = d.app, d.back, d.app.kiosk
    me, (first, second) = WHO[lang], TITLES[lang]
    d.lang, d.t = lang, _t(lang)
    clock.offset = dt.timedelta()  # the copies are confirmed on the real clock
    await d.badge(back.badge(me))
    await _home(d)

    # While badged in: it arrives as an ordinary notice, then is reminded at its interval.
    uid = _notice(back, me, first, 5)
    await d.until("the notice arrived", lambda: uid in k.session.notices, present=True)
    await d.until("its copy confirmed", lambda: _receipt(back, me, uid).delivered_at is not None,
                  present=True)
    arrived_on = app.current
    clock.offset += dt.timedelta(minutes=5, seconds=1)
    urgent = d.screen("urgent")
    await d.until("the reminder full screen", lambda: app.current == "urgent"
                  and urgent.uid == uid, present=True)
    await d.shot("reminder-while-in")
    d.check(f"{lang}_while_in", {"arrived_on": arrived_on, "screen": app.current,
                                 "urgent": urgent.urgent, "title": urgent.title,
                                 "reminders": _receipt(back, me, uid).reminders})
    await d.tap(d.button(d.t("I have read it")), "I have read it")
    await d.until("Home after it", lambda: app.current == "home")
    await d.until("acknowledged in the database",
                  lambda: _receipt(back, me, uid).acknowledged_at is not None, present=True)

    # At the next badge-in: one given and not acknowledged comes first, full screen.
    later = _notice(back, me, second, None)
    await d.until("the second notice arrived", lambda: later in k.session.notices, present=True)
    await d.until("its copy confirmed",
                  lambda: _receipt(back, me, later).delivered_at is not None, present=True)
    await d.badge(back.badge(me))  # the same badge: logout
    await d.until("logged out", lambda: k.session is None and app.current == "idle")
    await d.badge(back.badge(me))
    await d.until("the reminder first", lambda: app.current == "urgent" and urgent.uid == later)
    await d.shot("reminder-badge-in")
    d.check(f"{lang}_badge_in", {"screen": app.current, "urgent": urgent.urgent,
                                 "title": urgent.title,
                                 "reminders": _receipt(back, me, later).reminders,
                                 "first_still_acknowledged": uid not in [
                                     n.id for n in k.session.first_pending()]})
    await d.tap(d.button(d.t("I have read it")), "I have read it")
    await d.until("Home after it", lambda: app.current == "home")
    await d.until("acknowledged in the database",
                  lambda: _receipt(back, me, later).acknowledged_at is not None, present=True)
    await d.badge(back.badge(me))
    await d.until("logged out", lambda: k.session is None and app.current == "idle")


def check_reminder(checks: dict[str, Any]) -> None:
    """What the walk saw, in both languages."""
    for lang in ("fr", "en"):
        first, second = TITLES[lang]
        assert checks[f"{lang}_while_in"] == {
            "arrived_on": "home", "screen": "urgent", "urgent": False, "title": first,
            "reminders": 1}, checks[f"{lang}_while_in"]
        assert checks[f"{lang}_badge_in"] == {
            "screen": "urgent", "urgent": False, "title": second, "reminders": 1,
            "first_still_acknowledged": True}, checks[f"{lang}_badge_in"]
