"""A person with a long history, and other people's traffic beside it, for the access-request
export and the legal-hold tests: a few rows made by the real use cases (messaging.receive,
moderation decisions, a workgroup post fanned out, a safety alert, audited profile
changes), then the volume as the relay would have stored it (Core inserts, as gendata).

``OTHERS_ONLY`` is written only into rows that are not the person's: an export that
contains it has leaked someone else's data."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy import insert, select

from hr_console.domain.charter import starting_text
from hr_console.services import audit, charter, directory, messaging, notices, safety
from hr_console.store.models import (
    BadgeSession,
    CharterAcceptance,
    ConsoleUser,
    Employee,
    Group,
    GroupRule,
    Media,
    Message,
    NoticeReceipt,
    Team,
    Terminal,
    utcnow,
)
from tests.web import console_data as cd

SUBJECT = "Karim Benali"
OTHERS_ONLY = "NOT-KARIMS-7Q"
NOT_REACHED = "NEVER-REACHED-KARIM-4Z"  # words and reasons of messages that never reached him
DRAWING = cd.DRAWING


@dataclass
class History:
    subject: int
    others: list[int]
    group_id: int


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (seed * 37 % 256, 90, 200)).save(buf, "PNG")
    return buf.getvalue()


def _media(conn: Any, seed: int) -> int:
    data = _png(seed)
    return conn.execute(insert(Media).values(sha256=hashlib.sha256(data).hexdigest(),
                                             mime="image/png", data=data,
                                             created_at=utcnow()).returning(Media.id)).scalar_one()


def _rows(sender: int, recipient: int, n: int, *, start: dt.datetime, media: list[int],
          text: str, terminal: int | None) -> list[dict]:
    out = []
    for i in range(n):
        kind = ("photo", "drawing", "text", "text", "text")[i % 5]
        out.append({
            "client_id": str(uuid.uuid4()), "sender_id": sender, "recipient_id": recipient,
            "terminal_id": terminal, "kind": kind, "body": f"{text} {i}",
            "drawing": DRAWING if kind == "drawing" else None,
            "media_id": media[i % len(media)] if kind == "photo" else None,
            "state": ("read", "delivered", "rejected", "held")[i % 4],
            "reason": "Hors sujet" if i % 4 == 2 else None, "moderation": "pre",
            "reviewed": True, "sent_ts": 0, "created_at": start + dt.timedelta(seconds=i),
            "delivered_at": start + dt.timedelta(seconds=i + 1) if i % 4 < 2 else None,
        })
    return out


def _not_reached(console: Any, hr: int) -> None:
    """Julie writes to them three times, through the real use cases: rejected by HR, withdrawn
    before it was delivered, withdrawn after it was delivered. Each carries ``NOT_REACHED``
    in its words and HR's reason: none of it may appear in their export (the third is
    listed, without its content)."""
    sent = [cd.send(console, "Julie Moreau", SUBJECT, f"{NOT_REACHED} {i}") for i in range(3)]
    with console.session() as s:
        assert {s.get(Message, m.id).state for m in sent} == {"held"}
        messaging.reject(s, sent[0].id, f"{NOT_REACHED} motif", "hr", hr)
        for m in sent[1:]:
            messaging.approve(s, m.id, "hr", hr)
        messaging.delivered(s, s.get(Message, sent[2].id))
        for m in sent[1:]:
            messaging.retract(s, m.id, f"{NOT_REACHED} retrait", "hr", hr)


def populate(console: Any, messages: int = 1000, *, age_days: float = 0) -> History:
    """``SUBJECT`` sends and receives ``messages`` messages in all (a fifth photos, a fifth
    drawings) besides what the use cases make; the others write to each other, never to
    them, ``messages // 3`` times (half of it between Amina and Thomas). ``age_days``: how
    old the bulk messages are."""
    demo = console.demo
    me = demo.employees[SUBJECT]
    julie, amina, thomas, sophie = (demo.employees[n] for n in (
        "Julie Moreau", "Amina Diallo", "Thomas Petit", "Sophie Martin"))
    # Real use cases first: held messages decided by HR, with reasons.
    held = cd.send(console, SUBJECT, "Julie Moreau", "Rendez-vous au quai")
    photo = cd.send(console, SUBJECT, "Julie Moreau", "La fuite", kind="photo")
    cd.send(console, SUBJECT, "Julie Moreau", kind="drawing")
    cd.send(console, SUBJECT, "Julie Moreau", kind="voice")
    cd.send(console, "Julie Moreau", SUBJECT, "Bien reçu")
    cd.send(console, "Amina Diallo", "Thomas Petit", f"{OTHERS_ONLY} entre eux")
    other_photo = cd.send(console, "Amina Diallo", "Thomas Petit", OTHERS_ONLY, kind="photo")
    with console.session() as s:
        users = dict(s.execute(select(ConsoleUser.username, ConsoleUser.id)).all())
        messaging.approve(s, held.id, "hr", users["hr"])
        messaging.reject(s, photo.id, "Photo floue, recommence", "hr", users["hr"])
        messaging.reject(s, other_photo.id, f"{OTHERS_ONLY} refus", "hr", users["hr"])
        atelier = s.execute(select(Team).where(Team.name == "Atelier")).scalar_one()
        logistique = s.execute(select(Team).where(Team.name == "Logistique")).scalar_one()
        group = Group(name="Quai 2", created_by="hr")
        theirs = Group(name="Réception", created_by="hr")
        s.add_all([group, theirs])
        s.flush()
        s.add_all([GroupRule(group_id=group.id, kind="team", ref_id=atelier.id),
                   GroupRule(group_id=theirs.id, kind="team", ref_id=logistique.id)])
        group_id, their_group = group.id, theirs.id
        emp = s.get(Employee, me)
        directory.update_employee(s, emp, name=emp.name, team_row=atelier, language="en",
                                  is_hr_desk=False, moderation_mode="post", actor="hr")
        directory.set_pin(s, s.get(Employee, julie), "4321", "hr")
        # Someone whose number starts like theirs, in the audit log: never theirs.
        audit.record(s, "test", "test.lookalike", f"employee:{me}0", employee=int(f"{me}0"),
                     note=f"employee:{me}0 {OTHERS_ONLY}")
        k1 = s.execute(select(Terminal).where(Terminal.name == "kiosk-1")).scalar_one()
        safety.raise_alert(s, k1, str(uuid.uuid4()), "fall", "Chute quai 2", me)
        safety.raise_alert(s, k1, str(uuid.uuid4()), "fire", OTHERS_ONLY, amina)
        notice = notices.create(s, title="Consigne quai", body="Gants obligatoires",
                                target_kind="team", target_ref=atelier.id, actor="hr",
                                ack_required=True)
        notices.create(s, title=OTHERS_ONLY, body="", target_kind="team",
                       target_ref=logistique.id, actor="hr")
        s.flush()
        mine = s.execute(select(NoticeReceipt).where(NoticeReceipt.notice_id == notice.id,
                                                     NoticeReceipt.employee_id == me)).scalar_one()
        mine.delivered_at = mine.seen_at = mine.acknowledged_at = utcnow()
        s.add_all([BadgeSession(id=str(uuid.uuid4()), employee_id=me, terminal_id=k1.id,
                                started_at=utcnow() - dt.timedelta(days=2),
                                ended_at=utcnow() - dt.timedelta(days=2, hours=-1),
                                end_reason="logout"),
                   BadgeSession(id=str(uuid.uuid4()), employee_id=amina, terminal_id=k1.id,
                                started_at=utcnow() - dt.timedelta(days=1))])
        terminal = k1.id
        # Two versions of the charter: they accepted both, Amina the first only.
        texts = starting_text(365, "pre")
        first = charter.publish(s, texts, actor="hr")
        texts["fr"]["contact"] = "Demandez à Claire, service RH."
        second = charter.publish(s, texts, actor="hr")
        s.add_all([CharterAcceptance(charter_id=first.id, employee_id=me, terminal="kiosk-1"),
                   CharterAcceptance(charter_id=second.id, employee_id=me, terminal="kiosk-2"),
                   CharterAcceptance(charter_id=first.id, employee_id=amina,
                                     terminal="kiosk-1")])
    _not_reached(console, users["hr"])
    cd.post(console, "Sophie Martin", group_id, "Palettes au quai 2")  # Karim gets a receipt
    cd.post(console, SUBJECT, group_id, "Je m'en occupe")
    cd.post(console, "Thomas Petit", their_group, f"{OTHERS_ONLY} au quai")  # not for them
    with console.session() as s:
        conn = s.connection()
        media = [_media(conn, i) for i in range(6)]
        other_media = _media(conn, 99)
        start = utcnow() - dt.timedelta(days=age_days, seconds=messages + 10)
        mine = _rows(me, julie, messages // 2, start=start, media=media, text="Envoyé",
                     terminal=terminal)
        mine += _rows(sophie, me, messages - messages // 2, start=start, media=media,
                      text="Reçu", terminal=terminal)
        theirs = _rows(amina, thomas, messages // 6, start=start, media=[other_media],
                       text=OTHERS_ONLY, terminal=terminal)
        theirs += _rows(julie, sophie, messages // 6, start=start, media=[other_media],
                        text=OTHERS_ONLY, terminal=terminal)
        conn.execute(insert(Message), mine + theirs)
    return History(me, [julie, amina, thomas, sophie], group_id)
