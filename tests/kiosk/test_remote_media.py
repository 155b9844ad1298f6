"""The kiosk's remote photos (kiosk_app.link.media_cache, what the conversation and notice
screens use) against a whole installation: real Mosquitto and relay, the console served by
waitress on the port the home records, the kiosk config ``relais`` wrote for the terminal.

A photo the badge-in sync had no room for arrives flagged ``has_image``; a notice with a
photo says ``photo: true``; both come back as the bytes the console keeps, off the calling
thread, kept in memory until logout."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from broker_config.ports import free_port
from hr_console.services import notices, photos
from hr_console.store.models import Media, Message, Team, utcnow
from hr_console.web import create_app
from kiosk_app import config as kiosk_config
from kiosk_app.link import events as ev
from kiosk_app.link.media_cache import RemoteMedia
from kiosk_app.ui.session import Session
from tests.served import served
from tests.system_fixture import System, expect, make_system


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[System]:
    system = make_system(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}")
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def console(installation: System) -> Iterator[str]:
    """``create_app`` as ``relais up`` serves it, on the console port the home records."""
    with served(create_app(installation.cfg), port=installation.cfg.console_port) as url:
        yield url


def _noise_jpeg(side: int = 460) -> bytes:
    """A photo that hardly compresses: two of them do not fit one badge-in sync."""
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _photo_message(system: System, jpeg: bytes, age_s: int) -> str:
    client_id = str(uuid.uuid4())
    with system.store.session() as s:
        media = Media(sha256=hashlib.sha256(jpeg).hexdigest(), mime="image/jpeg", data=jpeg)
        s.add(media)
        s.flush()
        s.add(Message(client_id=client_id, sender_id=system.employee("Sophie Martin"),
                      recipient_id=system.employee("Karim Benali"), kind="photo",
                      body="Regarde", state="delivered", media_id=media.id,
                      created_at=utcnow() - dt.timedelta(seconds=age_s)))
    return client_id


def _notice_with_photo(system: System) -> tuple[str, bytes]:
    with system.store.session() as s:
        atelier = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        media = photos.store(s, _noise_jpeg(64))
        n = notices.create(s, title="Nouvelle machine", body="Voir la photo", target_kind="team",
                           target_ref=atelier, actor="hr", media_id=media.id)
        return n.uid, media.data


def _wait(box: queue.Queue, what: str) -> bytes:
    try:
        return box.get(timeout=15)
    except queue.Empty:
        raise AssertionError(f"{what} did not arrive") from None


def test_photos_the_sync_left_on_the_console_reach_the_kiosk(installation: System,
                                                              console: str) -> None:
    system = installation
    older_jpeg, newer_jpeg = _noise_jpeg(), _noise_jpeg()
    older = _photo_message(system, older_jpeg, age_s=120)
    newer = _photo_message(system, newer_jpeg, age_s=60)
    notice_uid, notice_jpeg = _notice_with_photo(system)

    # The config `relais` wrote for the terminal names the console it is served on.
    cfg = kiosk_config.for_terminal(system.cfg.home, "kiosk-1")
    assert cfg.api_url == console

    # Badge in over MQTT, exactly as the kiosk does; the sync is what the screens get.
    link = system.link("kiosk-1")
    link.login(system.demo.badges["Karim Benali"])
    sid = expect(link, ev.LoginOk).sid
    synced = expect(link, ev.Synced)
    by_id = {m["msg"]: m for m in synced.history}
    assert by_id[newer].get("image") and not by_id[newer].get("has_image")
    assert by_id[older]["has_image"] is True and not by_id[older].get("image")
    session = Session(sid, {"id": system.employee("Karim Benali"), "name": "Karim Benali"})
    session.apply_sync(synced.me, synced.contacts, synced.history, synced.notices,
                       synced.quick_replies)
    assert session.messages[older].has_image and session.messages[older].image is None
    assert session.messages[newer].image == newer_jpeg
    assert session.notices[notice_uid].photo is True

    remote = RemoteMedia.from_config(cfg)
    assert remote is not None
    try:
        # What the screens do: ask, get nothing at once, get the bytes later on another thread.
        box: queue.Queue = queue.Queue()
        caller = threading.current_thread()

        def done(jpeg: bytes) -> None:
            box.put((jpeg, threading.current_thread() is caller))

        assert remote.fetch("message", sid, older, done) is None
        assert remote.fetch("notice", sid, notice_uid, done) is None
        got = dict.fromkeys(("message", "notice"))
        for _ in range(2):
            jpeg, on_caller = _wait(box, "a photo")
            assert not on_caller
            got["message" if jpeg == older_jpeg else "notice"] = jpeg
        assert got == {"message": older_jpeg, "notice": notice_jpeg}

        # Kept in memory by id: shown again at once, without a call.
        assert remote.fetch("message", sid, older, done) == older_jpeg
        assert remote.cached("notice", notice_uid) == notice_jpeg

        # Logout forgets them with everything else of that person.
        remote.clear()
        assert remote.cached("message", older) is None
        assert remote.cached("notice", notice_uid) is None
    finally:
        remote.close()


def test_without_an_api_or_with_a_console_away_photos_stay_labels(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    base = {"terminal": "kiosk-1", "password": "pw"}
    assert RemoteMedia.from_config(kiosk_config.from_mapping(base)) is None
    with pytest.raises(kiosk_config.ConfigError):
        kiosk_config.from_mapping({**base, "api_url": "127.0.0.1:8470"})

    away = kiosk_config.from_mapping({**base, "api_url": f"http://127.0.0.1:{free_port()}"})
    remote = RemoteMedia.from_config(away, timeout=1.0)
    assert remote is not None
    box: queue.Queue = queue.Queue()
    try:
        with caplog.at_level(logging.WARNING, logger="relais.kiosk.media"):
            assert remote.fetch("message", "sid", "m-1", box.put) is None
            for _ in range(50):
                if any("could not fetch" in r.getMessage() for r in caplog.records):
                    break
                threading.Event().wait(0.1)
        assert any("could not fetch" in r.getMessage() for r in caplog.records)
        assert box.empty() and remote.cached("message", "m-1") is None
    finally:
        remote.close()


class _SlowApi:
    """Stands for KioskApi: the answer waits until the test lets it go."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.go = threading.Event()

    def media(self, sid: str, msg: str) -> bytes:
        self.asked.set()
        assert self.go.wait(10)
        return b"\xff\xd8 photo of the person who left"

    def close(self) -> None:
        pass


def test_a_photo_still_on_its_way_at_logout_is_dropped() -> None:
    api = _SlowApi()
    remote = RemoteMedia(api)  # type: ignore[arg-type]
    box: queue.Queue = queue.Queue()
    try:
        assert remote.fetch("message", "sid-1", "m-1", box.put) is None
        assert api.asked.wait(10)
        remote.clear()  # logout while the console is answering
        api.go.set()
        remote.close()  # waits for the worker
        assert box.empty() and remote.cached("message", "m-1") is None
    finally:
        api.go.set()
