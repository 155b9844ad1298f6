"""The "voice messages always held" setting of issue 19: on by default, shown in French and
English; an admin turns it off (audited), HR cannot. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import select

from hr_console.services import settings
from hr_console.store.models import AuditEntry

GOOD = {"retention_days": "365", "keywords": "grève", "default_moderation": "pre"}


def _box(page: str) -> str:
    found = re.search(r'<input[^>]*name="voice_always_held"[^>]*>', page)
    assert found is not None
    return found.group(0)


def test_on_by_default_and_shown_in_french_and_english(console) -> None:  # noqa: ANN001
    with console.session() as s:
        assert settings.get(s, "voice_always_held") is True
    c = console.client("admin")
    page = c.get("/settings/").get_data(as_text=True)
    assert "Les messages vocaux attendent toujours une approbation" in page
    assert "checked" in _box(page)
    c.post("/auth/language", data={"language": "en"})
    page = c.get("/settings/").get_data(as_text=True)
    assert "Voice messages are always held for approval" in page
    c.post("/auth/language", data={"language": "fr"})


def test_an_admin_turns_it_off_audited_and_hr_cannot(console) -> None:  # noqa: ANN001
    hr = console.client("hr")
    assert hr.post("/settings/", data=GOOD).status_code == 403
    with console.session() as s:
        assert settings.get(s, "voice_always_held") is True
    assert console.client("admin").post("/settings/", data=GOOD).status_code == 302  # unticked
    with console.session() as s:
        assert settings.get(s, "voice_always_held") is False
        change = s.execute(select(AuditEntry.detail).where(
            AuditEntry.target == "setting:voice_always_held")).scalar_one()
    assert change == {"old": True, "new": False}
