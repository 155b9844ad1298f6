"""An employee's access request (GDPR art. 15, issue 17): everything about one person in one
ZIP, checked row by row against the database (every row of theirs, none of anyone
else's), and that it opens: a readable ZIP, JSON that parses, a report in the requester's
language with the drawings drawn and the photos shown. From the console (HR, admins and
auditors; a supervisor gets 403), built in the background with its progress, downloaded
once, audited; and from the CLI (``relais export-person``). SQLite and PostgreSQL."""

from __future__ import annotations

import json
import stat
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, or_, select

from hr_console.services import legal_holds, person_export
from hr_console.store.models import (
    AuditEntry,
    BadgeSession,
    CharterAcceptance,
    ConsoleUser,
    GroupReceipt,
    Media,
    Message,
    ModerationDecision,
    Notice,
    NoticeReceipt,
    SafetyAlert,
)
from tests.web import person_data
from tests.web.person_data import NOT_REACHED, OTHERS_ONLY, SUBJECT


@pytest.fixture
def history(console):  # noqa: ANN001, ANN201
    """Karim with 1,000 bulk messages (photos and drawings among them) and everything the
    use cases add, a legal hold on him, and the others' traffic beside it."""
    h = person_data.populate(console, 1000)
    with console.session() as s:
        legal_holds.place(s, "person", h.subject, "Prud'hommes, dossier 24/118", actor="hr")
    return h


def last_audit(console) -> int:  # noqa: ANN001
    with console.session() as s:
        return s.scalar(select(func.max(AuditEntry.id))) or 0


def _expected(console, me: int, audit_upto: int) -> dict[str, set]:  # noqa: ANN001
    """What the database holds about the person, section by section, asked directly
    (audit entries up to ``audit_upto``: the export's own entry comes after it)."""
    with console.session() as s:
        ids = lambda stmt: set(s.execute(stmt).scalars())  # noqa: E731
        sent = ids(select(Message.id).where(Message.sender_id == me))
        logins = {f"console_user:{i}" for i in ids(select(ConsoleUser.id)
                                                      .where(ConsoleUser.employee_id == me))}
        audit = set()
        for e in s.execute(select(AuditEntry).where(AuditEntry.id <= audit_upto)).scalars():
            text = json.dumps(e.detail, ensure_ascii=False) if e.detail else ""
            if (e.target == f"employee:{me}" or e.actor == f"employee:{me}"
                    or (e.actor or "").startswith(f"employee:{me}@")
                    or e.target in logins or e.target in {f"message:{i}" for i in sent}
                    or f'"employee:{me}"' in text or f'"person:{me}"' in text
                    or f'"employee": {me},' in text or f'"employee": {me}}}' in text):
                audit.add(e.id)
        return {
            "messages_sent": sent,
            # 1:1 messages that reached them (delivered, read, or withdrawn by HR after
            # delivery), never one held, rejected, refused or withdrawn before delivery.
            "messages_received": ids(select(Message.id).where(
                Message.recipient_id == me, or_(
                    Message.state.in_(("delivered", "read")),
                    (Message.state == "retracted") & Message.delivered_at.is_not(None)))),
            "group_posts_received": ids(select(GroupReceipt.message_id)
                                        .where(GroupReceipt.employee_id == me)),
            "moderation_decisions": ids(select(ModerationDecision.id).join(
                Message, Message.id == ModerationDecision.message_id)
                .where(Message.sender_id == me)),
            "badge_sessions": ids(select(BadgeSession.id).where(BadgeSession.employee_id == me)),
            "notice_receipts": ids(select(NoticeReceipt.id).where(NoticeReceipt.employee_id == me)),
            "safety_alerts": ids(select(SafetyAlert.id).where(SafetyAlert.employee_id == me)),
            "legal_holds": {h.id for h in legal_holds.of_person(s, me)},
            "notices_written": ids(select(Notice.id).where(Notice.author_employee_id == me)),
            "charter_acceptances": ids(select(CharterAcceptance.id)
                                       .where(CharterAcceptance.employee_id == me)),
            "audit_entries": audit,
        }


