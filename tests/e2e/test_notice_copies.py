"""A notice's copies: what they store, and when they are no longer sent.

A copy names its notice instead of carrying it (the relay fills the notice in as it sends
the copy): a notice to everyone at 50,000 employees wrote its body 50,000 times.

A notice that ends while someone is away is not delivered to them late. Its copy waited
in the downlinks for their next badge-in; they then got every notice of their absence
(back from a month's leave: a month of them, urgent ones ringing) that the sync itself no
longer lists. Now the copy is dropped when they badge in, and the copies of those who
never do go with the retention purge. Runs on SQLite and, when RELAIS_TEST_PG_URL is set,
on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

from sqlalchemy import func, select, update

from hr_console.services import notices, retention
from hr_console.store.models import Downlink, Employee, Notice, NoticeReceipt, Team, utcnow
from kiosk_app.link import events as ev
from tests.system_fixture import expect, expect_none


def _notice(system, title: str, *, until: dt.timedelta | None = None) -> str:  # noqa: ANN001
    with system.store.session() as s:
        team = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        return notices.create(s, title=title, body="...", target_kind="team", target_ref=team,
                              urgent=True, actor="hr",
                              valid_until=utcnow() + until if until else None).uid


def _end(system, uid: str) -> None:  # noqa: ANN001
    """Its time passed (a month ago) while nobody of the team was badged in."""
    with system.store.session() as s:
        s.execute(update(Notice).where(Notice.uid == uid)
                  .values(valid_until=utcnow() - dt.timedelta(days=30)))


def _copies(system, uid: str, name: str | None = None) -> int:  # noqa: ANN001
    with system.store.session() as s:
        q = select(func.count()).select_from(Downlink).where(Downlink.kind == "notice",
                                                             Downlink.ref == uid)
        if name is not None:
            q = q.join(Employee, Employee.id == Downlink.employee_id).where(Employee.name == name)
        return s.scalar(q) or 0


def test_a_notice_that_ended_while_someone_was_away_is_not_delivered_at_their_badge_in(
        system) -> None:  # noqa: ANN001
    ended = _notice(system, "Cantine fermée mardi", until=dt.timedelta(hours=1))
    current = _notice(system, "Nouvelles consignes EPI")  # the positive control
    _end(system, ended)
    assert _copies(system, ended, "Karim Benali") == 1  # owed to him until he badges in
    link = system.link("kiosk-2")
    system.badge_in(link, "Karim Benali")
    arrived: list[str] = []  # every notice delivered, in order, until the current one

    def seen(e: ev.NoticeArrived) -> bool:
        arrived.append(e.notice.get("notice"))
        return arrived[-1] == current

    expect(link, ev.NoticeArrived, seen, timeout=10)
    expect_none(link, ev.NoticeArrived, lambda e: e.notice.get("notice") == ended, 2.0)
    assert ended not in arrived
    assert _copies(system, ended, "Karim Benali") == 0  # dropped, not kept for later
    assert _copies(system, ended) >= 1  # the rest of the team's wait for the purge


def test_the_retention_purge_drops_the_copies_of_ended_notices_nobody_will_collect(
        system) -> None:  # noqa: ANN001
    ended = _notice(system, "Réunion annulée", until=dt.timedelta(hours=1))
    current = _notice(system, "Horaires d'été")
    _end(system, ended)
    before = _copies(system, ended)
    assert before >= 2 and _copies(system, current) == before  # the team, nobody badged in
    counts = retention.purge(system.store.session, batch=1)  # a row per transaction
    assert _copies(system, ended) == 0
    assert _copies(system, current) == before  # a current notice's copies stay owed
    assert counts.downlinks >= before


def test_a_copy_names_its_notice_and_the_kiosk_gets_it_whole(system) -> None:  # noqa: ANN001
    body = "Réunion générale à la cantine, présence obligatoire. " * 70  # ~3,800 characters
    with system.store.session() as s:
        team = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        uid = notices.create(s, title="Réunion", body=body, target_kind="team",
                             target_ref=team, ack_required=True, actor="hr").uid
    with system.store.session() as s:
        stored = s.execute(select(Downlink.payload).where(Downlink.ref == uid)).scalars().all()
    assert len(stored) >= 2
    assert all("body" not in p and len(json.dumps(p)) < 300 for p in stored)  # not 3,800 each
    link = system.link("kiosk-2")
    system.badge_in(link, "Karim Benali")
    got = expect(link, ev.NoticeArrived, lambda e: e.notice.get("notice") == uid, timeout=10)
    assert got.notice["body"] == body and got.notice["title"] == "Réunion"
    assert got.notice["ack_required"] is True and "$notice" not in got.notice


def test_the_purge_drops_the_notice_copies_owed_to_people_who_have_left(system) -> None:  # noqa: ANN001
    """A deactivated employee can no longer badge in: the copies of every notice still owed
    to them would pile up for ever (a tenth of 50,000 people leave in a year)."""
    uid = _notice(system, "Horaires d'été")
    with system.store.session() as s:
        s.execute(update(Employee).where(Employee.name == "Julie Moreau").values(active=False))
    assert _copies(system, uid, "Julie Moreau") == 1
    stay = _copies(system, uid) - 1
    counts = retention.purge(system.store.session, batch=1)
    assert _copies(system, uid, "Julie Moreau") == 0
    assert _copies(system, uid) == stay >= 1  # the colleagues still employed keep theirs
    assert counts.downlinks >= 1


def test_a_scheduled_notice_to_everyone_goes_out_from_the_relay_with_each_copys_own_id(
        system) -> None:  # noqa: ANN001
    """The receipts and copies of a notice to everyone are written by the database itself
    (one ``INSERT … SELECT`` each, no row built in Python): the copies' ids are made there
    and their stored payload carries none; the relay sends each copy with its row's id, so
    the terminal's receipt names that row and deletes it. Published by the relay's own
    round once its time has come (``publish_due``, outside the worker's batches)."""
    link = system.link("kiosk-2")
    system.badge_in(link, "Karim Benali")
    with system.store.session() as s:
        uid = notices.create(s, title="Inventaire samedi", body="Toute la journée.",
                             target_kind="everyone", actor="hr",
                             valid_from=utcnow() + dt.timedelta(hours=1)).uid
    assert _copies(system, uid) == 0  # scheduled: nothing queued yet
    with system.store.session() as s:  # its time comes
        s.execute(update(Notice).where(Notice.uid == uid)
                  .values(valid_from=utcnow() - dt.timedelta(seconds=1)))
    got = expect(link, ev.NoticeArrived, lambda e: e.notice.get("notice") == uid, timeout=20)
    assert got.notice["title"] == "Inventaire samedi" and "$notice" not in got.notice
    deadline = time.monotonic() + 10  # the terminal's receipt deletes its copy
    while _copies(system, uid, "Karim Benali") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _copies(system, uid, "Karim Benali") == 0
    with system.store.session() as s:
        active = s.scalar(select(func.count()).select_from(Employee)
                          .where(Employee.active.is_(True)))
        rows = s.execute(select(Downlink.id, Downlink.payload, Downlink.employee_id)
                         .where(Downlink.kind == "notice", Downlink.ref == uid)).all()
        receipts = s.scalar(select(func.count()).select_from(NoticeReceipt)
                            .join(Notice, Notice.id == NoticeReceipt.notice_id)
                            .where(Notice.uid == uid))
    assert receipts == active and len(rows) == active - 1  # everyone; Karim's confirmed
    ids = [r.id for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4
               and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids), ids
    assert all("id" not in r.payload and r.payload["$notice"] == uid for r in rows)
