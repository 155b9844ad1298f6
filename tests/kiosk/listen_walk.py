"""Read aloud on the real kiosk App (issue 19), walked by tests/kiosk/ui_walk.py (``--walks
listen``) against the real broker and relay, in French and English, with the real speech
engine (Debian's espeak-ng).

HR has ticked "Read urgent notices aloud when they open". In each language a teammate
writes to the person on the other terminal, HR posts an urgent notice to the person's team
and a notice in the *other* language to the site. The person badges in: the urgent notice
opens full screen and is spoken with no tap. Then the person opens the conversation and
taps "Listen" on the message: it is spoken in the message's language; then opens the
notice and taps "Listen": spoken in the notice's language, not the reader's. Each spoken
text is checked as a real audio file: a WAV of the expected length for its words, not
silent. Screenshots are named ``listen-...``.
"""

from __future__ import annotations

import array
import io
import wave
from pathlib import Path
from typing import Any

SHOTS = ("listen-urgent", "listen-conversation", "listen-notice")
CAST = {"fr": ("Karim Benali", "Sophie Martin"), "en": ("Thomas Petit", "Amina Diallo")}
MESSAGES = {"fr": "La machine quatre est bloquée depuis cinq heures quarante, la maintenance "
                  "est prévenue.",
            "en": "Please bring the pallet jack back to the dock when you are done with it."}
# The notice each reader gets is in the other language.
NOTICES = {"fr": ("Safety glasses", "From Monday, safety glasses are required in the "
                                    "workshop at all times."),
           "en": ("Lunettes de protection", "À partir de lundi, les lunettes de protection "
                                            "sont obligatoires dans tout l'atelier.")}


URGENT = {"fr": ("Chariot en panne", "Le chariot élévateur numéro deux est en panne, "
                  "ne l'utilisez pas."),
          "en": ("Forklift out of order", "Forklift number two is out of order, please do "
                 "not use it.")}


def audio_facts(path: Path) -> dict[str, Any]:
    """What a spoken file holds: seconds of sound and the loudness of its samples (16-bit
    RMS; 0 is silence)."""
    with wave.open(io.BytesIO(path.read_bytes())) as w:
        frames = w.readframes(w.getnframes())
        seconds = w.getnframes() / w.getframerate()
        width, channels = w.getsampwidth(), w.getnchannels()
    samples = array.array("h", frames) if width == 2 else array.array("h")
    rms = (sum(s * s for s in samples) / len(samples)) ** 0.5 if samples else 0.0
    return {"seconds": round(seconds, 2), "rms": round(rms), "width": width,
            "channels": channels}


async def walk_listen(d: Any) -> None:
    from hr_console.services import settings

    with d.back.system.store.session() as s:
        settings.put(s, "read_urgent_aloud", True)
    for lang in ("fr", "en"):
        await _walk(d, lang)


async def _spoken(d: Any, text: str) -> tuple[str, str, dict[str, Any]]:
    k = d.app.kiosk
    await d.until("spoken", lambda: any(t == text for t, _l, _p in k.read_aloud.spoken), 30)
    said, lang, path = next(s for s in reversed(k.read_aloud.spoken) if s[0] == text)
    d.heard.append(path)
    return said, lang, audio_facts(path)


def _team_notice(back: Any, name: str, title: str, body: str) -> str:
    """An urgent notice to this person's team only (the other turn's person never sees it)."""
    from hr_console.services import notices
    from hr_console.store.models import Employee

    with back.system.store.session() as s:
        team = s.get_one(Employee, back.employee(name)).team_id
        return notices.create(s, title=title, body=body, target_kind="team", target_ref=team,
                              urgent=True, actor="hr").uid


async def _walk(d: Any, lang: str) -> None:
    from tests.kiosk.alert_walk import _home
    from tests.kiosk.ui_walk import _t

    app, back, k = d.app, d.back, d.app.kiosk
    d.heard = []
    sender, me = CAST[lang]
    d.lang, d.t = lang, _t(lang)
    back.other_badge_in(sender)
    back.send_from_other(me, text=MESSAGES[lang])
    await d.until("the message stored", lambda: len(back.message_states(sender)) >= 1, 15)
    back.approve_held()  # the demo's Atelier team is pre-moderated
    title, body = NOTICES[lang]
    uid = back.notice(title, body)
    urgent_title, urgent_body = URGENT[lang]
    urgent = _team_notice(back, me, urgent_title, urgent_body)
    taps = app.taps
    await d.badge(back.badge(me))
    await d.until("the urgent notice", lambda: app.current == "urgent"
                  and d.screen("urgent").uid == urgent, 30)
    said, spoken_in, audio = await _spoken(d, f"{urgent_title}.\n{urgent_body}")
    await d.shot("listen-urgent")
    d.check(f"{lang}_urgent", {"language": spoken_in, **audio, "words": len(said.split()),
                               "taps": app.taps - taps})
    await _home(d)
    await d.until("the message on Home", lambda: k.session.conversation(
        back.employee(sender)).last is not None, 20)

    row = await d.recycled(d.screen("home").ids.list, "the sender's row",
                           contact_id=back.employee(sender))
    await d.tap(row, "the conversation")
    await d.until("conversation", lambda: app.current == "conversation")
    listen = d.button(d.t("Listen"), d.screen("conversation"))
    await d.tap(listen, "Listen (message)")
    said, spoken_in, audio = await _spoken(d, MESSAGES[lang])
    await d.shot("listen-conversation")
    d.check(f"{lang}_message", {"language": spoken_in, **audio,
                                "words": len(said.split())})
    await d.tap(d.screen("conversation").ids.back, "Back")
    await d.until("Home", lambda: app.current == "home")

    await d.tap(d.screen("home").ids.notices, "Notices")
    await d.until("notices", lambda: app.current == "notices")
    await d.tap(d.find(lambda w: w.__class__.__name__ == "NoticeRow" and w.uid == uid), "notice")
    await d.until("notice", lambda: app.current == "notice")
    await d.tap(d.screen("notice").ids.listen, "Listen (notice)")
    said, spoken_in, audio = await _spoken(d, f"{title}.\n{body}")
    await d.shot("listen-notice")
    d.check(f"{lang}_notice", {"language": spoken_in, **audio, "words": len(said.split())})
    await d.badge(back.badge(me))  # the same badge: logout
    await d.until("logged out", lambda: k.session is None and app.current == "idle")
    # Nothing of what was read stays behind: neither the texts nor the sound files.
    d.check(f"{lang}_after_logout", {"spoken": len(k.read_aloud.spoken),
                                     "files_left": sum(p.exists() for p in d.heard)})


def check_listen(checks: dict[str, Any]) -> None:
    """What the walk heard: each text in its own language, as long as its words need
    (espeak-ng at 150 words a minute: 0.25 to 0.8 s a word), never silent, 16-bit mono."""
    for lang, other in (("fr", "en"), ("en", "fr")):
        message, notice = checks[f"{lang}_message"], checks[f"{lang}_notice"]
        urgent = checks[f"{lang}_urgent"]
        assert checks[f"{lang}_after_logout"] == {"spoken": 0, "files_left": 0}
        assert urgent["language"] == lang and urgent["taps"] == 0, urgent  # by itself
        assert message["language"] == lang, message
        assert notice["language"] == other, notice  # the notice's language, not the reader's
        for heard in (urgent, message, notice):
            assert 0.25 * heard["words"] <= heard["seconds"] <= 0.8 * heard["words"], heard
            assert heard["rms"] > 500, heard
            assert (heard["width"], heard["channels"]) == (2, 1), heard
