"""The safety alert button on the idle screen (issue 16) on the real kiosk App, walked by
tests/kiosk/ui_walk.py (``--walks alert_idle``) against the real broker, relay and console
(the site board comes from the console's kiosk API), in French and English.

Off (the default), the idle screen has no "Danger / accident" button. HR turns the setting
on (stored as the console stores it); the kiosk's next board says so and the red button
appears in the idle screen's header, the badge invitation whole below it. Nobody badged in:
the button, a pictogram, "Send alert"; the supervisor badged in on the other terminal gets
the urgent notice that carries the alert, naming the terminal and nobody; the database holds
it as the terminal's, audited as ``terminal:kiosk-1``; "Done" comes back to the idle screen.
An alert screen opened from the idle screen and left alone goes back to it by itself; one
left at its pictograms gives way to a badge presented meanwhile: the person badges in as
usual. HR turns it off and, before the
kiosk's next board, an alert from the idle screen is refused by the relay: nothing stored,
the idle screen says it was NOT sent and the button goes.
Screenshots are named ``alert-idle...``.
"""

from __future__ import annotations

from typing import Any

SHOTS = ("alert-idle", "alert-idle-sent", "alert-idle-refused")
RECEIVER = "Sophie Martin"  # a supervisor of the demo site, badged in on the other terminal
PASSER = {"fr": "Karim Benali", "en": "Amina Diallo"}  # badges in while an alert is open


async def walk_alert_idle(d: Any) -> None:
    from kiosk_app.ui.i18n import tr
    from tests.kiosk.ui_walk import _t

    d.back.other_badge_in(RECEIVER)
    # The walk asks for the board itself when HR has changed the setting: the minute's poll
    # must not come in between (the refused alert needs a kiosk that has not heard yet).
    if d.app.kiosk._board_timer is not None:
        d.app.kiosk._board_timer.cancel()
    try:
        for lang in ("fr", "en"):
            d.lang, d.t = lang, _t(lang)
            tr.switch(lang)  # an idle screen speaks its kiosk's language (config.language)
            await _turn(d, lang)
    finally:
        tr.switch(d.app.kiosk.config.language)


async def _setting(d: Any, on: bool) -> None:
    """HR's setting as the console stores it, then the kiosk's next board (asked now rather
    than at the minute's poll)."""
    from hr_console.services import safety, settings

    with d.back.system.store.session() as s:
        settings.put(s, safety.ON_IDLE_SETTING, on)
    kiosk = d.app.kiosk

    def learnt() -> bool:
        kiosk.poll_board()  # a call already on its way is not asked twice
        return kiosk.alert_on_idle is on and d.screen("idle").alert_on is on

    await d.until(f"the idle screen learns the setting is {'on' if on else 'off'}", learnt, 20)


def _visible_alert_buttons(d: Any) -> list[Any]:
    from kiosk_app.ui.widgets import IconButton

    found = {id(w): w for w in d.on_glass() if isinstance(w, IconButton)
             and w.text == d.t("Danger / accident")}  # the current screen may be met twice
    return list(found.values())


def _alerts(back: Any) -> list[Any]:
    from sqlalchemy import select

    from hr_console.store.models import SafetyAlert

    with back.system.store.session() as s:
        return list(s.execute(select(SafetyAlert).order_by(SafetyAlert.id)).scalars())


def _audit_actor(back: Any, alert_id: int) -> str | None:
    from sqlalchemy import select

    from hr_console.store.models import AuditEntry

    with back.system.store.session() as s:
        return s.execute(select(AuditEntry.actor).where(
            AuditEntry.action == "safety.alert",
            AuditEntry.target == f"safety_alert:{alert_id}")).scalar_one_or_none()


def _layout(d: Any) -> dict[str, Any]:
    """The button's size in dp and whether it covers any of the badge invitation."""
    from kivy.metrics import dp

    idle = d.screen("idle")
    button, invite = idle.ids.alert, idle.ids.invite
    bx, by = button.to_window(button.x, button.y)
    ix, iy = invite.to_window(invite.x, invite.y)
    overlap = (bx < ix + invite.width and ix < bx + button.width
               and by < iy + invite.height and iy < by + button.height)
    return {"button_dp": [round(button.width / dp(1)), round(button.height / dp(1))],
            "invite_dp": [round(invite.width / dp(1)), round(invite.height / dp(1))],
            "overlaps_invitation": overlap,
            "invitation_shown": d.t("Present your badge") in
            [getattr(w, "text", None) for w in d.on_glass()]}


