"""Workgroups at scale (issue 15): what a group post costs the relay, and what groups cost a
badge-in.

* ``post_figures``: a relay driven in process (``hot_path.DrivenRelay``: no broker, its
  client records what it would publish) and a group of ``members`` people, all badged in.
  One post is timed as the worker commits it (check, store, fan-out: one INSERT of the
  receipts, one of the copies, the claim of the copies and their publication), then the
  members' ``received`` receipts for their copies as the kiosks send them (batches), then
  their ``read`` receipts. "In all" is the post and the received receipts: what the relay
  spends so that every member has the post (target <= 100 ms for 500 members).
* ``badge_in_figures``: the badge-in -> sync server time through the login desk (no PIN)
  on ``gendata``'s organisation of ``employees`` people, where the person badging in is a
  member of ``groups`` groups of ``group_size`` members each holding ``posts`` posts, turn
  by turn with the same badge-in of someone of that organisation in no group (their ratio
  is what groups add, under the same load); and the parts of that sync that grow with
  groups, each timed alone (``groups.for_sync``, its member counts,
  ``messaging.sync_history``).

    python -m bench.groups post [--members 500] [--posts 5]
    python -m bench.groups badge [--employees 10000] [--groups 20]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from bench.hot_path import DrivenRelay, _Figures, _tracked
from bench.system import badge, create_org, terminal_name
from broker_config.ports import free_port
from hr_console import config as config_mod
from hr_console.store.db import Store
from hr_console.store.models import Employee, Group, GroupPerson, GroupReceipt, Message, utcnow
from relais_wire import topics
from relais_wire.envelope import envelope


def _group(store: Store, name: str, member_ids: list[int], *, site_id: int | None = None
           ) -> int:
    """A group with hand-picked members, unmoderated (written directly: the bench measures
    the relay, not the console)."""
    with store.session() as s:
        now = utcnow()
        row = Group(name=name, description="", site_id=site_id, post_right="everyone",
                    members_reply=False, moderation_mode="none", state="open", created_at=now,
                    updated_at=now, created_by="bench")
        s.add(row)
        s.flush()
        s.execute(insert(GroupPerson), [{"group_id": row.id, "employee_id": i}
                                        for i in member_ids])
        return row.id


def _timed(relay: DrivenRelay, uplinks: list[tuple[str, dict[str, Any]]], batch: int
           ) -> tuple[float, list[tuple[str, dict[str, Any]]], int]:
    """CPU seconds the relay spent on these uplinks, what it published, statements run."""
    relay.figures = _Figures()
    out = relay.feed(uplinks, batch)
    return relay.figures.cpu_s, out, relay.figures.statements


def post_figures(db_url: str, *, members: int = 500, posts: int = 5,
                 workdir: Path | None = None) -> dict[str, Any]:
    """See the module's docstring. ``db_url``: an empty database."""
    from hr_console.cli.home import initialise
    from hr_console.relay.mqtt import BATCH_MAX

    root = Path(workdir or tempfile.mkdtemp(prefix="relais-groups-"))
    cfg = initialise(config_mod.load(root / "home", db_url=db_url, mqtt_port=free_port()))
    create_org(cfg, members)
    store = Store(cfg.database_url)
    try:
        with store.session() as s:
            ids = {n: i for n, i in s.execute(select(Employee.name, Employee.id))}
        people = [ids[f"Bench {i:04d}"] for i in range(1, members + 1)]
        gid = _group(store, "Bench group", people)
        relay = DrivenRelay(cfg, store)
        names = [terminal_name(i) for i in range(1, members + 1)]
        sids: dict[str, str] = {}
        logins = [(name, envelope("login", badge=badge(i), last_seq=0))
                  for i, name in enumerate(names, 1)]
        for topic, payload in relay.feed(logins, BATCH_MAX):
            if payload["type"] == "login" and payload.get("ok"):
                sids[topics.terminal_of(topic) or ""] = payload["sid"]
        assert len(sids) == members, "every member badged in"
        author = names[0]
        post_ms, received_ms, read_ms, statements, copies = [], [], [], [], []
        for n in range(1, posts + 1):
            env = envelope("text", sid=sids[author], seq=n, group=gid,
                           text=f"Relève {n}: machine 4 bloquée, maintenance appelée")
            cpu, out, stmts = _timed(relay, [(author, env)], 1)
            post_ms.append(cpu * 1000)
            statements.append(stmts)
            got = [(topics.terminal_of(t) or "", p) for t, p in out
                   if p["type"] == "text" and p.get("group") == gid]
            copies.append(len(got))
            receipts = [(term, envelope("receipt", sid=sids[term], ref=p["id"],
                                        status="received")) for term, p in got if _tracked(p)]
            cpu, _out, _s = _timed(relay, receipts, BATCH_MAX)
            received_ms.append(cpu * 1000)
            reads = [(term, envelope("receipt", sid=sids[term], ref=p["msg"], status="read"))
                     for term, p in got]
            cpu, _out, _s = _timed(relay, reads, BATCH_MAX)
            read_ms.append(cpu * 1000)
        with store.session() as s:
            delivered = s.scalar(select(text("count(*)")).select_from(GroupReceipt)
                                 .where(GroupReceipt.delivered_at.is_not(None)))
            read = s.scalar(select(text("count(*)")).select_from(GroupReceipt)
                            .where(GroupReceipt.read_at.is_not(None)))

        def med(values: list[float]) -> float:
            return round(statistics.median(values), 1)

        return {
            "database": "postgresql" if db_url.startswith("postgresql") else "sqlite",
            "members": members, "posts": posts, "copies_per_post": copies,
            "post_ms": med(post_ms), "received_receipts_ms": med(received_ms),
            "in_all_ms": med([a + b for a, b in zip(post_ms, received_ms, strict=True)]),
            "read_receipts_ms": med(read_ms), "post_statements": statements[-1],
            "runs_post_ms": [round(v, 1) for v in post_ms],
            "delivered_receipts": delivered, "read_receipts": read,
        }
    finally:
        store.dispose()
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)


