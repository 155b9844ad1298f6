"""Large, realistic data for a home: thousands of employees in teams on several sites, the
contact rules, badges, PINs, terminals and shifts a real organisation has, and a million
messages over 90 days, in every state, for measuring the console and the relay at scale.

Rows go in with SQLAlchemy Core ``executemany`` in chunks (no ORM objects, no per-row
audit), which loads a million messages in a minute or two on SQLite. Never run it on a
production home: it is for benchmarks and demos (the CLI asks for ``--yes`` if the home
already holds messages).

The organisation (:func:`organisation`) is what a badge-in at scale is measured on
(``relais bench``, tests/bench/test_contact_list_bench.py): every team talks within itself
and to its supervisor, everyone may write to the HR desk, a few hundred person-to-person
rules and some team pairs, mostly within a site, a few across sites.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, func, insert, select, update
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
    rules: int = 0
    badges: int = 0
    pins: int = 0
    shifts: int = 0
    badge_first: str = ""  # badge numbers run from badge_first to badge_last
    badge_last: str = ""


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


GEN_PIN = "2468"  # the PIN of every generated employee who has one (a bench must badge in)
EMPLOYEES_PER_TERMINAL = 30  # a kiosk by each time clock: one per 30 people on a site
# (name, start, end, days): shifts rotate over the teams of a site.
SHIFTS = [("Matin", dt.time(6), dt.time(14), "mon,tue,wed,thu,fri"),
          ("Après-midi", dt.time(14), dt.time(22), "mon,tue,wed,thu,fri"),
          ("Nuit", dt.time(22), dt.time(6), "sun,mon,tue,wed,thu"),
          ("Journée", dt.time(8), dt.time(17), "mon,tue,wed,thu,fri"),
          ("Week-end", dt.time(6), dt.time(18), "sat,sun")]


@dataclass
class Org:
    """What :func:`organisation` made, with the ids a benchmark needs to pick people."""

    tag: str
    site_ids: list[int]
    team_ids: list[int]  # the HR department's team first
    employee_ids: list[int]  # in creation order; badge(i) belongs to employee_ids[i]
    hr_desk: list[int]
    supervisors: list[int]
    inactive: set[int]
    pin_holders: set[int]
    team_of: dict[int, int]
    members: dict[int, list[int]]
    team_mode: dict[int, str | None]
    terminals: list[str]
    rules: int = 0
    shifts: int = 0
    badges: int = 0

    def badge(self, i: int) -> str:
        """The badge number of the ``i``-th employee made (its hash is what is stored)."""
        return badge_number(self.tag, i)

    def index(self, employee_id: int) -> int:
        return employee_id - self.employee_ids[0]


def badge_number(tag: str, i: int) -> str:
    return f"G{tag}{i:06d}".upper()


def organisation(session: Session, *, employees: int, sites: int = 5, team_size: int = 40,
                 hr_desk: int | None = None, person_rules: int = 200, team_pairs: int = 50,
                 cross_site: float = 0.2, inactive: float = 0.02, pins: float = 0.05,
                 pepper: str | None = None, seed: int = 7, tag: str | None = None,
                 now: dt.datetime | None = None) -> Org:
    """Sites, teams (each with a supervisor and a shift), employees with badges (``pepper``
    given) and some PINs, an HR department whose first ``hr_desk`` people are the HR desk,
    the contact rules of :mod:`hr_console.domain.policy` and one terminal per
    ``EMPLOYEES_PER_TERMINAL`` people of each site. Core inserts; ids follow the rows already
    there; commits are the caller's."""
    from hr_console.domain.partitions import partition_of
    from hr_console.services.secrets import badge_hash, hash_secret
    from hr_console.store.models import ContactRule, Shift

    rng = random.Random(seed)
    now = now or utcnow()
    tag = tag or uuid.uuid4().hex[:6]  # names stay unique when run twice on one home
    hr_desk = hr_desk if hr_desk is not None else max(1, min(6, employees // 20))
    conn = session.connection()
    site_ids = []
    for i in range(sites):
        name = f"{SITE_NAMES[i % len(SITE_NAMES)]}-{tag}-{i + 1}"
        site_ids.append(conn.execute(insert(Site).values(name=name).returning(Site.id)).scalar_one())

    n_teams = max(1, (employees - hr_desk) // team_size)
    # Most teams are trusted; a few are pre-moderated (new hires, a history of trouble).
    modes = ["pre"] * 1 + ["post"] * 4 + ["none"] * 5
    team_rows = [{"name": "Ressources humaines", "site_id": site_ids[0], "moderation_mode": "none"}]
    team_rows += [{"name": f"{TEAM_WORDS[i % len(TEAM_WORDS)]} {i // len(TEAM_WORDS) + 1}",
                   "site_id": site_ids[i % len(site_ids)], "moderation_mode": rng.choice(modes)}
                  for i in range(n_teams)]
    first_team = (session.scalar(select(func.max(Team.id))) or 0) + 1
    for k, row in enumerate(team_rows):
        row["id"] = first_team + k
    conn.execute(insert(Team), team_rows)
    team_ids = [r["id"] for r in team_rows]
    site_of_team = {r["id"]: r["site_id"] for r in team_rows}
    hr_team, work_teams = team_ids[0], team_ids[1:]

    first_emp = (session.scalar(select(func.max(Employee.id))) or 0) + 1
    created = now - dt.timedelta(days=120)
    pin_hash = hash_secret(GEN_PIN) if pins > 0 else None  # one slow hash, shared
    emp_rows = []
    for i in range(employees):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {i + 1:05d}"
        team = hr_team if i < hr_desk else work_teams[(i - hr_desk) % len(work_teams)]
        emp_rows.append({
            "id": first_emp + i, "name": name, "search_name": search_key(name), "team_id": team,
            "language": "fr" if rng.random() < .85 else "en", "active": True,
            "is_hr_desk": i < hr_desk, "moderation_mode": None, "failed_logins": 0,
            "created_at": created,
            "badge_hash": badge_hash(pepper, badge_number(tag, i)) if pepper else None,
            "pin_hash": pin_hash if i >= hr_desk and rng.random() < pins else None})
    members: dict[int, list[int]] = {}
    for r in emp_rows:
        members.setdefault(r["team_id"], []).append(r["id"])
    supervisors = {t: ids[0] for t, ids in members.items()}  # the first member leads the team
    keep = set(supervisors.values())
    gone = set()
    for r in emp_rows[hr_desk:]:  # people who left: their rows stay, they cannot badge in
        if r["id"] not in keep and rng.random() < inactive:
            r["active"] = False
            gone.add(r["id"])
    for start in range(0, len(emp_rows), 5000):
        conn.execute(insert(Employee), emp_rows[start:start + 5000])
    conn.execute(update(Team).where(Team.id == bindparam("tid"))
                 .values(supervisor_id=bindparam("sid")),
                 [{"tid": t, "sid": e} for t, e in supervisors.items()])

    rules = []
    for t in team_ids:
        rules.append(dict(sender_kind="team", sender_ref=t, recipient_kind="team",
                          recipient_ref=t, allow_reply=True))
        rules.append(dict(sender_kind="team", sender_ref=t, recipient_kind="supervisor",
                          recipient_ref=None, allow_reply=True))
    rules.append(dict(sender_kind="everyone", sender_ref=None, recipient_kind="hr_desk",
                      recipient_ref=None, allow_reply=True))
    ids = [r["id"] for r in emp_rows]
    for _ in range(min(person_rules, len(ids) // 2)):
        a, b = rng.sample(ids, 2)
        rules.append(dict(sender_kind="person", sender_ref=a, recipient_kind="person",
                          recipient_ref=b, allow_reply=rng.random() < 0.5))
    by_site: dict[int, list[int]] = {}
    for t in work_teams:
        by_site.setdefault(site_of_team[t], []).append(t)
    for _ in range(min(team_pairs, len(work_teams)) if len(work_teams) > 1 else 0):
        a = rng.choice(work_teams)
        same = [t for t in by_site[site_of_team[a]] if t != a]
        b = rng.choice(same) if same and rng.random() >= cross_site else rng.choice(
            [t for t in work_teams if t != a])
        rules.append(dict(sender_kind="team", sender_ref=a, recipient_kind="team",
                          recipient_ref=b, allow_reply=True))
    conn.execute(insert(ContactRule), [{**r, "created_at": created} for r in rules])

    shift_rows = []
    for k, t in enumerate(work_teams):
        name, start_t, end_t, days = SHIFTS[k // len(site_ids) % len(SHIFTS)]
        shift_rows.append({"name": name, "team_id": t, "days": days, "start_time": start_t,
                           "end_time": end_t})
    shift_rows.append({"name": "Bureau", "team_id": hr_team, "days": "mon,tue,wed,thu,fri",
                       "start_time": dt.time(9), "end_time": dt.time(17, 30)})
    conn.execute(insert(Shift), shift_rows)

    per_site: dict[int, int] = {}
    for r in emp_rows:
        per_site[site_of_team[r["team_id"]]] = per_site.get(site_of_team[r["team_id"]], 0) + 1
    term_rows = []
    for s, sid in enumerate(site_ids):
        for k in range(-(-per_site.get(sid, 0) // EMPLOYEES_PER_TERMINAL)):
            name = f"g{tag}-{s + 1}-{k + 1:03d}"
            term_rows.append({"name": name, "site_id": sid, "active": True,
                              "online": rng.random() < 0.9, "partition": partition_of(name),
                              "last_seen": now - dt.timedelta(minutes=rng.randrange(0, 60)),
                              "last_seq": 0, "created_at": created})
    conn.execute(insert(Terminal), term_rows)
    if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        for table in ("employees", "teams"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))")
    return Org(tag=tag, site_ids=site_ids, team_ids=team_ids, employee_ids=ids,
               hr_desk=ids[:hr_desk], supervisors=list(supervisors.values()), inactive=gone,
               pin_holders={r["id"] for r in emp_rows if r["pin_hash"]},
               team_of={r["id"]: r["team_id"] for r in emp_rows}, members=members,
               team_mode={r["id"]: r["moderation_mode"] for r in team_rows},
               terminals=[r["name"] for r in term_rows], rules=len(rules),
               shifts=len(shift_rows), badges=employees if pepper else 0)


def generate(session: Session, *, employees: int = 10_000, messages: int = 1_000_000,
             days: int = 90, sites: int = 5, team_size: int = 40, held: int = 400,
             person_rules: int = 200, team_pairs: int = 50, pins: float = 0.05,
             pepper: str | None = None, chunk: int = 20_000, seed: int = 7,
             now: dt.datetime | None = None,
             progress: Callable[[str], None] | None = None) -> Generated:
    """Add a generated organisation (:func:`organisation`) and its traffic to the database
    of ``session``.

    ``held`` messages stay waiting for moderation (the most recent ones); post-moderated
    messages of the last week are partly unreviewed. Commits are the caller's."""
    rng = random.Random(seed)
    now = now or utcnow()
    say = progress or (lambda _m: None)
    org = organisation(session, employees=employees, sites=sites, team_size=team_size,
                       person_rules=person_rules, team_pairs=team_pairs, pins=pins,
                       pepper=pepper, seed=seed, now=now)
    out = Generated(sites=len(org.site_ids), teams=len(org.team_ids), employees=employees,
                    terminals=len(org.terminals), rules=org.rules, badges=org.badges,
                    pins=len(org.pin_holders), shifts=org.shifts,
                    badge_first=org.badge(0) if org.badges else "",
                    badge_last=org.badge(employees - 1) if org.badges else "")
    conn = session.connection()
    emp_ids, team_of, members, team_mode = (org.employee_ids, org.team_of, org.members,
                                            org.team_mode)
    say(f"{out.sites} sites, {out.teams} teams, {out.employees} employees, {out.rules} "
        f"contact rules, {out.terminals} terminals")

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
        for table in ("messages",):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))")
    return out