def _open(path: Path) -> tuple[zipfile.ZipFile, dict[str, Any]]:
    zf = zipfile.ZipFile(path)
    assert zf.testzip() is None  # every member's CRC checks
    data = {name: json.loads(zf.read(name)) for name in zf.namelist() if name.endswith(".json")}
    return zf, data


def check_export(console, path: Path, me: int, *, language: str,  # noqa: ANN001
                 audit_upto: int) -> dict[str, Any]:
    """The ZIP opens and holds exactly the person's rows; returns its manifest."""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    zf, data = _open(path)
    expected = _expected(console, me, audit_upto)
    assert set(expected) == {sec.name for sec in person_export.SECTIONS}
    for name, want in expected.items():
        got = [row["id"] for row in data[f"json/{name}.json"]]
        assert len(got) == len(set(got)), f"{name}: a row twice"
        assert set(got) == want, f"{name}: {len(set(got) - want)} not theirs, " \
                                 f"{len(want - set(got))} missing"
    manifest = data["manifest.json"]
    assert manifest["employee_id"] == me and manifest["name"] == SUBJECT
    assert manifest["counts"] == {k: len(v) for k, v in expected.items()}
    assert data["json/profile.json"]["id"] == me
    assert data["json/profile.json"]["pin_set"] is False
    assert "badge_hash" not in data["json/profile.json"]
    # Every photo of theirs is there once, byte for byte; nobody else's.
    with console.session() as s:
        received = select(GroupReceipt.message_id).where(GroupReceipt.employee_id == me)
        media = dict(s.execute(select(Media.id, Media.data).join(
            Message, Message.media_id == Media.id).where(or_(
                Message.sender_id == me,
                (Message.recipient_id == me) & Message.state.in_(("delivered", "read")),
                Message.id.in_(received)))).tuples().all())
    photos = {n for n in zf.namelist() if n.startswith("photos/")}
    clips = {n for n in zf.namelist() if n.startswith("voice/")}
    assert {int(Path(n).stem) for n in photos | clips} == set(media)
    for n in photos | clips:
        assert zf.read(n) == media[int(Path(n).stem)]
    # Counted apart: the manifest's photos are photos, its voice the clips.
    assert clips and manifest["photos"] == len(photos) and manifest["voice"] == len(clips)
    sent = data["json/messages_sent.json"]
    assert any(m["kind"] == "photo" and m["photo"] in photos for m in sent)
    assert any(m["kind"] == "voice" and m["voice"] in clips for m in sent)
    assert any(m["kind"] == "drawing" and m["drawing"]["strokes"] for m in sent)
    # Nothing of anyone else's, in any file: neither the others' traffic nor the words and
    # HR's reasons of messages that never reached them.
    for name in zf.namelist():
        assert OTHERS_ONLY.encode() not in zf.read(name), f"someone else's data in {name}"
        assert NOT_REACHED.encode() not in zf.read(name), f"a message not received in {name}"
    # What they received carries no moderation about its sender; one withdrawn after it
    # reached them is listed, with its dates, without its content.
    for received in (data["json/messages_received.json"],
                     data["json/group_posts_received.json"]):
        for m in received:
            assert not {"reason", "moderation", "keyword_hits", "decided_at"} & set(m), m
    withdrawn = [m for m in data["json/messages_received.json"] if m["state"] == "retracted"]
    assert withdrawn and all(m["content_withdrawn"] and m["delivered_at"] and m["text"] is None
                             and m["photo"] is None and m["drawing"] is None
                             for m in withdrawn)
    assert all(m["text"] or m["photo"] or m["drawing"]
               for m in data["json/messages_received.json"] if m["state"] != "retracted")
    report = zf.read("report.html").decode()
    assert report.count("<article") == sum(len(expected[k]) for k in (
        "messages_sent", "messages_received", "group_posts_received"))
    assert "<svg" in report and 'src="photos/' in report and "<script" not in report
    title = "Messages envoyés" if language == "fr" else "Messages sent"
    assert title in report and f'lang="{language}"' in report
    note = "son contenu n" if language == "fr" else "its content is not included"
    assert report.count(note) == len(withdrawn)
    return manifest