def _group_posts(store: Store, gid: int, author: int, member_ids: list[int], posts: int,
                 at: Any) -> None:
    """``posts`` delivered posts in a group, with a delivered receipt for every member."""
    with store.session() as s:
        for n in range(posts):
            msg = Message(client_id=str(uuid.uuid4()), sender_id=author, recipient_id=None,
                          group_id=gid, kind="text", body=f"Consigne {n}", state="accepted",
                          moderation="none", sent_ts=0, created_at=at)
            s.add(msg)
            s.flush()
            s.execute(insert(GroupReceipt), [
                {"message_id": msg.id, "employee_id": e, "delivered_at": at,
                 "read_at": at if n < posts - 1 else None}
                for e in member_ids if e != author])


def _sync_parts(store: Store, people: list[int]) -> dict[str, Any]:
    """Server time of the parts of a sync that grow with groups, each alone, for these
    people: the groups list (``groups.for_sync``; its member counts apart) and the history
    (``messaging.sync_history``, group posts included)."""
    from bench.shift_change import _ms
    from hr_console.relay.handlers import SYNC_HISTORY_BYTES
    from hr_console.services import groups, messaging

    out: dict[str, list[float]] = {"for_sync_ms": [], "member_counts_ms": [],
                                   "sync_history_ms": []}
    for eid in people:
        with store.session() as s:
            t0 = time.perf_counter()
            listed = groups.for_sync(s, eid)
            t1 = time.perf_counter()
            groups.member_counts(s, [g["id"] for g in listed])
            t2 = time.perf_counter()
            messaging.sync_history(s, eid, SYNC_HISTORY_BYTES)
            t3 = time.perf_counter()
        out["for_sync_ms"].append((t1 - t0) * 1000)
        out["member_counts_ms"].append((t2 - t1) * 1000)
        out["sync_history_ms"].append((t3 - t2) * 1000)
    return {k: _ms(v) for k, v in out.items()}


