"""Supervisor mode on the real kiosk App (issue 16), walked by tests/kiosk/ui_walk.py
(``--walks supervisor``) against the real broker, relay and console (the kiosk API for "my
notices"), in French and English.

A team lead badges in: Home offers "Broadcast to my team"; the form takes a shift of their
team as the target, a title and a text typed on the on-screen keyboard, a photo from the
image folder (the photo screen the conversations use), "confirm reading"; Send. The worker
badged in on the other terminal receives it (a link, read back), confirms it; the lead's "My
notices" shows the counts, the tracking shows who confirmed and who did not, and one tap
reminds the one who did not, who receives it again. Screenshots are named ``supervisor-...``.
"""

from __future__ import annotations

from typing import Any

SHOTS = ("supervisor-home", "supervisor-form", "supervisor-target", "supervisor-title",
         "supervisor-ready", "supervisor-sent", "supervisor-my-notices", "supervisor-tracking",
         "supervisor-reminded")

# lang: (the lead here, the team, a colleague on the other terminal, one who does not
# confirm, the shift, what is typed). Thomas reads English for this turn.
CAST = {"fr": ("Sophie Martin", "Atelier", "Karim Benali", "Julie Moreau", "Matin", "pause",
               "ici"),
        "en": ("Thomas Petit", "Logistique", "Amina Diallo", "Lucas Bernard", "Morning", "break",
               "now")}


def _prepare(back: Any) -> None:
    """A shift per team, and Thomas reading English (the demo has no English lead)."""
    import datetime as dt

    from sqlalchemy import select

    from hr_console.store.models import Employee, Shift, Team

    with back.system.store.session() as s:
        for team, shift in (("Atelier", "Matin"), ("Logistique", "Morning")):
            tid = s.execute(select(Team.id).where(Team.name == team)).scalar_one()
            s.add(Shift(name=shift, team_id=tid, start_time=dt.time(6), end_time=dt.time(14)))
        s.get_one(Employee, back.employee("Thomas Petit")).language = "en"


async def walk_supervisor(d: Any) -> None:
    _prepare(d.back)
    for lang in ("fr", "en"):
        await _broadcast(d, lang)


async def _type(d: Any, word: str) -> None:
    kb = d.screen("broadcast").ids.keyboard
    for ch in word:
        await d.tap(d.key(kb, ch))


def _arrived(inbox: Any, uid: str, reminder: bool = False) -> dict | None:
    from kiosk_app.link import events as ev

    return next((e.notice for e in inbox.poll() if isinstance(e, ev.NoticeArrived)
                 and e.notice.get("notice") == uid
                 and bool(e.notice.get("reminder")) == reminder), None)


