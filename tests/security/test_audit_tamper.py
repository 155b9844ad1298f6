"""Tampering with the audit log behind the application's back is caught by `relais audit verify`.

Every case edits the database directly (as someone with database access would), runs the
real command, and then puts the original rows back for the next case. Altering any column,
deleting any row (first, middle, the tail, all of them), reordering rows (ids swapped or
contents swapped), removing a chain's head, moving an entry to another chain and deleting a
terminal's chain whole must each make the command fail with a reason.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, delete, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from broker_config.ports import free_port
from hr_console.cli import main
from hr_console.config import load
from hr_console.services import audit
from hr_console.store.db import make_engine
from hr_console.store.models import AuditEntry, AuditHead, Terminal
from tests.security import forgery, reporting


def relais(home: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Path:
    h = tmp_path / "home"
    assert relais(h, "--db-url", db_url, "--mqtt-port", str(free_port()), "init").exit_code == 0
    assert relais(h, "demo-data", "--password", "tamper-pw-1").exit_code == 0
    engine = make_engine(load(h).database_url)
    try:  # what relays audit for two terminals, each in its chain, between console entries
        with Session(engine) as s, s.begin():
            first, second = s.scalars(select(Terminal.id).order_by(Terminal.id).limit(2))
            for i in range(5):
                audit.record(s, "terminal:T", "badge.unknown",
                             chain=audit.terminal_chain(first if i % 2 else second))
            audit.seal(s, "relay:test")  # as the relay does every minute
            audit.record(s, "terminal:T", "badge.unknown", chain=audit.terminal_chain(second))
    finally:
        engine.dispose()
    for i in range(3):  # a few entries with details, from the console-user use case
        result = relais(h, "user", "add", f"user{i}", "--role", "hr", "--password", "long-enough-1")
        assert result.exit_code == 0, result.output
    return h


AUDIT, HEADS = AuditEntry.__table__, AuditHead.__table__


def _rows(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(AUDIT).order_by(AUDIT.c.id))]


def _restore(engine: Engine, rows: list[dict[str, Any]], heads: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(AUDIT))
        conn.execute(insert(AUDIT), rows)
        conn.execute(delete(HEADS))
        conn.execute(insert(HEADS), heads)


def _terminal_chain(conn: Connection) -> str:
    """The first terminal's chain that holds entries."""
    return conn.execute(select(AUDIT.c.chain).where(AUDIT.c.chain != audit.MAIN)
                        .order_by(AUDIT.c.chain).limit(1)).scalar_one()


def _in_terminal_chain(statement: str) -> Callable[[Connection, int], None]:
    """``statement`` run with ``:chain``, a terminal's chain."""
    return lambda conn, _n: conn.execute(text(statement), {"chain": _terminal_chain(conn)})


def _move_to_main(conn: Connection, _n: int) -> None:
    """A terminal's last entry becomes the main chain's next one."""
    chain = _terminal_chain(conn)
    top = conn.execute(text("SELECT MAX(pos) FROM audit_log WHERE chain = 'main'")).scalar()
    conn.execute(text("UPDATE audit_log SET chain = 'main', pos = :p WHERE chain = :c AND pos = "
                      "(SELECT MAX(pos) FROM audit_log WHERE chain = :c)"),
                 {"p": top + 1, "c": chain})


def _swap_ids(conn: Connection, a: int, b: int) -> None:
    conn.execute(text("UPDATE audit_log SET id = -1 WHERE id = :a"), {"a": a})
    conn.execute(text("UPDATE audit_log SET id = :a WHERE id = :b"), {"a": a, "b": b})
    conn.execute(text("UPDATE audit_log SET id = :b WHERE id = -1"), {"b": b})


def _swap_contents(conn: Connection, a: int, b: int) -> None:
    """Two rows exchange everything but their ids: the log reads in another order."""
    rows = {r["id"]: r for r in _rows(conn) if r["id"] in (a, b)}
    for mine, theirs in ((a, b), (b, a)):
        other = rows[theirs]
        conn.execute(text("UPDATE audit_log SET ts = :ts, actor = :actor, action = :action, "
                          "target = :target, prev_hash = :prev_hash, hash = :hash WHERE id = :id"),
                     {**{k: other[k] for k in ("ts", "actor", "action", "target", "prev_hash",
                                               "hash")}, "id": mine})


