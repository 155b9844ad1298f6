"""services.reminders on a real database (SQLite, and PostgreSQL when RELAIS_TEST_PG_URL is
set), issue 16: the due query gives exactly the receipts domain.reminders says are due (on
random receipts), the relay's round sends and counts each reminder once and replaces an
older undelivered copy, badge-in counts what its sync presents again, HR's button counts
too, and everything stops at acknowledgement, withdrawal and expiry. The interval is
validated with nothing stored when it is refused."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from hr_console.domain import reminders as rules
from hr_console.services import notice_view, notices, reminders, sessions
from hr_console.services.errors import Invalid
from hr_console.store.db import Store
from hr_console.store.models import (
    AuditEntry,
    BadgeSession,
    Downlink,
    Notice,
    NoticeReceipt,
    Team,
    Terminal,
    utcnow,
)
from tests.system_fixture import prepared_home

MIN = dt.timedelta(minutes=1)


@dataclass
class Home:
    store: Store
    pepper: str
    people: dict[str, int]
    badges: dict[str, str]

    def __getitem__(self, name: str) -> int:
        return self.people[name]


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Iterator[Home]:
    cfg, demo = prepared_home(tmp_path, db_url)
    assert demo is not None
    store = Store(cfg.database_url)
    try:
        yield Home(store, cfg.badge_pepper, dict(demo.employees), dict(demo.badges))
    finally:
        store.dispose()


def _team(home: Home, name: str = "Atelier") -> int:
    with home.store.session() as s:
        return s.execute(select(Team.id).where(Team.name == name)).scalar_one()


def _notice(home: Home, *, every: int | None = 5, ack: bool = True, urgent: bool = False,
            team: str = "Atelier") -> Notice:
    with home.store.session() as s:
        return notices.create(s, title="Consignes EPI", body="Lunettes obligatoires.",
                              target_kind="team", target_ref=_team(home, team), urgent=urgent,
                              ack_required=ack, remind_every_min=every, actor="hr")


def _reached(home: Home, notice: Notice, names: list[str], at: dt.datetime) -> None:
    """Their terminals confirmed the first copy at ``at``."""
    with home.store.session() as s:
        ids = [home[n] for n in names]
        s.execute(update(NoticeReceipt).where(NoticeReceipt.notice_id == notice.id,
                                              NoticeReceipt.employee_id.in_(ids))
                  .values(delivered_at=at))
        s.execute(delete(Downlink).where(Downlink.ref == notice.uid,
                                         Downlink.employee_id.in_(ids)))


def _badged_in(home: Home, *names: str) -> None:
    """Open sessions, as a badge-in leaves them (without counting a badge-in reminder)."""
    with home.store.session() as s:
        terminal = s.execute(select(Terminal.id).order_by(Terminal.id)).scalars().first()
        for name in names:
            s.add(BadgeSession(id=str(uuid.uuid4()), employee_id=home[name], terminal_id=terminal,
                               started_at=utcnow(), last_active_at=utcnow()))


def _receipt(home: Home, notice: Notice, name: str) -> NoticeReceipt:
    with home.store.session() as s:
        return s.execute(select(NoticeReceipt).where(
            NoticeReceipt.notice_id == notice.id,
            NoticeReceipt.employee_id == home[name])).scalar_one()


def _copies(home: Home, notice: Notice) -> list[Downlink]:
    with home.store.session() as s:
        return list(s.execute(select(Downlink).where(Downlink.ref == notice.uid)
                              .order_by(Downlink.employee_id)).scalars())


def _due(home: Home, at: dt.datetime) -> set[tuple[int, int]]:
    with home.store.session() as s:
        return {(d.notice_id, d.employee_id) for d in reminders.due(s, at)}


# --- the due query is the domain's rule ---------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_due_query_gives_exactly_what_the_domain_says(home: Home, seed: int) -> None:
    """Random notices (interval or none, acknowledgement or not, published or not, ended or
    not) and random receipts (reached or not, reminded when, acknowledged or not) of people
    badged in or not: ``reminders.due`` returns exactly the pairs ``domain.reminders.due``
    accepts."""
    rng = random.Random(seed)
    now = utcnow()
    people = sorted(home.people.values())
    ago = lambda: now - dt.timedelta(minutes=rng.choice([0, 3, 4.99, 5, 6, 14, 16, 61, 600]))  # noqa: E731
    with home.store.session() as s:
        terminal = s.execute(select(Terminal.id)).scalars().first()
        badged = set(rng.sample(people, rng.randint(0, len(people))))
        for employee in badged:
            s.add(BadgeSession(id=str(uuid.uuid4()), employee_id=employee, terminal_id=terminal,
                               started_at=now, last_active_at=now))
        for employee in set(people) - badged:  # badged in once, left since
            s.add(BadgeSession(id=str(uuid.uuid4()), employee_id=employee, terminal_id=terminal,
                               started_at=now - 90 * MIN, ended_at=now - 80 * MIN))
        for _ in range(12):
            # The kind decides how receipts are reached (services.reminders.WIDE), not who
            # has one: those are drawn at random below.
            n = Notice(uid=str(uuid.uuid4()), title="n", body="",
                       target_kind=rng.choice(["everyone", "site", "team", "shift"]),
                       ack_required=rng.random() < 0.8, urgent=False,
                       remind_every_min=rng.choice([None, 5, 15, 60]),
                       valid_from=now - 700 * MIN,
                       valid_until=rng.choice([None, None, now - MIN, now + 60 * MIN]),
                       published_at=rng.choice([now - 700 * MIN, now - 700 * MIN, None]))
            s.add(n)
            s.flush()
            for employee in rng.sample(people, rng.randint(1, len(people))):
                s.add(NoticeReceipt(
                    notice_id=n.id, employee_id=employee,
                    delivered_at=rng.choice([None, ago(), ago()]),
                    last_reminded_at=rng.choice([None, ago()]),
                    acknowledged_at=rng.choice([None, None, ago()]), reminders=0))
    with home.store.session() as s:
        rows = s.execute(select(Notice, NoticeReceipt)
                         .join(NoticeReceipt, NoticeReceipt.notice_id == Notice.id)).all()
        expected = {(n.id, r.employee_id) for n, r in rows
                    if rules.due(notices.standing(n, r, badged_in=r.employee_id in badged), now)}
    assert _due(home, now) == expected
    assert len(rows) > 20  # the data is not trivially empty


# --- the relay's round --------------------------------------------------------------------


def test_round_reminds_who_is_due_counts_and_never_doubles(home: Home) -> None:
    n = _notice(home, every=5)
    t0 = utcnow()
    _reached(home, n, ["Karim Benali", "Sophie Martin"], t0)  # Julie's copy still waits
    _badged_in(home, "Karim Benali", "Sophie Martin")
    with home.store.session() as s:
        notices.receipt(s, home["Sophie Martin"], n.uid, "acknowledged")

    with home.store.session() as s:
        assert reminders.send_due(s, t0 + 4 * MIN) == 0
    with home.store.session() as s:
        assert reminders.send_due(s, t0 + 5 * MIN) == 1  # Karim only
    [copy] = [c for c in _copies(home, n) if c.employee_id == home["Karim Benali"]]
    assert copy.kind == "notice" and copy.payload["reminder"] is True
    with home.store.session() as s:
        [sent] = notice_view.expand(s, [copy.payload])  # as the relay sends it
    assert sent["notice"] == n.uid and sent["ack_required"] is True and sent["reminder"] is True
    karim = _receipt(home, n, "Karim Benali")
    assert (karim.reminders, karim.last_reminded_at) == (1, t0 + 5 * MIN)
    assert _receipt(home, n, "Sophie Martin").reminders == 0  # acknowledged
    assert _receipt(home, n, "Julie Moreau").reminders == 0  # not badged in, not reached

    with home.store.session() as s:  # the same moment again: nothing more
        assert reminders.send_due(s, t0 + 5 * MIN) == 0
    with home.store.session() as s:
        assert reminders.send_due(s, t0 + 9 * MIN) == 0
    with home.store.session() as s:  # his terminal has not confirmed the first reminder
        assert reminders.send_due(s, t0 + 10 * MIN) == 1
    karim_copies = [c for c in _copies(home, n) if c.employee_id == home["Karim Benali"]]
    assert len(karim_copies) == 1 and karim_copies[0].id != copy.id  # replaced, not doubled
    assert _receipt(home, n, "Karim Benali").reminders == 2

    with home.store.session() as s:
        t = notices.tracking(s, notices.EVERYTHING, n.id)
    assert t.summary.counts.reminders == 2
    assert {p.employee_id: p.reminders for p in t.people}[home["Karim Benali"]] == 2


@pytest.mark.parametrize("end", ["acknowledged", "withdrawn", "expired"])
def test_reminders_stop(home: Home, end: str) -> None:
    n = _notice(home, every=5)
    t0 = utcnow()
    _reached(home, n, ["Karim Benali"], t0)
    _badged_in(home, "Karim Benali")
    with home.store.session() as s:
        assert reminders.send_due(s, t0 + 5 * MIN) == 1
    with home.store.session() as s:
        if end == "acknowledged":
            notices.receipt(s, home["Karim Benali"], n.uid, "acknowledged")
        elif end == "withdrawn":
            notices.withdraw(s, notices.EVERYTHING, n.id, "hr")
        else:
            s.get_one(Notice, n.id).valid_until = t0 + 7 * MIN
    for minutes in (10, 15, 60, 600):
        with home.store.session() as s:
            assert reminders.send_due(s, t0 + minutes * MIN) == 0
    assert _receipt(home, n, "Karim Benali").reminders == 1


def test_no_interval_and_no_acknowledgement_never_remind_by_timer(home: Home) -> None:
    at_badge_in_only = _notice(home, every=None)
    plain = _notice(home, every=None, ack=False)
    t0 = utcnow()
    for n in (at_badge_in_only, plain):
        _reached(home, n, ["Karim Benali"], t0)
    _badged_in(home, "Karim Benali")
    with home.store.session() as s:
        assert reminders.due(s, t0 + 600 * MIN) == []
        assert reminders.reminding(s, t0) == {}


def test_an_urgent_notice_and_two_intervals_in_one_round(home: Home) -> None:
    fast = _notice(home, every=5, urgent=True)
    slow = _notice(home, every=60)
    t0 = utcnow()
    for n in (fast, slow):
        _reached(home, n, ["Karim Benali", "Julie Moreau"], t0)
    _badged_in(home, "Karim Benali", "Julie Moreau")
    with home.store.session() as s:
        assert reminders.reminding(s, t0) == {5: [fast.id], 60: [slow.id]}
    assert _due(home, t0 + 30 * MIN) == {(fast.id, home["Karim Benali"]),
                                         (fast.id, home["Julie Moreau"])}
    assert _due(home, t0 + 60 * MIN) == {(n.id, home[p]) for n in (fast, slow)
                                         for p in ("Karim Benali", "Julie Moreau")}
    with home.store.session() as s:
        assert reminders.send_due(s, t0 + 60 * MIN, limit=3) == 3  # the rest next round
    with home.store.session() as s:
        assert reminders.send_due(s, t0 + 60 * MIN) == 1
    with home.store.session() as s:
        assert reminders.send_due(s, t0 + 60 * MIN) == 0


# --- badge-in -------------------------------------------------------------------------------


def test_badge_in_counts_what_its_sync_presents_again(home: Home) -> None:
    given = _notice(home, every=15)  # reached Karim, not acknowledged: a reminder
    on_its_way = _notice(home, every=15)  # its first copy has not reached him: no reminder
    done = _notice(home, every=5)  # acknowledged: none
    plain = _notice(home, every=None, ack=False)  # no acknowledgement asked: none
    gone = _notice(home, every=5)  # withdrawn: none, and not in the sync
    t0 = utcnow() - 30 * MIN
    for n in (given, done, plain, gone):
        _reached(home, n, ["Karim Benali"], t0)
    with home.store.session() as s:
        notices.receipt(s, home["Karim Benali"], done.uid, "acknowledged")
        notices.withdraw(s, notices.EVERYTHING, gone.id, "hr")
    with home.store.session() as s:
        terminal = s.execute(select(Terminal).order_by(Terminal.id)).scalars().first()
        sessions.badge_in(s, terminal, home.badges["Karim Benali"], None, home.pepper)
    assert [_receipt(home, n, "Karim Benali").reminders
            for n in (given, on_its_way, done, plain, gone)] == [1, 0, 0, 0, 0]
    assert _receipt(home, given, "Karim Benali").last_reminded_at is not None
    assert _receipt(home, given, "Julie Moreau").reminders == 0  # she did not badge in
    with home.store.session() as s:
        synced = {v["notice"]: v["reminder"] for v in notices.for_employee(s, home["Karim Benali"])}
    assert synced == {given.uid: True, on_its_way.uid: False, done.uid: False, plain.uid: False}
    # The timed reminder counts from the badge-in's, not from when it reached him (30
    # minutes ago, twice its interval).
    with home.store.session() as s:
        assert reminders.due(s, utcnow() + 10 * MIN) == []
        assert reminders.due(s, utcnow() + 16 * MIN) == [
            reminders.Due(given.id, home["Karim Benali"])]


# --- HR's button ------------------------------------------------------------------------------


def test_hr_remind_counts_too(home: Home) -> None:
    n = _notice(home, every=None)
    with home.store.session() as s:
        notices.receipt(s, home["Karim Benali"], n.uid, "acknowledged")
        assert notices.remind(s, notices.EVERYTHING, n.id, "hr") == 2
    with home.store.session() as s:
        assert notices.remind(s, notices.EVERYTHING, n.id, "hr") == 2
    counts = {p: _receipt(home, n, p).reminders
              for p in ("Karim Benali", "Sophie Martin", "Julie Moreau")}
    assert counts == {"Karim Benali": 0, "Sophie Martin": 2, "Julie Moreau": 2}
    # Each of them has exactly one copy waiting, the newest reminder (Karim, who acknowledged,
    # keeps his first copy, still unconfirmed, and no reminder).
    copies = _copies(home, n)
    assert sorted(c.employee_id for c in copies if c.payload.get("reminder")) == sorted(
        [home["Sophie Martin"], home["Julie Moreau"]])
    assert sorted(c.employee_id for c in copies) == sorted(home.people[p] for p in (
        "Karim Benali", "Sophie Martin", "Julie Moreau"))
    with home.store.session() as s:
        t = notices.tracking(s, notices.EVERYTHING, n.id)
        assert t.summary.counts.reminders == 4
        assert s.scalar(select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == "notice.remind")) == 2


# --- the interval ----------------------------------------------------------------------------------


@pytest.mark.parametrize("every,ack,code", [
    (4, True, "bad_interval"), (1441, True, "bad_interval"), (0, True, "bad_interval"),
    (-5, True, "bad_interval"), (15, False, "interval_without_ack")])
def test_a_bad_interval_is_refused_and_nothing_is_stored(home: Home, every: int, ack: bool,
                                                         code: str) -> None:
    with home.store.session() as s:
        before = s.scalar(select(func.count()).select_from(Notice))
    with pytest.raises(Invalid) as err:
        _notice(home, every=every, ack=ack)
    assert err.value.code == code and err.value.detail.get("field") == "remind_every"
    with home.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Notice)) == before


def test_an_urgent_notice_may_repeat_without_ticking_acknowledgement(home: Home) -> None:
    n = _notice(home, every=5, ack=False, urgent=True)  # urgent implies acknowledgement
    assert (n.ack_required, n.remind_every_min) == (True, 5)
    with home.store.session() as s:
        [entry] = s.execute(select(AuditEntry).where(AuditEntry.action == "notice.create",
                                                     AuditEntry.target == f"notice:{n.id}")).scalars()
        assert entry.detail["remind_every_min"] == 5
