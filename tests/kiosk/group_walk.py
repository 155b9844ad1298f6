"""The workgroup walk (issue 15), run by tests/kiosk/ui_walk.py as ``--walks groups``: the
real kiosk App under Xvfb, real touches, in French (Sophie) then English (Amina).

Two parts per language.

*Live*, end to end through the real broker and relay: HR's group (a team rule) created with
services.groups, a colleague's post on the other terminal reaching the kiosk at badge-in
(Home row, author), the person's quick reply and photo posted to the group through the
outbox (the colleague's copy names the group and no person, the photo as ``has_image``),
held for HR in a pre-moderated team then approved, "seen by 1 of N" once the colleague
reads it, HR's retract removing the colleague's post from the screen.

*Fed*, for what a test database does not easily stage: an urgent unread post shown first
(the kiosk goes to that group by itself), a group where only leads post with a Reply button
on each post, a group closed by HR (read only: no compose bar, a line saying why), several
groups on Home with unread counts and the last post, text + quick reply + photo typed offline
("waiting to be sent"), "seen by 7 of 12", a retracted post, a reply held then refused. The
downlinks the relay sends per the wire contract (the sync's ``groups``, group posts, the
author's ``state`` with ``seen``/``members``, ``retract``) are handed to the terminal link's
own MQTT callback, exactly where paho delivers them; the kiosk's uplinks are read back from
its real outbox. Posts are typed while the network is cut (so the relay never sees a group
it does not know) and answered by a fed ``state`` carrying ``ref``, which takes them off
the outbox as the relay's answer does.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

LINE3, SAFETY, STOCK = 9001, 9002, 9003
NAMES = {"fr": {LINE3: "Ligne 3", SAFETY: "Consignes sécurité ligne 3",
                STOCK: "Inventaire décembre"},
         "en": {LINE3: "Line 3", SAFETY: "Line 3 safety rules", STOCK: "December stocktake"}}
TEXTS = {
    "fr": {"jam": "Machine 4 bloquée à 05:40, maintenance appelée.",
           "photo": "Le rouleau abîmé",
           "urgent": "Casque obligatoire sur la ligne 3 dès maintenant : chute de pièces.",
           "wrong": "Réunion annulée (message envoyé par erreur)",
           "typed": "ok", "refused": "Répondez à votre responsable directement.",
           "closed": "Inventaire terminé, merci à tous."},
    "en": {"jam": "Machine 4 jammed at 05:40, maintenance called.",
           "photo": "The damaged roller",
           "urgent": "Helmets required on line 3 from now on: falling parts.",
           "wrong": "Meeting cancelled (sent by mistake)",
           "typed": "ok", "refused": "Please answer your team lead directly.",
           "closed": "Stocktake done, thank you all."},
}


class FedRelay:
    """The relay's group downlinks, fed to the terminal link where paho delivers them."""

    def __init__(self, d: Any, lang: str) -> None:
        self.d, self.k, self.lang = d, d.app.kiosk, lang
        self.syncs = 0
        self.k.bind(on_synced=self._synced)
        back = d.back
        self.marc = back.employee("Karim Benali")  # authors: real people, not contacts
        self.claire = back.employee("Claire Dubois (RH)") if _has(back, "Claire Dubois (RH)") \
            else self.marc + 1000
        self.now = int(time.time() * 1000)
        names = NAMES[lang]
        t = TEXTS[lang]
        self.posts = {
            "jam": self._post(LINE3, self.marc, "Karim Benali", self.now - 3_600_000,
                              text=t["jam"]),
            "photo": self._post(LINE3, self.marc, "Karim Benali", self.now - 3_000_000,
                                kind="photo", caption=t["photo"], has_image=True),
            "wrong": self._post(LINE3, self.claire, "Claire Dubois", self.now - 2_000_000,
                                text=t["wrong"]),
            "urgent": self._post(SAFETY, self.claire, "Claire Dubois", self.now - 600_000,
                                 text=t["urgent"], urgent=True),
            "closed": self._post(STOCK, self.marc, "Karim Benali", self.now - 86_400_000,
                                 text=t["closed"], state="read"),
        }
        self.groups = [
            {"id": LINE3, "name": names[LINE3], "description": "", "can_post": True,
             "read_only": False, "members_reply": False, "members": 12, "unread": 3,
             "last": {"from_name": "Claire Dubois", "kind": "text", "text": t["wrong"],
                      "sent_ts": self.now - 2_000_000}, "urgent_unread": False},
            {"id": SAFETY, "name": names[SAFETY], "description": "", "can_post": False,
             "read_only": False, "members_reply": True, "members": 30, "unread": 1,
             "last": {"from_name": "Claire Dubois", "kind": "text", "text": t["urgent"][:80],
                      "sent_ts": self.now - 600_000}, "urgent_unread": True},
            # Closed by HR (archived): read only, not even a reply.
            {"id": STOCK, "name": names[STOCK], "description": "", "can_post": False,
             "read_only": True, "members_reply": False, "members": 30, "unread": 0,
             "last": {"from_name": "Karim Benali", "kind": "text", "text": t["closed"],
                      "sent_ts": self.now - 86_400_000}, "urgent_unread": False},
        ]

    def _synced(self, *_: Any) -> None:
        self.syncs += 1

    def _post(self, gid: int, sender: int, name: str, ts: int, *, kind: str = "text",
              **content: Any) -> dict[str, Any]:
        return {"msg": str(uuid.uuid4()), "kind": kind, "from": sender, "from_name": name,
                "group": gid, "group_name": NAMES[self.lang][gid], "sent_ts": ts,
                **{"state": "delivered", **content}}

    def feed(self, kind: str, body: dict[str, Any]) -> None:
        import paho.mqtt.client as mqtt

        from relais_wire import topics
        from relais_wire.envelope import encode, envelope

        link = self.k.link
        message = mqtt.MQTTMessage(topic=topics.downlink(link.terminal).encode())
        fields = {k: v for k, v in body.items() if k != "kind"}
        message.payload = encode(envelope(kind, sid=link.sid, **fields))
        link._on_message(None, None, message)

    def sync(self, *, read: bool = False) -> None:
        """The sync as a relay with workgroups sends it: the person's contacts, quick replies
        and notices as the real relay gave them, plus ``groups`` and the group history."""
        s = self.k.session
        groups = [dict(g) for g in self.groups]
        if read:  # what the relay counts once this kiosk reported the posts read
            for g in groups:
                g["unread"], g["urgent_unread"] = 0, False
        history = [dict(p, state="read" if read else "delivered") for p in self.posts.values()
                   if p["msg"] in s.messages or not read]
        self.feed("sync", {
            "me": {"id": s.me_id, "name": s.name, "language": s.language},
            "contacts": [{"id": c.id, "name": c.name, "team": c.team, "hr": c.hr}
                         for c in s.contacts.values() if c.allowed],
            "history": history, "notices": [], "quick_replies": s.quick_replies,
            "groups": groups})

    def post(self, key: str) -> None:
        self.feed(self.posts[key]["kind"], self.posts[key])

    def state(self, msg_id: str, state: str, *, ref: bool = False, reason: str | None = None,
              seen: int | None = None, members: int | None = None, group: int = LINE3) -> None:
        body: dict[str, Any] = {"msg": msg_id, "state": state, "reason": reason, "group": group,
                                "seen": seen, "members": members}
        if ref:
            body["ref"] = msg_id  # the relay's direct answer to the uplink: off the outbox
        self.feed("state", {k: v for k, v in body.items() if v is not None})

    def retract(self, key: str) -> None:
        p = self.posts[key]
        self.feed("retract", {"msg": p["msg"], "from": p["from"], "group": p["group"]})

    def close(self) -> None:
        self.k.unbind(on_synced=self._synced)