async def _broadcast(d: Any, lang: str) -> None:
    from tests.kiosk.alert_walk import _home
    from tests.kiosk.ui_walk import Inbox, _t

    app, back = d.app, d.back
    lead, team, colleague, _late, shift, title, text = CAST[lang]
    d.lang, d.t = lang, _t(lang)
    back.other_badge_in(colleague)
    inbox = Inbox(back.other)
    await d.badge(back.badge(lead))
    await _home(d)
    d.check(f"{lang}_leads", [t.name for t in app.kiosk.session.leads])
    await d.shot("supervisor-home")
    await d.tap(d.button(d.t("Broadcast to my team")), "Broadcast to my team")
    screen = d.screen("broadcast")
    await d.until("the broadcast form", lambda: app.current == "broadcast")
    await d.shot("supervisor-form")

    await d.tap(screen.ids.to_row, "To")
    await d.until("the targets", lambda: screen.step == "target"
                  and len(screen.ids.targets.children) == 2)
    await d.shot("supervisor-target")
    await d.tap(d.button(f"{team} · {shift}"), "the shift")
    await d.until("back on the form", lambda: screen.step == "form" and screen.shift_id > 0)

    await d.tap(screen.ids.title_row, "Title")
    await d.until("the keyboard", lambda: screen.step == "title")
    await _type(d, title)
    await d.shot("supervisor-title")
    await d.tap(d.button(d.t("OK")), "OK")
    await d.tap(screen.ids.text_row, "Text")
    await d.until("the keyboard", lambda: screen.step == "text")
    await _type(d, text)
    await d.tap(d.button(d.t("OK")), "OK")

    await d.tap(screen.ids.photo_row, "Photo")
    photos = d.screen("photos")
    await d.until("the photo grid", lambda: app.current == "photos" and len(
        photos.ids.grid.children) == 3 and all(t.texture is not None
                                                for t in photos.ids.grid.children))
    await d.tap(d.find(lambda w: getattr(w, "path", "").endswith("quai.jpg")), "a photo")
    await d.until("its preview", lambda: photos.mode == "preview", 30)
    await d.tap(photos.ids.send, "Attach")
    await d.until("the form with the photo", lambda: app.current == "broadcast"
                  and screen.photo is not None)
    await d.tap(screen.ids.ack, "Confirm reading")
    await d.shot("supervisor-ready")
    await d.tap(screen.ids.send, "Send")
    await d.until("accepted", lambda: screen.step == "sent" and screen.outcome == "accepted",
                  20, present=True)
    await d.shot("supervisor-sent")
    uid = screen.sent_id
    got = await d.until(f"{colleague}'s terminal gets it", lambda: _arrived(inbox, uid), 20,
                        present=True)
    d.check(f"{lang}_sent", {"title": got["title"], "body": got["body"],
                             "ack_required": got["ack_required"], "photo": got["photo"],
                             "reached": screen.reached, "outcome": screen.ids.outcome.text})
    back.other.acknowledge(uid)

    await d.tap(d.button(d.t("My notices")), "My notices")
    mine = d.screen("my_notices")
    await d.until("my notices", lambda: app.current == "my_notices"
                  and len(mine.ids.list.children) == 1, 20, present=True)
    for _ in range(40):  # the confirmation travels: refresh until it shows
        row = mine.ids.list.children[0]
        if d.t("Confirmed {n} of {total}").format(n=1, total=2) in row.line:
            break
        await d.tap(mine.ids.reload)
        await d.until("reloaded", lambda: not mine.loading, 10)
    await d.shot("supervisor-my-notices")
    d.check(f"{lang}_row", {"title": row.title, "line": row.line, "remind": row.can_remind})

    await d.tap(row, "the notice")
    await d.until("its tracking", lambda: mine.mode == "detail" and not mine.loading
                  and len(mine.ids.people.children) == 2, 20)
    await d.shot("supervisor-tracking")
    d.check(f"{lang}_people", [(p["name"], p["state"]) for p in mine.people])
    inbox.poll()
    await d.tap(mine.ids.remind, "Remind")
    await d.until("reminded", lambda: mine.remind_note.startswith(
        d.t("Reminder sent to {n} person.").split("{n}")[0]) and "1" in mine.remind_note, 20,
        present=True)
    await d.shot("supervisor-reminded")
    d.check(f"{lang}_reminded", mine.remind_note)
    await d.tap(mine.ids.back, "Back to the list")
    await d.tap(mine.ids.back, "Back to the form")
    await d.until("the form", lambda: app.current == "broadcast")
    await d.tap(screen.ids.back, "Home")
    await d.until("Home", lambda: app.current == "home")
    await d.badge(back.badge(lead))
    await d.until("logged out", lambda: app.kiosk.session is None and app.current == "idle")


def check_supervisor(checks: dict[str, Any]) -> None:
    """What the walk saw, in both languages."""
    for lang, team, lead_word, title, text in (("fr", "Atelier", "Confirmé", "Pause", "Ici"),
                                               ("en", "Logistique", "Confirmed", "Break", "Now")):
        assert checks[f"{lang}_leads"] == [team], checks
        sent = checks[f"{lang}_sent"]
        assert (sent["title"], sent["body"], sent["ack_required"], sent["photo"]) == (
            title, text, True, True), sent
        assert sent["reached"] == 2 and "2" in sent["outcome"], sent
        row = checks[f"{lang}_row"]
        assert row["title"] == title and row["remind"] is True and lead_word in row["line"], row
        people = dict(checks[f"{lang}_people"])
        assert people[CAST[lang][2]] == "acknowledged" and people[CAST[lang][3]] != "acknowledged"
        assert "1" in checks[f"{lang}_reminded"]
