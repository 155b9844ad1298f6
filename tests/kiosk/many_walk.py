"""A worker who may write to 160 people, on the real kiosk App (tests/kiosk/ui_walk.py,
``--walks many``) against the real broker and relay, in French and English.

At a real site a worker writes to their team, a paired team, supervisors and HR: in a
``relais gen-data`` organisation of 10,000 the median is 45 people and the largest lists
160. Such a person badges in: Home and "New message" list everyone (Home's quiet contacts
too), yet make widgets only for the rows in view; "New message" shows initial ranges, and
a touch on the last range brings its first name into view; a touch on that name opens the
conversation with that person. A list cut as the sync cuts a large company's HR desk's
opens "Find someone by name", which asks the console's kiosk API. Screenshots are named
``many-...``.
"""

from __future__ import annotations

from typing import Any

SHOTS = ("many-home", "many-contacts", "many-jump", "many-find", "many-earlier")
TEAM_SIZE = 160
# Names as a French site has them: accented initials must sort among their letter.
FIRST = ("Élodie", "Karim", "Lucas", "Amina", "Thomas", "Julie", "Nadia", "Olivier", "Pierre",
         "Sophie", "Bruno", "Chloé", "David", "Fatou", "Hugo", "Inès", "Yanis", "Zoé", "Mehdi",
         "Rose", "Victor", "Wassim", "Gaëlle", "Quentin", "Émile", "Ursule", "Xavier")
LAST = ("Martin", "Bernard", "Dubois", "Petit", "Moreau", "Benali", "Diallo", "Leroy", "Roux",
        "Garcia", "Lambert", "Fontaine")
WHO = {"fr": "Karim Benali", "en": "Amina Diallo"}  # Atelier and Logistique: both may write
LEAD = {"fr": "Sophie Martin", "en": "Thomas Petit"}  # their leads, whose messages go at once
PINS = {"Julie Moreau": "4321"}  # the demo's one PIN
CLIP_S = 20  # the teammate's voice message, in seconds


def _prepare(back: Any) -> None:
    """A team "Expédition" of 160 that Atelier and Logistique may write to."""
    from sqlalchemy import select

    from hr_console.services import directory
    from hr_console.store.models import Site, Team

    system = back.system
    with system.store.session() as s:
        site = s.execute(select(Site).where(Site.name == "demo")).scalar_one()
        team = directory.team(s, "Expédition", site)
        for i in range(TEAM_SIZE):
            name = f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]} {i:03d}"
            directory.employee(s, name, pepper=system.cfg.badge_pepper, team_row=team)
        for sender in ("Atelier", "Logistique"):
            sender_id = s.execute(select(Team.id).where(Team.name == sender)).scalar_one()
            directory.contact_rule(s, "team", sender_id, "team", team.id, allow_reply=True)
    _seed_a_long_conversation(back)


EARLIER = 215  # messages of one conversation: more than a sync's history holds (200)
LONG_TALK = {"fr": "Julie Moreau", "en": "Lucas Bernard"}  # WHO's teammates


def _seed_a_long_conversation(back: Any) -> None:
    """A month of messages between each WHO and a teammate, read long ago, before the
    walk's badge-in."""
    import datetime as dt
    import uuid

    from hr_console.store.models import Message, utcnow

    start = utcnow() - dt.timedelta(days=30)
    pairs = [(back.employee(WHO[lang]), back.employee(LONG_TALK[lang])) for lang in WHO]
    with back.system.store.session() as s:
        for i in range(2 * EARLIER):
            me, other = pairs[i % 2]
            sender, recipient = (me, other) if i % 4 < 2 else (other, me)
            when = start + dt.timedelta(minutes=10 * i)
            s.add(Message(client_id=str(uuid.uuid4()), sender_id=sender, recipient_id=recipient,
                          kind="text", body=f"Message {i // 2:03d}", state="read", created_at=when,
                          delivered_at=when, read_at=when,
                          sent_ts=int(when.replace(tzinfo=dt.UTC).timestamp() * 1000)))


async def walk_many(d: Any) -> None:
    _prepare(d.back)
    for lang in ("fr", "en"):
        await _walk(d, lang)


