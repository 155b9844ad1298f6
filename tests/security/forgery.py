"""What someone who can write the database and has read the code does to the audit log:
recompute every hash after an entry they changed, or cut main's newest entries and rewind
its head. Both leave a log that ``verify`` finds intact; only an anchor noted outside the
database before (``services.audit.Anchor``) tells."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text
from sqlalchemy.engine import Connection

from hr_console.services import audit


def rewrite_main(conn: Connection, pos: int, actor: str) -> None:
    """Main's entry ``pos`` gets another actor; it and every later main entry get their
    hashes recomputed as the code computes them, and main's head follows."""
    rows = conn.execute(text(
        "SELECT id, ts, actor, action, target, detail, chain, pos, prev_hash FROM audit_log "
        "WHERE chain = 'main' AND pos >= :p ORDER BY pos"), {"p": pos}).all()
    prev = rows[0].prev_hash
    for row in rows:
        who = actor if row.pos == pos else row.actor
        detail = row.detail
        if isinstance(detail, str):  # SQLite hands JSON back as text through text()
            detail = json.loads(detail)
        ts = dt.datetime.fromisoformat(row.ts) if isinstance(row.ts, str) else row.ts
        digest = audit._digest_of(prev, row.id, ts, who, row.action, row.target, detail,
                                  row.chain, row.pos)
        conn.execute(text("UPDATE audit_log SET actor = :a, prev_hash = :p, hash = :h "
                          "WHERE id = :id"), {"a": who, "p": prev, "h": digest, "id": row.id})
        prev = digest
    conn.execute(text("UPDATE audit_heads SET hash = :h WHERE chain = 'main'"), {"h": prev})


def cut_main(conn: Connection, keep: int) -> None:
    """Main's entries after ``keep`` deleted, its head rewound to match: no hash to compute."""
    conn.execute(text("DELETE FROM audit_log WHERE chain = 'main' AND pos > :k"), {"k": keep})
    last = conn.execute(text("SELECT id, hash FROM audit_log WHERE chain = 'main' AND pos = :k"),
                        {"k": keep}).one()
    conn.execute(text("UPDATE audit_heads SET entries = :k, last_id = :i, hash = :h "
                      "WHERE chain = 'main'"), {"k": keep, "i": last.id, "h": last.hash})
