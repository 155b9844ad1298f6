"""Group posts end to end: terminal links -> real Mosquitto -> relay -> database -> every
member's terminal. A post is checked and committed once, fanned out to the members of that
moment (those badged in at once, the others at their next badge-in), moderated like 1:1,
retracted everywhere, never sent to someone who left, and survives a relay killed with
SIGKILL in the middle of its fan-outs without a loss or a duplicate.

Runs on SQLite and, when RELAIS_TEST_PG_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from hr_console.services import broker as broker_service
from hr_console.services import conversations, directory, groups, messaging, retention, settings
from hr_console.services.errors import NotFound
from hr_console.store.db import read_snapshot
from hr_console.store.models import (
    Downlink,
    Employee,
    GroupReceipt,
    Message,
    Site,
    Team,
    utcnow,
)
from hr_console.web import create_app
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from tests.system_fixture import System, expect, expect_none, make_system, relay_process
from tests.web.console_data import jpeg

# Five people of the demo: the workshop team (Sophie leads it) and two of logistics.
FIVE = ("Sophie Martin", "Karim Benali", "Julie Moreau", "Thomas Petit", "Amina Diallo")
PINS = {"Julie Moreau": "4321"}


class Raw:
    """Every downlink body a link dispatches, by kind (the events carry less: a state's
    "seen by" and a sync's groups)."""

    def __init__(self, link: TerminalLink) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        inner = link._dispatch  # noqa: SLF001 - observing, not changing, what the link does

        def spy(kind: str, env_id: str, body: dict[str, Any]) -> None:
            self.seen.append((kind, dict(body)))
            inner(kind, env_id, body)

        link._dispatch = spy  # type: ignore[method-assign]  # noqa: SLF001

    def states(self, msg: str) -> list[dict[str, Any]]:
        return [b for k, b in self.seen if k == "state" and b.get("msg") == msg]

    def last_sync(self) -> dict[str, Any]:
        return [b for k, b in self.seen if k == "sync"][-1]


def _terminals(system: System, *names: str) -> None:
    """The demo has two terminals: enrol the others and let the broker know them."""
    demo = system.demo
    with system.store.session() as s:
        site = s.execute(select(Site).where(Site.name == "demo")).scalar_one()
        for name in names:
            if name not in demo.terminals:
                _, creds = directory.terminal(s, name, site)
                demo.terminals[name] = creds.as_json()
        s.flush()
        broker_service.apply(s, system.cfg)


def _links(system: System, n: int) -> list[TerminalLink]:
    names = [f"kiosk-{i}" for i in range(1, n + 1)]
    _terminals(system, *names)
    return [system.link(name) for name in names]


def _badge(system: System, link: TerminalLink, name: str) -> tuple[ev.Synced, Raw]:
    raw = Raw(link)
    return system.badge_in(link, name, PINS.get(name)), raw


def _group(system: System, *, people: tuple[str, ...] = (), rules: list | None = None,
           post_right: str = "everyone", moderation_mode: str | None = "none",
           members_reply: bool = False, name: str = "Ligne 3", more: list[int] | None = None
           ) -> int:
    with system.store.session() as s:
        view = groups.create(s, name=name, description="Relève", site_id=None,
                             post_right=post_right, members_reply=members_reply,
                             moderation_mode=moderation_mode, rules=rules or [],
                             people=[system.employee(p) for p in people] + (more or []),
                             actor="hr")
        return view.id


def _post(link: TerminalLink, group: int, text: str) -> str:
    return link.send_text(None, text, group=group)


def _state(link: TerminalLink, msg: str, state: str, timeout: float = 15.0) -> ev.StateChanged:
    return expect(link, ev.StateChanged, lambda e: e.msg == msg and e.state == state, timeout)


def _arrived(link: TerminalLink, msg: str, timeout: float = 15.0) -> dict[str, Any]:
    return expect(link, ev.MessageArrived, lambda e: e.message["msg"] == msg, timeout).message


def _wait(cond: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout}s")
        time.sleep(0.2)


def _receipts(system: System, msg_id: str) -> list[GroupReceipt]:
    with system.store.session() as s:
        return list(s.execute(select(GroupReceipt).join(Message, Message.id == GroupReceipt.message_id)
                              .where(Message.client_id == msg_id)).scalars())


def test_post_reaches_each_member_once(system: System) -> None:
    k1, k2, k3, k4, k5 = _links(system, 5)
    gid = _group(system, people=FIVE)
    sync1, raw1 = _badge(system, k1, "Sophie Martin")
    _badge(system, k2, "Karim Benali")
    _badge(system, k3, "Julie Moreau")
    mine = [g for g in raw1.last_sync()["groups"] if g["id"] == gid]
    assert mine and mine[0]["can_post"] and mine[0]["members"] == 5

    msg = _post(k1, gid, "Machine 4 bloquée à 05:40, maintenance appelée")
    accepted = _state(k1, msg, "accepted")
    assert accepted.reason is None
    assert raw1.states(msg)[-1]["members"] == 4 and raw1.states(msg)[-1]["seen"] == 0
    for link in (k2, k3):
        got = _arrived(link, msg)
        assert got["group"] == gid and got["group_name"] == "Ligne 3"
        assert got["from"] == system.employee("Sophie Martin") and "to" not in got
        assert got["text"] == "Machine 4 bloquée à 05:40, maintenance appelée"
    # The two others badge in later: the post waits in their mailbox, then comes once.
    for link, name in ((k4, "Thomas Petit"), (k5, "Amina Diallo")):
        synced, _raw = _badge(system, link, name)
        assert msg not in {m["msg"] for m in synced.history}  # not delivered yet: it follows
        assert _arrived(link, msg)["group"] == gid
    for link in (k2, k3, k4, k5):
        expect_none(link, ev.MessageArrived, lambda e: e.message["msg"] == msg, wait=1.0)
    expect_none(k1, ev.MessageArrived, wait=0.5)  # the author gets no copy of their own post
    _wait(lambda: all(r.delivered_at for r in _receipts(system, msg)), "delivered to all")
    assert len(_receipts(system, msg)) == 4
    with system.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)
                        .where(Message.client_id == msg)) == 1
    # A member who badges in again finds it in their history (delivered now), once.
    k2.logout()
    synced, _raw = _badge(system, k2, "Karim Benali")
    assert [m["msg"] for m in synced.history].count(msg) == 1