def _views(rv: Any) -> int:
    """How many rows of a recycled list exist as widgets."""
    return len(rv.children[0].children)


async def _walk(d: Any, lang: str) -> None:
    from tests.kiosk.ui_walk import _t

    app, back = d.app, d.back
    d.lang, d.t = lang, _t(lang)
    seen: dict[str, Any] = {}
    await d.badge(back.badge(WHO[lang]))
    await d.until("Home", lambda: app.current == "home", 30)
    home = d.screen("home").ids.list
    await d.until("everyone listed", lambda: len(home.data) >= TEAM_SIZE, 20, present=True)
    await d.shot("many-home")
    seen["home"] = [len(home.data), _views(home)]
    seen["touch_kept"] = await _touch_during_a_message(d, lang)

    await d.tap(d.button(d.t("New message")), "New message")
    await d.until("the contacts", lambda: app.current == "contacts")
    screen = d.screen("contacts")
    grid = screen.ids.grid
    await d.until("initial ranges", lambda: screen.ids.jumps.children)
    await d.shot("many-contacts")
    cells = grid.data
    names = [c["text"].split("\n")[0] for c in cells if c["contact_id"]]
    jumps = list(reversed(screen.ids.jumps.children))  # left to right
    seen.update(contacts=[len(names), _views(grid)], jumps=[j.text for j in jumps],
                sorted_names=names == sorted(names, key=_key))
    # A sync cut to one packet (the HR desk of a large company) says how many it left out,
    # last in the list, on a cell that is in no initial range (it opens Find: _find_by_name).
    app.kiosk.session.contacts_more = 1234
    screen.refresh()
    tail = grid.data[-1]
    seen["more"] = [tail["text"], tail["contact_id"], tail["open"] is not None,
                    [j.text for j in reversed(screen.ids.jumps.children)] == seen["jumps"]]
    app.kiosk.session.contacts_more = 0
    screen.refresh()
    # The last range: its first name comes into view, and opens its conversation.
    last = jumps[-1]
    letter = last.text.split("–")[0]
    index = next(i for i, c in enumerate(cells)
                 if c["contact_id"] and _initial(c["text"]) == letter)
    await d.tap(last, f"the range {last.text}")
    await d.frames(4)
    view = grid.view_adapter.get_visible_view(index)
    seen["jumped_to"] = view is not None and view.contact_id == cells[index]["contact_id"]
    seen["in_view"] = view is not None and _inside(view, grid)
    await d.shot("many-jump")
    await d.tap(view, "the range's first name")
    await d.until("conversation", lambda: app.current == "conversation")
    seen["opened"] = d.screen("conversation").contact_id == cells[index]["contact_id"]
    seen["last_letter"] = letter
    seen["find"] = await _find_by_name(d)
    if lang == "fr":
        seen["notices"] = await _all_notices(d)
    seen["earlier"] = await _earlier_messages(d, lang)
    d.check(f"{lang}_many", seen)
    await d.badge(back.badge(WHO[lang]))  # the same badge again: logout
    await d.until("logged out", lambda: app.kiosk.session is None and app.current == "idle")


