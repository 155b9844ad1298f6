"""The relay's batch path (``handlers.handle_batch``: messages and receipts written
set-based) keeps every rule of the one-uplink path inside one batch: idempotent client ids,
per-terminal seq order, the contact check and moderation, end-to-end receipts (a terminal
confirms only its own person's downlinks), late items after a session's end. Driven in
process (``bench.hot_path.DrivenRelay``: the relay's real ``_commit``, no broker) on
SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bench.hot_path import DrivenRelay
from hr_console.services import downlinks, messaging, sessions, settings
from hr_console.store.db import Store
from hr_console.store.models import Downlink, Message
from relais_wire import topics
from relais_wire.envelope import envelope
from tests.system_fixture import prepared_home

Sent = list[tuple[str, dict[str, Any]]]


class Site:
    def __init__(self, tmp_path: Path, db_url: str) -> None:
        self.cfg, demo = prepared_home(tmp_path, db_url)
        assert demo is not None
        self.demo = demo
        self.store = Store(self.cfg.database_url)
        self.relay = DrivenRelay(self.cfg, self.store)
        self.sids: dict[str, str] = {}

    def login(self, terminal: str, name: str) -> None:
        for topic, env in self.relay.feed([(terminal, envelope(
                "login", badge=self.demo.badges[name], last_seq=0))]):
            if env["type"] == "login" and env.get("ok"):
                self.sids[topics.terminal_of(topic) or ""] = env["sid"]
        assert terminal in self.sids

    def text(self, terminal: str, seq: int, to: str, text: str, cid: str | None = None
             ) -> tuple[str, dict[str, Any]]:
        env = envelope("text", sid=self.sids[terminal], seq=seq,
                       to=self.demo.employees[to], text=text)
        if cid:
            env["id"] = cid
        return terminal, env

    def receipt(self, terminal: str, ref: str) -> tuple[str, dict[str, Any]]:
        return terminal, envelope("receipt", sid=self.sids[terminal], ref=ref, status="received")

    def messages(self) -> list[tuple[str, str, str | None]]:
        with self.store.session() as s:
            return [tuple(r) for r in s.execute(  # type: ignore[misc]
                select(Message.client_id, Message.state, Message.reason).order_by(Message.id))]


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    site_ = Site(tmp_path, db_url)
    try:
        site_.login("kiosk-1", "Sophie Martin")
        site_.login("kiosk-2", "Karim Benali")
        yield site_
    finally:
        site_.store.dispose()


def _to(sent: Sent, terminal: str, kind: str | None = None) -> list[dict[str, Any]]:
    return [env for topic, env in sent
            if topics.terminal_of(topic) == terminal and (kind is None or env["type"] == kind)]


def test_one_batch_keeps_ids_order_and_policy(site: Site) -> None:
    with site.store.session() as s:
        settings.put(s, "keywords", ["zorglub"])
    first = site.text("kiosk-1", 1, "Karim Benali", "bonjour")
    overtaking = site.text("kiosk-1", 4, "Karim Benali", "en avance")
    sent = site.relay.feed([
        first, first,  # the outbox sent it twice
        overtaking,  # seq 4 before 2 and 3: waits
        site.text("kiosk-1", 2, "Thomas Petit", "pas permis"),
        site.text("kiosk-1", 3, "Karim Benali", "un zorglub"),
    ])
    states = [(e["msg"], e["state"], e.get("reason")) for e in _to(sent, "kiosk-1", "state")]
    cid = first[1]["id"]
    assert states[:2] == [(cid, "accepted", None), (cid, "accepted", None)]
    assert [s[1:] for s in states[2:]] == [("refused", "not_allowed"), ("held", None)]
    copies = _to(sent, "kiosk-2", "text")
    assert [(c["msg"], c["text"], c["sid"]) for c in copies] == [
        (cid, "bonjour", site.sids["kiosk-2"])]
    assert [m[1] for m in site.messages()] == ["accepted", "refused", "held"]
    # The deferred one, once its turn has come (the relay retries it).
    sent = site.relay.feed([overtaking])
    assert [e["state"] for e in _to(sent, "kiosk-1", "state")] == ["accepted"]
    assert [c["text"] for c in _to(sent, "kiosk-2", "text")] == ["en avance"]
    # A resend in a later batch is answered with the stored state, and stored once.
    sent = site.relay.feed([first])
    assert [e["state"] for e in _to(sent, "kiosk-1", "state")] == ["accepted"]
    assert _to(sent, "kiosk-2") == []
    assert sum(m[0] == cid for m in site.messages()) == 1


def test_resends_in_a_later_batch_answer_their_stored_states(site: Site) -> None:
    """The stored ids are read with the batch's terminals and sessions: two resends of one
    terminal (one accepted, one refused with its reason) beside a new text of it and an
    uplink of another terminal are answered from the rows stored, and stored once."""
    accepted = site.text("kiosk-1", 1, "Karim Benali", "bonjour")
    refused = site.text("kiosk-1", 2, "Thomas Petit", "pas permis")
    site.relay.feed([accepted, refused])
    other = site.text("kiosk-2", 1, "Sophie Martin", "salut")
    sent = site.relay.feed([accepted, other, refused, site.text("kiosk-1", 3, "Karim Benali",
                                                                 "encore")])
    states = [(e["msg"], e["state"], e.get("reason")) for e in _to(sent, "kiosk-1", "state")]
    assert [s[1:] for s in states] == [("accepted", None), ("refused", "not_allowed"),
                                       ("accepted", None)]
    assert [s[0] for s in states[:2]] == [accepted[1]["id"], refused[1]["id"]]
    assert [e["msg"] for e in _to(sent, "kiosk-2", "state")] == [other[1]["id"]]
    assert [c["text"] for c in _to(sent, "kiosk-2", "text")] == ["encore"]
    assert [m[0] for m in site.messages()].count(accepted[1]["id"]) == 1
    assert [m[1:] for m in site.messages()] == [
        ("accepted", None), ("refused", "not_allowed"), ("held", None), ("accepted", None)]


def test_receipts_in_batches_deliver_end_to_end(site: Site) -> None:
    sent = site.relay.feed([site.text("kiosk-1", 1, "Karim Benali", "un"),
                            site.text("kiosk-1", 2, "Karim Benali", "deux")])
    copies = _to(sent, "kiosk-2", "text")
    assert len(copies) == 2
    # Karim confirms both copies (one twice) in one batch: both delivered, Sophie told.
    sent = site.relay.feed([site.receipt("kiosk-2", c["id"]) for c in copies]
                           + [site.receipt("kiosk-2", copies[0]["id"])])
    told = _to(sent, "kiosk-1", "state")
    assert sorted((e["msg"], e["state"]) for e in told) == sorted(
        (c["msg"], "delivered") for c in copies)
    assert all(e["sid"] == site.sids["kiosk-1"] for e in told)
    assert [m[1] for m in site.messages()] == ["delivered", "delivered"]
    # Karim's terminal cannot confirm what is owed to Sophie: her rows stay.
    site.relay.feed([site.receipt("kiosk-2", e["id"]) for e in told])
    with site.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Downlink)) == 2
    site.relay.feed([site.receipt("kiosk-1", e["id"]) for e in told])
    with site.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Downlink)) == 0


def test_late_items_in_one_batch_see_each_other(site: Site) -> None:
    site.relay.feed([site.text("kiosk-1", 1, "Karim Benali", "avant la fin")])
    with site.store.session() as s:  # the console ends her session; her kiosk never answers
        sessions.end_for_employee(s, site.demo.employees["Sophie Martin"], "deactivated")
    late = site.text("kiosk-1", 2, "Karim Benali", "tapé hors ligne")
    replay = site.text("kiosk-1", 2, "Karim Benali", "rejoué")  # the same seq, another id
    sent = site.relay.feed([late, replay, late])
    replies = _to(sent, "kiosk-1")
    assert (replies[0]["type"], replies[0]["state"]) == ("state", "held")  # held for HR
    assert [(r["type"], r["code"]) for r in replies[1:]] == [
        ("error", "session_ended"), ("error", "session_ended")]
    assert [m[1] for m in site.messages()] == ["accepted", "held"]
    assert _to(sent, "kiosk-2") == []


def test_a_terminal_speaks_only_for_its_own_sessions(site: Site) -> None:
    sent = site.relay.feed([site.text("kiosk-1", 1, "Karim Benali", "pour Karim")])
    copy = _to(sent, "kiosk-2", "text")[0]
    # kiosk-2 names Sophie's session (kiosk-1's) in one batch: a message and a receipt.
    forged = site.text("kiosk-1", 1, "Karim Benali", "faux")
    sent = site.relay.feed([
        ("kiosk-2", {**forged[1], "seq": 1}),
        ("kiosk-2", envelope("receipt", sid=site.sids["kiosk-1"], ref=copy["id"],
                             status="received")),
    ])
    assert [(e["type"], e["code"]) for e in _to(sent, "kiosk-2")] == [
        ("error", "no_session"), ("error", "no_session")]
    assert [m[1] for m in site.messages()] == ["accepted"]
    with site.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Downlink)) == 1  # the copy, still owed


def test_delivered_replaces_an_unsent_approved_state(site: Site) -> None:
    with site.store.session() as s:
        settings.put(s, "keywords", ["zorglub"])
    sent = site.relay.feed([site.text("kiosk-1", 1, "Karim Benali", "un zorglub")])
    assert [e["state"] for e in _to(sent, "kiosk-1", "state")] == ["held"]
    with site.store.session() as s:  # HR approves it in the console
        msg_id = s.scalar(select(Message.id))
        messaging.approve(s, msg_id, "hr")
    with site.store.session() as s:  # the deliverer's sweep sends the copy and the state
        out = downlinks.claim_due(s, resend_after=60)
    copy = next(o.payload for o in out if o.payload["type"] == "text")
    site.relay.feed([site.receipt("kiosk-2", copy["id"])])  # Sophie never confirmed "approved"
    with site.store.session() as s:
        states = s.execute(select(Downlink.payload).where(Downlink.kind == "state")).scalars()
        assert [p["state"] for p in states] == ["delivered"]
    assert [m[1] for m in site.messages()] == ["delivered"]


def test_a_resend_that_waited_for_another_relays_lock_sees_its_commit(site: Site) -> None:
    """Two relays on one terminal (a partition changing hands): relay X stores a text and,
    before it commits, relay Y takes the kiosk's resend of it and waits for the terminal's
    lock. Y must answer from X's row, not store it again (on PostgreSQL a statement that
    waited for a lock reads other tables as they were when it began: the stored ids are
    asked after the lock there)."""
    other = Store(site.cfg.database_url)
    try:
        x = DrivenRelay(site.cfg, other)
        reached, go = threading.Event(), threading.Event()

        def hold(_conn: Any) -> None:  # X's commit waits until Y is queued behind it
            reached.set()
            assert go.wait(20)

        event.listen(other.engine, "commit", hold)
        text = site.text("kiosk-1", 1, "Karim Benali", "bonjour")
        out: dict[str, Sent] = {}
        first = threading.Thread(target=lambda: out.update(x=x.feed([text])))
        first.start()
        assert reached.wait(20)
        second = threading.Thread(target=lambda: out.update(y=site.relay.feed([text])))
        second.start()
        time.sleep(0.5 if site.store.is_sqlite else 1.0)  # Y waits for the lock
        go.set()
        first.join(30)
        second.join(30)
        assert [(e["state"], e["msg"]) for e in _to(out["y"], "kiosk-1", "state")] == [
            ("accepted", text[1]["id"])]
        assert _to(out["y"], "kiosk-1", "error") == []
        assert [m[1] for m in site.messages()] == ["accepted"]
    finally:
        other.dispose()


def _stored_before(site: Site, count: int) -> None:
    """``count`` earlier messages between the two badged-in people: the rows a batch's
    read must not walk to find its own."""
    from hr_console.store.models import utcnow

    sophie, karim = (site.demo.employees[n] for n in ("Sophie Martin", "Karim Benali"))
    rows = [{"client_id": f"old-{i}", "sender_id": (sophie, karim)[i % 2],
             "recipient_id": (karim, sophie)[i % 2], "kind": "text", "body": "avant",
             "state": ("accepted", "delivered")[i // 2 % 2], "moderation": "none",
             "created_at": utcnow()} for i in range(count)]
    with site.store.session() as s:
        s.execute(Message.__table__.insert(), rows)


@pytest.mark.parametrize("statistics", ["none", "taken"])
def test_a_batch_finds_its_messages_by_their_key(site: Site, db_url: str, statistics: str
                                                 ) -> None:
    """On PostgreSQL a batch finds its messages through their unique (sender, client id), a
    lookup each, whatever statistics the planner holds: the texts already stored (resends,
    read with the batch's terminals) and the messages its receipts deliver. Counted in
    blocks of the messages table each statement fetches, beside 20,000 earlier messages
    (half of them still deliverable): with no statistics (a new database, or autovacuum
    off), an IN list of client ids was joined by reading the whole table, and the receipts'
    update walked every deliverable message through the state index."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the plans at stake are PostgreSQL's")
    _stored_before(site, 20_000)
    if statistics == "taken":
        with site.store.engine.connect() as c:
            c.exec_driver_sql("ANALYZE messages")
            c.commit()
    watched = ("SELECT terminals.id", "UPDATE messages")
    reads: dict[str, list[int]] = {w: [] for w in watched}

    def fetched(conn: Any) -> int:
        return conn.connection.dbapi_connection.execute(
            "SELECT pg_stat_get_xact_blocks_fetched('messages'::regclass)").fetchone()[0]

    def before(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(watched):
            conn.info["blocks"] = fetched(conn)

    def after(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        for w in watched:
            if statement.startswith(w):
                reads[w].append(fetched(conn) - conn.info.pop("blocks"))

    texts = [site.text(("kiosk-1", "kiosk-2")[i % 2], i // 2 + 1,
                       ("Karim Benali", "Sophie Martin")[i % 2], f"n° {i}") for i in range(40)]
    sent = site.relay.feed(texts)
    copies = [(k, c) for k in ("kiosk-1", "kiosk-2") for c in _to(sent, k, "text")]
    assert len(copies) >= 10  # the others wait for the window (downlinks.WINDOW)
    fresh = site.text("kiosk-1", 21, "Karim Benali", "neuf")
    event.listen(site.store.engine, "before_cursor_execute", before)
    event.listen(site.store.engine, "after_cursor_execute", after)
    try:  # resent, as an outbox does, beside a new one and the copies' receipts
        sent = site.relay.feed([*texts[:20], fresh,
                                *(site.receipt(k, c["id"]) for k, c in copies)])
    finally:
        event.remove(site.store.engine, "before_cursor_execute", before)
        event.remove(site.store.engine, "after_cursor_execute", after)
    answered = {e["msg"]: e["state"] for e in _to(sent, "kiosk-1", "state")
                + _to(sent, "kiosk-2", "state") if "ref" in e}  # direct answers
    assert set(answered) == {env["id"] for _t, env in [*texts[:20], fresh]}
    assert set(answered.values()) <= {"accepted", "held"}  # as stored before the receipts
    new = [m for m in site.messages() if not m[0].startswith("old-")]
    assert len(new) == 41  # the resent ones stored once
    assert sorted(m[0] for m in new if m[1] == "delivered") == sorted(c["msg"] for _k, c in copies)
    # A lookup and a fetch a text; a lookup, the row and where its new version goes a copy.
    assert all(reads.values()) and max(reads["SELECT terminals.id"]) <= 2 * 21, reads
    assert max(reads["UPDATE messages"]) <= 10 * len(copies), reads
