"""The idle screen's board (kiosk_app.link.site_board and KioskApi.site_notices) against the
real console served by waitress on the port the home records, with the kiosk config
``relais`` wrote for the terminal: the terminal alone (nobody badged in) gets the current
notices for its site or everyone, off the calling thread; without an API, nothing."""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from broker_config.ports import free_port
from hr_console.services import directory, notices
from hr_console.store.models import Notice, Team, utcnow
from hr_console.web import create_app
from kiosk_app import config as kiosk_config
from kiosk_app.link.api import KioskApi, KioskApiError
from kiosk_app.link.site_board import Board, SiteBoard
from tests.served import served
from tests.system_fixture import System, make_system


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[System]:
    system = make_system(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}", relay=False)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def console(installation: System) -> Iterator[str]:
    """``create_app`` as ``relais up`` serves it, on the console port the home records."""
    with served(create_app(installation.cfg), port=installation.cfg.console_port) as url:
        yield url


def _notices(system: System) -> None:
    with system.store.session() as s:
        demo = directory.site_by_name(s, "demo")
        atelier = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        now = utcnow()
        old = notices.create(s, title="Cantine fermée lundi", body="Repas  froids\nprévus.",
                             target_kind="everyone", actor="hr")
        old.created_at = now - dt.timedelta(minutes=2)
        notices.create(s, title="Évacuation exercice 14 h", body="", target_kind="site",
                       target_ref=demo.id, urgent=True, actor="hr")
        notices.create(s, title="Réservé à l'atelier", body="", target_kind="team",
                       target_ref=atelier, actor="hr")


def _wait(box: queue.Queue) -> object:
    try:
        return box.get(timeout=15)
    except queue.Empty:
        raise AssertionError("the site notices did not arrive") from None


def test_the_idle_board_comes_from_the_console(installation: System, console: str) -> None:
    system = installation
    _notices(system)
    cfg = kiosk_config.for_terminal(system.cfg.home, "kiosk-1")
    assert cfg.api_url == console

    # The blocking call, as the terminal alone: no badge session.
    with KioskApi(cfg.api_url, cfg.terminal, cfg.password, ca_file=cfg.tls_ca) as api:
        got = api.site_notices()
    assert [(n["title"], n["urgent"]) for n in got] == [
        ("Évacuation exercice 14 h", True), ("Cantine fermée lundi", False)]
    assert got[1]["excerpt"] == "Repas froids prévus."
    assert all(set(n) == {"uid", "title", "urgent", "excerpt"} for n in got)

    # What the UI does: ask, get the board later on another thread; not again if unchanged.
    board = SiteBoard.from_config(cfg)
    assert board is not None
    box: queue.Queue = queue.Queue()
    caller = threading.current_thread()
    try:
        assert board.refresh(lambda b: box.put((b, threading.current_thread() is caller)))
        delivered, on_caller = _wait(box)
        assert not on_caller and delivered == Board(got, False)
        assert board.refresh(box.put)  # unchanged: nothing delivered
        with system.store.session() as s:
            urgent = s.execute(select(Notice).where(Notice.urgent.is_(True))).scalar_one()
            notices.withdraw(s, notices.EVERYTHING, urgent.id, "hr")
        # A withdrawal reaches the board on the next poll (once the last one is done).
        for _ in range(100):
            if board.refresh(box.put):
                break
            threading.Event().wait(0.05)
        latest = _wait(box)
        assert [n["title"] for n in latest.notices] == ["Cantine fermée lundi"]
    finally:
        board.close()


def test_wrong_credentials_are_refused(installation: System, console: str) -> None:
    with KioskApi(console, "kiosk-1", "not-the-password") as api, \
            pytest.raises(KioskApiError) as err:
        api.site_notices()
    assert err.value.code == "unauthorised" and err.value.status == 401