async def _find_by_name(d: Any) -> dict[str, Any]:
    """A list cut as the sync cuts the HR desk's: the Zoé are not in it, and its last cell
    says so. A touch on that cell opens Find; "zoe" typed on the big keys (no accent) finds
    them through the console's kiosk API (the real one, on the walk's database), and a
    touch on one opens a conversation with them that may be written in."""
    app = d.app
    session = app.kiosk.session
    left_out = {c.id for c in session.contacts.values() if "zoe" in _key(c.name)}
    for cid in left_out:
        del session.contacts[cid]
    session.contacts_more = len(left_out)
    await d.tap(d.screen("conversation").ids.back, "Back")
    await d.tap(d.button(d.t("New message")), "New message")
    await d.until("the contacts", lambda: app.current == "contacts")
    grid = d.screen("contacts").ids.grid
    listed = {c["contact_id"] for c in grid.data}
    await d.tap(await d.recycled(grid, "the cell of those not listed", contact_id=0,
                                 group_id=0), "those not listed")
    await d.until("Find", lambda: app.current == "find")
    find = d.screen("find")
    for ch in "zoe":
        await d.tap(d.key(find.ids.keyboard, ch), f"key {ch}")
    await d.until("people found", lambda: find.searched == "zoe" and find.ids.grid.data, 15)
    await d.frames(3)
    await d.shot("many-find")
    found = [c["contact_id"] for c in find.ids.grid.data]
    seen = {"left_out": len(left_out), "none_listed": not (left_out & listed),
            "found_them": sorted(found) == sorted(left_out), "note": find.note,
            "query": find.ids.display.text}
    # More letters narrow that whole answer on the kiosk: the console is not asked again.
    asked = _count_searches(find)
    for ch in " roux":
        await d.tap(d.key(find.ids.keyboard, ch), f"key {ch}")
    await d.until("narrowed", lambda: find.searched == "zoe roux", 10)
    seen["narrowed"] = [c["text"].split("\n")[0] for c in find.ids.grid.data]
    for _ in " roux":
        await d.tap(d.key(find.ids.keyboard, "⌫"), "key ⌫")
    await d.until("widened", lambda: find.searched == "zoe", 10)
    seen["asked_again"] = asked[0]
    await d.tap(await d.recycled(find.ids.grid, "a Zoé", contact_id=found[0]), "a Zoé")
    await d.until("conversation", lambda: app.current == "conversation")
    conv = d.screen("conversation")
    seen["opened"] = conv.contact_id == found[0] and conv.can_write
    # HR takes back the rule that let this team write to Expédition; the next sync says so,
    # and Find no longer offers them.
    _forbid_expedition(d.back, session.me_id)
    await d.tap(conv.ids.back, "Back")
    await d.tap(d.button(d.t("New message")), "New message")
    await d.tap(await d.recycled(d.screen("contacts").ids.grid, "those not listed",
                                 contact_id=0, group_id=0), "those not listed")
    await d.until("Find again", lambda: app.current == "find")
    seen["kept"] = sorted(c["contact_id"] for c in find.ids.grid.data) == sorted(left_out)
    app.kiosk.link.request_sync()
    await d.until("taken off", lambda: not find.ids.grid.data, 15)
    seen["after_sync"] = find.note
    return seen


NOTICES = 70  # of 16 KB each: more than one packet holds


async def _all_notices(d: Any) -> dict[str, Any]:
    """More notices than a sync holds (70 long ones to the team): the sync says how many it
    left out, and Notices reads them all from the console's kiosk API."""
    from sqlalchemy import select

    from hr_console.services import notices
    from hr_console.store.models import Team

    app = d.app
    session = app.kiosk.session
    with d.back.system.store.session() as s:
        atelier = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        for i in range(NOTICES):
            notices.create(s, title=f"Consigne {i:02d}", body="🦺" * 4000, target_kind="team",
                           target_ref=atelier, actor="hr")
    app.kiosk.link.request_sync()
    await d.until("a sync with notices left out", lambda: session.notices_more > 0, 20)
    seen = {"synced": len(session.notices), "left_out": session.notices_more}
    await d.tap(d.button(d.t("Back")), "Back")  # Find, then New message
    await d.until("New message", lambda: app.current == "contacts")
    await d.tap(d.button(d.t("Back")), "Back")
    await d.until("Home", lambda: app.current == "home")
    await d.tap(d.screen("home").ids.notices, "Notices")
    await d.until("every notice", lambda: len(d.screen("notices").ids.list.children)
                  >= NOTICES, 20)
    seen.update(listed=len(d.screen("notices").ids.list.children),
                still_more=session.notices_more)
    return seen