def test_read_only_group_refuses_a_member_with_reason(system: System) -> None:
    k1, k2, k3 = _links(system, 3)
    with system.store.session() as s:
        atelier = s.get_one(Employee, system.employee("Sophie Martin")).team_id
    gid = _group(system, rules=[("team", atelier)], post_right="leads",
                 name="Consignes sécurité ligne 3")
    _sync, raw2 = _badge(system, k2, "Karim Benali")
    _badge(system, k1, "Sophie Martin")
    _badge(system, k3, "Julie Moreau")
    listed = next(g for g in raw2.last_sync()["groups"] if g["id"] == gid)
    assert listed["read_only"] and not listed["can_post"]

    refused = _post(k2, gid, "Je peux écrire ici ?")
    assert _state(k2, refused, "refused").reason == "read_only"
    lead = _post(k1, gid, "Port des lunettes obligatoire")  # Sophie leads the team
    _state(k1, lead, "accepted")
    for link in (k2, k3):
        _arrived(link, lead)
    expect_none(k3, ev.MessageArrived, lambda e: e.message["msg"] == refused)


def test_pre_moderated_post_waits_for_hr_then_reaches_all(system: System) -> None:
    k1, k2, k3 = _links(system, 3)
    gid = _group(system, people=FIVE[:3], moderation_mode="pre")
    _s, raw1 = _badge(system, k1, "Sophie Martin")  # her 1:1 messages need no approval
    _badge(system, k2, "Karim Benali")
    _badge(system, k3, "Julie Moreau")
    msg = _post(k1, gid, "Inventaire samedi")
    _state(k1, msg, "held")
    expect_none(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)
    assert _receipts(system, msg) == []  # nothing fanned out while it waits
    with system.store.session() as s:
        messaging.approve(s, messaging.find(s, system.employee("Sophie Martin"), msg).id,
                          actor="hr")
    _state(k1, msg, "approved")
    assert raw1.states(msg)[-1]["members"] == 2
    for link in (k2, k3):
        assert _arrived(link, msg)["state"] == "approved"


def test_rejected_post_is_told_to_the_author_and_goes_nowhere(system: System) -> None:
    k1, k2 = _links(system, 2)
    gid = _group(system, people=FIVE[:3], moderation_mode="pre")
    _badge(system, k1, "Sophie Martin")
    _badge(system, k2, "Karim Benali")
    msg = _post(k1, gid, "À refuser")
    _state(k1, msg, "held")
    with system.store.session() as s:
        messaging.reject(s, messaging.find(s, system.employee("Sophie Martin"), msg).id,
                         "Hors sujet", actor="hr")
    assert _state(k1, msg, "rejected").reason == "Hors sujet"
    expect_none(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)
    assert _receipts(system, msg) == []