def _has(back: Any, name: str) -> bool:
    try:
        back.employee(name)
    except Exception:
        return False
    return True


async def walk_groups(d: Any) -> None:
    # The live parts first: the fed parts answer uplinks the relay never sees, which leaves
    # a gap in this terminal's seq that the relay would wait 90 s for (GAP_WAIT_S).
    await _live(d, "fr", "Sophie Martin", "Karim Benali")
    await _live(d, "en", "Amina Diallo", "Thomas Petit")
    await _walk(d, "fr", "Sophie Martin")
    await _walk(d, "en", "Amina Diallo")


LIVE = {"fr": {"name": "Relève ligne 3", "post": "Relève de 14 h : tout est en ordre."},
        "en": {"name": "Line 3 hand-over", "post": "2 pm hand-over: all in order."}}


def _live_group(back: Any, lang: str, person: str) -> int:
    """A real group in the console's database: everyone in the person's team (rule)."""
    from hr_console.services import groups
    from hr_console.store.models import Employee

    with back.system.store.session() as s:
        team = s.get(Employee, back.employee(person)).team_id
        return groups.create(s, name=LIVE[lang]["name"], rules=[("team", team)],
                             actor="hr").id


async def _live(d: Any, lang: str, person: str, colleague: str) -> None:
    """End to end through the real relay: a colleague's post fanned out to the person's
    kiosk, seen at badge-in; the person's quick reply and photo posted to the group reach the
    colleague's terminal (the photo as ``has_image``, fetched over the kiosk API); the
    colleague reads it and the person's kiosk says "seen by 1 of N"; HR retracts the
    colleague's post and it leaves the screen."""
    import dataclasses as dc

    from kiosk_app.ui.i18n import tr
    from tests.kiosk.ui_walk import Inbox, _state_text, _t

    app, back, k = d.app, d.back, d.app.kiosk
    d.lang, d.t = lang, _t(lang)
    k.config = dc.replace(k.config, language=lang)
    tr.switch(lang)
    c = f"{lang}_live_"
    conv = d.screen("conversation")
    gid = _live_group(back, lang, person)
    back.other_badge_in(colleague)
    inbox = Inbox(back.other)
    first = back.other.send_text(None, LIVE[lang]["post"], group=gid)
    await d.until("the colleague's post accepted", lambda: any(
        getattr(e, "msg", None) == first and getattr(e, "state", "") in ("delivered", "accepted",
                                                                         "held")
        for e in inbox.poll()), 30)
    back.approve_held()  # a pre-moderated team's post waits for HR: approved here

    await d.until("idle", lambda: app.current == "idle" and k.session is None)
    await d.badge(back.badge(person))
    await d.until("badged in", lambda: app.current in ("home", "urgent"), 30)
    while app.current == "urgent":
        await d.tap(d.screen("urgent").ids.ack, "urgent notice read")
    await d.until("home", lambda: app.current == "home")
    await d.until("the live group on Home", lambda: gid in k.session.groups, present=True)
    home = d.screen("home").ids.list
    await d.until("its row", lambda: any(r["group_id"] == gid for r in home.data), present=True)
    row = await d.recycled(home, "the live group", group_id=gid)
    d.check(c + "home_row", [row.name, row.unread])
    await d.tap(row, "the live group")
    await d.until("live group", lambda: app.current == "conversation" and conv.group_id == gid)
    d.check(c + "post_shown", LIVE[lang]["post"] in d.texts() and colleague in d.texts())
    await d.until("the colleague's post read", lambda: all(
        m.read for m in k.session.group_conversation(gid).messages if not m.mine), present=True)

    await d.tap(conv.ids.replies.children[-1], "quick reply to the group")
    mine = next(m for m in k.session.group_conversation(gid).messages if m.mine)
    d.check(c + "uplink_state", mine.state)
    await d.until("accepted or held", lambda: mine.state in (
        "held", "accepted", "delivered", "read"), 30, present=True)
    if mine.state == "held":
        d.check(c + "held_text", _state_text(d, mine.id))
        back.approve_held()
    await d.until("fanned out", lambda: mine.members is not None and mine.state in (
        "accepted", "approved", "delivered", "read"), 30, present=True)
    got = await d.until("the colleague's terminal got it", lambda: inbox.message(mine.id), 30,
                        present=True)
    d.check(c + "received", [got.get("group"), got.get("from_name"), "to" in got])
    back.other.mark_read(mine.id)
    await d.until("seen by 1", lambda: (mine.seen or 0) >= 1, 30, present=True)
    await d.frames(4)
    d.check(c + "seen", [mine.seen, mine.members, _state_text(d, mine.id)])

    # A photo to the group: the colleague's copy has no inline image, only has_image.
    await d.tap(conv.ids.photo, "Photo")
    await d.until("photo grid", lambda: app.current == "photos")
    await d.until("thumbnails", lambda: len(d.screen("photos").ids.grid.children) == 3)
    await d.tap(d.find(lambda w: getattr(w, "path", "").endswith("machine.jpg")), "a photo")
    await d.until("preview", lambda: d.screen("photos").mode == "preview")
    await d.tap(d.screen("photos").ids.send, "Send photo")
    await d.until("conversation", lambda: app.current == "conversation" and conv.group_id == gid)
    photo = next(m for m in reversed(k.session.group_conversation(gid).messages)
                 if m.mine and m.kind == "photo")
    await d.until("photo answered", lambda: photo.state != "outbox", 30, present=True)
    if photo.state == "held":
        back.approve_held()
    pic = await d.until("the colleague got the photo", lambda: inbox.message(photo.id), 30,
                        present=True)
    d.check(c + "photo_copy", [pic.get("has_image"), "image" in pic, pic.get("group")])
    await d.until("photo fanned out", lambda: photo.members is not None, 30, present=True)
    await d.shot("group-live")

    # HR retracts the colleague's post: it leaves this kiosk.
    back.retract(first, "sent by mistake")
    await d.until("retracted", lambda: first not in k.session.messages
                  and LIVE[lang]["post"] not in d.texts(), 30, present=True)
    d.check(c + "retracted_gone", True)
    await d.tap(app.root.ids.logout, "log out")
    await d.until("idle", lambda: k.session is None and app.current == "idle")
    k.config = dc.replace(k.config, language="fr")
    tr.switch("fr")