async def _earlier_messages(d: Any, lang: str) -> dict[str, Any]:
    """A conversation longer than the sync's history: "Earlier messages" reads the rest
    from the console's kiosk API, a page at a time, and goes once all is here; the message
    that was at the top stays in view."""
    app, back = d.app, d.back
    session = app.kiosk.session
    other = back.employee(LONG_TALK[lang])

    def held() -> list[str]:
        return [m.text for m in session.conversation(other).messages]

    # The teammate's newest message is a voice clip, playing while the page comes.
    voice = await _a_voice_message(d, lang)
    while app.current != "home":  # from Notices (fr) or the conversation Find opened (en)
        await d.tap(d.button(d.t("Back")), "Back")
        await d.frames(2)
    row = await d.recycled(d.screen("home").ids.list, "the teammate's row", contact_id=other)
    await d.tap(row, "the long conversation")
    await d.until("the conversation", lambda: app.current == "conversation")
    conv = d.screen("conversation")
    before = held()
    seen = {"history_more": session.history_more, "before": len(before),
            "button": [conv.earlier, conv.ids.earlier.opacity, conv.ids.earlier.text]}
    top = conv._order[0]
    clips = app.kiosk.clips
    await d.tap(conv._clips[voice][0], "Play")
    await d.until("the clip playing", lambda: clips.msg_id == voice and clips.position > 1, 10)
    conv.play(voice)  # what its button does: at 1280x800 beside CI a tap took 20 s
    paused_at = clips.position
    await d.tap(conv.ids.earlier, "Earlier messages")
    await d.until("the earlier page", lambda: not conv.loading and len(held()) > len(before), 15)
    await d.frames(3)
    # The bubbles were built again above and under the paused clip: its bar and time still
    # say where it stands (a new bar said 0 and the time its length; playing, it said Play
    # while the sound went on). Paused, not playing: a loaded machine took 40 s for a tap,
    # longer than the clip.
    button, bar, length = conv._clips[voice]
    seen["clip"] = [clips.paused, button.icon, abs(bar.value - paused_at / CLIP_S) < 0.01,
                    length.text.startswith(voice_clock(paused_at) + " /")]
    await d.shot("many-earlier")
    after = held()
    row = conv._bubbles[top][0]
    scroll = conv.ids.scroll
    seen.update(after=len(after), first=after[0], shown=len(conv._order), gone=conv.earlier,
                same_end=after[-len(before):] == before,
                top_in_view=_within_view(row, scroll))
    await d.tap(d.button(d.t("Back")), "Back")
    await d.until("Home", lambda: app.current == "home")
    return seen


def voice_clock(seconds: float) -> str:
    from kiosk_app.voice import clock

    return clock(seconds)


async def _a_voice_message(d: Any, lang: str) -> str:
    """A clip from the teammate at another terminal, approved by HR (voice is
    held by default), here once it arrived."""
    from tests.wire.hostile_audio import clip

    back, session = d.back, d.app.kiosk.session
    teammate = LONG_TALK[lang]
    back.system.badge_in(back.other, teammate, PINS.get(teammate))
    sent = back.other.send_voice(back.employee(WHO[lang]), clip(float(CLIP_S)), CLIP_S * 1000)
    await d.until("the clip stored", lambda: sent in back.message_states(teammate), 20)
    back.approve_held()
    await d.until("the clip here", lambda: session.messages.get(sent) is not None, 20)
    return sent


def _within_view(widget: Any, scroll: Any) -> bool:
    """Whether some of ``widget`` shows in the ScrollView ``scroll`` (window coordinates)."""
    low, high = widget.to_window(0, widget.y)[1], widget.to_window(0, widget.top)[1]
    bottom, top = scroll.to_window(0, scroll.y)[1], scroll.to_window(0, scroll.top)[1]
    return low < top and high > bottom


def _count_searches(find: Any) -> list[int]:
    """How many times the screen asks the console from now on (``[n]``, kept up to date)."""
    api = find.api()
    asked, real = [0], api.find_contacts

    def counted(*args: Any, **kwargs: Any) -> Any:
        asked[0] += 1
        return real(*args, **kwargs)

    api.find_contacts = counted
    return asked


def _forbid_expedition(back: Any, me: int) -> None:
    from sqlalchemy import delete, select

    from hr_console.store.models import ContactRule, Employee, Team

    with back.system.store.session() as s:
        mine = s.execute(select(Employee.team_id).where(Employee.id == me)).scalar_one()
        expedition = s.execute(select(Team.id).where(Team.name == "Expédition")).scalar_one()
        gone = s.execute(delete(ContactRule).where(
            ContactRule.sender_kind == "team", ContactRule.sender_ref == mine,
            ContactRule.recipient_kind == "team", ContactRule.recipient_ref == expedition))
        assert gone.rowcount == 1