def test_retract_removes_the_post_everywhere(system: System) -> None:
    k1, k2, k3 = _links(system, 3)
    gid = _group(system, people=FIVE[:4])
    _badge(system, k1, "Sophie Martin")
    _badge(system, k2, "Karim Benali")
    _badge(system, k3, "Julie Moreau")
    msg = _post(k1, gid, "Erreur de planning")
    _state(k1, msg, "accepted")
    for link in (k2, k3):
        _arrived(link, msg)
    _wait(lambda: sum(1 for r in _receipts(system, msg) if r.delivered_at) == 2, "delivered")
    with system.store.session() as s:
        messaging.retract(s, messaging.find(s, system.employee("Sophie Martin"), msg).id,
                          "Erreur", actor="hr")
    for link in (k2, k3):
        gone = expect(link, ev.Retracted, lambda e: e.msg == msg)
        assert gone.sender == system.employee("Sophie Martin")
    _state(k1, msg, "retracted")
    # Thomas never badged in: his copy is dropped, he never sees the post.
    with system.store.session() as s:
        thomas = system.employee("Thomas Petit")
        left = s.execute(select(Downlink.kind).where(Downlink.employee_id == thomas,
                                                     Downlink.ref == msg)).scalars().all()
    assert left == ["retract"]
    k2.logout()
    synced, _raw = _badge(system, k2, "Thomas Petit")
    assert msg not in {m["msg"] for m in synced.history}
    expect_none(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)


def test_member_who_left_the_team_stops_receiving_and_loses_history(system: System) -> None:
    k1, k2, k3 = _links(system, 3)
    with system.store.session() as s:
        atelier = s.get_one(Employee, system.employee("Sophie Martin")).team_id
        logistique = s.get_one(Employee, system.employee("Thomas Petit")).team_id
    gid = _group(system, rules=[("team", atelier)])
    _badge(system, k1, "Sophie Martin")
    _badge(system, k2, "Karim Benali")
    _badge(system, k3, "Julie Moreau")
    first = _post(k1, gid, "Avant le changement d'équipe")
    for link in (k2, k3):
        _arrived(link, first)
    _wait(lambda: all(r.delivered_at for r in _receipts(system, first)), "delivered")

    julie = system.employee("Julie Moreau")
    with system.store.session() as s:  # HR moves Julie: nobody touches the group
        s.get_one(Employee, julie).team_id = logistique
    second = _post(k1, gid, "Après le changement d'équipe")
    _state(k1, second, "accepted")
    _arrived(k2, second)
    expect_none(k3, ev.MessageArrived, lambda e: e.message["msg"] == second)
    assert julie not in {r.employee_id for r in _receipts(system, second)}

    k3.logout()
    synced, raw3 = _badge(system, k3, "Julie Moreau")
    assert first not in {m["msg"] for m in synced.history}  # the group's history is not hers
    assert gid not in {g["id"] for g in raw3.last_sync()["groups"]}
    with system.store.session() as s, pytest.raises(NotFound):
        conversations.group_page(s, julie, gid)
    with system.store.session() as s:
        page = conversations.group_page(s, system.employee("Karim Benali"), gid)
        assert [m["msg"] for m in page.messages] == [first, second]
    refused = _post(k3, gid, "Je suis encore là ?")
    assert _state(k3, refused, "refused").reason == "not_member"


def test_seen_by_count_reaches_the_author(system: System) -> None:
    k1, k2, k3 = _links(system, 3)
    gid = _group(system, people=FIVE)
    _s, raw1 = _badge(system, k1, "Sophie Martin")
    _badge(system, k2, "Karim Benali")
    _badge(system, k3, "Julie Moreau")
    msg = _post(k1, gid, "Qui a vu ?")
    _state(k1, msg, "accepted")
    for n, link in enumerate((k2, k3), start=1):
        _arrived(link, msg)
        link.mark_read(msg)
        _wait(lambda n=n: any(b.get("seen") == n for b in raw1.states(msg)), f"seen by {n}")
    last = raw1.states(msg)[-1]
    assert (last["seen"], last["members"], last["group"]) == (2, 4, gid)
    with system.store.session() as s:
        page = conversations.group_page(s, system.employee("Sophie Martin"), gid)
        assert (page.messages[-1]["seen"], page.messages[-1]["members"]) == (2, 4)


