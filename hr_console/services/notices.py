"""Shift notices: who they reach, delivery to terminals, seen and acknowledged receipts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hr_console.services import audit, downlinks
from hr_console.services.errors import Invalid, NotFound
from hr_console.store.models import Employee, Notice, NoticeReceipt, Shift, Team, utcnow
from relais_wire.envelope import clean_text

TARGETS = ("everyone", "team", "site", "shift")


def audience(session: Session, target_kind: str, target_ref: int | None) -> list[int]:
    """Ids of the active employees a notice reaches."""
    stmt = select(Employee.id).where(Employee.active.is_(True))
    if target_kind == "team":
        stmt = stmt.where(Employee.team_id == target_ref)
    elif target_kind == "site":
        stmt = stmt.join(Team, Team.id == Employee.team_id).where(Team.site_id == target_ref)
    elif target_kind == "shift":
        shift = session.get(Shift, target_ref)
        if shift is None:
            raise NotFound("not_found", "No such shift.")
        stmt = stmt.where(Employee.team_id == shift.team_id)
    elif target_kind != "everyone":
        raise Invalid("bad_target", f"A notice targets one of {', '.join(TARGETS)}.")
    return list(session.execute(stmt.order_by(Employee.id)).scalars())


def create(session: Session, *, title: str, body: str, target_kind: str,
           target_ref: int | None = None, urgent: bool = False, ack_required: bool = False,
           valid_until: dt.datetime | None = None, valid_from: dt.datetime | None = None,
           actor: str = "system", user_id: int | None = None) -> Notice:
    title = clean_text(title or "", "title", 120).strip()
    body = clean_text(body or "", "body", 4000, allow_empty=True)
    if target_kind not in TARGETS:
        raise Invalid("bad_target", f"A notice targets one of {', '.join(TARGETS)}.")
    notice = Notice(uid=str(uuid.uuid4()), title=title, body=body, target_kind=target_kind,
                    target_ref=target_ref, urgent=urgent, ack_required=ack_required or urgent,
                    valid_from=valid_from or utcnow(), valid_until=valid_until,
                    created_by=user_id, created_at=utcnow())
    session.add(notice)
    session.flush()
    audit.record(session, actor, "notice.create", f"notice:{notice.id}", title=title,
                 target=f"{target_kind}:{target_ref}")
    if notice.valid_from <= utcnow():
        publish(session, notice)
    return notice


def wire_view(notice: Notice) -> dict[str, Any]:
    return {"notice": notice.uid, "title": notice.title, "body": notice.body,
            "urgent": notice.urgent, "ack_required": notice.ack_required,
            "valid_until": notice.valid_until.isoformat() if notice.valid_until else None}


def publish(session: Session, notice: Notice) -> int:
    """Queue the notice for everyone in its audience. Returns the number reached."""
    if notice.published_at is not None:
        return 0
    notice.published_at = utcnow()
    ids = audience(session, notice.target_kind, notice.target_ref)
    view = wire_view(notice)
    for employee_id in ids:
        session.add(NoticeReceipt(notice_id=notice.id, employee_id=employee_id))
        downlinks.queue(session, employee_id, "notice", ref=notice.uid, **view)
    return len(ids)


def publish_due(session: Session) -> int:
    """Scheduled notices whose time has come (the relay calls this on its timer)."""
    due = session.execute(select(Notice).where(Notice.published_at.is_(None),
                                               Notice.valid_from <= utcnow())).scalars().all()
    return sum(publish(session, n) for n in due)


def receipt(session: Session, employee_id: int, notice_uid: str, status: str) -> bool:
    row = session.execute(
        select(NoticeReceipt).join(Notice, Notice.id == NoticeReceipt.notice_id)
        .where(Notice.uid == notice_uid, NoticeReceipt.employee_id == employee_id)
    ).scalar_one_or_none()
    if row is None:
        return False
    now = utcnow()
    row.delivered_at = row.delivered_at or now
    if status in ("seen", "acknowledged"):
        row.seen_at = row.seen_at or now
    if status == "acknowledged":
        row.acknowledged_at = row.acknowledged_at or now
    return True


def for_employee(session: Session, employee_id: int) -> list[dict[str, Any]]:
    """Current notices of one employee, with what they have done with each."""
    now = utcnow()
    rows = session.execute(
        select(Notice, NoticeReceipt)
        .join(NoticeReceipt, NoticeReceipt.notice_id == Notice.id)
        .where(NoticeReceipt.employee_id == employee_id, Notice.published_at.is_not(None),
               (Notice.valid_until.is_(None)) | (Notice.valid_until > now))
        .order_by(Notice.urgent.desc(), Notice.created_at.desc())
    ).all()
    return [{**wire_view(n), "seen": r.seen_at is not None,
             "acknowledged": r.acknowledged_at is not None} for n, r in rows]
