"""Large, realistic data for a home: thousands of employees in teams on several sites and
a million messages over 90 days, in every state, for measuring the console at scale.

Rows go in with SQLAlchemy Core ``executemany`` in chunks (no ORM objects, no per-row
audit), which loads a million messages in a minute or two on SQLite. Never run it on a
production home: it is for benchmarks and demos (the CLI asks for ``--yes`` if the home
already holds messages).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from hr_console.store.models import (
    Employee,
    Media,
    Message,
    ModerationDecision,
    Site,
    Team,
    Terminal,
    search_key,
    utcnow,
)

FIRST = ["Sophie", "Karim", "Julie", "Thomas", "Amina", "Lucas", "Léa", "Hugo", "Chloé", "Nathan",
         "Inès", "Yanis", "Manon", "Mehdi", "Camille", "Louis", "Sarah", "Enzo", "Fatou", "Jules",
         "Emma", "Rayan", "Zoé", "Théo", "Nadia", "Paul", "Aïcha", "Victor", "Lina", "Samir"]
LAST = ["Martin", "Benali", "Moreau", "Petit", "Diallo", "Bernard", "Dubois", "Durand", "Leroy",
        "Lefebvre", "Garcia", "Roux", "Fournier", "Girard", "Haddad", "Nguyen", "Lambert",
        "Fontaine", "Mercier", "Traoré", "Chevalier", "Robin", "Masson", "Sanchez", "Mbappé"]
TEAM_WORDS = ["Atelier", "Logistique", "Expédition", "Réception", "Maintenance", "Qualité",
              "Montage", "Emballage", "Nettoyage", "Préparation", "Quai", "Magasin"]
SITE_NAMES = ["Lyon", "Lille", "Nantes", "Rouen", "Metz", "Dijon", "Tours", "Reims"]
TEXTS = ["OK, bien reçu", "J'arrive", "Dans 5 minutes", "La ligne 3 est arrêtée",
         "Il manque des palettes au quai 2", "Je peux échanger mon poste demain ?",
         "Réunion sécurité à 14 h", "Merci pour ton aide", "Fuite d'huile sur la presse 4",
         "Je serai en retard de 10 minutes", "Qui a les clés du local ?", "Bonne pause !",
         "On parle de la grève demain ?", "Besoin d'un cariste en zone B"]
# (state, weight) for messages older than two days; recent ones also wait or just arrived.
OLD_STATES = [("read", 70), ("delivered", 12), ("refused", 3), ("rejected", 2),
              ("retracted", 0.5), ("accepted", 1)]


@dataclass
class Generated:
    sites: int = 0
    teams: int = 0
    employees: int = 0
    terminals: int = 0
    messages: int = 0
    held: int = 0
    decisions: int = 0
    media: int = 0


def _jpeg(seed: int) -> bytes:
    from PIL import Image

    rng = random.Random(seed)
    img = Image.new("RGB", (160, 120), tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70)
    return buf.getvalue()


def _drawing(rng: random.Random) -> dict:
    strokes = []
    for _ in range(rng.randint(1, 4)):
        pts: list[int] = []
        for _ in range(rng.randint(2, 12)):
            pts += [rng.randrange(0, 400), rng.randrange(0, 300)]
        strokes.append({"c": rng.choice(["#000000", "#d62728", "#1f77b4", "#2ca02c"]),
                        "w": rng.choice([3, 6, 10]), "p": pts})
    return {"w": 400, "h": 300, "strokes": strokes}


def generate(session: Session, *, employees: int = 10_000, messages: int = 1_000_000,
             days: int = 90, sites: int = 5, team_size: int = 40, held: int = 400,
             chunk: int = 20_000, seed: int = 7, now: dt.datetime | None = None,
             progress: Callable[[str], None] | None = None) -> Generated:
    """Add a generated organisation and its traffic to the database of ``session``.

    ``held`` messages stay waiting for moderation (the most recent ones); post-moderated
    messages of the last week are partly unreviewed. Commits are the caller's."""
    rng = random.Random(seed)
    now = now or utcnow()
    out = Generated()
    say = progress or (lambda _m: None)
    tag = uuid.uuid4().hex[:6]  # names stay unique when run twice on one home

    conn = session.connection()
    site_ids = []
    for i in range(sites):
        name = f"{SITE_NAMES[i % len(SITE_NAMES)]}-{tag}-{i + 1}"
        site_ids.append(conn.execute(insert(Site).values(name=name).returning(Site.id)).scalar_one())
    out.sites = len(site_ids)

    n_teams = max(1, employees // team_size)
    # Most teams are trusted; a few are pre-moderated (new hires, a history of trouble).
    modes = ["pre"] * 1 + ["post"] * 4 + ["none"] * 5
    team_rows = [{"name": f"{TEAM_WORDS[i % len(TEAM_WORDS)]} {i // len(TEAM_WORDS) + 1}",
                  "site_id": site_ids[i % len(site_ids)], "moderation_mode": rng.choice(modes)}
                 for i in range(n_teams)]
    conn.execute(insert(Team), team_rows)
    team_ids = list(conn.execute(select(Team.id).where(Team.site_id.in_(site_ids))
                                 .order_by(Team.id)).scalars())
    out.teams = len(team_ids)

    first_emp = (session.scalar(select(func.max(Employee.id))) or 0) + 1
    emp_rows = []
    created = now - dt.timedelta(days=days + 30)
    for i in range(employees):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {i + 1:05d}"
        emp_rows.append({"id": first_emp + i, "name": name, "search_name": search_key(name),
                         "team_id": team_ids[i % len(team_ids)],
                         "language": "fr" if rng.random() < .85 else "en",
                         "active": True, "is_hr_desk": False, "moderation_mode": None,
                         "failed_logins": 0, "created_at": created})
    for start in range(0, len(emp_rows), chunk):
        conn.execute(insert(Employee), emp_rows[start:start + chunk])
    out.employees = employees
    emp_ids = [r["id"] for r in emp_rows]
    team_of = {r["id"]: r["team_id"] for r in emp_rows}
    members: dict[int, list[int]] = {}
    for eid, tid in team_of.items():
        members.setdefault(tid, []).append(eid)
    for tid, ids in members.items():  # the first member of each team leads it
        conn.execute(Team.__table__.update().where(Team.id == tid).values(supervisor_id=ids[0]))
    team_mode = {r_id: row["moderation_mode"] for r_id, row in zip(team_ids, team_rows, strict=False)}
    say(f"{out.sites} sites, {out.teams} teams, {out.employees} employees")

    term_rows = [{"name": f"g{tag}-{s}-{k}", "site_id": sid, "active": True,
                  "online": rng.random() < 0.9, "last_seen": now - dt.timedelta(minutes=rng.randrange(0, 60)),
                  "last_seq": 0, "created_at": created}
                 for s, sid in enumerate(site_ids) for k in range(8)]
    conn.execute(insert(Terminal), term_rows)
    out.terminals = len(term_rows)

    media_ids = []
    for k in range(12):
        data = _jpeg(seed + k)
        media_ids.append(conn.execute(insert(Media).values(
            sha256=hashlib.sha256(data).hexdigest(), mime="image/jpeg", data=data,
            created_at=now).returning(Media.id)).scalar_one())
    out.media = len(media_ids)

    states, weights = zip(*OLD_STATES, strict=True)
    span = days * 86400
    first_msg = (session.scalar(select(func.max(Message.id))) or 0) + 1
    recent_window = range(max(0, messages - held * 4), messages)
    held_idx = set(rng.sample(recent_window, min(held, len(recent_window))))
    decision_rows: list[dict] = []
    batch: list[dict] = []
    # Messages in time order, so ids grow with created_at as they do in real life.
    offsets = sorted(rng.random() for _ in range(messages))
    for n, frac in enumerate(offsets):
        age_s = span * (1 - frac)
        created_at = now - dt.timedelta(seconds=age_s)
        # Most traffic in working hours: fold night-time messages into the day shift.
        if created_at.hour < 5 or created_at.hour > 22:
            created_at = created_at.replace(hour=rng.randrange(6, 21))
            if created_at > now:
                created_at = now - dt.timedelta(seconds=rng.randrange(60, 3600))
        pos = rng.randrange(len(emp_ids))
        sender = emp_ids[pos]
        # Most talk stays in the team.
        in_team = rng.random() < 0.8
        recipient = rng.choice(members[team_of[sender]]) if in_team else rng.choice(emp_ids)
        if recipient == sender:
            recipient = emp_ids[(pos + 1) % len(emp_ids)]
        mode = team_mode.get(team_of[sender]) or "pre"
        kind = "text" if rng.random() < 0.9 else ("photo" if rng.random() < 0.6 else "drawing")
        body = rng.choice(TEXTS) if kind == "text" else ("" if kind == "drawing" else "Photo")
        if "grève" in body and rng.random() < 0.9:  # keyword hits are rare
            body = TEXTS[0]
        hits = ["grève"] if "grève" in body else None
        if n in held_idx:
            state = "held"
        elif age_s < 3600 and rng.random() < 0.3:
            state = "accepted"
        else:
            state = rng.choices(states, weights)[0]
        pre = mode == "pre" or hits is not None or state == "held"
        moderation = "pre" if pre else mode
        decided_at = delivered_at = read_at = None
        reason = None
        reviewed = moderation != "post" or age_s > 7 * 86400 or rng.random() < 0.6
        if state == "refused":
            reason = "not_allowed"
        elif pre and state != "held":
            wait = dt.timedelta(seconds=rng.choice([30, 90, 240, 600, 1800, 3600, 7200]) * rng.random() + 20)
            decided_at = min(now, created_at + wait)
            decision = "reject" if state == "rejected" else "approve"
            decision_rows.append({"message_id": first_msg + n, "decided_by": None,
                                  "decision": decision, "created_at": decided_at,
                                  "reason": "Hors sujet" if decision == "reject" else None})
            if state == "rejected":
                reason = "Hors sujet"
        if state in ("delivered", "read", "retracted"):
            delivered_at = (decided_at or created_at) + dt.timedelta(seconds=rng.randrange(1, 600))
        if state == "read":
            read_at = delivered_at + dt.timedelta(seconds=rng.randrange(5, 7200))
        if state == "retracted":
            decided_at = delivered_at
            reason = "Retiré par les RH"
            decision_rows.append({"message_id": first_msg + n, "decided_by": None,
                                  "decision": "retract", "created_at": decided_at, "reason": reason})
        batch.append({
            "id": first_msg + n, "client_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "sender_id": sender, "recipient_id": recipient, "terminal_id": None, "kind": kind,
            "body": body, "drawing": _drawing(rng) if kind == "drawing" else None,
            "media_id": rng.choice(media_ids) if kind == "photo" else None, "state": state,
            "reason": reason, "moderation": moderation, "keyword_hits": hits,
            "reviewed": reviewed if state not in ("held",) else False,
            "sent_ts": int(created_at.replace(tzinfo=dt.UTC).timestamp() * 1000), "seq": None,
            "created_at": created_at, "decided_at": decided_at, "delivered_at": delivered_at,
            "read_at": read_at,
        })
        if state == "held":
            out.held += 1
        if len(batch) >= chunk:
            conn.execute(insert(Message), batch)
            out.messages += len(batch)
            batch = []
            if decision_rows:
                conn.execute(insert(ModerationDecision), decision_rows)
                out.decisions += len(decision_rows)
                decision_rows = []
            if out.messages % (chunk * 10) == 0:
                say(f"{out.messages} messages")
    if batch:
        conn.execute(insert(Message), batch)
        out.messages += len(batch)
    if decision_rows:
        conn.execute(insert(ModerationDecision), decision_rows)
        out.decisions += len(decision_rows)
    if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        for table in ("employees", "messages"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))")
    return out