def test_an_export_of_1000_messages_is_complete_and_opens(console, history, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "karim.zip"
    store = console.app.extensions["relais_store"]
    upto = last_audit(console)
    result = person_export.export(store, history.subject, out, actor="hr", language="fr",
                                  home=console.cfg.home, timezone=console.cfg.timezone)
    manifest = check_export(console, out, history.subject, language="fr", audit_upto=upto)
    # 500 sent; of the 500 bulk ones sent to them, the half held or rejected never reached
    # them and is not theirs to receive.
    assert manifest["counts"]["messages_sent"] > 500
    assert manifest["counts"]["messages_received"] > 250
    assert result.photos == manifest["photos"] > 0 and result.voice == manifest["voice"] > 0
    assert result.size == out.stat().st_size
    with console.session() as s:
        [entry] = s.execute(select(AuditEntry).where(AuditEntry.action == "person.export")
                            ).scalars().all()
    assert entry.actor == "hr" and entry.target == f"employee:{history.subject}"
    assert entry.detail["counts"] == manifest["counts"] and entry.detail["bytes"] == result.size
    assert (entry.detail["photos"], entry.detail["voice"]) == (result.photos, result.voice)
    # A file that exists is never overwritten, and an unknown person writes nothing.
    with pytest.raises(FileExistsError):
        person_export.export(store, history.subject, out, actor="hr", home=console.cfg.home)
    with pytest.raises(person_export.NotFound):
        person_export.export(store, 999_999, tmp_path / "nobody.zip", actor="hr",
                             home=console.cfg.home)
    assert not (tmp_path / "nobody.zip").exists()
    assert not list(tmp_path.glob("*.part"))


def _wait_ready(client, job_url: str) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"{job_url}/status").get_json()
        if status["state"] != "running":
            return status
        time.sleep(0.2)
    raise AssertionError("the export did not finish in 120 s")


def test_the_auditor_exports_from_the_console_and_a_supervisor_cannot(console, history,  # noqa: ANN001
                                                                       tmp_path) -> None:
    me = history.subject
    sup = console.client("supervisor")
    assert sup.post("/employees/exports", data={"employee_id": me}).status_code == 403
    assert sup.get("/holds/").status_code == 403
    auditor = console.client("auditor")
    assert 'id="export-button"' in auditor.get("/holds/").get_data(as_text=True)
    upto = last_audit(console)
    resp = auditor.post("/employees/exports", data={"employee_id": me})
    assert resp.status_code == 302
    job_url = resp.headers["Location"]
    page = auditor.get(job_url)
    assert page.status_code == 200 and 'id="export-progress"' in page.get_data(as_text=True)
    status = _wait_ready(auditor, job_url)
    assert status["state"] == "ready" and status["percent"] == 100, status
    assert status["total"] == status["done"] > 750  # every row of theirs, counted as written
    job_id = job_url.rsplit("/", 1)[1]
    # The file is the auditor's alone: HR and a supervisor do not reach it.
    assert console.client("hr").get(f"{job_url}/download").status_code == 404
    assert sup.get(f"{job_url}/download").status_code == 403
    files = list((console.cfg.home / "exports").iterdir())
    assert [f.name for f in files] == [f"{job_id}.zip"]
    assert stat.S_IMODE((console.cfg.home / "exports").stat().st_mode) == 0o700
    download = auditor.get(status["download"])
    assert download.status_code == 200 and download.mimetype == "application/zip"
    body = download.get_data()
    download.close()
    out = tmp_path / "download.zip"
    out.write_bytes(body)
    out.chmod(0o600)
    manifest = check_export(console, out, me, language="fr", audit_upto=upto)  # in French
    assert (status["photos"], status["voice"]) == (manifest["photos"], manifest["voice"])
    page = auditor.get(job_url).get_data(as_text=True)
    assert f'messages vocaux : <span data-field="voice">{manifest["voice"]}</span>' in page
    assert not (console.cfg.home / "exports" / f"{job_id}.zip").exists()  # gone once downloaded
    assert auditor.get(status["download"]).status_code == 404
    assert "supprimé du serveur" in auditor.get(job_url).get_data(as_text=True)
    with console.session() as s:
        [entry] = s.execute(select(AuditEntry).where(AuditEntry.action == "person.export")
                            ).scalars().all()
    assert entry.actor == "auditor" and entry.detail["via"] == "console"


