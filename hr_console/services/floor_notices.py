"""A team lead's notices from the terminal (issue 16): which teams they lead, what they
broadcast, what they track and remind, all through ``services.notices`` like the console's.

Who is a lead: the person a team names as its supervisor (``teams.supervisor_id``, indexed).
A console supervisor linked to an employee leads exactly those teams too (``notices.scope_for``
reads the same column), so one rule covers both. Their scope is the teams they lead and
those teams' shifts, plus whatever they wrote themselves (``notices.Scope`` with ``employee``
and ``lead``): the same validation, target check, photo normalisation and audit as a notice
composed in the console; the notice names its author (``author_employee_id``), no console
user, and the audit's actor names the employee and the terminal.

A terminal's resend carries the same id, which is the notice's uid: the second one finds
the notice and gets the same answer, so nothing is stored or sent twice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hr_console.domain import reminders as reminder_rules
from hr_console.services import audit, notices, photo_time
from hr_console.services.errors import NotFound, ServiceError
from hr_console.store.models import (
    AuditEntry,
    Notice,
    NoticeReceipt,
    SafetyAlert,
    Shift,
    Team,
    utcnow,
)
from relais_wire.limits import MAX_LEAD_NOTICES_PER_HOUR

_UID = re.compile(r"[0-9a-fA-F-]{36}")
LIST_MAX = 50  # a kiosk's "my notices": the latest, newest first
PEOPLE_MAX = 500  # names shown per notice; the counts are always whole
# A lead's notice has no end date on the terminal's form: it is shown for a day (the console
# sets longer ones), so that what a lead sends cannot pile up reminders for ever.
BROADCAST_VALID = dt.timedelta(hours=24)
# A lead posts a handful of notices a shift. Without a bound, a stolen terminal and one
# lead's badge could fill every team mate's notices (each current for a day) with long ones:
# the badge-in sync then has to leave most out (relay.sync_fit), HR's among them.
LEAD_NOTICES_WINDOW = dt.timedelta(hours=1)
# Between two of a lead's reminders of one notice: a resend whose answer was lost, or taps in
# a row, must not put the notice full screen again before everyone who missed it.
REMIND_GAP = dt.timedelta(minutes=2)


def leads(session: Session, employee_id: int) -> list[dict[str, Any]]:
    """The teams this person leads, each with its shifts: ``[{id, name, shifts: [{id,
    name}]}]`` (the badge-in sync's ``me.leads``). One indexed query for everyone; a second
    one for a lead's shifts only."""
    teams = session.execute(select(Team.id, Team.name).where(Team.supervisor_id == employee_id)
                            .order_by(Team.name, Team.id)).all()
    if not teams:
        return []
    shifts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sid, name, team_id in session.execute(
            select(Shift.id, Shift.name, Shift.team_id)
            .where(Shift.team_id.in_([t.id for t in teams])).order_by(Shift.name, Shift.id)):
        shifts[team_id].append({"id": sid, "name": name})
    return [{"id": tid, "name": name, "shifts": shifts[tid]} for tid, name in teams]


def scope(session: Session, employee_id: int) -> notices.Scope:
    """What a person at a terminal may address and track: the teams they lead (and their
    shifts), and the notices they wrote wherever those went."""
    return notices.Scope(frozenset(notices.supervised_teams(session, employee_id)),
                         employee=employee_id, lead=True)


def actor(employee_id: int, terminal: str) -> str:
    return f"employee:{employee_id}@{terminal}"


@dataclass(frozen=True)
class Sent:
    notice: Notice
    audience: int  # people it was published to
    new: bool  # False: a resend of a notice already stored


def _by_uid(session: Session, uid: str) -> Notice | None:
    return session.execute(select(Notice).where(Notice.uid == uid)).scalar_one_or_none()


def _audience(session: Session, notice: Notice) -> int:
    return session.scalar(select(func.count()).select_from(NoticeReceipt)
                          .where(NoticeReceipt.notice_id == notice.id)) or 0


def broadcast(session: Session, employee_id: int, terminal: str, client_id: str, *, team: int,
              title: str, text: str = "", image: bytes | None = None, shift: int | None = None,
              urgent: bool = False, ack: bool = False, remind_every: int | None = None,
              audit_chain: str = audit.MAIN) -> Sent:
    """A lead's notice to ``team`` (one they lead) or to ``shift`` (one of that team's),
    published at once. Raises ``ServiceError``: ``not_a_lead`` (they lead no team),
    ``out_of_scope`` (a team or shift they do not lead), ``duplicate_id`` (the id names
    someone else's notice), or the notice service's own (title, text, photo)."""
    found = _by_uid(session, client_id)
    if found is not None:
        if found.author_employee_id != employee_id:
            raise ServiceError("duplicate_id", "This id already names another notice.")
        return Sent(found, _audience(session, found), False)
    # A safety alert's copies are queued as notices under the alert's uid, which a lead
    # receives: a notice of that uid would end in a day and take the copies still owed to
    # supervisors away with it (downlinks.claim_due, drop_ended_notices, withdraw).
    if session.scalar(select(SafetyAlert.id).where(SafetyAlert.uid == client_id)) is not None:
        raise ServiceError("duplicate_id", "This id already names another notice.")
    sc = scope(session, employee_id)
    if not sc.teams:
        raise notices.OutOfScope("not_a_lead", "Only a team lead may send a notice from a "
                                 "terminal.", field="team")
    if team not in sc.teams:
        raise notices.OutOfScope("out_of_scope", "You may only send notices to the teams you "
                                 "lead.", field="team")
    _within_hourly_bound(session, employee_id)
    if shift is not None:
        row = session.get(Shift, shift)
        if row is None or row.team_id != team:
            raise notices.OutOfScope("out_of_scope", "This shift is not one of that team's.",
                                     field="shift")
    notice = notices.compose(
        session, sc, title=title, body=text, target_kind="shift" if shift is not None else "team",
        target_ref=shift if shift is not None else team, urgent=urgent, ack_required=ack,
        photo=image, actor=actor(employee_id, terminal), uid=client_id,
        valid_until=utcnow() + BROADCAST_VALID,
        author_employee_id=employee_id,
        photo_budget=photo_time.key(session, terminal, "lead"),
        # The terminal's form asks no interval: an urgent notice repeats as the console's does.
        remind_every_min=remind_every if remind_every is not None
        else reminder_rules.default_every(urgent), audit_chain=audit_chain)
    return Sent(notice, _audience(session, notice), True)


def _within_hourly_bound(session: Session, employee_id: int) -> None:
    """``too_many_notices`` once this lead has sent ``MAX_LEAD_NOTICES_PER_HOUR`` in the last
    hour (from any terminal; a resend of one of them is found before this)."""
    since = utcnow() - LEAD_NOTICES_WINDOW
    sent = session.scalar(select(func.count()).select_from(Notice).where(
        Notice.author_employee_id == employee_id, Notice.created_at > since)) or 0
    if sent >= MAX_LEAD_NOTICES_PER_HOUR:
        raise ServiceError("too_many_notices", f"{MAX_LEAD_NOTICES_PER_HOUR} notices an hour at "
                           "most from a terminal: wait before sending the next one.")


def _visible(session: Session, employee_id: int, uid: str) -> tuple[notices.Scope, Notice]:
    """A notice this person may track (NotFound otherwise, whether it exists or not)."""
    sc = scope(session, employee_id)
    # A uid is a UUID: anything else (a NUL byte PostgreSQL refuses, a path) names nothing.
    notice = _by_uid(session, uid) if _UID.fullmatch(uid or "") else None
    if notice is None:
        raise NotFound("not_found", "No such notice.")
    try:
        notices.get_visible(session, sc, notice.id)
    except notices.OutOfScope:
        raise NotFound("not_found", "No such notice.") from None
    return sc, notice


def remind(session: Session, employee_id: int, terminal: str, uid: str,
           audit_chain: str = audit.MAIN) -> int:
    """The one-tap reminder: those who have not acknowledged (or seen) notice ``uid`` get it
    again. Only its author or a lead of its team; returns how many are reminded."""
    sc, notice = _visible(session, employee_id, uid)
    last = session.execute(select(func.max(AuditEntry.ts)).where(
        AuditEntry.action == "notice.remind", AuditEntry.target == f"notice:{notice.id}")).scalar()
    if last is not None and utcnow() - last < REMIND_GAP:
        raise ServiceError("too_soon", "This notice was reminded less than two minutes ago.")
    return notices.remind(session, sc, notice.id, actor(employee_id, terminal), audit_chain)


def _view(summary: notices.Summary, employee_id: int) -> dict[str, Any]:
    n, c = summary.notice, summary.counts
    return {"uid": n.uid, "title": n.title, "urgent": bool(n.urgent),
            "ack_required": bool(n.ack_required), "status": summary.status,
            "target": {"kind": summary.target.kind, "name": summary.target.name,
                       "team": summary.target.detail if summary.target.kind == "shift" else ""},
            "author": summary.author or "", "mine": n.author_employee_id == employee_id,
            "created_at": n.created_at.isoformat(),
            "counts": {"audience": c.audience, "reached": c.reached, "seen": c.seen,
                       "acknowledged": c.acknowledged}}


def mine(session: Session, employee_id: int, limit: int = LIST_MAX) -> list[dict[str, Any]]:
    """The latest notices this person wrote at a terminal or that went to a team they lead
    (a console supervisor's or HR's), newest first, with their counts. Nothing for anyone
    who leads no team and wrote none."""
    return [_view(s, employee_id)
            for s in notices.listing(session, scope(session, employee_id), limit=limit)]


def tracking(session: Session, employee_id: int, uid: str) -> dict[str, Any]:
    """One of ``mine``: who has been reached, has seen, has acknowledged it, and who not
    (those first), and whether this person may remind them now."""
    sc, notice = _visible(session, employee_id, uid)
    t = notices.tracking(session, sc, notice.id, per_page=PEOPLE_MAX)
    people = [{"name": p.name, "team": p.team, "state": p.state, "done": done}
              for done, group in ((False, t.pending), (True, t.done)) for p in group]
    return {**_view(t.summary, employee_id), "people": people[:PEOPLE_MAX],
            "pending": t.pending_page.total, "done": t.done_page.total,
            "may_remind": bool(t.pending) and t.summary.status == "active"
            and sc.may_act(notice)}
