"""The relay's database path alone, driven in process: CPU and SQL statements per delivered
message, without a broker or terminals competing for the same cores.

A ``Relay`` whose MQTT client only records what it would publish is fed uplinks straight
into its worker's batch path (``Relay._commit``), as the real worker would commit them:
every sender sends one text per round, each recipient confirms its copy, each sender
confirms the ``delivered`` state; batches of up to ``BATCH_MAX`` uplinks. The figures are
``time.process_time`` and the statements the engine ran during those commits, divided by
the messages that reached ``delivered``.

    python -m bench.hot_path --db sqlite --pairs 32 --rounds 20
    python -m bench.hot_path --db postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.engine import make_url

from bench.system import _pg_admin, badge, create_org, terminal_name
from broker_config.ports import free_port
from hr_console import config as config_mod
from hr_console.relay.mqtt import BATCH_MAX, Inbound, Relay
from hr_console.store.db import Store
from hr_console.store.models import ContactRule, Employee
from relais_wire import topics
from relais_wire.envelope import CONTENT_KINDS, b64, encode, envelope


@dataclass
class _Recorder:
    """Stands in for the paho client: keeps what the relay publishes."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> None:
        self.sent.append((topic, json.loads(payload)))

    def ack(self, _mid: int, _qos: int) -> None:
        return None

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        out, self.sent = self.sent, []
        return out


@dataclass
class _Figures:
    cpu_s: float = 0.0
    statements: int = 0
    uplinks: int = 0
    batches: int = 0


class DrivenRelay(Relay):
    """A relay with no broker: ``feed`` commits uplinks in batches and returns what went out."""

    def __init__(self, cfg: config_mod.Settings, store: Store) -> None:
        super().__init__(cfg, store, purge_every=None)
        self.client = _Recorder()  # type: ignore[assignment]
        self._mid = 0
        self.figures = _Figures()
        self._counting = False
        event.listen(store.engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        if self._counting:
            self.figures.statements += 1

    def feed(self, uplinks: list[tuple[str, dict[str, Any]]], batch: int = BATCH_MAX
             ) -> list[tuple[str, dict[str, Any]]]:
        for start in range(0, len(uplinks), batch):
            items = []
            for terminal, env in uplinks[start:start + batch]:
                self._mid += 1
                items.append(Inbound(self._mid, 1, topics.uplink(terminal), encode(env)))
            self._counting = True
            t0 = time.process_time()
            self._commit(items)
            self.figures.cpu_s += time.process_time() - t0
            self._counting = False
            self.figures.uplinks += len(items)
            self.figures.batches += 1
        return self.client.take()  # type: ignore[attr-defined]


def _tracked(payload: dict[str, Any]) -> bool:
    """What a kiosk confirms (kiosk_app.link.client._tracked): rows, not direct replies."""
    kind = payload["type"]
    return kind in CONTENT_KINDS or (kind == "state" and "ref" not in payload)


def _more_rules(store: Store, count: int) -> None:
    """``count`` person-to-person rules about people outside the bench pairs, as a large
    organisation has: the contact check must not cost more with them."""
    if count <= 0:
        return
    rnd = random.Random(14)
    with store.session() as s:
        s.execute(insert(ContactRule), [
            {"sender_kind": "person", "sender_ref": rnd.randrange(10**5, 10**6),
             "recipient_kind": "person", "recipient_ref": rnd.randrange(10**5, 10**6),
             "allow_reply": True} for _ in range(count)])


def drive(db_url: str, *, pairs: int, rounds: int, batch: int = BATCH_MAX,
          workdir: Path | None = None, rules: int = 0, clip: bytes | None = None
          ) -> dict[str, Any]:
    """``clip``: every message is this voice clip instead of a text, its re-encoding made
    beforehand (as the relay's voice desk does beside the worker), so the figures are the
    worker's own cost of a voice message."""
    root = Path(workdir or tempfile.mkdtemp(prefix="relais-hotpath-"))
    from hr_console.cli.home import initialise

    cfg = initialise(config_mod.load(root / "home", db_url=db_url, mqtt_port=free_port()))
    create_org(cfg, 2 * pairs)
    store = Store(cfg.database_url)
    try:
        _more_rules(store, rules)
        clip_ms = 0
        if clip is not None:
            from hr_console.services import settings, voice
            from relais_wire import audio

            clip_ms = max(1, audio.check_ogg(clip).claimed_ms)

            voice.prepared.put(voice.key(clip), voice.normalise(clip))
            with store.session() as s:  # delivered like a text, as figure 2's are
                settings.put(s, "voice_always_held", False)
        with store.session() as s:
            ids = {n: i for n, i in s.execute(select(Employee.name, Employee.id))}
        relay = DrivenRelay(cfg, store)
        names = [terminal_name(i) for i in range(1, 2 * pairs + 1)]
        logins = [(name, envelope("login", badge=badge(i), last_seq=0))
                  for i, name in enumerate(names, 1)]
        sids: dict[str, str] = {}
        for topic, payload in relay.feed(logins, batch):
            if payload["type"] == "login" and payload.get("ok"):
                sids[topics.terminal_of(topic) or ""] = payload["sid"]
        assert len(sids) == len(names), "every bench terminal badged in"
        relay.figures = _Figures()
        delivered = 0
        for r in range(1, rounds + 1):
            texts = []
            for p in range(pairs):
                a, b = 2 * p + 1, 2 * p + 2
                content = ({"text": f"round {r} from {a}"} if clip is None else
                           {"audio": b64(clip), "duration_ms": clip_ms, "codec": "opus"})
                texts.append((terminal_name(a), envelope(
                    "voice" if clip is not None else "text", sid=sids[terminal_name(a)],
                    seq=r, to=ids[f"Bench {b:04d}"], **content)))
            out = relay.feed(texts, batch)
            while out:
                receipts = []
                for topic, payload in out:
                    term = topics.terminal_of(topic) or ""
                    if payload["type"] == "state" and payload.get("state") == "delivered":
                        delivered += 1
                    if _tracked(payload):
                        receipts.append((term, envelope("receipt", sid=sids[term],
                                                        ref=payload["id"], status="received")))
                out = relay.feed(receipts, batch) if receipts else []
        f = relay.figures
        return {
            "database": make_url(db_url).get_backend_name(), "pairs": pairs, "rounds": rounds,
            "extra_rules": rules,
            "batch": batch, "delivered": delivered, "uplinks": f.uplinks, "batches": f.batches,
            "cpu_ms_per_delivered": round(1000 * f.cpu_s / max(delivered, 1), 3),
            "statements_per_delivered": round(f.statements / max(delivered, 1), 2),
        }
    finally:
        store.dispose()
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL admin URL")
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=BATCH_MAX)
    parser.add_argument("--rules", type=int, default=0, help="extra contact rules")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="relais-hotpath-"))
    pg_name = None
    try:
        if args.db == "sqlite":
            url = f"sqlite:///{root / 'relais.db'}"
        else:
            pg_name = f"relais_hotpath_{uuid.uuid4().hex[:10]}"
            _pg_admin(args.db, f'CREATE DATABASE "{pg_name}"')
            url = make_url(args.db).set(database=pg_name).render_as_string(hide_password=False)
        print(json.dumps(drive(url, pairs=args.pairs, rounds=args.rounds, batch=args.batch,
                               workdir=root, rules=args.rules)))
    finally:
        if pg_name:
            _pg_admin(args.db, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