def test_hr_exports_from_the_employee_page_in_english(console, history, tmp_path) -> None:  # noqa: ANN001
    hr = console.client("hr")
    hr.post("/auth/language", data={"language": "en", "next": "/"})
    page = hr.get(f"/employees/{history.subject}").get_data(as_text=True)
    assert 'id="export-person"' in page and "Legal holds in place: 1" in page
    upto = last_audit(console)
    resp = hr.post("/employees/exports", data={"employee_id": history.subject})
    job_url = resp.headers["Location"]
    status = _wait_ready(hr, job_url)
    download = hr.get(status["download"])
    out = tmp_path / "en.zip"
    out.write_bytes(download.get_data())
    download.close()
    out.chmod(0o600)
    check_export(console, out, history.subject, language="en", audit_upto=upto)


def test_bad_requests_change_nothing(console, history) -> None:  # noqa: ANN001
    hr = console.client("hr")
    for bad in ("", "abc", "999999", "-3", "1e3", "99999999999", "٣"):
        resp = hr.post("/employees/exports", data={"employee_id": bad})
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/holds/")
    assert hr.get("/employees/exports/no-such-job").status_code == 404
    assert hr.get("/employees/exports/no-such-job/status").status_code == 404
    assert hr.get("/employees/exports/no-such-job/download").status_code == 404
    with console.session() as s:
        assert not s.execute(select(AuditEntry).where(AuditEntry.action == "person.export")
                             ).first()
    assert not (console.cfg.home / "exports").exists() or not list(
        (console.cfg.home / "exports").iterdir())


def test_old_exports_are_swept(tmp_path: Path) -> None:
    old, new = tmp_path / "old.zip", tmp_path / "new.zip"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    now = time.time()
    import os

    os.utime(old, (now - person_export.TTL_S - 60, now - person_export.TTL_S - 60))
    assert person_export.sweep(tmp_path, now=now) == 1
    assert not old.exists() and new.exists()


