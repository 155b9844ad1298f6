"""The broker address enrolment gives a terminal is the documented ``public_mqtt_host``,
never ``mqtt_host`` (where the relay itself reaches the broker on loopback) and, when it
is set, never whatever Host header the request carried."""

from __future__ import annotations

from pathlib import Path

import pytest

from hr_console.services import broker, directory
from tests.web_fixture import make_console

API = "/api/kiosk/v1"


def _enrol(console, name: str, host: str) -> dict:  # noqa: ANN001
    with console.session() as s:
        _, creds = directory.terminal(s, name, directory.site_by_name(s, "demo"))
        broker.apply(s, console.cfg)
    resp = console.client().post(f"{API}/enrol", json={"code": creds.enrol_code},
                                 headers={"Host": host})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


@pytest.mark.parametrize("bind", ["127.0.0.1", "0.0.0.0"])
def test_enrolment_gives_the_public_broker_name(tmp_path: Path, db_url: str, bind: str) -> None:
    console = make_console(tmp_path, db_url, settings={
        "public_mqtt_host": "relais.usine.local", "mqtt_bind": bind})
    try:
        assert console.cfg.mqtt_host == "127.0.0.1"
        body = _enrol(console, "atelier-nord", "10.0.20.5:8470")
        assert body["mqtt_host"] == "relais.usine.local"
        assert body["mqtt_port"] == console.cfg.mqtt_port
    finally:
        console.app.extensions["relais_store"].dispose()


def test_without_it_a_listening_broker_is_named_as_the_terminal_named_the_console(
        tmp_path: Path, db_url: str) -> None:
    console = make_console(tmp_path, db_url, settings={"mqtt_bind": "0.0.0.0"})
    try:
        assert _enrol(console, "atelier-nord", "10.0.20.5:8470")["mqtt_host"] == "10.0.20.5"
        assert _enrol(console, "atelier-sud", "[fd00::5]:8470")["mqtt_host"] == "fd00::5"
    finally:
        console.app.extensions["relais_store"].dispose()


def test_a_loopback_broker_is_named_by_mqtt_host(tmp_path: Path, db_url: str) -> None:
    console = make_console(tmp_path, db_url)
    try:
        assert console.cfg.mqtt_bind == "127.0.0.1"
        assert _enrol(console, "atelier-nord", "relais.usine.local")["mqtt_host"] == "127.0.0.1"
    finally:
        console.app.extensions["relais_store"].dispose()
