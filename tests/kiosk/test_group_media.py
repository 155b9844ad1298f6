"""A photo posted to a workgroup reaches the members' kiosks as ``has_image`` and is fetched
through the kiosk API's media endpoint, the existing path for photos the sync left on the
console (issue 15): against a whole installation (real Mosquitto, relay and console), with
the kiosk's own link, session and RemoteMedia. Someone outside the group gets nothing."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hr_console.services import groups, messaging
from hr_console.store.models import Employee, Media, Message
from hr_console.web import create_app
from kiosk_app import config as kiosk_config
from kiosk_app import media
from kiosk_app.link import events as ev
from kiosk_app.link.media_cache import RemoteMedia
from kiosk_app.ui.session import Session
from tests.served import served
from tests.system_fixture import System, expect, make_system

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def installation(tmp_path: Path, db_url: str) -> Iterator[System]:
    system = make_system(tmp_path, db_url)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def console(installation: System) -> Iterator[str]:
    with served(create_app(installation.cfg), port=installation.cfg.console_port) as url:
        yield url


def _fetch(remote: RemoteMedia, sid: str, key: str, wait: float) -> bytes | None:
    box: queue.Queue = queue.Queue()
    at_once = remote.fetch("message", sid, key, box.put)
    if at_once is not None:
        return at_once
    try:
        return box.get(timeout=wait)
    except queue.Empty:
        return None


def test_a_group_photo_is_fetched_by_members_only(installation: System, console: str) -> None:
    system = installation
    with system.store.session() as s:
        team = s.get(Employee, system.employee("Sophie Martin")).team_id
        gid = groups.create(s, name="Ligne 3", rules=[("team", team)], actor="hr").id

    karim, sophie = system.link("kiosk-2"), system.link("kiosk-1")
    system.badge_in(karim, "Karim Benali")
    system.badge_in(sophie, "Sophie Martin")
    jpeg = media.normalise_photo((ROOT / "assets/demo_photos/machine.jpg").read_bytes())
    post = karim.send_photo(None, jpeg, "Quai 2", group=gid)
    state = expect(karim, ev.StateChanged, lambda e: e.msg == post and e.state != "outbox")
    if state.state == "held":  # media may always be held for HR: approved here
        with system.store.session() as s:
            mid = s.execute(select(Message.id).where(Message.client_id == post)).scalar_one()
            messaging.approve(s, mid, actor="hr")

    copy = expect(sophie, ev.MessageArrived, lambda e: e.message.get("msg") == post).message
    assert copy["group"] == gid and copy["has_image"] is True
    assert "image" not in copy and "to" not in copy and copy["from_name"] == "Karim Benali"
    session = Session(sophie.sid, {"id": system.employee("Sophie Martin"), "name": "Sophie"})
    msg = session.add_message({**copy, "kind": "photo"})
    assert msg is not None and msg.has_image and msg.image is None and msg.group == gid

    cfg = kiosk_config.for_terminal(system.cfg.home, "kiosk-1")
    remote = RemoteMedia.from_config(cfg)
    assert remote is not None
    try:
        with system.store.session() as s:
            kept = s.execute(select(Media.data).join(Message, Message.media_id == Media.id)
                             .where(Message.client_id == post)).scalar_one()
        got = _fetch(remote, sophie.sid, post, 15)  # a member holding a receipt
        assert got == kept and got[:3] == b"\xff\xd8\xff"
    finally:
        remote.close()

    # Amina is in another team, not in the group: the console gives her kiosk nothing.
    amina = karim  # the same terminal, Karim gone: Amina badges in on it
    system.badge_in(amina, "Amina Diallo")
    other = RemoteMedia.from_config(kiosk_config.for_terminal(
        system.cfg.home, amina.terminal), timeout=5.0)
    assert other is not None
    try:
        assert _fetch(other, amina.sid, post, 6) is None
    finally:
        other.close()