async def _touch_during_a_message(d: Any, lang: str) -> list[Any]:
    """A finger comes down on Home's first row; the lead's message arrives, which puts the
    lead's conversation in that row; the finger lifts: nothing opens (the row it came down
    on is not there any more), least of all the lead's conversation."""
    from kivy.tests.common import UnitTestTouch

    app, back = d.app, d.back
    home = d.screen("home").ids.list
    lead = back.employee(LEAD[lang])
    first = home.data[0]["contact_id"]
    x, y = home.view_adapter.get_visible_view(0).to_window(
        *home.view_adapter.get_visible_view(0).center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    await d.frames(1)
    back.other_badge_in(LEAD[lang])
    back.send_from_other(WHO[lang], text="Quai 2 : palettes à reprendre.")
    await d.until("the lead's message on top", lambda: home.data[0]["contact_id"] == lead, 20)
    await d.frames(3)
    under = home.view_adapter.get_visible_view(0)
    touch.touch_up()
    await d.frames(3)
    back.other.logout()
    return [first != lead, under is not None and under.contact_id == lead, app.current]


def _key(name: str) -> str:
    from kiosk_app.ui.name_index import name_key

    return name_key(name)


def _initial(text: str) -> str:
    from kiosk_app.ui.name_index import initial

    return initial(text)


def _inside(w: Any, rv: Any) -> bool:
    x, y = w.to_window(*w.center)
    left, bottom = rv.to_window(rv.x, rv.y)
    return left <= x <= left + rv.width and bottom <= y <= bottom + rv.height


def check_many(checks: dict[str, Any]) -> None:
    """What the walk saw, in both languages."""
    for lang in ("fr", "en"):
        seen = checks[f"{lang}_many"]
        rows, views = seen["home"]
        assert rows >= TEAM_SIZE and views <= 20, seen  # every row listed, a screenful made
        listed, views = seen["contacts"]
        assert listed >= TEAM_SIZE and views <= 40, seen
        assert seen["sorted_names"] is True, seen
        assert 2 <= len(seen["jumps"]) <= 6, seen
        assert seen["jumps"][0].startswith("A") and seen["jumps"][-1].endswith("Z"), seen
        assert seen["jumped_to"] is True and seen["in_view"] is True, seen
        assert seen["opened"] is True, seen
        more = {"fr": "1\u00a0234 autres personnes ne sont pas dans cette liste",
                "en": "1,234 more people are not listed here"}[lang]
        assert seen["more"][0].startswith(more) and seen["more"][1:] == [0, True, True], seen
        find = seen["find"]
        assert find["left_out"] >= 5 and find["none_listed"] and find["found_them"], seen
        assert find["note"] == {"fr": f"{find['left_out']} personnes trouvées.",
                                "en": f"{find['left_out']} people found."}[lang], seen
        assert find["query"] == "zoe|" and find["opened"] is True, seen
        assert len(find["narrowed"]) >= 1 and find["asked_again"] == 0, seen
        assert all(n.startswith("Zoé Roux") for n in find["narrowed"]), seen
        assert find["kept"] is True, seen  # back in Find: the same people, still writable
        if lang == "fr":
            told = seen["notices"]  # the sync held some, counted the others; all listed
            assert told["left_out"] > 0 and told["synced"] + told["left_out"] >= NOTICES, seen
            assert told["listed"] >= NOTICES and told["still_more"] == 0, seen
        early = seen["earlier"]  # the sync held 200 messages; a touch brought the rest
        assert early["history_more"] is True and early["before"] < EARLIER, seen
        assert early["button"] == [True, 1, {"fr": "Messages plus anciens",
                                             "en": "Earlier messages"}[lang]], seen
        assert early["after"] >= EARLIER and early["first"] == "Message 000", seen
        assert early["shown"] == early["after"] and early["same_end"] is True, seen
        assert early["gone"] is False and early["top_in_view"] is True, seen
        assert early["clip"] == [True, "play", True, True], seen
        assert find["after_sync"] == {"fr": "Personne à qui vous pouvez écrire n’a « zoe » dans "
                                            "son nom.",
                                      "en": "Nobody you may write to has a name with “zoe”."}[lang]
        # The row under the finger changed to the lead's: the touch opened nothing.
        assert seen["touch_kept"] == [True, True, "home"], seen
