"""A relay claims exactly the downlinks its batch queued (``downlinks.claim``), for the
employee's current terminal and session, so that relays never race for each other's rows;
the deliverer's sweep (``downlinks.claim_due``) can be narrowed to a relay's partitions.
On SQLite and PostgreSQL, without a broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from hr_console.services import downlinks
from hr_console.store.db import Store
from hr_console.store.models import BadgeSession, Terminal
from tests.system_fixture import prepared_home


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Iterator[tuple[Store, dict[str, int], dict[str, int]]]:
    cfg, demo = prepared_home(tmp_path, db_url)
    store = Store(cfg.database_url)
    with store.session() as s:
        terminals = {t.name: t.id for t in s.query(Terminal)}
    try:
        yield store, demo.employees, terminals
    finally:
        store.dispose()


def _badge_in(s, employee: int, terminal: int) -> str:  # noqa: ANN001
    sid = str(uuid.uuid4())
    s.add(BadgeSession(id=sid, employee_id=employee, terminal_id=terminal, start_mark=0))
    s.flush()
    return sid


def _text(s, employee: int, ref: str) -> str:  # noqa: ANN001
    return downlinks.queue(s, employee, "text", ref=ref, sender_id=None, text=ref).id


def test_claim_takes_exactly_the_given_rows_for_the_current_session(home) -> None:  # noqa: ANN001
    store, people, terminals = home
    sophie, karim, thomas = (people[n] for n in ("Sophie Martin", "Karim Benali", "Thomas Petit"))
    with store.session() as s:
        sid_s = _badge_in(s, sophie, terminals["kiosk-1"])
        sid_k = _badge_in(s, karim, terminals["kiosk-2"])
        other_batch = _text(s, sophie, "a")  # queued by someone else: not ours to claim
        ours = [_text(s, karim, "b"), _text(s, thomas, "c"), _text(s, sophie, "d")]
    with store.session() as s:
        got = downlinks.claim(s, ours)
    # Thomas is not badged in: his row waits for the sweep; the order given is kept.
    assert [(o.downlink_id, o.terminal, o.payload["sid"]) for o in got] == [
        (ours[0], "kiosk-2", sid_k), (ours[2], "kiosk-1", sid_s)]
    assert got[0].payload["text"] == "b"
    with store.session() as s:
        assert downlinks.claim(s, ours) == []  # sent: a second claim takes nothing
        assert downlinks.claim(s, []) == []
        swept = downlinks.claim_due(s, resend_after=60)
    assert [o.downlink_id for o in swept] == [other_batch]


def test_sweep_narrowed_to_partitions(home) -> None:  # noqa: ANN001
    store, people, terminals = home
    sophie, karim = people["Sophie Martin"], people["Karim Benali"]
    with store.session() as s:
        s.execute(update(Terminal).where(Terminal.name == "kiosk-1").values(partition=3))
        s.execute(update(Terminal).where(Terminal.name == "kiosk-2").values(partition=7))
        _badge_in(s, sophie, terminals["kiosk-1"])
        _badge_in(s, karim, terminals["kiosk-2"])
        to_sophie, to_karim = _text(s, sophie, "a"), _text(s, karim, "b")
    with store.session() as s:
        assert downlinks.claim_due(s, resend_after=60, partitions=set()) == []
        assert downlinks.claim_due(s, resend_after=60, partitions={1, 2}) == []
        mine = downlinks.claim_due(s, resend_after=60, partitions={3})
    assert [(o.downlink_id, o.terminal) for o in mine] == [(to_sophie, "kiosk-1")]
    with store.session() as s:
        rest = downlinks.claim_due(s, resend_after=60, partitions=[7, 3])
    assert [(o.downlink_id, o.terminal) for o in rest] == [(to_karim, "kiosk-2")]


def _row(employee: int, ref: str) -> dict:
    from hr_console.store.models import utcnow
    from relais_wire.envelope import envelope

    row_id = str(uuid.uuid4())
    return {"id": row_id, "employee_id": employee, "kind": "text", "ref": ref,
            "payload": envelope("text", id=row_id, text=ref), "sender_id": None,
            "created_at": utcnow()}


def test_rows_inserted_claimed_for_whoever_is_badged_in(home) -> None:  # noqa: ANN001
    """A relay batch's own rows are claimed as they are inserted (one statement, not an
    INSERT then a claim): the same rows as ``claim`` would take, in the order given, marked
    sent once; the others wait for the sweep; a withheld employee's claim is undone."""
    from hr_console.store.models import Downlink

    store, people, terminals = home
    sophie, karim, thomas = (people[n] for n in ("Sophie Martin", "Karim Benali", "Thomas Petit"))
    with store.session() as s:
        sid_s = _badge_in(s, sophie, terminals["kiosk-1"])
        sid_k = _badge_in(s, karim, terminals["kiosk-2"])
    rows = [_row(karim, "b"), _row(thomas, "c"), _row(sophie, "d"), _row(karim, "e")]
    with store.session() as s:
        got = downlinks.claimed(s, downlinks.insert_claimed(s, rows))
    assert [(o.downlink_id, o.terminal, o.payload["sid"]) for o in got] == [
        (rows[0]["id"], "kiosk-2", sid_k), (rows[2]["id"], "kiosk-1", sid_s),
        (rows[3]["id"], "kiosk-2", sid_k)]
    with store.session() as s:
        state = {r.id: (r.sent_at is not None, r.attempts) for r in s.query(Downlink)}
        assert downlinks.claim(s, [r["id"] for r in rows]) == []  # sent: nothing to claim
        swept = downlinks.claim_due(s, resend_after=60)
    assert [state[r["id"]] for r in rows] == [(True, 1), (False, 0), (True, 1), (True, 1)]
    assert swept == []  # Thomas's row waits for his badge-in
    # Karim's badge-in is being synced: his rows are given back, due again at once.
    more = [_row(karim, "f"), _row(sophie, "g")]
    with store.session() as s:
        got = downlinks.claimed(s, downlinks.insert_claimed(s, more), withheld=lambda: {karim})
    assert [o.downlink_id for o in got] == [more[1]["id"]]
    with store.session() as s:
        again = downlinks.claim(s, [more[0]["id"]])
    assert [(o.downlink_id, o.terminal) for o in again] == [(more[0]["id"], "kiosk-2")]
    with store.session() as s:
        assert downlinks.insert_claimed(s, []) == []