async def _walk(d: Any, lang: str, person: str) -> None:  # noqa: PLR0915 - one story
    from kivy.metrics import dp

    from kiosk_app.ui.i18n import tr
    from tests.kiosk.ui_walk import _state_text, _t

    app, back, k = d.app, d.back, d.app.kiosk
    d.lang, d.t = lang, _t(lang)
    k.config = dataclasses.replace(k.config, language=lang)
    tr.switch(lang)
    c = f"{lang}_group_"
    conv = d.screen("conversation")

    await d.until("idle", lambda: app.current == "idle" and k.session is None)
    await d.badge(back.badge(person))
    await d.until("badged in", lambda: app.current in ("home", "urgent"), 30)
    while app.current == "urgent":
        await d.tap(d.screen("urgent").ids.ack, "urgent notice read")
    await d.until("home", lambda: app.current == "home")
    relay = FedRelay(d, lang)
    try:
        # The relay's sync with workgroups: the urgent post in the safety group comes first.
        syncs = relay.syncs
        relay.sync()
        await d.until("the fed sync", lambda: relay.syncs > syncs)
        await d.until("the urgent group shown first", lambda: app.current == "conversation"
                      and conv.group_id == SAFETY)
        d.check(c + "urgent_first", True)
        await d.until("the urgent post is read", lambda: k.session.groups[SAFETY].unread == 0,
                      present=True)
        d.check(c + "urgent_read", k.session.groups[SAFETY].urgent_unread is False)
        column = conv.ids.compose_column
        d.check(c + "readonly_compose_bar", [column.width, column.opacity, conv.compose_bar])
        d.check(c + "readonly_note", conv.ids.note.text)
        reply = d.button(d.t("Reply"), conv)
        d.check(c + "reply_button", [round(reply.width), round(reply.height)])
        d.check(c + "urgent_texts", sorted({t for t in d.texts() if t in (
            "Claire Dubois", d.t("Urgent"), TEXTS[lang]["urgent"])}))
        await d.shot("group-urgent")

        # Home: groups with their unread counts and last post.
        await d.tap(conv.ids.back, "back to Home")
        await d.until("home", lambda: app.current == "home")
        rows = d.screen("home").ids.list.data  # in the order shown
        line = await d.recycled(d.screen("home").ids.list, "LINE3", group_id=LINE3)
        d.check(c + "home_line3", [line.name, line.unread, line.preview])
        d.check(c + "home_groups", [r["group_id"] for r in rows if r["group_id"]])
        await d.shot("group-home")

        # New message: the groups one may post in, above the people.
        await d.tap(d.screen("home").ids.new_message, "New message")
        await d.until("contacts", lambda: app.current == "contacts")
        cells = d.screen("contacts").ids.grid.data
        d.check(c + "contacts_groups", [cell["text"].split("\n")[0] for cell in cells
                                        if cell["group_id"]])
        d.check(c + "contacts_groups_first", [bool(cell["group_id"]) for cell in cells])
        await d.shot("group-contacts")
        await d.tap(d.button(d.t("Back")), "Back")
        await d.until("home", lambda: app.current == "home")
        line = await d.recycled(d.screen("home").ids.list, "LINE3", group_id=LINE3)

        # The line's conversation: authors, the photo the sync left on the console.
        await d.tap(line, "the line's group")
        await d.until("group conversation", lambda: app.current == "conversation"
                      and conv.group_id == LINE3)
        d.check(c + "authors", sorted({t for t in d.texts()
                                        if t in ("Karim Benali", "Claire Dubois")}))
        d.check(c + "subtitle", conv.subtitle)
        # Urgent (the relay honours it from a lead or HR only): a toggle of its own in the
        # compose bar of a group one may start posts in, at least 48 dp, off by default.
        toggle = conv.ids.urgent
        d.check(c + "urgent_toggle", [toggle.width / dp(1), toggle.height / dp(1),
                                      toggle.opacity, toggle.text, conv.urgent])
        await d.tap(toggle, "Urgent on")
        d.check(c + "urgent_on", [conv.urgent, toggle.icon])
        await d.tap(toggle, "Urgent off")
        d.check(c + "urgent_off", conv.urgent)
        await d.until("read", lambda: k.session.group_conversation(LINE3).unread == 0,
                      present=True)

        # Posts typed while the network is down: the outbox, as for a person.
        await d.offline()
        await d.tap(conv.ids.write, "Write")
        await d.until("compose", lambda: app.current == "compose")
        d.check(c + "compose_to", d.screen("compose").to_line)
        kb = d.screen("compose").ids.keyboard
        for ch in "ok":
            await d.tap(d.key(kb, ch))
        await d.tap(d.screen("compose").ids.send, "Send")
        await d.until("conversation", lambda: app.current == "conversation")
        await d.tap(conv.ids.replies.children[-1], "quick reply")
        await d.tap(conv.ids.photo, "Photo")
        await d.until("photo grid", lambda: app.current == "photos")
        await d.until("thumbnails", lambda: len(d.screen("photos").ids.grid.children) == 3)
        await d.tap(d.find(lambda w: getattr(w, "path", "").endswith("machine.jpg")), "a photo")
        await d.until("preview", lambda: d.screen("photos").mode == "preview")
        await d.tap(d.screen("photos").ids.send, "Send photo")
        await d.until("conversation", lambda: app.current == "conversation"
                      and conv.group_id == LINE3)
        sent = [m for m in k.session.group_conversation(LINE3).messages if m.mine]
        d.check(c + "outbox_states", [m.state for m in sent])
        d.check(c + "outbox_kinds", sorted(m.kind for m in sent))
        ups = {i.id: i.payload for i in k.link.outbox.pending()}
        d.check(c + "uplinks", sorted((ups[m.id]["type"], ups[m.id].get("group"),
                                       "to" in ups[m.id]) for m in sent))
        d.check(c + "outbox_state_text", _state_text(d, sent[0].id))
        await d.shot("group-outbox")

        # The relay's answers: accepted (off the outbox), then fanned out and read by some.
        for m in sent:
            relay.state(m.id, "accepted", ref=True)
        await d.until("the outbox is empty", lambda: k.link.outbox.pending_count() == 0)
        syncs = relay.syncs
        await d.online()
        await d.until("the sync after reconnecting", lambda: relay.syncs > syncs, 30,
                      present=True)
        relay.sync(read=True)  # what a relay with workgroups would have answered
        await d.until("the groups are back", lambda: LINE3 in k.session.groups
                      and k.session.groups[LINE3].name, present=True)
        for m, seen in zip(sent, (7, 4, 2), strict=True):
            relay.state(m.id, "delivered", seen=0, members=12)
            relay.state(m.id, "delivered", seen=seen, members=12)
        await d.until("seen by 7 of 12", lambda: sent[0].seen == 7, present=True)
        await d.frames(4)
        d.check(c + "seen_text", _state_text(d, sent[0].id))
        d.check(c + "seen_states", [m.state for m in sent])
        d.check(c + "photo_thumb", any(type(w).__name__ == "PhotoThumb" and w.texture is not None
                                       for w in d.walk_widgets(conv)))
        # HR retracts a post: it leaves the screen.
        wrong = relay.posts["wrong"]["msg"]
        relay.retract("wrong")
        await d.until("retracted post gone", lambda: wrong not in k.session.messages
                      and TEXTS[lang]["wrong"] not in d.texts(), present=True)
        d.check(c + "retracted_gone", True)
        await d.shot("group")

        # The read-only group: Reply to the lead's post; held for HR, then refused.
        await d.tap(conv.ids.back, "back to Home")
        await d.until("home", lambda: app.current == "home")
        # Offline first: the banner changes the layout, which a slow frame may still be
        # settling when the finger comes down.
        await d.offline()
        safety = await d.recycled(d.screen("home").ids.list, "SAFETY", group_id=SAFETY)
        await d.tap(safety, "the safety group")
        await d.until("safety group", lambda: app.current == "conversation"
                      and conv.group_id == SAFETY)
        await d.frames(10)
        await d.tap(d.button(d.t("Reply"), conv), "Reply")
        await d.until("compose", lambda: app.current == "compose")
        d.check(c + "reply_to_line", d.screen("compose").to_line)
        kb = d.screen("compose").ids.keyboard
        for ch in "ok":
            await d.tap(d.key(kb, ch))
        await d.shot("group-reply")
        await d.tap(d.screen("compose").ids.send, "Send reply")
        await d.until("conversation", lambda: app.current == "conversation"
                      and conv.group_id == SAFETY)
        answer = next(m for m in k.session.group_conversation(SAFETY).messages if m.mine)
        up = k.link.outbox.get(answer.id).payload
        d.check(c + "reply_uplink", [up.get("group"), up.get("reply_to") ==
                                     relay.posts["urgent"]["msg"], "to" in up])
        relay.state(answer.id, "held", ref=True, group=SAFETY)
        await d.until("held", lambda: answer.state == "held")
        d.check(c + "held_text", _state_text(d, answer.id))
        syncs = relay.syncs
        await d.online()
        await d.until("the sync after reconnecting", lambda: relay.syncs > syncs, 30,
                      present=True)
        relay.sync(read=True)
        await d.until("the groups are back", lambda: SAFETY in k.session.groups
                      and k.session.groups[SAFETY].name, present=True)
        await d.shot("group-held")
        relay.state(answer.id, "rejected", reason=TEXTS[lang]["refused"], group=SAFETY)
        await d.until("refused", lambda: answer.state == "rejected", present=True)
        await d.frames(3)
        d.check(c + "refused_text", _state_text(d, answer.id))

        # A group closed by HR: read only, no compose bar, no Reply, a line saying so.
        await d.tap(conv.ids.back, "back to Home")
        await d.until("home", lambda: app.current == "home")
        stock = await d.recycled(d.screen("home").ids.list, "STOCK", group_id=STOCK)
        await d.tap(stock, "the closed group")
        await d.until("closed group", lambda: app.current == "conversation"
                      and conv.group_id == STOCK)
        d.check(c + "closed", [conv.ids.compose_column.width, conv.ids.note.text,
                               any(type(w).__name__ == "IconButton" and w.text == d.t("Reply")
                                   for w in d.walk_widgets(conv)),
                               TEXTS[lang]["closed"] in d.texts()])
        await d.shot("group-readonly")
    finally:
        relay.close()

    await d.tap(app.root.ids.logout, "log out")
    await d.until("idle", lambda: k.session is None and app.current == "idle")
    leaks = [t for t in d.texts() if any(p in t for p in (
        "Ligne 3", "Line 3", "Machine 4", "Claire", "Casque", "Helmets"))]
    d.check(c + "leaks_after_logout", leaks)
    k.config = dataclasses.replace(k.config, language="fr")
    tr.switch("fr")


