"""Legal holds (issue 17): HR or an auditor keeps a person's messages, or one conversation,
past the retention for a dispute. The purge removes everyone else's older messages and
keeps the held ones, and says so in its counts and its audit entry; placing and releasing
are audited; after the release the next purge takes them. Bad input changes nothing; a
supervisor is refused. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import func, or_, select, update

from hr_console.services import legal_holds, retention
from hr_console.services.errors import Invalid, NotFound
from hr_console.store.models import AuditEntry, GroupReceipt, LegalHold, Message, utcnow
from tests.web import person_data

OLD_DAYS = 400


def _age_everything(console, days: int = OLD_DAYS) -> None:  # noqa: ANN001
    with console.session() as s:
        s.execute(update(Message).values(created_at=utcnow() - dt.timedelta(days=days)))


def _ids(console, *where) -> set[int]:  # noqa: ANN001, ANN002
    with console.session() as s:
        return set(s.execute(select(Message.id).where(*where)).scalars())


def _audit(console, action: str) -> list[AuditEntry]:  # noqa: ANN001
    with console.session() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)).scalars())


def test_held_messages_survive_a_purge_that_removes_everyone_elses(console) -> None:  # noqa: ANN001
    h = person_data.populate(console, 300)
    me = h.subject
    _julie, amina, thomas, _sophie = h.others
    _age_everything(console)
    with console.session() as s:
        person = legal_holds.place(s, "person", me, "Prud'hommes 24/118", actor="hr")
        talk = legal_holds.place(s, "conversation", thomas, "Enquête harcèlement",
                                 other_id=amina, actor="auditor")
        person_id, talk_id = person.id, talk.id
    assert talk.employee_id == min(amina, thomas)  # stored in one order, either way asked
    mine = _ids(console, or_(Message.sender_id == me, Message.recipient_id == me))
    with console.session() as s:
        mine |= set(s.execute(select(GroupReceipt.message_id)
                              .where(GroupReceipt.employee_id == me)).scalars())
    between = _ids(console, or_((Message.sender_id == amina) & (Message.recipient_id == thomas),
                                (Message.sender_id == thomas) & (Message.recipient_id == amina)))
    everyone = _ids(console)
    others = everyone - mine - between
    assert len(mine) > 300 and between and others  # there is something to remove

    store = console.app.extensions["relais_store"]
    counts = retention.purge(store.session, actor="test", days=30, batch=100)
    assert _ids(console) == mine | between, "held kept, everything else older removed"
    assert counts.messages == len(others) and counts.held == len(mine | between)
    entry = _audit(console, "retention.purge")[-1]
    assert entry.detail["held"] == len(mine | between)
    assert entry.detail["messages"] == len(others)
    with console.session() as s:  # the dry run says the same
        assert retention.due(s, retention.cutoff(s, days=30)) == (0, len(mine | between))

    # Released: audited with its reason, and the next purge takes what it kept.
    with console.session() as s:
        legal_holds.release(s, person_id, "Affaire close", actor="auditor")
    [released] = _audit(console, "legal_hold.release")
    assert released.actor == "auditor" and released.target == f"legal_hold:{person_id}"
    assert released.detail["reason"] == "Affaire close"
    assert released.detail["people"] == [f"employee:{me}"]
    counts = retention.purge(store.session, actor="test", days=30)
    assert _ids(console) == between and counts.held == len(between)
    with console.session() as s:
        legal_holds.release(s, talk_id, "Enquête close", actor="hr")
        with pytest.raises(NotFound):  # released twice: refused, nothing written
            legal_holds.release(s, talk_id, "encore", actor="hr")
    assert retention.purge(store.session, actor="test", days=30).held == 0
    assert _ids(console) == set()
    assert len(_audit(console, "legal_hold.release")) == 2
    placed = _audit(console, "legal_hold.place")
    assert [e.actor for e in placed] == ["hr", "auditor"]
    assert placed[1].detail["people"] == [f"employee:{min(amina, thomas)}",
                                          f"employee:{max(amina, thomas)}"]


def test_the_purge_command_says_what_it_kept(console) -> None:  # noqa: ANN001
    from hr_console.cli import main

    h = person_data.populate(console, 20)
    _age_everything(console, 40)
    with console.session() as s:
        legal_holds.place(s, "person", h.subject, "Litige", actor="hr")
    held = len(_ids(console, or_(Message.sender_id == h.subject,
                                 Message.recipient_id == h.subject)))
    args = ["--home", str(console.cfg.home), "--db-url", console.cfg.database_url, "purge",
            "--days", "30"]
    dry = CliRunner().invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0 and "under a legal hold" in dry.output
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0 and "under a legal hold" in done.output, done.output
    assert len(_ids(console)) >= held


@pytest.mark.parametrize(("kind", "employee", "other", "reason", "code"), [
    ("person", None, None, "Litige", "unknown_person"),
    ("person", 999_999, None, "Litige", "unknown_person"),
    ("person", 2**40, None, "Litige", "unknown_person"),
    ("person", -1, None, "Litige", "unknown_person"),
    ("everything", "me", None, "Litige", "bad_kind"),
    ("person", "me", None, "", "empty"),
    ("person", "me", None, "   ", "empty"),
    ("person", "me", None, "x" * 301, "too_long"),
    ("person", "me", None, "Litige\u202e", "bad_text"),
    ("person", "me", None, "Litige\x07", "bad_text"),
    ("conversation", "me", None, "Litige", "unknown_person"),
    ("conversation", "me", "me", "Litige", "same_person"),
])
def test_bad_holds_are_refused_and_change_nothing(console, kind, employee, other, reason,  # noqa: ANN001
                                                  code) -> None:
    me = console.demo.employees[person_data.SUBJECT]
    employee = me if employee == "me" else employee
    other = me if other == "me" else other
    with console.session() as s, pytest.raises(Invalid) as err:
        legal_holds.place(s, kind, employee, reason, other_id=other, actor="hr")
    assert err.value.code == code
    with console.session() as s:
        assert s.scalar(select(func.count()).select_from(LegalHold)) == 0
    assert _audit(console, "legal_hold.place") == []


def test_the_same_hold_twice_is_refused(console) -> None:  # noqa: ANN001
    me = console.demo.employees[person_data.SUBJECT]
    julie = console.demo.employees["Julie Moreau"]
    with console.session() as s:
        legal_holds.place(s, "conversation", me, "Litige", other_id=julie, actor="hr")
    with console.session() as s, pytest.raises(Invalid) as err:
        legal_holds.place(s, "conversation", julie, "Encore", other_id=me, actor="hr")
    assert err.value.code == "hold_exists"
    assert len(_audit(console, "legal_hold.place")) == 1


def test_the_console_places_lists_and_releases_holds(console) -> None:  # noqa: ANN001
    me = console.demo.employees[person_data.SUBJECT]
    hr, auditor = console.client("hr"), console.client("auditor")
    page = hr.get(f"/holds/?employee={me}").get_data(as_text=True)
    assert "Conservations pour litige" in page and f'value="{me}"' in page
    assert 'id="no-holds"' in page
    resp = hr.post("/holds/", data={"kind": "person", "employee": me, "reason": "Litige 12"})
    assert resp.status_code == 302
    listing = auditor.get("/holds/").get_data(as_text=True)
    assert "Karim Benali" in listing and "Litige 12" in listing and "par hr" in listing
    with console.session() as s:
        hold_id = s.execute(select(LegalHold.id)).scalar_one()
    # Refused forms say why and write nothing.
    for data, words in (({"kind": "person", "employee": me, "reason": ""}, "motif"),
                        ({"kind": "person", "employee": "abc", "reason": "x"}, "entiers"),
                        ({"kind": "person", "employee": "99999999999", "reason": "x"},
                         "Aucun·e"),
                        ({"kind": "person", "employee": me, "reason": "Litige 12"},
                         "déjà en place")):
        bad = hr.post("/holds/", data=data)
        assert bad.status_code == 400 and words in bad.get_data(as_text=True), data
    assert auditor.post(f"/holds/{hold_id}/release", data={"reason": ""}).status_code == 400
    assert auditor.post("/holds/999999/release", data={"reason": "x"}).status_code == 404
    sup = console.client("supervisor")
    assert sup.post(f"/holds/{hold_id}/release", data={"reason": "x"}).status_code == 403
    assert sup.post("/holds/", data={"kind": "person", "employee": me,
                                     "reason": "x"}).status_code == 403
    with console.session() as s:
        assert s.get(LegalHold, hold_id).released_at is None
    resp = auditor.post(f"/holds/{hold_id}/release", data={"reason": "Affaire close"})
    assert resp.status_code == 302
    with console.session() as s:
        row = s.get(LegalHold, hold_id)
        assert row.released_by == "auditor" and row.release_reason == "Affaire close"
    assert 'id="no-holds"' in auditor.get("/holds/").get_data(as_text=True)
    everything = auditor.get("/holds/?show=all").get_data(as_text=True)
    assert "Affaire close" in everything and "levée par auditor" in everything
    audit_page = auditor.get("/audit/").get_data(as_text=True)
    assert "Conservation pour litige levée" in audit_page


def test_a_safety_alerts_photo_goes_with_the_retention_the_alert_stays(console) -> None:  # noqa: ANN001
    """A photo of an injured colleague is kept as long as messages, no longer: the purge
    takes the photos of alerts raised before the cutoff (counted and audited) and leaves
    the alert itself, and a recent alert's photo."""
    import io

    from PIL import Image

    from hr_console.services import safety
    from hr_console.store.models import Media, SafetyAlert, Terminal

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "JPEG")
    me = console.demo.employees["Karim Benali"]
    with console.session() as s:
        k1 = s.execute(select(Terminal).where(Terminal.name == "kiosk-1")).scalar_one()
        old = safety.raise_alert(s, k1, "a" * 36, "injury", "", me, image=buf.getvalue())
        new = safety.raise_alert(s, k1, "b" * 36, "fall", "", me, image=buf.getvalue())
        old.alert.raised_at = utcnow() - dt.timedelta(days=40)
        old_id, new_id, new_media = old.alert.id, new.alert.id, new.alert.media_id
    store = console.app.extensions["relais_store"]
    counts = retention.purge(store.session, actor="test", days=30)
    assert counts.alert_photos == 1
    assert _audit(console, "retention.purge")[-1].detail["alert_photos"] == 1
    with console.session() as s:
        assert s.get(SafetyAlert, old_id).media_id is None  # the alert stays, photo gone
        assert s.get(SafetyAlert, new_id).media_id == new_media
        assert s.scalar(select(func.count()).select_from(Media)) == 1
    assert retention.purge(store.session, actor="test", days=30).alert_photos == 0