def test_photo_post_travels_without_its_image_and_is_fetched_by_members(system: System
                                                                          ) -> None:
    k1, k2 = _links(system, 2)
    gid = _group(system, people=FIVE[:3])
    _badge(system, k1, "Sophie Martin")
    _badge(system, k2, "Karim Benali")
    msg = k1.send_photo(None, jpeg(), "Palette abîmée", group=gid)
    _state(k1, msg, "accepted")
    got = _arrived(k2, msg)
    assert got["has_image"] is True and "image" not in got and got["caption"] == "Palette abîmée"
    with system.store.session() as s:
        karim, julie = system.employee("Karim Benali"), system.employee("Julie Moreau")
        assert conversations.media(s, karim, msg) is not None  # delivered to him
        assert conversations.media(s, julie, msg) is not None  # a receipt, not yet delivered
        assert conversations.media(s, system.employee("Thomas Petit"), msg) is None
    # Karim's kiosk over the kiosk API: the group's page, then the photo itself.
    _wait(lambda: any(r.delivered_at for r in _receipts(system, msg)), "delivered")
    app = create_app(system.cfg, {"TESTING": True, "RATELIMIT_ENABLED": False})
    creds = system.demo.terminals["kiosk-2"]
    token = base64.b64encode(f"{creds['username']}:{creds['password']}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "X-Relais-Session": k2.sid or ""}
    try:
        with app.test_client() as client:
            page = client.get(f"/api/kiosk/v1/history?group={gid}", headers=headers)
            assert page.status_code == 200, page.get_json()
            assert [(m["msg"], m["has_image"]) for m in page.get_json()["messages"]] == [
                (msg, True)]
            photo = client.get(f"/api/kiosk/v1/media/{msg}", headers=headers)
            assert photo.status_code == 200 and photo.data[:2] == b"\xff\xd8"
            other = client.get(f"/api/kiosk/v1/history?group={gid + 1}", headers=headers)
            assert other.status_code == 404 and other.get_json()["code"] == "not_member"
    finally:
        app.extensions["relais_store"].dispose()


def test_a_voice_post_waits_for_hr_then_members_fetch_its_clip(system: System) -> None:
    """Issue 19 in a group: held (voice always held), approved, fanned out without its sound
    (has_audio, as a photo's has_image); a member's kiosk fetches the clip over the kiosk
    API, byte for byte what the server made; someone outside the group gets nothing."""
    from hr_console.store.models import Media
    from tests.wire.hostile_audio import clip

    k1, k2 = _links(system, 2)
    gid = _group(system, people=FIVE[:3])
    _badge(system, k1, "Sophie Martin")
    _badge(system, k2, "Karim Benali")
    msg = k1.send_voice(None, clip(1.5), 1500, group=gid)
    _state(k1, msg, "held")
    with system.store.session() as s:
        row = messaging.find(s, system.employee("Sophie Martin"), msg)
        messaging.approve(s, row.id, actor="hr")
        stored = s.get(Media, row.media_id).data
    got = _arrived(k2, msg)
    assert got["has_audio"] is True and "audio" not in got and got["duration_ms"] == 1500
    _wait(lambda: any(r.delivered_at for r in _receipts(system, msg)), "delivered")
    app = create_app(system.cfg, {"TESTING": True, "RATELIMIT_ENABLED": False})
    creds = system.demo.terminals["kiosk-2"]
    token = base64.b64encode(f"{creds['username']}:{creds['password']}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "X-Relais-Session": k2.sid or ""}
    try:
        with app.test_client() as client:
            page = client.get(f"/api/kiosk/v1/history?group={gid}", headers=headers)
            assert [(m["msg"], m["has_audio"]) for m in page.get_json()["messages"]] == [
                (msg, True)]
            sound = client.get(f"/api/kiosk/v1/media/{msg}", headers=headers)
            assert sound.status_code == 200 and sound.mimetype == "audio/ogg"
            assert sound.data == stored
    finally:
        app.extensions["relais_store"].dispose()
    with system.store.session() as s:
        assert conversations.media(s, system.employee("Thomas Petit"), msg) is None


def test_retention_purges_group_posts_with_their_receipts(system: System) -> None:
    k1, k2 = _links(system, 2)
    gid = _group(system, people=FIVE)
    _badge(system, k1, "Sophie Martin")
    _badge(system, k2, "Karim Benali")
    msg = _post(k1, gid, "Ancienne consigne")
    _arrived(k2, msg)
    assert len(_receipts(system, msg)) == 4
    later = utcnow() + dt.timedelta(days=400)
    counts = retention.purge(system.store.session, now=later)
    assert counts.messages >= 1
    assert _receipts(system, msg) == []
    with system.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)
                        .where(Message.client_id == msg)) == 0
        assert s.scalar(select(func.count()).select_from(Downlink)
                        .where(Downlink.ref == msg)) == 0  # Thomas's and Amina's copies too
        assert groups.get(s, gid).state == "open"  # the group itself stays


# --- a relay killed in the middle of its fan-outs ------------------------------------------------