def test_without_an_api_or_with_a_console_away_the_board_stays_empty(
        caplog: pytest.LogCaptureFixture) -> None:
    base = {"terminal": "kiosk-1", "password": "pw"}
    assert SiteBoard.from_config(kiosk_config.from_mapping(base)) is None

    away = kiosk_config.from_mapping({**base, "api_url": f"http://127.0.0.1:{free_port()}"})
    board = SiteBoard.from_config(away, timeout=1.0)
    assert board is not None
    box: queue.Queue = queue.Queue()
    try:
        with caplog.at_level(logging.WARNING, logger="relais.kiosk.board"):
            assert board.refresh(box.put)
            for _ in range(50):
                if any("could not fetch" in r.getMessage() for r in caplog.records):
                    break
                threading.Event().wait(0.1)
        assert any("could not fetch" in r.getMessage() for r in caplog.records)
        assert box.empty()
    finally:
        board.close()


def _ask(board: SiteBoard, box: queue.Queue, *, force: bool = True) -> object:
    """One delivery of the board (asked again while an earlier call is on its way)."""
    for _ in range(100):
        if board.refresh(box.put, force=force):
            return _wait(box)
        threading.Event().wait(0.05)
    raise AssertionError("the board never took the request")


def test_the_board_says_whether_the_idle_screen_may_raise_an_alert(
        installation: System, console: str) -> None:
    """The flag comes with the notices and follows HR's setting; a terminal the console
    refuses (here: deactivated) loses it, as it loses the notices."""
    from hr_console.services import safety, settings
    from hr_console.store.models import Terminal

    system = installation
    _notices(system)
    cfg = kiosk_config.for_terminal(system.cfg.home, "kiosk-1")
    with KioskApi(cfg.api_url, cfg.terminal, cfg.password, ca_file=cfg.tls_ca) as api:
        assert api.site_board() == (api.site_notices(), False)
    board = SiteBoard.from_config(cfg)
    assert board is not None
    box: queue.Queue = queue.Queue()
    try:
        first = _ask(board, box)
        assert first.alert_on_idle is False and len(first.notices) == 2
        with system.store.session() as s:
            settings.put(s, safety.ON_IDLE_SETTING, True)
        on = _ask(board, box, force=False)  # a change: delivered without forcing
        assert on == Board(first.notices, True)
        with system.store.session() as s:
            s.execute(select(Terminal).where(Terminal.name == "kiosk-1")).scalar_one().active = False
        gone = _ask(board, box, force=False)
        assert gone == Board([], False)
    finally:
        board.close()


def test_a_console_that_does_not_say_it_means_no_button(installation: System) -> None:
    """A console of an earlier release answers the board without ``alert_on_idle`` (the real
    console, its answer stripped of the field): no button, the notices as before."""
    from flask import Response

    system = installation
    _notices(system)
    with system.store.session() as s:
        from hr_console.services import safety, settings

        settings.put(s, safety.ON_IDLE_SETTING, True)
    app = create_app(system.cfg)

    @app.after_request
    def as_before(resp: Response) -> Response:
        body = resp.get_json(silent=True)
        if isinstance(body, dict) and "alert_on_idle" in body:
            del body["alert_on_idle"]
            resp.set_data(json.dumps(body))
        return resp

    with served(app) as url:
        cfg = kiosk_config.for_terminal(system.cfg.home, "kiosk-1")
        with KioskApi(url, cfg.terminal, cfg.password) as api:
            resp = api._http.get(f"{url}/api/kiosk/v1/site-notices", timeout=10)
            assert resp.status_code == 200 and set(resp.json()) == {"notices"}
            notices_now, alert_on_idle = api.site_board()
        assert alert_on_idle is False and len(notices_now) == 2
        board = SiteBoard(KioskApi(url, cfg.terminal, cfg.password))
        box: queue.Queue = queue.Queue()
        try:
            assert _ask(board, box) == Board(notices_now, False)
        finally:
            board.close()
