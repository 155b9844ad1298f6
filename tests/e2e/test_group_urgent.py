"""An urgent group post end to end (issue 15: "an urgent post there is shown first at
badge-in"): terminal links -> real Mosquitto -> relay -> database -> members' terminals. A
team lead's urgent post in a leads-only group reaches a member marked urgent, and the
member's next badge-in lists the group first with ``urgent_unread``; a worker who asks for
urgent in an open group is not believed: the post goes out as an ordinary one.

Runs on SQLite and, when RELAIS_TEST_PG_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from hr_console.services import groups
from hr_console.store.models import Employee, GroupReceipt, Message
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from tests.e2e.test_groups import Raw, _links
from tests.system_fixture import System, expect

# Sophie leads the workshop team, Karim and Julie work in it.
PINS = {"Julie Moreau": "4321"}


def _badge(system: System, link: TerminalLink, name: str) -> tuple[ev.Synced, Raw]:
    raw = Raw(link)
    return system.badge_in(link, name, PINS.get(name)), raw


def _group(system: System, *, name: str, rules: list, post_right: str) -> int:
    with system.store.session() as s:
        return groups.create(s, name=name, description="", site_id=None, post_right=post_right,
                             members_reply=False, moderation_mode="none", rules=rules,
                             people=[], actor="hr").id


def _team(system: System, name: str) -> int:
    with system.store.session() as s:
        return s.get_one(Employee, system.employee(name)).team_id


def _accepted(link: TerminalLink, msg: str) -> None:
    expect(link, ev.StateChanged, lambda e: e.msg == msg and e.state == "accepted", 15.0)


def _arrived(link: TerminalLink, msg: str) -> dict[str, Any]:
    return expect(link, ev.MessageArrived, lambda e: e.message["msg"] == msg, 15.0).message


def _stored_urgent(system: System, msg: str) -> bool:
    with system.store.session() as s:
        return s.execute(select(Message.urgent).where(Message.client_id == msg)).scalar_one()


def _listed(raw: Raw, gid: int) -> dict[str, Any]:
    return next(g for g in raw.last_sync()["groups"] if g["id"] == gid)


def test_a_leads_urgent_post_reaches_members_urgent_and_comes_first_at_badge_in(
        system: System) -> None:
    k1, k2, k3 = _links(system, 3)
    atelier = _team(system, "Sophie Martin")
    safety = _group(system, name="Consignes sécurité ligne 3", rules=[("team", atelier)],
                    post_right="leads")
    chat = _group(system, name="Ligne 3", rules=[("team", atelier)], post_right="everyone")
    _sync, raw1 = _badge(system, k1, "Sophie Martin")
    _badge(system, k2, "Karim Benali")
    assert _listed(raw1, safety)["can_post"]  # Sophie leads the team the group takes in

    urgent = k1.send_text(None, "Évacuation du quai 2, tout de suite", group=safety, urgent=True)
    _accepted(k1, urgent)
    got = _arrived(k2, urgent)
    assert got["urgent"] is True and got["group"] == safety and "to" not in got
    assert _stored_urgent(system, urgent) is True
    # Later chatter in another group: the urgent one still comes first at badge-in.
    later = k1.send_text(None, "Pause café à 10 h", group=chat)
    _accepted(k1, later)
    assert "urgent" not in _arrived(k2, later)

    # Julie badges in after: her sync lists the safety group first, urgent and unread.
    _sync, raw3 = _badge(system, k3, "Julie Moreau")
    listed = raw3.last_sync()["groups"]
    assert listed[0]["id"] == safety and listed[0]["urgent_unread"] is True
    assert _listed(raw3, chat)["urgent_unread"] is False
    # Karim, who has it but has not read it, too at his next badge-in.
    k2.logout()
    _sync, raw2 = _badge(system, k2, "Karim Benali")
    assert raw2.last_sync()["groups"][0]["id"] == safety
    assert _listed(raw2, safety)["urgent_unread"] is True
    # Once read, it is no longer urgent for him.
    k2.mark_read(urgent)
    _wait_read(system, urgent, "Karim Benali")
    k2.logout()
    _sync, raw2 = _badge(system, k2, "Karim Benali")
    assert _listed(raw2, safety)["urgent_unread"] is False


def _wait_read(system: System, msg: str, name: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with system.store.session() as s:
            read_at = s.execute(
                select(GroupReceipt.read_at).join(Message, Message.id == GroupReceipt.message_id)
                .where(Message.client_id == msg,
                       GroupReceipt.employee_id == system.employee(name))).scalar_one()
        if read_at is not None:
            return
        assert time.monotonic() < deadline, f"{name}'s read receipt not recorded"
        time.sleep(0.2)


def test_a_workers_urgent_post_goes_out_as_an_ordinary_one(system: System) -> None:
    k1, k2, k3 = _links(system, 3)
    atelier = _team(system, "Sophie Martin")
    chat = _group(system, name="Ligne 3", rules=[("team", atelier)], post_right="everyone")
    _badge(system, k1, "Sophie Martin")
    _sync, raw2 = _badge(system, k2, "Karim Benali")
    assert _listed(raw2, chat)["can_post"]

    forged = k2.send_text(None, "Tout le monde au portail", group=chat, urgent=True)
    _accepted(k2, forged)
    got = _arrived(k1, forged)
    assert not got.get("urgent") and got["group"] == chat
    assert _stored_urgent(system, forged) is False
    _sync, raw3 = _badge(system, k3, "Julie Moreau")
    assert _listed(raw3, chat)["urgent_unread"] is False
    assert _listed(raw3, chat)["unread"] >= 1