def _set_detail(conn: Connection, row_id: int, detail: str) -> None:
    cast = "CAST(:d AS JSON)" if conn.dialect.name == "postgresql" else ":d"
    conn.execute(text(f"UPDATE audit_log SET detail = {cast} WHERE id = :id"),
                 {"d": detail, "id": row_id})


def _sql(statement: str, **params: Any) -> Callable[[Connection, int], None]:
    return lambda conn, _n: conn.execute(text(statement), params)


def _cut_and_rewind(keep: int) -> Callable[[Connection, int], None]:
    """A terminal's chain cut to its first ``keep`` entries, its head rewound to match: a
    valid chain, no hash to compute. Only main's seal says it was longer."""
    def tamper(conn: Connection, _n: int) -> None:
        chain = _terminal_chain(conn)
        conn.execute(text("DELETE FROM audit_log WHERE chain = :c AND pos > :k"),
                     {"c": chain, "k": keep})
        last = conn.execute(text("SELECT id, hash FROM audit_log WHERE chain = :c AND pos = :k"),
                            {"c": chain, "k": keep}).first()
        conn.execute(text("UPDATE audit_heads SET entries = :k, last_id = :i, hash = :h "
                          "WHERE chain = :c"),
                     {"k": keep, "i": last.id if last else 0,
                      "h": last.hash if last else audit.GENESIS, "c": chain})
    return tamper


# name -> how to tamper (given the connection and the number of entries)
CASES: dict[str, Callable[[Connection, int], None]] = {
    "alter actor": _sql("UPDATE audit_log SET actor = 'mallory' WHERE id = 5"),
    "alter action": _sql("UPDATE audit_log SET action = 'nothing.happened' WHERE id = 1"),
    "alter target": _sql("UPDATE audit_log SET target = 'employee:999' WHERE id = 7"),
    "alter detail": lambda conn, n: _set_detail(conn, n - 1, '{"role": "admin"}'),
    "alter timestamp": _sql("UPDATE audit_log SET ts = :ts WHERE id = 3",
                            ts="2001-01-01 00:00:00.000000"),
    "add whitespace to a target": _sql("UPDATE audit_log SET target = target || ' ' WHERE id = 2"),
    "alter hash": _sql("UPDATE audit_log SET hash = :h WHERE id = 4", h="f" * 64),
    "alter prev_hash": _sql("UPDATE audit_log SET prev_hash = :h WHERE id = 4", h="0" * 64),
    "alter last row": lambda conn, n: conn.execute(
        text("UPDATE audit_log SET actor = 'mallory' WHERE id = :id"), {"id": n}),
    "delete first row": _sql("DELETE FROM audit_log WHERE id = 1"),
    "delete a middle row": _sql("DELETE FROM audit_log WHERE id = 10"),
    "delete the last row (tail)": lambda conn, n: conn.execute(
        text("DELETE FROM audit_log WHERE id = :id"), {"id": n}),
    "delete the last three rows": lambda conn, n: conn.execute(
        text("DELETE FROM audit_log WHERE id > :id"), {"id": n - 3}),
    "delete every row": _sql("DELETE FROM audit_log"),
    "delete a row and renumber the rest": lambda conn, n: [
        conn.execute(text("DELETE FROM audit_log WHERE id = 8")),
        *[conn.execute(text("UPDATE audit_log SET id = :new WHERE id = :old"),
                       {"new": i - 1, "old": i}) for i in range(9, n + 1)]],
    "reorder: swap two ids": lambda conn, _n: _swap_ids(conn, 6, 9),
    "reorder: swap the last two ids": lambda conn, n: _swap_ids(conn, n - 1, n),
    "reorder: swap two rows' contents": lambda conn, _n: _swap_contents(conn, 12, 13),
    "delete the main chain's head": _sql("DELETE FROM audit_heads WHERE chain = 'main'"),
    "alter a terminal chain's entry": _in_terminal_chain(
        "UPDATE audit_log SET action = 'badge.ok' WHERE chain = :chain AND pos = 1"),
    "delete a terminal chain's first entry": _in_terminal_chain(
        "DELETE FROM audit_log WHERE chain = :chain AND pos = 1"),
    "delete a terminal chain's last entry": _in_terminal_chain(
        "DELETE FROM audit_log WHERE chain = :chain AND pos = "
        "(SELECT MAX(pos) FROM audit_log WHERE chain = :chain)"),
    "delete a terminal chain's head": _in_terminal_chain(
        "DELETE FROM audit_heads WHERE chain = :chain"),
    "delete a terminal's chain whole, head included": lambda conn, _n: [
        conn.execute(text(f"DELETE FROM {table} WHERE chain = :c"), {"c": chain})
        for chain in [_terminal_chain(conn)] for table in ("audit_log", "audit_heads")],
    "move a terminal's entry into the main chain": _move_to_main,
    "delete a sealed terminal entry and rewind its chain's head": _cut_and_rewind(1),
    "empty a terminal's chain and its head": _cut_and_rewind(0),
    # ``seal`` goes by it: set past main's seals, the chain is never sealed again, and its
    # later entries are under no anchor (found by a review of the anchors).
    "set a terminal head's seal mark past main's seals": _sql(
        "UPDATE audit_heads SET sealed = 1000000000 WHERE chain <> 'main'"),
    "delete every terminal's chain whole, heads included": lambda conn, _n: [
        conn.execute(text(f"DELETE FROM {table} WHERE chain <> 'main'"))
        for table in ("audit_log", "audit_heads")],
}


