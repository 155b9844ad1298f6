"""Voice messages in HR's records (issue 19): the access-request export carries each clip
and a player for it, the retention purge erases clips with their messages. Runs on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

from sqlalchemy import func, select, update

from hr_console.services import messaging, person_export, retention
from hr_console.store.models import Media, Message, utcnow
from tests.web import console_data as cd


def test_the_export_carries_the_clip_and_the_purge_erases_it(console, tmp_path: Path) -> None:  # noqa: ANN001
    msg = cd.send(console, "Karim Benali", "Sophie Martin", kind="voice")
    with console.session() as s:
        messaging.approve(s, msg.id, actor="hr")
        stored = s.get(Media, msg.media_id).data
    store = console.app.extensions["relais_store"]
    out = tmp_path / "karim.zip"
    person_export.export(store, console.demo.employees["Karim Benali"], out, actor="hr",
                         language="fr", home=console.cfg.home, timezone=console.cfg.timezone)
    with zipfile.ZipFile(out) as zf:
        sent = json.loads(zf.read("json/messages_sent.json"))
        [row] = [m for m in sent if m["client_id"] == msg.client_id]
        assert row["kind"] == "voice" and row["photo"] is None
        assert row["voice"] == f"voice/{msg.media_id}.ogg" and row["duration_ms"] == 1500
        assert zf.read(row["voice"]) == stored
        report = zf.read("report.html").decode()
        assert f'<audio controls preload="none" src="voice/{msg.media_id}.ogg"' in report
        assert "Message vocal" in report

    with console.session() as s:
        s.execute(update(Message).values(created_at=utcnow() - dt.timedelta(days=400)))
    counts = retention.purge(store.session, actor="test", days=30)
    assert counts.messages >= 1
    with console.session() as s:
        assert s.get(Message, msg.id) is None
        assert s.scalar(select(func.count()).select_from(Media)
                        .where(Media.id == msg.media_id)) == 0