def badge_in_figures(db_url: str | None, *, employees: int = 10_000, groups: int = 20,
                     group_size: int = 500, posts: int = 10, logins: int = 30,
                     seed: int = 15) -> dict[str, Any]:
    """See the module's docstring. ``db_url`` None: SQLite in a temporary home."""
    from bench.shift_change import _ms, _populate, badge_ins_through
    from hr_console.cli.home import initialise
    from hr_console.relay.logins import LoginDesk

    tmp = Path(tempfile.mkdtemp(prefix="relais-groups-badge-"))
    try:
        cfg = initialise(config_mod.load(tmp / "home", db_url=db_url, mqtt_port=free_port(),
                                         console_port=free_port()))
        store = Store(cfg.database_url)
        org = _populate(store, cfg.badge_pepper, employees)
        rnd = random.Random(seed)
        plain = [p for p in org["people"] if not p[2]]
        core = rnd.sample(plain, min(group_size, len(plain)))  # in every group
        others = [p[1] for p in org["people"]]
        at = utcnow()
        t0 = time.monotonic()
        in_groups: set[int] = set()
        for g in range(groups):
            # Each group: the core people (who badge in) and others, group_size in all.
            members = list(dict.fromkeys([p[1] for p in core[:group_size // 2]]
                                         + rnd.sample(others, group_size)))[:group_size]
            in_groups.update(members)
            gid = _group(store, f"Groupe {g:02d}", members)
            _group_posts(store, gid, members[-1], members, posts, at)
        with store.session() as s:
            if not (db_url or "").startswith("postgresql"):
                s.execute(text("ANALYZE"))
        built_s = time.monotonic() - t0
        with store.session() as s:
            terminals = list(s.execute(text("SELECT name FROM terminals ORDER BY id")).scalars())
        published: list[Any] = []
        desk = LoginDesk(cfg, store, publish=published.extend, ack=lambda _i: None,
                         db_lock=threading.Lock())

        def through_desk(who: list[tuple[str, int, bool]]) -> list[Any]:
            return badge_ins_through(desk, terminals, who)

        sample = core[:group_size // 2][:logins]
        # People of the same organisation in no group, badged in turn by turn with the
        # members: the ratio of the two is what groups add, under the same load.
        outside = [p for p in plain if p[1] not in in_groups][:logins]
        try:
            through_desk(sample[:3] + outside[:3])  # warm the pools and caches
            timings: list[Any] = []
            plain_timings: list[Any] = []
            for k, member in enumerate(sample):
                pair = through_desk([member, *outside[k:k + 1]])
                timings += [t for t in pair[:1] if t.outcome == "ok"]
                plain_timings += [t for t in pair[1:] if t.outcome == "ok"]
            parts = _sync_parts(store, [p[1] for p in sample])
        finally:
            desk.stop()
            store.dispose()
        sampled = {p[1] for p in sample}
        syncs = [p.payload for p in published
                 if p.payload["type"] == "sync" and p.payload["me"]["id"] in sampled]
        listed = [len(p.get("groups") or []) for p in syncs]
        return {
            "database": "postgresql" if db_url else "sqlite", "employees": employees,
            "groups": groups, "group_size": group_size, "posts_per_group": posts,
            "groups_built_s": round(built_s, 1),
            "badge_in_ms": _ms([t.server for t in timings]),
            "sync_ms": _ms([t.sync for t in timings]),
            # The same badge-in for someone in no group, measured turn by turn with the above.
            "no_groups_badge_in_ms": _ms([t.server for t in plain_timings]),
            "groups_in_sync": min(listed) if listed else 0,
            # Where a sync's group work goes, each part timed alone for the same people.
            **parts,
            "sync_bytes_max": max((len(json.dumps(p)) for p in syncs), default=0),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("figure", choices=("post", "badge"))
    parser.add_argument("--db", default=None, help="a PostgreSQL URL of an empty database")
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--posts", type=int, default=5)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=20)
    args = parser.parse_args()
    if args.figure == "post":
        root = Path(tempfile.mkdtemp(prefix="relais-groups-"))
        try:
            url = args.db or f"sqlite:///{root / 'relais.db'}"
            print(json.dumps(post_figures(url, members=args.members, posts=args.posts,
                                          workdir=root)))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    else:
        print(json.dumps(badge_in_figures(args.db, employees=args.employees,
                                          groups=args.groups)))


if __name__ == "__main__":
    main()