def test_every_kind_of_tampering_is_detected(home: Path, db_url: str) -> None:
    cfg = load(home)
    engine = create_engine(cfg.database_url)
    try:
        with engine.connect() as conn:
            rows = _rows(conn)
            heads = [dict(r._mapping) for r in conn.execute(select(HEADS))]
        n = len(rows)
        assert n >= 25
        clean = relais(home, "audit", "verify")
        assert clean.exit_code == 0 and f"intact: {n} entries" in clean.output, clean.output
        missed, reasons = [], {}
        for name, tamper in CASES.items():
            with engine.begin() as conn:
                tamper(conn, n)
            result = relais(home, "audit", "verify")
            if result.exit_code == 0 or "NOT intact" not in result.output:
                missed.append(name)
            reasons[name] = result.output.strip().splitlines()[-1]
            _restore(engine, rows, heads)
            assert relais(home, "audit", "verify").exit_code == 0, f"restore after {name!r}"
    finally:
        engine.dispose()
    assert not missed, f"undetected: {missed}\n{reasons}"
    backend = "postgresql" if cfg.database_url.startswith("postgresql") else "sqlite"
    reporting.write(
        f"console-security/audit-{backend}", f"Audit log tampering on {backend}",
        [("entries in the log", n), ("kinds of tampering tried", len(CASES)),
         ("detected by `relais audit verify`", len(CASES) - len(missed)),
         ("missed", len(missed))],
        "Tried: " + "; ".join(CASES) + ". The chain catches edits, gaps and reordering; the "
        "head of each chain (entry count and last hash, written in the same transaction as "
        "each entry) catches a cut tail; a terminal's chain is registered in the main one, so "
        "deleting it whole, head included, is caught too. Someone who can write the database "
        "can still rewrite the chains and their heads together: an anchor noted before "
        "(`relais audit verify` shows it, the works council report prints it) catches that, "
        "as test_a_log_forged_consistently_fails_an_anchor_noted_before shows.")


