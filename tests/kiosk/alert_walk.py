"""Safety alerts on the real kiosk App (issue 16), walked by tests/kiosk/ui_walk.py (``--walks
alert``) against the real broker and relay, in French and English.

Raising: the person taps "Danger / accident" on Home, a pictogram, adds a photo from the
image folder (the photo screen the conversations use), then "Send alert"; the other
terminal, where a supervisor (or a recipient the setting names) is badged in, receives the
urgent notice that carries the alert and its photo, and the database holds both.
Receiving: the person on this kiosk is a recipient; a colleague raises an alert with a
photo on the other terminal and this kiosk shows it full screen (the urgent notice screen,
with its sound), the photo fetched from the console's kiosk API.
Screenshots are named ``alert-...``.
"""

from __future__ import annotations

from typing import Any

SHOTS = ("alert-home", "alert-choose", "alert-confirm", "alert-photo", "alert-sent",
         "alert-received")

# lang: (who raises here, who receives on the other terminal, who receives here, who raises
# on the other terminal). English has no supervisor in the demo: the setting names Amina.
CAST = {"fr": ("Karim Benali", "Sophie Martin", "Sophie Martin", "Karim Benali"),
        "en": ("Amina Diallo", "Thomas Petit", "Amina Diallo", "Lucas Bernard")}


async def walk_alert(d: Any) -> None:
    from hr_console.services import settings

    with d.back.system.store.session() as s:
        settings.put(s, "safety_alert_recipients", [d.back.employee("Amina Diallo")])
    for lang in ("fr", "en"):
        await _raise(d, lang)
        await _receive(d, lang)


async def _home(d: Any) -> None:
    """Home after the badge-in, past the alerts of the walk's other turns that were waiting
    for this person (urgent notices come first)."""
    app = d.app
    await d.until("Home or an urgent notice", lambda: app.current in ("home", "urgent"), 30)
    while app.current == "urgent":
        await d.tap(d.button(d.t("I have read it")), "an earlier alert read")
        await d.until("the next screen", lambda: app.current != "urgent"
                      or d.screen("urgent").position > 1, 10)
    await d.until("Home", lambda: app.current == "home", 10)


def _alerts(back: Any) -> list[Any]:
    from sqlalchemy import select

    from hr_console.store.models import SafetyAlert

    with back.system.store.session() as s:
        return list(s.execute(select(SafetyAlert).order_by(SafetyAlert.id)).scalars())


async def _raise(d: Any, lang: str) -> None:
    from kiosk_app.link import events as ev
    from tests.kiosk.ui_walk import Inbox, _t

    app, back = d.app, d.back
    me, other, _, _ = CAST[lang]
    d.lang, d.t = lang, _t(lang)
    back.other_badge_in(other)
    inbox = Inbox(back.other)
    before = len(_alerts(back))
    await d.badge(back.badge(me))
    await _home(d)
    await d.shot("alert-home")
    await d.tap(d.button(d.t("Danger / accident")), "Danger / accident")
    await d.until("the alert screen", lambda: app.current == "alert")
    await d.shot("alert-choose")
    await d.tap(d.button(d.t("Fall")), "Fall")
    await d.until("the confirmation", lambda: d.screen("alert").step == "confirm")
    await d.shot("alert-confirm")
    screen, photos = d.screen("alert"), d.screen("photos")
    await d.tap(screen.ids.add_photo, "Add a photo")
    await d.until("the photo grid", lambda: app.current == "photos" and len(
        photos.ids.grid.children) == 3 and all(t.texture is not None
                                                for t in photos.ids.grid.children))
    await d.tap(d.find(lambda w: getattr(w, "path", "").endswith("quai.jpg")), "a photo")
    await d.until("its preview", lambda: photos.mode == "preview", 30)
    await d.tap(photos.ids.send, "Attach")
    await d.until("the confirmation with the photo", lambda: app.current == "alert"
                  and screen.step == "confirm" and screen.photo is not None
                  and screen.ids.photo_thumb.texture is not None)
    await d.shot("alert-photo")
    await d.tap(d.button(d.t("Send alert")), "Send alert")
    notice = await d.until(f"{other}'s terminal gets the alert", lambda: next(
        (e.notice for e in inbox.poll() if isinstance(e, ev.NoticeArrived)
         and e.notice.get("alert", {}).get("from") == me), None), 20)
    await d.shot("alert-sent")
    rows = _alerts(back)
    d.check(f"{lang}_raised", {"stored": len(rows) - before, "pictogram": rows[-1].pictogram,
                               "employee": rows[-1].employee_id == back.employee(me),
                               "received_pictogram": notice["alert"]["pictogram"],
                               "received_from": notice["alert"]["from"],
                               "urgent": notice["urgent"], "photo": notice["photo"],
                               "media": rows[-1].media_id is not None})
    await d.tap(d.button(d.t("Done")), "Done")
    await d.until("Home again", lambda: app.current == "home")
    await d.badge(back.badge(me))  # the same badge again: logout
    await d.until("logged out", lambda: app.kiosk.session is None and app.current == "idle")


async def _receive(d: Any, lang: str) -> None:
    from tests.kiosk.ui_walk import _t

    app, back = d.app, d.back
    _, _, me, other = CAST[lang]
    d.lang, d.t = lang, _t(lang)
    back.other_badge_in(other)
    await d.badge(back.badge(me))
    await _home(d)
    back.other.send_alert("fire", "Fumée ligne 3" if lang == "fr" else "Smoke on line 3",
                          image=_photo())
    urgent = d.screen("urgent")
    await d.until("the alert full screen with its photo", lambda: app.current == "urgent"
                  and ("Fumée" in urgent.body or "Smoke" in urgent.body)
                  and urgent.photo is not None and urgent.ids.photo.texture is not None, 20)
    await d.shot("alert-received")
    d.check(f"{lang}_received", {"screen": app.current, "title": urgent.title,
                                 "body": urgent.body,
                                 "photo": urgent.photo[:3] == b"\xff\xd8\xff"})
    await d.tap(d.button(d.t("I have read it")), "I have read it")
    await d.until("Home after it", lambda: app.current == "home")
    await d.badge(back.badge(me))
    await d.until("logged out", lambda: app.kiosk.session is None and app.current == "idle")


def _photo() -> bytes:
    """A demo photo, normalised as the other terminal's photo screen would have it."""
    from pathlib import Path

    from kiosk_app import media

    demo = Path(__file__).resolve().parents[2] / "assets" / "demo_photos" / "machine.jpg"
    return media.normalise_photo(demo.read_bytes())


def check_alert(checks: dict[str, Any]) -> None:
    """What the walk saw, in both languages."""
    for lang, person in (("fr", "Karim Benali"), ("en", "Amina Diallo")):
        raised = checks[f"{lang}_raised"]
        assert raised == {"stored": 1, "pictogram": "fall", "employee": True,
                          "received_pictogram": "fall", "received_from": person,
                          "urgent": True, "photo": True, "media": True}, raised
    fr, en = checks["fr_received"], checks["en_received"]
    assert fr["screen"] == en["screen"] == "urgent", (fr, en)
    assert fr["photo"] is en["photo"] is True, (fr, en)
    assert fr["title"] == "Alerte sécurité : incendie", fr
    assert en["title"] == "Safety alert: fire" and "Smoke on line 3" in en["body"], en
