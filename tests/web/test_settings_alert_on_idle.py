"""The setting that puts the safety alert button on the kiosks' idle screen (issue 16): off by
default; admins tick it on the settings page (audited with old and new values, as every
setting), HR and the others cannot post it; the kiosk API's site board says it to every
terminal (``alert_on_idle``). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re

from sqlalchemy import select

from hr_console.services import safety, settings
from hr_console.store.models import AuditEntry

GOOD = {"retention_days": "365", "keywords": "grève\nsyndicat\ninsulte",
        "default_moderation": "pre"}
BOARD = "/api/kiosk/v1/site-notices"


def _changes(console) -> list[dict]:  # noqa: ANN001
    with console.session() as s:
        return [dict(e.detail, actor=e.actor) for e in s.execute(select(AuditEntry).where(
            AuditEntry.action == "settings.change",
            AuditEntry.target == f"setting:{safety.ON_IDLE_SETTING}").order_by(
                AuditEntry.id)).scalars()]


def _on(console) -> bool:  # noqa: ANN001
    with console.session() as s:
        return settings.get(s, safety.ON_IDLE_SETTING)


def _board(console, terminal: str = "kiosk-1") -> dict:  # noqa: ANN001
    creds = console.demo.terminals[terminal]
    token = base64.b64encode(f"{creds['username']}:{creds['password']}".encode()).decode()
    resp = console.client().get(BOARD, headers={"Authorization": f"Basic {token}"})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _box(page: str) -> str:
    boxes = re.findall(r'<input[^>]*name="safety_alert_on_idle"[^>]*>', page)
    assert len(boxes) == 1, boxes
    return boxes[0]


def test_the_box_is_on_the_page_in_french_and_english(console) -> None:  # noqa: ANN001
    assert _on(console) is False
    c = console.client("admin")
    page = c.get("/settings/").get_data(as_text=True)
    assert "Bouton d'alerte sécurité sur l'écran d'attente (sans badger)" in page
    assert 'name="safety_alert_on_idle"' in page and "Un abus relève des RH" in page
    assert "checked" not in _box(page)
    c.post("/auth/language", data={"language": "en"})
    page = c.get("/settings/").get_data(as_text=True)
    assert "Safety alert button on the idle screen (no badge needed)" in page
    assert "anyone walking past can raise an alert without badging in" in page
    c.post("/auth/language", data={"language": "fr"})
    # HR reads it, ticked or not, in a form it cannot send.
    hr_page = console.client("hr").get("/settings/").get_data(as_text=True)
    assert 'name="safety_alert_on_idle"' in hr_page and "<fieldset disabled>" in hr_page


def test_admin_turns_it_on_and_off_audited_and_the_kiosks_learn_it(console) -> None:  # noqa: ANN001
    assert _board(console)["alert_on_idle"] is False
    c = console.client("admin")
    resp = c.post("/settings/", data=dict(GOOD, safety_alert_on_idle="y"))
    assert resp.status_code == 302
    assert _on(console) is True
    assert _changes(console) == [{"old": False, "new": True, "actor": "admin"}]
    page = c.get("/settings/").get_data(as_text=True)
    assert "checked" in _box(page)
    # Every terminal's board says so, beside the notices it already gave.
    for terminal in ("kiosk-1", "kiosk-2"):
        board = _board(console, terminal)
        assert board["alert_on_idle"] is True and isinstance(board["notices"], list)
    # The same post again changes nothing and audits nothing.
    assert c.post("/settings/", data=dict(GOOD, safety_alert_on_idle="y")).status_code == 302
    assert len(_changes(console)) == 1
    # Unticked (a browser sends nothing for an unticked box): off again, audited.
    assert c.post("/settings/", data=GOOD).status_code == 302
    assert _on(console) is False
    assert _changes(console)[-1] == {"old": True, "new": False, "actor": "admin"}
    assert _board(console)["alert_on_idle"] is False


def test_a_bad_post_changes_nothing(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    resp = c.post("/settings/", data=dict(GOOD, retention_days="0", safety_alert_on_idle="y"))
    assert resp.status_code == 400
    assert _on(console) is False and _changes(console) == []


def test_hr_and_others_cannot_turn_it_on(console) -> None:  # noqa: ANN001
    for role in ("hr", "supervisor", "auditor"):
        resp = console.client(role).post("/settings/", data=dict(GOOD, safety_alert_on_idle="y"))
        assert resp.status_code == 403, role
    assert console.client().post("/settings/", data=dict(GOOD, safety_alert_on_idle="y"),
                                 ).status_code in (302, 401, 403)
    assert _on(console) is False and _changes(console) == []
    assert _board(console)["alert_on_idle"] is False
