"""The read-aloud setting of issue 19 on the settings page: off by default; an admin turns
it on (audited with old and new values) and the next badge-in's sync tells the terminals;
HR, supervisors and auditors cannot. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import select

from hr_console.relay.handlers import sync_reply
from hr_console.services import settings
from hr_console.store.models import AuditEntry, Employee

GOOD = {"retention_days": "365", "keywords": "grève", "default_moderation": "pre"}


def _changes(console) -> dict[str, dict]:  # noqa: ANN001
    with console.session() as s:
        return {e.target: e.detail for e in s.execute(select(AuditEntry).where(
            AuditEntry.action == "settings.change").order_by(AuditEntry.id)).scalars()}


def _box(page: str) -> str:
    """The setting's checkbox, as the page has it."""
    found = re.search(r'<input[^>]*name="read_urgent_aloud"[^>]*>', page)
    assert found is not None
    return found.group(0)


def _synced(console) -> object:  # noqa: ANN001
    """What a badge-in's sync tells the terminal, for anyone."""
    with console.session() as s:
        someone = s.execute(select(Employee.id).limit(1)).scalar_one()
        return sync_reply(s, "kiosk-1", "sid", someone, "ref").payload["me"]["read_urgent_aloud"]


def test_off_by_default_and_shown_in_french_and_english(console) -> None:  # noqa: ANN001
    with console.session() as s:
        assert settings.get(s, "read_urgent_aloud") is False
    assert _synced(console) is False
    c = console.client("admin")
    page = c.get("/settings/").get_data(as_text=True)
    assert "Lire à voix haute les avis urgents dès qu’ils s’ouvrent" in page
    assert "checked" not in _box(page)
    c.post("/auth/language", data={"language": "en"})
    page = c.get("/settings/").get_data(as_text=True)
    assert "Read urgent notices aloud when they open" in page
    c.post("/auth/language", data={"language": "fr"})


def test_an_admin_turns_it_on_audited_and_the_sync_says_so(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    assert c.post("/settings/", data=dict(GOOD, read_urgent_aloud="y")).status_code == 302
    with console.session() as s:
        assert settings.get(s, "read_urgent_aloud") is True
    assert _changes(console)["setting:read_urgent_aloud"] == {"old": False, "new": True}
    assert _synced(console) is True
    page = c.get("/settings/").get_data(as_text=True)
    assert "checked" in _box(page)
    # Unticked (a post without the box): off again.
    assert c.post("/settings/", data=GOOD).status_code == 302
    with console.session() as s:
        assert settings.get(s, "read_urgent_aloud") is False
    assert _synced(console) is False


def test_others_cannot_change_it(console) -> None:  # noqa: ANN001
    for role in ("hr", "supervisor", "auditor"):
        resp = console.client(role).post("/settings/", data=dict(GOOD, read_urgent_aloud="y"))
        assert resp.status_code == 403, role
    with console.session() as s:
        assert settings.get(s, "read_urgent_aloud") is False
    assert "setting:read_urgent_aloud" not in _changes(console)