def test_a_part_that_vanishes_while_swept_is_passed_over(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """An export running beside the sweep renames its ``.zip.part`` between the listing and
    the look at its age (seen once under load): the sweep goes on with the rest."""
    class Vanishing(type(tmp_path)):  # there at the listing, gone at the look
        def is_file(self) -> bool:
            return True

    old, gone = tmp_path / "old.zip", Vanishing(tmp_path / "job.zip.part")
    old.write_bytes(b"x")
    now = time.time()
    import os

    os.utime(old, (now - person_export.TTL_S - 60, now - person_export.TTL_S - 60))
    monkeypatch.setattr(type(tmp_path), "iterdir", lambda self: iter([gone, old]))
    assert person_export.sweep(tmp_path, now=now) == 1
    assert not old.exists()


def test_the_cli_exports_a_person(console, history, tmp_path) -> None:  # noqa: ANN001
    from hr_console.cli import main

    out = tmp_path / "cli.zip"
    upto = last_audit(console)
    args = ["--home", str(console.cfg.home), "--db-url", console.cfg.database_url]
    result = CliRunner().invoke(main, [*args, "export-person", str(history.subject), str(out),
                                       "--language", "en"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and "messages sent" in result.output
    manifest = check_export(console, out, history.subject, language="en", audit_upto=upto)
    assert f"{manifest['photos']} photos, {manifest['voice']} voice messages)" in result.output
    with console.session() as s:
        [entry] = s.execute(select(AuditEntry).where(AuditEntry.action == "person.export")
                            ).scalars().all()
    assert entry.actor == "cli" and entry.detail["via"] == "cli"
    again = CliRunner().invoke(main, [*args, "export-person", str(history.subject), str(out)])
    assert again.exit_code != 0 and "already exists" in again.output
    nobody = CliRunner().invoke(main, [*args, "export-person", "999999",
                                       str(tmp_path / "n.zip")])
    assert nobody.exit_code != 0 and "999999" in nobody.output
    assert not (tmp_path / "n.zip").exists()


def test_the_export_reads_a_snapshot_that_never_holds_up_a_writer(console) -> None:  # noqa: ANN001
    """The relay keeps writing while a long export reads (on SQLite the export's reads take
    no write lock), and the export sees one state of the database from start to end."""
    from hr_console.services import audit
    from hr_console.store.db import read_snapshot

    store = console.app.extensions["relais_store"]
    with read_snapshot(store) as snap:
        before = snap.scalar(select(func.count()).select_from(AuditEntry))
        started = time.monotonic()
        with console.session() as s:  # BEGIN IMMEDIATE on SQLite, as a relay batch
            audit.record(s, "relay", "test.write_during_export")
        assert time.monotonic() - started < 2
        assert snap.scalar(select(func.count()).select_from(AuditEntry)) == before
        with pytest.raises(Exception, match="(?i)read.only|readonly"):
            snap.execute(AuditEntry.__table__.delete())
    with console.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before + 1


def test_running_exports_and_free_disk_space_are_capped(console, monkeypatch) -> None:  # noqa: ANN001
    """One running export per console user, two for the whole console, none when the home's
    disk (the database's) is short of space: each refusal says why in the user's language
    and starts nothing. The exports are held running by a gate before the real export."""
    import shutil
    import threading

    from hr_console.web.employees.exports import exports

    gate, real = threading.Event(), person_export.export

    def gated(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(person_export, "export", gated)
    me = next(iter(console.demo.employees.values()))
    folder = console.cfg.home / "exports"
    auditor, hr, admin = (console.client(r) for r in ("auditor", "hr", "admin"))
    for c in (hr, admin):
        c.post("/auth/language", data={"language": "en", "next": "/"})

    def start(client) -> str:  # noqa: ANN001
        resp = client.post("/employees/exports", data={"employee_id": me})
        assert resp.status_code == 302
        return resp.headers["Location"]

    def refused(client, words: str) -> None:  # noqa: ANN001
        jobs = set(folder.iterdir()) if folder.exists() else set()
        assert start(client).endswith("/holds/")
        assert words in client.get("/holds/").get_data(as_text=True)
        assert (set(folder.iterdir()) if folder.exists() else set()) == jobs

    try:
        first = start(auditor)
        assert "/employees/exports/" in first
        refused(auditor, "Votre export précédent est encore en préparation")  # French reader
        second = start(hr)
        assert "/employees/exports/" in second
        refused(admin, "Two exports are already being built")
        assert len(exports(console.app)._jobs) == 2
    finally:
        gate.set()
    assert _wait_ready(auditor, first)["state"] == "ready"
    assert _wait_ready(hr, second)["state"] == "ready"
    third = start(admin)  # room again once they are done
    assert _wait_ready(admin, third)["state"] == "ready"
    registry = exports(console.app)
    registry.min_free_bytes = shutil.disk_usage(folder).total + 1  # no disk has that free
    refused(hr, "short of free space")
    assert len(registry._jobs) == 3
    with console.session() as s:
        entries = s.execute(select(AuditEntry).where(AuditEntry.action == "person.export")
                            ).scalars().all()
    assert len(entries) == 3  # the refused ones wrote nothing
