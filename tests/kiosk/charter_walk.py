"""The messaging charter at badge-in and "How my messages are handled" on the real kiosk
App (issue 17), walked by tests/kiosk/ui_walk.py (``--walks charter``) against the real
broker and relay, in French and English.

HR has published the charter (services.charter.publish, the starting text for 365 days and
pre-moderation), photos and drawings are always held, and an urgent notice waits for
everyone. A worker badges in: the charter is the first screen (the urgent notice comes
right after it), full screen, in their language, with its version and four sections. In
English, "Sign out" first ends the session with nothing recorded, and the next badge-in
asks again. "I have read it, continue" leads to Home and the relay records one acceptance
for that person and version (read back from the database); Home's "How my messages are
handled" shows the facts, the sections and when the version was accepted. Screenshots are
named ``charter-...``.
"""

from __future__ import annotations

from typing import Any

SHOTS = ("charter-gate", "charter-home", "charter-handling")
CAST = {"fr": "Karim Benali", "en": "Amina Diallo"}


def _prepare(back: Any) -> None:
    from hr_console.domain.charter import starting_text
    from hr_console.services import charter, settings

    with back.system.store.session() as s:
        settings.put(s, "media_always_held", True)
        charter.publish(s, starting_text(365, "pre"), actor="hr")
    # An urgent notice waiting for everyone: it comes after the charter, never before.
    back.notice("Quai 2 fermé", "Le quai 2 est fermé jusqu'à 14 h.", urgent=True, ack=True)


def _acceptances(back: Any, name: str) -> list[int]:
    """The versions this person accepted, as the relay recorded them."""
    from sqlalchemy import select

    from hr_console.store.models import CharterAcceptance, CharterVersion

    with back.system.store.session() as s:
        return list(s.scalars(
            select(CharterVersion.version)
            .join(CharterAcceptance, CharterAcceptance.charter_id == CharterVersion.id)
            .where(CharterAcceptance.employee_id == back.employee(name))))


async def walk_charter(d: Any) -> None:
    _prepare(d.back)
    for lang in ("fr", "en"):
        await _walk(d, lang)


def _labels(d: Any, screen: Any) -> list[str]:
    from kivy.uix.label import Label

    return [w.text for w in d.walk_widgets(screen) if isinstance(w, Label) and w.text]


async def _walk(d: Any, lang: str) -> None:
    from tests.kiosk.ui_walk import _t

    app, back = d.app, d.back
    me = CAST[lang]
    d.lang, d.t = lang, _t(lang)
    seen: dict[str, Any] = {}
    if lang == "en":  # signing out instead of accepting: the session ends, nothing recorded
        await d.badge(back.badge(me))
        await d.until("the charter", lambda: app.current == "charter", 30)
        await d.tap(d.screen("charter").ids.leave, "Sign out")
        await d.until("logged out", lambda: app.kiosk.session is None and app.current == "idle")
        seen["after_sign_out"] = (app.current, _acceptances(back, me))
    await d.badge(back.badge(me))
    await d.until("the charter", lambda: app.current == "charter", 30)
    screen = d.screen("charter")
    await d.shot("charter-gate")
    seen.update(screen=app.current, version=screen.version, texts=_labels(d, screen),
                sections=[(w.heading, w.text) for w in reversed(screen.ids.sections.children)])
    await d.tap(d.button(d.t("I have read it, continue")), "I have read it, continue")
    await d.until("the urgent notice", lambda: app.current in ("urgent", "home"), 15)
    seen["after_accept"] = app.current
    while app.current == "urgent":
        await d.tap(d.screen("urgent").ids.ack, "I have read it")
        await d.frames(5)
    await d.until("Home", lambda: app.current == "home", 15)
    seen["recorded"] = await d.until("the acceptance recorded",
                                     lambda: _acceptances(back, me), 15)
    await d.shot("charter-home")  # Home's "How my messages are handled" among the rest
    await d.tap(d.screen("home").ids.handling, "How my messages are handled")
    await d.until("the handling screen", lambda: app.current == "handling")
    handling = d.screen("handling")
    await d.shot("charter-handling")
    seen.update(facts=handling.facts, accepted=handling.accepted,
                handling_sections=len(handling.ids.sections.children))
    await d.tap(handling.ids.back, "Back")
    await d.until("Home again", lambda: app.current == "home")
    await d.badge(back.badge(me))  # the same badge again: logout
    await d.until("logged out", lambda: app.kiosk.session is None and app.current == "idle")
    personal = {seen["facts"], seen["accepted"], seen["version"], *(b for _h, b in seen["sections"])}
    seen["after_logout"] = [t for t in d.texts() if t in personal]
    d.check(f"{lang}_charter", seen)


def check_charter(checks: dict[str, Any]) -> None:
    """What the walk saw, in both languages."""
    from hr_console.domain.charter import SECTIONS, starting_text

    text = starting_text(365, "pre")
    fr, en = checks["fr_charter"], checks["en_charter"]
    assert en["after_sign_out"] == ["idle", []], en
    assert fr["after_accept"] == en["after_accept"] == "urgent", (fr, en)
    for lang, seen in (("fr", fr), ("en", en)):
        assert seen["screen"] == "charter", seen
        assert [body for _h, body in seen["sections"]] == [text[lang][s] for s in SECTIONS]
        assert seen["recorded"] == [1], seen
        assert seen["handling_sections"] == 4, seen
        assert seen["after_logout"] == [], seen
    assert fr["version"].startswith("Version 1, publiée le "), fr
    assert en["version"].startswith("Version 1, published on "), en
    assert "Comment vos messages sont traités" in fr["texts"], fr["texts"]
    assert "How your messages are handled" in en["texts"], en["texts"]
    assert [h for h, _b in fr["sections"]] == [
        "À quoi sert cette messagerie", "Qui lit vos messages",
        "Ce qui est conservé, et combien de temps", "À qui vous adresser"]
    assert [h for h, _b in en["sections"]] == [
        "Why this messaging exists", "Who reads your messages",
        "What is kept, and for how long", "Whom to ask"]
    assert fr["facts"].split("\n") == [
        "•  Le service RH lit vos messages aux collègues avant qu'ils soient remis.",
        "•  Les messages sont conservés 365 jours, puis effacés.",
        "•  Les photos et les dessins sont toujours vérifiés par le service RH avant d'être "
        "remis."], fr
    assert en["facts"].split("\n") == [
        "•  HR reads your messages to colleagues before they are delivered.",
        "•  Messages are kept 365 days, then erased.",
        "•  Photos and drawings are always checked by HR before delivery."], en
    assert fr["accepted"].startswith("Vous avez accepté la version 1 le "), fr
    assert en["accepted"].startswith("You accepted version 1 on "), en