@pytest.fixture
def bare(tmp_path: Path, db_url: str) -> Iterator[System]:
    """A system whose relay is a process of its own (``relais relay``), for killing."""
    sys_ = make_system(tmp_path, db_url, relay=False)
    try:
        yield sys_
    finally:
        sys_.close()


def test_relay_killed_mid_fan_out_loses_and_duplicates_nothing(bare: System,
                                                               tmp_path: Path) -> None:
    system = bare
    log = tmp_path / "relay.log"
    # A big group, so that each fan-out takes a while: 600 more members nobody badges in.
    with system.store.session() as s:
        team = s.execute(select(Team).where(Team.name == "Atelier")).scalar_one()
        s.execute(insert(Employee), [{"name": f"Opérateur {i:03d}", "team_id": team.id}
                                     for i in range(600)])
        extra = list(s.execute(select(Employee.id).where(Employee.name.like("Opérateur %")))
                     .scalars())
    gid = _group(system, people=FIVE[:3], more=extra)
    with system.store.session() as s:  # 40 posts to 600 people in a few seconds, all fanned out
        settings.put(s, "group_copies_per_minute", 0)
    # The terminals exist before the relay starts, as on a site: its first subscriptions
    # cover them, with no broker reload or partition refresh for the badge-ins to wait on.
    k1, k2, k3 = _links(system, 3)
    relay = relay_process(system, log)
    procs = [relay]
    try:
        k1.outbox.resend_after = 1.0
        _badge(system, k1, "Sophie Martin")
        _badge(system, k2, "Karim Benali")
        _badge(system, k3, "Julie Moreau")
        # Enough posts that the relay is still fanning out when it is killed, however fast
        # it goes: the kill comes as soon as the first one is committed.
        posts = [_post(k1, gid, f"relève {n:02d}") for n in range(80)]

        def stored() -> int:
            # A snapshot read: the store's own session begins IMMEDIATE on SQLite and waits
            # for the relay's write lock, which the relay's next batch kept winning until
            # it had stored all 80 (CI: "80 of 80" when it was killed).
            with read_snapshot(system.store) as s:
                return s.scalar(select(func.count()).select_from(Message)
                                .where(Message.client_id.in_(posts))) or 0

        deadline = time.monotonic() + 30
        while stored() < 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        relay.kill()  # SIGKILL, whatever it is doing: the stream of fan-outs is under way
        relay.wait()
        at_kill = stored()
        print(f"posts committed when the relay was killed: {at_kill} of {len(posts)}")
        assert at_kill < len(posts)
        time.sleep(1.0)
        relay = relay_process(system, log)
        procs.append(relay)
        answered: set[str] = set()  # from either relay
        deadline = time.monotonic() + 60
        while answered != set(posts) and time.monotonic() < deadline:
            with contextlib.suppress(AssertionError):
                answered.add(expect(k1, ev.StateChanged, lambda e: e.state == "accepted",
                                    timeout=1.0).msg)
        assert answered == set(posts), f"unanswered: {set(posts) - answered}"
        got = {link.terminal: Counter() for link in (k2, k3)}
        deadline = time.monotonic() + 60
        for link in (k2, k3):
            while set(got[link.terminal]) != set(posts) and time.monotonic() < deadline:
                with contextlib.suppress(AssertionError):
                    m = expect(link, ev.MessageArrived, timeout=1.0).message
                    got[link.terminal][m["msg"]] += 1
        for link in (k2, k3):
            with contextlib.suppress(AssertionError):
                while True:
                    got[link.terminal][expect(link, ev.MessageArrived, timeout=2.0).message["msg"]] += 1
        for terminal, counts in got.items():
            assert set(counts) == set(posts), f"{terminal} lost {set(posts) - set(counts)}"
            assert max(counts.values()) == 1, f"{terminal} saw twice: {counts}"
        with system.store.session() as s:
            stored = s.execute(select(Message.client_id, func.count()).where(
                Message.client_id.in_(posts)).group_by(Message.client_id)).all()
            assert sorted(c for c, _n in stored) == sorted(posts)
            assert all(n == 1 for _c, n in stored)
            per_post = s.execute(select(Message.client_id, func.count())
                                 .join(GroupReceipt, GroupReceipt.message_id == Message.id)
                                 .where(Message.client_id.in_(posts))
                                 .group_by(Message.client_id)).all()
            assert {n for _c, n in per_post} == {len(extra) + 2}
            copies = s.scalar(select(func.count()).select_from(Downlink).where(
                Downlink.ref.in_(posts), Downlink.kind == "text"))
            assert copies == len(posts) * len(extra)  # exactly one copy each for the absent
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

