"""Time and size of an access-request export (issue 17) of one person with many messages.

A fresh home (SQLite in a temporary folder, or ``--db`` a PostgreSQL URL), ``gendata``'s
organisation of ``--employees`` people with ``--background`` messages between them, and one
worker with ``--messages`` messages of their own (half sent, half received; a fifth photos,
each its own 640x480 camera-like JPEG, a fifth finger drawings). Then
``services.person_export.export`` as the console's thread runs it, timed, and the ZIP's
size and contents reported as JSON.

    python -m bench.person_export [--messages 10000] [--db POSTGRESQL_URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import random
import shutil
import tempfile
import time
import tracemalloc
import uuid
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from broker_config.ports import free_port
from hr_console import config as config_mod
from hr_console.store.db import Store


def _photo(rng: random.Random) -> bytes:
    """A 640x480 JPEG with a terminal camera's grain (a flat picture would compress away)."""
    from PIL import Image, ImageFilter

    noise = Image.frombytes("RGB", (160, 120), rng.randbytes(160 * 120 * 3))
    img = noise.resize((640, 480), Image.Resampling.BICUBIC).filter(ImageFilter.SMOOTH)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _populate(store: Store, pepper: str, employees: int, background: int, messages: int,
              seed: int = 11) -> int:
    """The organisation and its traffic, then the person's own messages; returns their id."""
    from hr_console.services import gendata
    from hr_console.store.models import Employee, Media, Message, utcnow

    rng = random.Random(seed)
    with store.session() as s:
        gendata.generate(s, employees=employees, messages=background, pepper=pepper,
                         pins=0, held=0, seed=seed)
    with store.session() as s:
        org_first = s.scalar(select(func.min(Employee.id)))
        person = org_first + 5
        peers = list(range(org_first + 6, org_first + 26))
        conn = s.connection()
        now = utcnow()
        rows = []
        for i in range(messages):
            kind = ("photo", "drawing", "text", "text", "text")[i % 5]
            media_id = None
            if kind == "photo":
                data = _photo(rng)
                media_id = conn.execute(insert(Media).values(
                    sha256=hashlib.sha256(data).hexdigest(), mime="image/jpeg", data=data,
                    created_at=now).returning(Media.id)).scalar_one()
            peer = peers[i % len(peers)]
            sent = i % 2 == 0
            rows.append({
                "client_id": str(uuid.uuid4()), "sender_id": person if sent else peer,
                "recipient_id": peer if sent else person, "terminal_id": None, "kind": kind,
                "body": rng.choice(gendata.TEXTS) if kind != "drawing" else "",
                "drawing": gendata._drawing(rng) if kind == "drawing" else None,
                "media_id": media_id, "state": "read", "moderation": "pre",
                "reviewed": True, "sent_ts": 0,
                "created_at": now - dt.timedelta(minutes=messages - i),
            })
            if len(rows) >= 2000:
                conn.execute(insert(Message), rows)
                rows = []
        if rows:
            conn.execute(insert(Message), rows)
    return person


def export_figures(db_url: str | None, *, messages: int = 10_000, employees: int = 2_000,
                   background: int = 100_000, memory: bool = False) -> dict[str, Any]:
    """See the module's docstring. ``db_url`` None: SQLite in a temporary home. ``memory``:
    trace Python's allocations during the export and report their peak (slower: the time
    figures of such a run are not the export's)."""
    from hr_console.cli.home import initialise
    from hr_console.services import person_export

    tmp = Path(tempfile.mkdtemp(prefix="relais-person-export-"))
    try:
        cfg = initialise(config_mod.load(tmp / "home", db_url=db_url, mqtt_port=free_port(),
                                         console_port=free_port()))
        store = Store(cfg.database_url)
        t0 = time.monotonic()
        person = _populate(store, cfg.badge_pepper, employees, background, messages)
        filled = time.monotonic() - t0
        out = tmp / "export.zip"
        if memory:
            tracemalloc.start()
        cpu0 = time.process_time()
        result = person_export.export(store, person, out, actor="bench", language="fr",
                                      home=cfg.home, timezone=cfg.timezone, via="bench")
        cpu = time.process_time() - cpu0
        peak = tracemalloc.get_traced_memory()[1] if memory else None
        tracemalloc.stop()
        with zipfile.ZipFile(out) as zf:
            infos = zf.infolist()
            json_bytes = sum(i.file_size for i in infos if i.filename.startswith("json/"))
            report = zf.getinfo("report.html").file_size
            photos = sum(i.file_size for i in infos if i.filename.startswith("photos/"))
        store.dispose()
        return {
            "database": "postgresql" if db_url else "sqlite",
            "person_messages": messages, "background_messages": background,
            "employees": employees, "fill_s": round(filled, 1),
            "export_s": round(result.seconds, 2), "export_cpu_s": round(cpu, 2),
            "zip_bytes": result.size, "json_bytes": json_bytes, "report_html_bytes": report,
            "photo_files": result.photos, "photo_bytes": photos,
            "counts": result.counts,
            **({"python_alloc_peak_mb": round(peak / 2**20, 1)} if peak is not None else {}),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--employees", type=int, default=2_000)
    parser.add_argument("--background", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--memory", action="store_true",
                        help="report the peak of Python's allocations during the export")
    args = parser.parse_args()
    print(json.dumps(export_figures(args.db, messages=args.messages, employees=args.employees,
                                    background=args.background, memory=args.memory), indent=1))


if __name__ == "__main__":
    main()