# --- what the walk must have shown (asserted by test_group_walk.py and the long walk) -------

SHOTS = ("group-urgent", "group-home", "group-contacts", "group-outbox", "group", "group-reply",
         "group-held", "group-readonly", "group-live")

EXPECTED = {
    "fr": {"note": "Seuls les responsables et les RH publient ici. Vous pouvez répondre à un "
                   "message.", "members": "12 membres", "to": "À : Ligne 3",
           "outbox": "En attente d'envoi", "seen": "Vu par 7 sur 12",
           "reply": "Réponse à Claire Dubois (Consignes sécurité ligne 3)",
           "held": "En attente des RH", "closed": "Vous pouvez lire ce groupe mais pas y écrire.",
           "refused": "Refusé par les RH : Répondez à votre responsable directement."},
    "en": {"note": "Only team leads and HR post here. You can reply to a post.",
           "members": "12 members", "to": "To: Line 3", "outbox": "Waiting to be sent",
           "seen": "Seen by 7 of 12", "reply": "Reply to Claire Dubois (Line 3 safety rules)",
           "held": "Waiting for HR", "closed": "You can read this group but not post in it.",
           "refused": "Refused by HR: Please answer your team lead directly."},
}


def check_groups(checks: dict[str, Any]) -> None:
    check_live(checks)
    for lang, want in EXPECTED.items():
        c = {k.removeprefix(f"{lang}_group_"): v for k, v in checks.items()
             if k.startswith(f"{lang}_group_")}
        assert c["urgent_first"] is True and c["urgent_read"] is True
        assert c["readonly_compose_bar"] == [0, 0, False]
        assert c["readonly_note"] == want["note"]
        assert min(c["reply_button"]) >= 48
        assert len(c["urgent_texts"]) == 3  # author, "Urgent", the post
        name, unread, preview = c["home_line3"]
        assert name == NAMES[lang][LINE3] and unread == 3 and preview.startswith("Claire Dubois: ")
        assert set(c["home_groups"]) == {LINE3, SAFETY, STOCK}
        assert c["contacts_groups"] == [NAMES[lang][LINE3]]  # the only one open to her posts
        first = c["contacts_groups_first"]  # groups, then people: never a group among them
        assert first == sorted(first, reverse=True) and first[0] and not first[-1], first
        assert c["authors"] == ["Claire Dubois", "Karim Benali"]
        assert c["subtitle"] == want["members"] and c["compose_to"] == want["to"]
        width, height, opacity, word, on = c["urgent_toggle"]
        assert min(width, height) >= 48 and opacity == 1 and word == "Urgent" and on is False
        assert c["urgent_on"] == [True, "ok"] and c["urgent_off"] is False
        assert c["outbox_states"] == ["outbox"] * 3
        assert c["outbox_kinds"] == ["photo", "text", "text"]
        # Uplinks name the group and no person.
        assert c["uplinks"] == [["photo", LINE3, False], ["text", LINE3, False],
                                ["text", LINE3, False]]
        assert c["outbox_state_text"] == want["outbox"]
        assert c["seen_text"] == want["seen"] and c["seen_states"] == ["delivered"] * 3
        assert c["photo_thumb"] is True and c["retracted_gone"] is True
        assert c["reply_to_line"] == want["reply"] and c["reply_uplink"] == [SAFETY, True, False]
        assert c["held_text"] == want["held"] and c["refused_text"] == want["refused"]
        assert c["closed"] == [0, want["closed"], False, True]
        assert c["leaks_after_logout"] == []


def check_live(checks: dict[str, Any]) -> None:
    """End to end through the real relay (both languages)."""
    for lang in ("fr", "en"):
        c = {k.removeprefix(f"{lang}_live_"): v for k, v in checks.items()
             if k.startswith(f"{lang}_live_")}
        assert c["home_row"] == [LIVE[lang]["name"], 1]  # the post counted once
        assert c["post_shown"] is True
        assert c["received"][0] > 0 and c["received"][2] is False  # a group copy, no "to"
        seen, members, text = c["seen"]
        assert seen == 1 and members >= 2
        assert text == ("Vu par 1 sur {n}" if lang == "fr" else "Seen by 1 of {n}").format(
            n=members)
        assert c["photo_copy"][:2] == [True, False]  # has_image, no inline image
        assert c["retracted_gone"] is True
    assert checks["en_live_held_text"] == "Waiting for HR"  # Amina's team is pre-moderated