def test_badge_sessions_go_with_the_retention_except_those_of_people_held(console) -> None:  # noqa: ANN001
    """Who badged in where and when is kept as long as the messages: the purge erases the
    sessions that ended before the cutoff (counted, audited, said by the command), keeps
    the open ones, the recent ones and those of anyone under a hold, person or conversation."""
    import uuid

    from hr_console.store.models import BadgeSession, Employee, Terminal

    old, recent = utcnow() - dt.timedelta(days=OLD_DAYS), utcnow() - dt.timedelta(days=1)
    with console.session() as s:
        people = list(s.execute(select(Employee.id).order_by(Employee.id).limit(4)).scalars())
        terminal = s.execute(select(Terminal.id).limit(1)).scalar_one()
        free, held, talker, other = people
        rows = {}
        for who in people:
            for kind, ended in (("old", old), ("recent", recent), ("open", None)):
                rows[(who, kind)] = str(uuid.uuid4())
                s.add(BadgeSession(id=rows[(who, kind)], employee_id=who, terminal_id=terminal,
                                   started_at=old - dt.timedelta(hours=1) if ended == old
                                   else recent, ended_at=ended,
                                   end_reason="logout" if ended else None))
        s.flush()
        legal_holds.place(s, "person", held, "Litige", actor="hr")
        legal_holds.place(s, "conversation", min(talker, other), "Enquête",
                          other_id=max(talker, other), actor="hr")
    from hr_console.cli import main

    result = CliRunner().invoke(main, ["--home", str(console.cfg.home), "--db-url",
                                       console.cfg.database_url, "purge", "--days", "30"],
                                env={"LC_ALL": "C", "LANG": "C", "LANGUAGE": ""},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "; 1 badge sessions" in result.output, result.output
    with console.session() as s:
        left = set(s.execute(select(BadgeSession.id)).scalars())
    assert rows[(free, "old")] not in left
    assert {rows[(who, kind)] for who in people for kind in ("recent", "open")} <= left
    assert {rows[(who, "old")] for who in (held, talker, other)} <= left
    [entry] = _audit(console, retention.PURGE_ACTION)[-1:]
    assert entry.detail["sessions"] == 1


def test_a_short_retention_keeps_the_sessions_a_late_outbox_may_still_name(console) -> None:  # noqa: ANN001
    """With a retention of a day, a session that ended three days ago stays: a kiosk back from
    a weekend offline still delivers the message or the safety alert typed in it."""
    import uuid

    from hr_console.services import sessions
    from hr_console.store.models import BadgeSession, Employee, Terminal

    ended = {days: str(uuid.uuid4()) for days in (3, sessions.LATE_OUTBOX_DAYS + 1)}
    with console.session() as s:
        who = s.execute(select(Employee.id).limit(1)).scalar_one()
        terminal = s.execute(select(Terminal.id).limit(1)).scalar_one()
        for days, sid in ended.items():
            at = utcnow() - dt.timedelta(days=days)
            s.add(BadgeSession(id=sid, employee_id=who, terminal_id=terminal,
                               started_at=at - dt.timedelta(hours=1), ended_at=at,
                               end_reason="logout"))
    assert retention.purge(console.session, days=1).sessions == 1
    with console.session() as s:
        assert s.get(BadgeSession, ended[3]) is not None
        assert s.get(BadgeSession, ended[sessions.LATE_OUTBOX_DAYS + 1]) is None