def test_the_deliverers_look_finds_what_the_sweep_would(home) -> None:  # noqa: ANN001
    """``any_due``, the deliverer's look before each round, says yes when ``claim_due`` for
    the same partitions has a row to take (a copy of an ended notice, which the sweep
    deletes, or a withheld person's, counts too: that round settles it), and no when the
    round would find nothing: nobody badged in, a session that has ended, a terminal of
    another partition, a row sent just now."""
    from hr_console.store.models import Downlink

    store, people, terminals = home
    sophie, karim, thomas = (people[n] for n in ("Sophie Martin", "Karim Benali", "Thomas Petit"))

    def look(parts: set[int], resend_after: float = 60) -> bool:
        with store.session() as s:
            return downlinks.any_due(s, resend_after=resend_after, partitions=parts)

    with store.session() as s:
        s.execute(update(Terminal).where(Terminal.name == "kiosk-1").values(partition=3))
        s.execute(update(Terminal).where(Terminal.name == "kiosk-2").values(partition=7))
        _text(s, thomas, "away")  # Thomas is not badged in: nobody to send it to
        # Karim's session on kiosk-1 has ended: what he is owed waits for his next badge-in.
        ended = _badge_in(s, karim, terminals["kiosk-1"])
        s.execute(update(BadgeSession).where(BadgeSession.id == ended)
                  .values(ended_at=BadgeSession.started_at))
        _text(s, karim, "later")
    assert not look({0, 3, 7})
    with store.session() as s:  # now at kiosk-2: owed there, not on kiosk-1's partition
        _badge_in(s, karim, terminals["kiosk-2"])
    assert look({7}) and not look({3})
    with store.session() as s:
        assert len(downlinks.claim_due(s, resend_after=60, partitions={7})) == 1
        _badge_in(s, sophie, terminals["kiosk-1"])
        row = _text(s, sophie, "a")
    assert look({3}) and look({2, 3})
    assert not look({7}) and not look(set())
    with store.session() as s:
        assert [o.downlink_id for o in downlinks.claim_due(s, resend_after=60,
                                                           partitions={3})] == [row]
    assert not look({3})  # sent just now: due again only after ``resend_after``
    assert look({3}, resend_after=0)
    with store.session() as s:
        s.execute(update(Downlink).values(confirmed_at=Downlink.created_at))
    assert not look({3, 7}, resend_after=0)