async def _turn(d: Any, lang: str) -> None:
    from kiosk_app.link import events as ev
    from kiosk_app.ui.i18n import tr
    from tests.kiosk.alert_walk import _home
    from tests.kiosk.ui_walk import Inbox

    app, back = d.app, d.back
    await d.until("the idle screen", lambda: app.current == "idle" and app.kiosk.session is None)

    # Off: no button (nor anything to press where it would be).
    await _setting(d, False)
    await d.frames(4)
    d.check(f"{lang}_off", {"visible": len(_visible_alert_buttons(d)),
                            "disabled": d.screen("idle").ids.alert.disabled})

    # On: the red button in the header, the invitation whole.
    await _setting(d, True)
    await d.until("the button on the idle screen", lambda: _visible_alert_buttons(d), 10)
    await d.shot("alert-idle")
    d.check(f"{lang}_on", _layout(d))

    # Raised with nobody badged in; the supervisor's terminal gets it.
    inbox = Inbox(back.other)
    inbox.poll()
    before = len(_alerts(back))
    await d.tap(_visible_alert_buttons(d)[0], "Danger / accident on the idle screen")
    alert = d.screen("alert")
    await d.until("the alert screen", lambda: app.current == "alert" and alert.step == "choose")
    from_idle = alert.from_idle
    await d.tap(d.button(d.t("Fire")), "Fire")
    await d.until("the confirmation", lambda: alert.step == "confirm")
    await d.tap(d.button(d.t("Send alert")), "Send alert")
    notice = await d.until(f"{RECEIVER}'s terminal gets the alert", lambda: next(
        (e.notice for e in inbox.poll() if isinstance(e, ev.NoticeArrived)
         and (e.notice.get("alert") or {}).get("terminal") == "kiosk-1"), None), 20)
    await d.shot("alert-idle-sent")
    sent_text = d.texts()
    rows = _alerts(back)
    d.check(f"{lang}_raised", {
        "from_idle": from_idle, "session": app.kiosk.session is None,
        "stored": len(rows) - before, "pictogram": rows[-1].pictogram,
        "employee": rows[-1].employee_id, "actor": _audit_actor(back, rows[-1].id),
        "received_pictogram": notice["alert"]["pictogram"],
        "received_from": notice["alert"]["from"], "urgent": notice["urgent"],
        "sent_says": d.t("Alert sent") in sent_text})
    await d.tap(d.button(d.t("Done")), "Done")
    await d.until("the idle screen again", lambda: app.current == "idle")
    d.check(f"{lang}_back", {"screen": app.current,
                             "button": len(_visible_alert_buttons(d))})

    # Opened, then left alone: back to the idle screen by itself (after 60 s; 2 s here).
    import kiosk_app.ui.screens.alert as alert_screen

    left, alert_screen.IDLE_RETURN_S = alert_screen.IDLE_RETURN_S, 2.0
    try:
        await d.tap(_visible_alert_buttons(d)[0], "Danger / accident, then nobody")
        await d.until("the alert screen", lambda: app.current == "alert")
        await d.until("the idle screen again, untouched", lambda: app.current == "idle", 15)
    finally:
        alert_screen.IDLE_RETURN_S = left
    d.check(f"{lang}_left_alone", app.current)

    # Opened, then someone badges in before choosing: the badge works as on the idle screen.
    await d.tap(_visible_alert_buttons(d)[0], "Danger / accident, then a badge")
    await d.until("the alert screen", lambda: app.current == "alert")
    passer = PASSER[lang]
    await d.badge(back.badge(passer))
    await _home(d)
    d.check(f"{lang}_badge_meanwhile", {"screen": app.current, "person": app.kiosk.person,
                                        "stored": len(_alerts(back)) - len(rows)})
    await d.badge(back.badge(passer))  # the same badge again: logout
    await d.until("logged out", lambda: app.kiosk.session is None and app.current == "idle")
    tr.switch(lang)  # the logout went back to the kiosk's own language

    # HR turns it off; the kiosk has not heard yet: the relay refuses, the screen says so.
    from hr_console.services import safety, settings

    with back.system.store.session() as s:
        settings.put(s, safety.ON_IDLE_SETTING, False)
    stored = len(_alerts(back))
    await d.tap(_visible_alert_buttons(d)[0], "Danger / accident, HR having turned it off")
    await d.until("the alert screen", lambda: app.current == "alert" and alert.step == "choose")
    await d.tap(d.button(d.t("Injury")), "Injury")
    await d.until("the confirmation", lambda: alert.step == "confirm")
    await d.tap(d.button(d.t("Send alert")), "Send alert")
    idle = d.screen("idle")
    await d.until("the idle screen says the alert was not sent", lambda: app.current == "idle"
                  and idle.notice_key == "alert_refused", 20)
    await d.until("the button gone", lambda: not _visible_alert_buttons(d), 10)
    await d.shot("alert-idle-refused")
    d.check(f"{lang}_refused", {"stored": len(_alerts(back)) - stored,
                                "says": idle.message_text("alert_refused")})

    # Off, as the board now says: no button.
    await _setting(d, False)
    await d.frames(4)
    d.check(f"{lang}_off_again", len(_visible_alert_buttons(d)))
    idle.say("")  # the next turn starts on a plain idle screen


def check_alert_idle(checks: dict[str, Any]) -> None:
    """What the walk saw, in both languages."""
    for lang in ("fr", "en"):
        assert checks[f"{lang}_off"] == {"visible": 0, "disabled": True}, checks[f"{lang}_off"]
        on = checks[f"{lang}_on"]
        assert min(on["button_dp"]) >= 48 and not on["overlaps_invitation"], on
        assert on["invitation_shown"] and on["invite_dp"][1] >= 120, on
        raised = checks[f"{lang}_raised"]
        assert raised == {"from_idle": True, "session": True, "stored": 1,
                          "pictogram": "fire", "employee": None, "actor": "terminal:kiosk-1",
                          "received_pictogram": "fire", "received_from": None,
                          "urgent": True, "sent_says": True}, raised
        assert checks[f"{lang}_back"] == {"screen": "idle", "button": 1}, checks[f"{lang}_back"]
        assert checks[f"{lang}_left_alone"] == "idle"
        met = checks[f"{lang}_badge_meanwhile"]
        assert met == {"screen": "home", "person": PASSER[lang], "stored": 0}, met
        refused = checks[f"{lang}_refused"]
        assert refused["stored"] == 0 and refused["says"] == {
            "fr": "Alerte NON envoyée : badgez d'abord, puis Danger / accident.",
            "en": "Alert NOT sent: badge in first, then press Danger / accident."}[lang], refused
        assert checks[f"{lang}_off_again"] == 0