def test_the_installed_command_fails_on_a_cut_tail(home: Path) -> None:
    """The real process, exit status and one-line reason, for the case the chain alone
    cannot see: the last entry deleted."""
    exe = [sys.executable, "-m", "hr_console.cli", "--home", str(home), "audit", "verify"]
    ok = subprocess.run(exe, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "intact" in ok.stdout, ok.stderr
    engine = create_engine(load(home).database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)"))
    finally:
        engine.dispose()
    bad = subprocess.run(exe, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    assert "NOT intact" in bad.stderr and "deleted" in bad.stderr, bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def _anchor(output: str) -> str:
    found = re.search(r"anchor now: (\d+:[0-9a-f]{20})", output)
    assert found, output
    return found.group(1)


# name -> (the forgery, the reason the anchor's check must give)
FORGERIES: dict[str, tuple[Callable[[Connection, int], None], str]] = {
    "rewrite an early entry, every later hash recomputed": (
        lambda conn, _top: forgery.rewrite_main(conn, 2, "mallory"),
        "rewritten up to there"),
    "cut main's two newest entries, its head rewound": (
        lambda conn, top: forgery.cut_main(conn, top - 2),
        "its later entries were deleted"),
}


def test_a_log_forged_consistently_fails_an_anchor_noted_before(home: Path, db_url: str) -> None:
    """The attacker can write the database and has read the code: what they leave is a valid
    log (the plain command says intact, the limit the chains alone have), and the anchor
    noted before fails, with the real command and the reason in one line."""
    noted = _anchor(relais(home, "audit", "verify").output)
    engine = create_engine(load(home).database_url)
    passed, caught = [], []
    try:
        with engine.connect() as conn:
            rows = _rows(conn)
            heads = [dict(r._mapping) for r in conn.execute(select(HEADS))]
        for name, (forge, reason) in FORGERIES.items():
            with engine.begin() as conn:
                top = conn.execute(text("SELECT MAX(pos) FROM audit_log WHERE chain = 'main'")
                                   ).scalar()
                forge(conn, top)
            plain = relais(home, "audit", "verify")
            if plain.exit_code == 0 and "intact" in plain.output \
                    and _anchor(plain.output) != noted:
                passed.append(name)
            checked = relais(home, "audit", "verify", "--anchor", noted)
            if checked.exit_code == 1 and "NOT intact" in checked.output \
                    and reason in checked.output \
                    and len(checked.output.strip().splitlines()) == 1:
                caught.append(name)
            _restore(engine, rows, heads)
    finally:
        engine.dispose()
    assert passed == list(FORGERIES), "each forgery is a valid log to the plain command"
    assert caught == list(FORGERIES), f"not caught by the anchor: {set(FORGERIES) - set(caught)}"
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    reporting.write(
        f"console-security/audit-anchor-{backend}",
        f"Audit log forged with its hashes recomputed, on {backend}",
        [("forgeries tried", len(FORGERIES)),
         ("found intact by plain `relais audit verify`", len(passed)),
         ("caught by `relais audit verify --anchor` with an anchor noted before", len(caught))],
        "Tried: " + "; ".join(FORGERIES) + ". Someone who can write the database and has "
        "read the code leaves a log whose every hash checks; an anchor noted outside the "
        "database before (main's entry count and 20 hex digits of its hash: the command "
        "prints it, the works council report carries it) no longer holds.")


def test_an_anchor_that_holds_and_one_that_cannot_be_read(home: Path) -> None:
    noted = _anchor(relais(home, "audit", "verify").output)
    relais(home, "user", "add", "later", "--role", "hr", "--password", "long-enough-1")
    ok = relais(home, "audit", "verify", "--anchor", noted, "--anchor", noted.upper())
    assert ok.exit_code == 0 and f"anchor {noted} holds" in ok.output, ok.output
    assert _anchor(ok.output) != noted  # the log went on: a new anchor to note
    assert "1 entry of the terminals' chains is not sealed in main yet" in ok.output  # the fixture's last
    for bad in ("12", "12:abc", "x:0123456789abcdef0123", "0:0123456789abcdef0123",
                "3:0123456789abcdef012g", "3:0123456789abcdef", "3000000000:0123456789abcdef0123"):
        refused = relais(home, "audit", "verify", "--anchor", bad)
        assert refused.exit_code == 2 and "20 hexadecimal digits" in refused.output, refused.output