@pytest.mark.parametrize("statistics", ["none", "taken while pending"])
def test_the_deliverers_look_walks_a_dead_row_once(home, db_url: str, statistics: str
                                                   ) -> None:  # noqa: ANN001
    """On PostgreSQL a delivered downlink leaves a dead row behind until a VACUUM. The
    look (four times a second per relay) must not visit all of them every time: the first
    look after they died may, the next only what died since (counted in blocks of the
    table read by the look's own transaction), whatever statistics the planner holds
    (with none, the old join happened to be planned right; a LATERAL alone is not) and
    even beside a row still pending (one index entry per row: migration 0017)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite keeps no dead rows for a reader to walk")
    from sqlalchemy import delete, func, select

    from hr_console.store.models import Downlink

    store, people, terminals = home
    here = [people["Sophie Martin"], people["Karim Benali"]]
    with store.session() as s:
        _badge_in(s, here[0], terminals["kiosk-1"])
        _badge_in(s, here[1], terminals["kiosk-2"])
        parts = set(s.scalars(select(Terminal.partition)))
    # Delivered at once (claimed as inserted), then confirmed; the others' copies (nobody
    # badged in to send them to) die too. Among them, for each badged-in person, one row
    # stays, sent and not yet confirmed: beside dead entries of the same person in the index.
    rows = [_row(p, f"m{i}") for p in people.values() for i in range(3000)]
    pending = [r["id"] for r in rows if r["employee_id"] in here and r["ref"] == "m1500"]
    with store.session() as s:
        downlinks.insert_claimed(s, rows)
    if statistics != "none":
        with store.engine.connect() as c:
            c.exec_driver_sql("ANALYZE downlinks")
            c.commit()
    with store.session() as s:
        gone = s.execute(delete(Downlink).where(Downlink.id.not_in(pending))).rowcount
        assert gone == len(rows) - len(pending) == len(rows) - 2
    fetched = func.pg_stat_get_xact_blocks_fetched(func.to_regclass("downlinks"))

    def blocks_read_by_a_look() -> int:
        with store.session() as s:
            before = s.scalar(select(fetched))
            assert not downlinks.any_due(s, resend_after=60, partitions=parts)
            return s.scalar(select(fetched)) - before

    first = blocks_read_by_a_look()
    assert first >= 50  # the rows are there to walk: the test can fail
    # PostgreSQL marks an index entry dead only once no transaction that began before the
    # delete runs anywhere on the server (another test's, in a parallel run): look again
    # for a while until it can have, then twice more.
    looks = [blocks_read_by_a_look()]
    deadline = time.monotonic() + 30
    while looks[-1] > 5 and time.monotonic() < deadline:
        time.sleep(0.5)
        looks.append(blocks_read_by_a_look())
    looks += [blocks_read_by_a_look(), blocks_read_by_a_look()]
    assert max(looks[-3:]) <= 5, (first, looks)
