"""kiosk_app.link.api against the console served for real (waitress on a free port, in a
thread): enrolment, history pages, media, notices, and clear errors."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from broker_config.ports import free_port
from hr_console.services import directory, groups, notices, sessions
from hr_console.store.models import Media, Message, Team, utcnow
from kiosk_app.link.api import KioskApi, KioskApiError, enrol
from tests.served import served as serving
from tests.web_fixture import Console, make_console


@dataclass
class Served:
    console: Console
    url: str


@pytest.fixture
def served(tmp_path: Path, db_url: str) -> Iterator[Served]:
    console = make_console(tmp_path, db_url)
    with serving(console.app) as url:
        yield Served(console, url)


def _badge_in(console: Console, terminal: str, name: str) -> str:
    with console.session() as s:
        term = sessions.terminal_by_name(s, terminal)
        return sessions.badge_in(s, term, console.demo.badges[name], None,
                                 console.cfg.badge_pepper).session_id


def _api(served: Served, terminal: str = "kiosk-1") -> KioskApi:
    creds = served.console.demo.terminals[terminal]
    return KioskApi(served.url, creds["username"], creds["password"], timeout=10)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), (30, 140, 60)).save(buf, "JPEG")
    return buf.getvalue()


def _message(console: Console, sender: str, recipient: str, state: str,
             photo: bytes | None = None) -> str:
    client_id = str(uuid.uuid4())
    with console.session() as s:
        media_id = None
        if photo:
            media = Media(sha256=hashlib.sha256(photo).hexdigest(), mime="image/jpeg", data=photo)
            s.add(media)
            s.flush()
            media_id = media.id
        s.add(Message(client_id=client_id, sender_id=console.demo.employees[sender],
                      recipient_id=console.demo.employees[recipient],
                      kind="photo" if photo else "text", body="Bonjour", state=state,
                      media_id=media_id, created_at=utcnow()))
    return client_id


def test_enrol_then_use_the_credentials(served: Served) -> None:
    with served.console.session() as s:
        _, creds = directory.terminal(s, "kiosk-7", directory.site_by_name(s, "demo"))
    result = KioskApi.enrol(served.url, creds.enrol_code)
    assert result["username"] == result["terminal"] == "kiosk-7"
    assert result["mqtt_port"] == served.console.cfg.mqtt_port
    with pytest.raises(KioskApiError) as reused:
        enrol(served.url, creds.enrol_code)
    assert reused.value.code == "bad_code" and reused.value.status == 403 and reused.value.message
    sid = _badge_in(served.console, "kiosk-7", "Karim Benali")
    with KioskApi(served.url, result["username"], result["password"]) as api:
        assert api.notices(sid) == []
    with KioskApi(served.url, "kiosk-7", creds.password) as old, pytest.raises(KioskApiError) as err:
        old.notices(sid)
    assert err.value.code == "unauthorised" and err.value.status == 401


def test_kiosk_enrol_command_writes_a_config_relais_kiosk_accepts(served: Served, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from hr_console.cli import main
    from kiosk_app import config as kiosk_config

    with served.console.session() as s:
        _, creds = directory.terminal(s, "kiosk-8", directory.site_by_name(s, "demo"))
    out = tmp_path / "kiosk-etc"
    result = CliRunner().invoke(main, ["kiosk-enrol", served.url, f" {creds.enrol_code} ",
                                       "--out", str(out), "--site", "Usine"])
    assert result.exit_code == 0, result.output
    cfg = kiosk_config.load(out / "config.json")
    assert (cfg.terminal, cfg.site, cfg.api_url, cfg.fullscreen) == ("kiosk-8", "Usine", served.url, True)
    assert cfg.mqtt_port == served.console.cfg.mqtt_port and cfg.password != creds.password
    assert oct((out / "config.json").stat().st_mode & 0o777) == "0o600"
    with KioskApi(served.url, cfg.terminal, cfg.password) as api:  # the new password works
        assert api.site_notices() == []
    again = CliRunner().invoke(main, ["kiosk-enrol", served.url, creds.enrol_code, "--out", str(out)])
    assert again.exit_code != 0 and "enrolment refused" in again.output


def test_history_pages_media_and_notices(served: Served) -> None:
    console = served.console
    sent = [_message(console, "Sophie Martin", "Karim Benali", "delivered") for _ in range(5)]
    photo = _jpeg()
    with_photo = _message(console, "Sophie Martin", "Karim Benali", "read", photo=photo)
    with console.session() as s:
        atelier = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        n = notices.create(s, title="Inventaire", body="Samedi 8h", target_kind="team",
                           target_ref=atelier, ack_required=True, actor="hr")
        logistique = s.execute(select(Team.id).where(Team.name == "Logistique")).scalar_one()
        atelier_group = groups.create(s, name="Atelier", rules=[("team", atelier)], actor="hr").id
        logistique_group = groups.create(s, name="Quai", rules=[("team", logistique)],
                                         actor="hr").id
    sid = _badge_in(console, "kiosk-1", "Karim Benali")
    sophie = console.demo.employees["Sophie Martin"]
    with _api(served) as api:
        page = api.history(sid, sophie, limit=4)
        assert [m["msg"] for m in page["messages"]] == [*sent[2:], with_photo]
        assert page["more"] is True
        older = api.history(sid, sophie, before=page["before"], limit=4)
        assert [m["msg"] for m in older["messages"]] == sent[:2] and older["more"] is False
        assert api.media(sid, with_photo) == photo
        with pytest.raises(KioskApiError) as missing:
            api.media(sid, sent[0])  # a text message has no photo
        assert missing.value.code == "not_found" and missing.value.status == 404
        current = api.notices(sid)
        assert [x["notice"] for x in current] == [n.uid] and current[0]["ack_required"] is True
        with pytest.raises(KioskApiError) as bad:
            api.history(sid, sophie, before="nope")
        assert bad.value.code == "bad_cursor"
        # A workgroup's pages ("Earlier messages" in a group): his team's, not another's.
        assert api.history(sid, group=atelier_group)["messages"] == []
        with pytest.raises(KioskApiError) as other:
            api.history(sid, group=logistique_group)
        assert other.value.code == "not_member" and other.value.status == 404


def test_find_contacts_by_name(served: Served) -> None:
    console = served.console
    sid = _badge_in(console, "kiosk-1", "Karim Benali")
    with _api(served) as api:
        found, total = api.find_contacts(sid, "sophie")
        assert [(c["name"], c["team"]) for c in found] == [("Sophie Martin", "Atelier")]
        assert total == 1
        assert api.find_contacts(sid, "thomas") == ([], 0)  # Logistique: not his to write to
        with pytest.raises(KioskApiError) as bad:
            api.find_contacts(sid, " ")
        assert bad.value.code == "bad_request" and bad.value.status == 400


def test_errors_are_clear(served: Served) -> None:
    sid = _badge_in(served.console, "kiosk-2", "Thomas Petit")
    with _api(served, "kiosk-1") as api:  # Thomas's session is on kiosk-2
        with pytest.raises(KioskApiError) as other:
            api.notices(sid)
        assert other.value.code == "unauthorised"
        with pytest.raises(KioskApiError) as nobody:
            api.notices("")
        assert nobody.value.code == "no_session"
    with KioskApi(served.url, "kiosk-1", "wrong") as wrong, pytest.raises(KioskApiError) as err:
        wrong.history(sid, 1)
    assert err.value.code == "unauthorised" and err.value.status == 401
    with pytest.raises(KioskApiError) as code:
        enrol(served.url, "NOPE-NOPE-NOPE")
    assert code.value.code == "bad_code"


def test_unreachable_server_is_a_clear_error() -> None:
    port = free_port()  # nothing listens here
    with pytest.raises(KioskApiError) as err:
        enrol(f"http://127.0.0.1:{port}", "ABCD-EF01-2345", timeout=2)
    assert err.value.code == "unreachable" and err.value.status is None
    with KioskApi(f"http://127.0.0.1:{port}", "kiosk-1", "x", timeout=2) as api, \
            pytest.raises(KioskApiError) as err2:
        api.notices(str(uuid.uuid4()))
    assert err2.value.code == "unreachable"


def test_non_json_error_pages_still_give_a_code(served: Served) -> None:
    # Outside the API prefix the console answers HTML: the client still reports a code.
    with pytest.raises(KioskApiError) as err:
        enrol(served.url + "/nowhere", "ABCD")
    assert err.value.code == "http_404" and err.value.status == 404
