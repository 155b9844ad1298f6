"""Shift notices: who they reach, delivery to terminals, seen and acknowledged receipts.

The relay calls ``publish_due``, ``receipt`` and ``for_employee``; the console composes,
lists, tracks, reminds and withdraws through the functions below, always with a ``Scope``
(what a console user may address: everything for admin and HR, the teams they supervise
for a supervisor). Every change is audited in the caller's unit of work.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from hr_console.domain import reminders as reminder_rules
from hr_console.services import audit, downlinks, photo_time, photos
from hr_console.services.errors import Invalid, NotFound, ServiceError
from hr_console.services.notice_view import copy_fields, wire_view
from hr_console.services.paging import Numbered, pages_for
from hr_console.store.db import database_key
from hr_console.store.models import (
    ConsoleUser,
    Downlink,
    Employee,
    Media,
    Notice,
    NoticeReceipt,
    Shift,
    Site,
    Team,
    utcnow,
)
from relais_wire.envelope import WireError, clean_text

TARGETS = ("everyone", "team", "site", "shift")
TITLE_MAX = 120
BODY_MAX = 4000
UNRESTRICTED_ROLES = ("admin", "hr")


class OutOfScope(ServiceError):
    """The console user may not address or see this notice (a supervisor, another team)."""


# --- who may address what ------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What one console user may send notices to and track. ``teams`` None: everything.
    ``author``: the console user whose own notices a restricted scope may act on (remind,
    withdraw); tracking a team's notice is not acting on it."""

    teams: frozenset[int] | None = None
    author: int | None = None
    # The employee whose own terminal notices (``author_employee_id``) this scope sees and
    # acts on, whatever team they went to; ``lead``: a team lead at a terminal, who reminds
    # any notice of the teams they lead (services.floor_notices).
    employee: int | None = None
    lead: bool = False

    @property
    def unrestricted(self) -> bool:
        return self.teams is None

    def may_act(self, notice: Notice) -> bool:
        """Whether this scope may change ``notice`` (already known to be visible): a
        supervisor acts only on what they wrote, never on HR's notices to their team."""
        return (self.unrestricted or self.lead
                or (self.author is not None and notice.created_by == self.author)
                or (self.employee is not None and notice.author_employee_id == self.employee))


EVERYTHING = Scope(None)


def supervised_teams(session: Session, employee_id: int | None) -> list[int]:
    if employee_id is None:
        return []
    return list(session.execute(
        select(Team.id).where(Team.supervisor_id == employee_id).order_by(Team.id)).scalars())


def scope_for(session: Session, role: str, employee_id: int | None,
              user_id: int | None = None) -> Scope:
    """Admin and HR address anyone; a supervisor only the teams they supervise (and those
    teams' shifts), and acts only on the notices console user ``user_id`` wrote; anyone
    else nothing."""
    if role in UNRESTRICTED_ROLES:
        return EVERYTHING
    if role == "supervisor":
        return Scope(frozenset(supervised_teams(session, employee_id)), user_id,
                     employee=employee_id)
    return Scope(frozenset())


@dataclass(frozen=True)
class Target:
    kind: str
    ref: int | None
    name: str = ""  # the team, site or shift name ("" for everyone)
    detail: str = ""  # a team's site, a shift's team

    @property
    def value(self) -> str:
        return self.kind if self.ref is None else f"{self.kind}:{self.ref}"


def parse_target(value: str) -> tuple[str, int | None]:
    """``everyone`` or ``team:3`` / ``site:1`` / ``shift:2`` (a form's single select)."""
    kind, _sep, ref = (value or "").partition(":")
    if kind == "everyone" and not ref:
        return kind, None
    if kind in ("team", "site", "shift") and ref.isascii() and ref.isdigit() and len(ref) < 10:
        return kind, int(ref)
    raise Invalid("bad_target", f"A notice targets one of {', '.join(TARGETS)}.", field="target")


def describe_target(session: Session, kind: str, ref: int | None) -> Target:
    if kind == "team":
        team = session.get(Team, ref) if ref is not None else None
        if team is not None:
            site = session.get(Site, team.site_id)
            return Target(kind, ref, team.name, site.name if site else "")
    elif kind == "site":
        site = session.get(Site, ref) if ref is not None else None
        if site is not None:
            return Target(kind, ref, site.name)
    elif kind == "shift":
        shift = session.get(Shift, ref) if ref is not None else None
        if shift is not None:
            team = session.get(Team, shift.team_id) if shift.team_id else None
            return Target(kind, ref, shift.name, team.name if team else "")
    elif kind == "everyone":
        return Target(kind, None)
    return Target(kind, ref, f"#{ref}")


def check_target(session: Session, kind: str, ref: int | None) -> None:
    """The target exists and a notice to it reaches a defined group of people."""
    if kind not in TARGETS:
        raise Invalid("bad_target", f"A notice targets one of {', '.join(TARGETS)}.", field="target")
    if kind == "everyone":
        if ref is not None:
            raise Invalid("bad_target", "A notice to everyone names no group.", field="target")
        return
    model = {"team": Team, "site": Site, "shift": Shift}[kind]
    row = session.get(model, ref) if ref is not None else None
    if row is None:
        raise NotFound("not_found", f"No such {kind}.", field="target")
    if kind == "shift" and row.team_id is None:
        raise Invalid("shift_without_team", "This shift belongs to no team, so it reaches nobody.",
                      field="target")


def may_target(session: Session, scope: Scope, kind: str, ref: int | None) -> bool:
    if scope.unrestricted:
        return True
    assert scope.teams is not None
    if kind == "team":
        return ref in scope.teams
    if kind == "shift" and ref is not None:
        shift = session.get(Shift, ref)
        return shift is not None and shift.team_id in scope.teams
    return False


def targets(session: Session, scope: Scope) -> list[Target]:
    """Everything this scope may address, in the order a form lists them."""
    out: list[Target] = []
    team_stmt = select(Team, Site.name).join(Site, Site.id == Team.site_id)
    shift_stmt = select(Shift, Team.name).join(Team, Team.id == Shift.team_id)
    if scope.unrestricted:
        out.append(Target("everyone", None))
        for site in session.execute(select(Site).order_by(Site.name)).scalars():
            out.append(Target("site", site.id, site.name))
    else:
        assert scope.teams is not None
        team_stmt = team_stmt.where(Team.id.in_(sorted(scope.teams)))
        shift_stmt = shift_stmt.where(Shift.team_id.in_(sorted(scope.teams)))
    for team, site_name in session.execute(team_stmt.order_by(Site.name, Team.name)).all():
        out.append(Target("team", team.id, team.name, site_name))
    for shift, team_name in session.execute(shift_stmt.order_by(Team.name, Shift.name)).all():
        out.append(Target("shift", shift.id, shift.name, team_name))
    return out


def _scope_filter(scope: Scope) -> Any:
    if scope.unrestricted:
        return None
    teams = sorted(scope.teams or ())
    shifts = select(Shift.id).where(Shift.team_id.in_(teams))
    reach = or_(and_(Notice.target_kind == "team", Notice.target_ref.in_(teams)),
                and_(Notice.target_kind == "shift", Notice.target_ref.in_(shifts)))
    if scope.employee is not None:
        reach = or_(reach, Notice.author_employee_id == scope.employee)
    return reach


# --- who a notice reaches ------------------------------------------------------------


def audience(session: Session, target_kind: str, target_ref: int | None) -> list[int]:
    """Ids of the active employees a notice reaches."""
    stmt = audience_query(session, target_kind, target_ref)
    return [] if stmt is None else list(session.execute(stmt.order_by(Employee.id)).scalars())


def audience_query(session: Session, target_kind: str, target_ref: int | None
                   ) -> Select[tuple[int]] | None:
    """``audience`` as a query of ids, for the set-based writes of ``publish`` (None: the
    notice reaches nobody, as one to a shift deleted since it was scheduled: an error there
    would stop every other due notice at each of the relay's rounds)."""
    stmt = select(Employee.id).where(Employee.active.is_(True))
    if target_kind == "team":
        stmt = stmt.where(Employee.team_id == target_ref)
    elif target_kind == "site":
        stmt = stmt.join(Team, Team.id == Employee.team_id).where(Team.site_id == target_ref)
    elif target_kind == "shift":
        shift = session.get(Shift, target_ref)
        if shift is None or shift.team_id is None:
            return None
        stmt = stmt.where(Employee.team_id == shift.team_id)
    elif target_kind != "everyone":
        raise Invalid("bad_target", f"A notice targets one of {', '.join(TARGETS)}.")
    return stmt


# --- creating and publishing ---------------------------------------------------------


def _text(value: str, name: str, max_chars: int, *, allow_empty: bool = False) -> str:
    try:
        return clean_text(value or "", name, max_chars, allow_empty=allow_empty)
    except WireError as err:
        raise Invalid(err.code, err.message, field=name) from None


def create(session: Session, *, title: str, body: str, target_kind: str,
           target_ref: int | None = None, urgent: bool = False, ack_required: bool = False,
           valid_until: dt.datetime | None = None, valid_from: dt.datetime | None = None,
           actor: str = "system", user_id: int | None = None,
           media_id: int | None = None, uid: str | None = None,
           author_employee_id: int | None = None,
           remind_every_min: int | None = None, audit_chain: str = audit.MAIN) -> Notice:
    """A new notice; published at once unless ``valid_from`` lies in the future (then the
    relay's ``publish_due`` sends it when its time comes). Urgent implies acknowledgement.
    ``uid``: the id a terminal chose (its uplink's), so a resend finds the notice stored;
    ``author_employee_id``: the team lead who sent it from a terminal, ``audit_chain`` that
    terminal's (services.audit)."""
    title = _text(title, "title", TITLE_MAX).strip()
    body = _text(body, "body", BODY_MAX, allow_empty=True)
    check_target(session, target_kind, target_ref)
    _check_every(remind_every_min, ack_required or urgent)
    now = utcnow()
    start = valid_from if valid_from is not None and valid_from > now else now
    if valid_until is not None and valid_until <= start:
        raise Invalid("bad_window", "The end of the validity must come after its start "
                      "(and after now).", field="valid_until")
    notice = Notice(uid=uid or str(uuid.uuid4()), title=title, body=body, target_kind=target_kind,
                    target_ref=target_ref, urgent=urgent, ack_required=ack_required or urgent,
                    valid_from=valid_from or now, valid_until=valid_until, media_id=media_id,
                    created_by=user_id, created_at=now,
                    author_employee_id=author_employee_id, remind_every_min=remind_every_min)
    session.add(notice)
    session.flush()
    extra = {"author_employee": author_employee_id} if author_employee_id is not None else {}
    audit.record(session, actor, "notice.create", f"notice:{notice.id}", chain=audit_chain,
                 **extra, title=title,
                 to=f"{target_kind}:{target_ref}", urgent=notice.urgent,
                 ack_required=notice.ack_required, photo=media_id is not None,
                 remind_every_min=remind_every_min,
                 valid_from=notice.valid_from.isoformat(),
                 valid_until=valid_until.isoformat() if valid_until else None,
                 scheduled=notice.valid_from > now)
    if notice.valid_from <= now:
        publish(session, notice)
    return notice


def _check_every(minutes: int | None, ack: bool) -> None:
    """The reminder interval of a new notice (``domain.reminders``): None (at badge-in only)
    or whole minutes within the wire's bounds, and only on a notice asking for an
    acknowledgement, since reminders stop at it."""
    if not reminder_rules.valid_every(minutes):
        lo, hi = reminder_rules.REMIND_EVERY_MIN
        raise Invalid("bad_interval", f"Reminders repeat every {lo} to {hi} minutes.",
                      field="remind_every")
    if minutes is not None and not ack:
        raise Invalid("interval_without_ack", "Reminders repeat until each person "
                      "acknowledges: ask for an acknowledgement.", field="remind_every")


def compose(session: Session, scope: Scope, *, title: str, body: str, target_kind: str,
            target_ref: int | None, urgent: bool = False, ack_required: bool = False,
            valid_from: dt.datetime | None = None, valid_until: dt.datetime | None = None,
            photo: bytes | None = None, actor: str, user_id: int | None = None,
            uid: str | None = None, author_employee_id: int | None = None,
            remind_every_min: int | None = None, photo_budget: str | None = None,
            audit_chain: str = audit.MAIN) -> Notice:
    """A console user's notice, or a team lead's from a terminal (``author_employee_id``,
    services.floor_notices): their scope checked, the photo normalised and kept (a lead's
    within ``photo_budget``, their terminal's share of the relay's time, ``photo_time``)."""
    if target_kind not in TARGETS:
        raise Invalid("bad_target", f"A notice targets one of {', '.join(TARGETS)}.", field="target")
    if not may_target(session, scope, target_kind, target_ref):
        raise OutOfScope("out_of_scope", "You may only send notices to the teams you supervise.",
                         field="target")
    # A lead's photo comes from a terminal: no larger than a kiosk makes it (``from_terminal``).
    media_id = None
    if photo:
        def store() -> int:
            return photos.store(session, photo, terminal=author_employee_id is not None).id
        media_id = photo_time.timed(photo_budget, store) if photo_budget else store()
    return create(session, title=title, body=body, target_kind=target_kind,
                  target_ref=target_ref, urgent=urgent, ack_required=ack_required,
                  valid_from=valid_from, valid_until=valid_until, actor=actor,
                  user_id=user_id, media_id=media_id, uid=uid,
                  author_employee_id=author_employee_id, remind_every_min=remind_every_min,
                  audit_chain=audit_chain)


def publish(session: Session, notice: Notice) -> int:
    """Queue the notice for everyone in its audience: the receipts and the copies each in
    one ``INSERT … SELECT`` the database runs on its own (a team lead's broadcast runs in
    the relay's worker; a notice to everyone reaches the whole company, 50,000 rows of each
    that Python no longer builds one by one). Returns the number reached."""
    # Claimed by a conditional UPDATE: of two publishers (the relay's round and a console
    # request, or two relays during a hand-over) the second waits for the first's commit on
    # PostgreSQL and then finds nothing to do, instead of failing on the receipts' key.
    claimed = session.execute(
        update(Notice).where(Notice.id == notice.id, Notice.published_at.is_(None))
        .values(published_at=utcnow()).returning(Notice.published_at)).first()
    if claimed is None:
        return 0
    set_committed_value(notice, "published_at", claimed[0])
    reached = audience_query(session, notice.target_kind, notice.target_ref)
    if reached is None:
        return 0
    # A lead's broadcast from a terminal is not theirs to read and acknowledge.
    if notice.author_employee_id is not None:
        reached = reached.where(Employee.id != notice.author_employee_id)
    people = reached.subquery()
    session.execute(insert(NoticeReceipt.__table__).from_select(
        ["notice_id", "employee_id", "reminders"],
        select(literal(notice.id, Integer), people.c[0], literal(0, Integer))))
    return len(downlinks.queue_audience(session, "notice", reached, copy_fields(notice),
                                        ref=notice.uid))


def publish_due(session: Session) -> int:
    """Scheduled notices whose time has come (the relay calls this on its timer). A notice
    withdrawn before its time never goes out."""
    due = session.execute(select(Notice).where(_due(utcnow()))).scalars().all()
    return sum(publish(session, n) for n in due)


def any_due(session: Session) -> bool:
    """Whether ``publish_due`` would publish anything now (a read: the relay asks before it
    opens a write transaction)."""
    return session.execute(select(Notice.id).where(_due(utcnow())).limit(1)).first() is not None


def _due(now: dt.datetime) -> Any:
    return and_(Notice.published_at.is_(None), Notice.valid_from <= now,
                Notice.valid_until.is_(None) | (Notice.valid_until > now))


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


def _current(now: dt.datetime) -> Any:
    return Notice.published_at.is_not(None) & (Notice.valid_until.is_(None) | (Notice.valid_until > now))


def for_employee(session: Session, employee_id: int) -> list[dict[str, Any]]:
    """Current notices of one employee, with what they have done with each."""
    now = utcnow()
    rows = session.execute(
        select(Notice, NoticeReceipt)
        .join(NoticeReceipt, NoticeReceipt.notice_id == Notice.id)
        .where(NoticeReceipt.employee_id == employee_id, _current(now))
        .order_by(Notice.urgent.desc(), Notice.created_at.desc())
    ).all()
    # ``reminder``: presented again at badge-in, full screen first (domain.reminders).
    return [{**wire_view(n), "seen": r.seen_at is not None,
             "acknowledged": r.acknowledged_at is not None,
             "reminder": reminder_rules.at_badge_in(standing(n, r), now)} for n, r in rows]


def standing(notice: Notice, receipt: NoticeReceipt, *,
             badged_in: bool = False) -> reminder_rules.Standing:
    """One receipt as ``domain.reminders`` reads it."""
    return reminder_rules.Standing(
        ack_required=bool(notice.ack_required), published=notice.published_at is not None,
        valid_until=notice.valid_until, remind_every_min=notice.remind_every_min,
        delivered_at=receipt.delivered_at, acknowledged_at=receipt.acknowledged_at,
        last_reminded_at=receipt.last_reminded_at, badged_in=badged_in)


def photo_for_employee(session: Session, employee_id: int, notice_uid: str) -> bytes | None:
    """The photo of a current notice this employee received (None otherwise)."""
    row = session.execute(
        select(Media.data)
        .join(Notice, Notice.media_id == Media.id)
        .join(NoticeReceipt, NoticeReceipt.notice_id == Notice.id)
        .where(Notice.uid == notice_uid, NoticeReceipt.employee_id == employee_id,
               _current(utcnow()))
    ).first()
    return row[0] if row else None



SITE_BOARD_MAX = 5  # what an idle terminal lists, at most
EXCERPT_CHARS = 140


def _excerpt(body: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a notice's text on one line, cut at a word with an ellipsis."""
    text = " ".join((body or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def for_site_board(session: Session, site_id: int | None,
                   limit: int = SITE_BOARD_MAX) -> list[dict[str, Any]]:
    """What an idle terminal of ``site_id`` may show to anyone walking past: the current
    notices addressed to that site or to everyone, newest first. Team- and shift-targeted
    notices are for their people only, so never here; scheduled (not yet out), ended and
    withdrawn ones neither. No personal data: no author, no receipts, no photo."""
    now = utcnow()
    reach = Notice.target_kind == "everyone"
    if site_id is not None:
        reach = reach | ((Notice.target_kind == "site") & (Notice.target_ref == site_id))
    rows = session.execute(
        select(Notice).where(reach, _current(now), Notice.valid_from <= now)
        .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(max(0, limit))
    ).scalars()
    return [{"uid": n.uid, "title": n.title, "urgent": bool(n.urgent),
             "excerpt": _excerpt(n.body)} for n in rows]

# --- the console's view: lists, tracking, reminders, withdrawal -------------------------


def status(notice: Notice, now: dt.datetime | None = None) -> str:
    """``scheduled`` (not out yet), ``active`` (kiosks show it) or ``ended``."""
    now = now or utcnow()
    if notice.valid_until is not None and notice.valid_until <= now:
        return "ended"
    if notice.published_at is None:
        return "scheduled"
    return "active"


@dataclass(frozen=True)
class Counts:
    audience: int = 0  # people it was published to
    reached: int = 0  # their terminal confirmed it
    seen: int = 0
    acknowledged: int = 0
    reminders: int = 0  # sent in all: HR's button, a lead's tap, badge-ins, the relay's timer


@dataclass(frozen=True)
class Summary:
    notice: Notice
    target: Target
    status: str
    counts: Counts
    author: str | None = None

    @property
    def id(self) -> int:
        return self.notice.id


# The counts of a notice that has ended barely move (a late acknowledgement): the list of
# notices reuses them this long instead of counting every receipt again at each view (200
# notices, each to 50,000 people, are ten million receipts). A notice's own page counts afresh.
ENDED_COUNTS_TTL_S = 600.0
_ended_counts: dict[tuple[str, int], tuple[float, Counts]] = {}
_ended_lock = threading.Lock()


def _counts(session: Session, notice_ids: list[int], ended: Collection[int] = ()
            ) -> dict[int, Counts]:
    """Receipts counted per notice; those of ``ended`` notices reused when counted less
    than ``ENDED_COUNTS_TTL_S`` ago."""
    if not notice_ids:
        return {}
    db = database_key(session)
    now = time.monotonic()
    with _ended_lock:
        known = {nid: hit[1] for nid in ended
                 if (hit := _ended_counts.get((db, nid))) is not None
                 and now - hit[0] < ENDED_COUNTS_TTL_S}
    counted = _count_receipts(session, [n for n in notice_ids if n not in known])
    with _ended_lock:
        if len(_ended_counts) > 10_000:
            _ended_counts.clear()
        for nid in ended:
            if nid not in known:
                _ended_counts[(db, nid)] = (now, counted.get(nid, Counts()))
    return {**counted, **known}


def _count_receipts(session: Session, notice_ids: list[int]) -> dict[int, Counts]:
    if not notice_ids:
        return {}
    rows = session.execute(
        select(NoticeReceipt.notice_id, func.count(NoticeReceipt.id),
               func.count(NoticeReceipt.delivered_at), func.count(NoticeReceipt.seen_at),
               func.count(NoticeReceipt.acknowledged_at),
               func.coalesce(func.sum(NoticeReceipt.reminders), 0))
        .where(NoticeReceipt.notice_id.in_(notice_ids))
        .group_by(NoticeReceipt.notice_id)
    ).all()
    return {nid: Counts(total, reached, seen, acked, int(sent))
            for nid, total, reached, seen, acked, sent in rows}


def _summaries(session: Session, notices: list[Notice], *, fresh: bool = False
               ) -> list[Summary]:
    """``fresh``: every count read now (a notice's own page), else those of ended notices
    may be a few minutes old (``_counts``)."""
    now = utcnow()
    ended = [] if fresh else [n.id for n in notices if status(n, now) == "ended"]
    counts = _counts(session, [n.id for n in notices], ended)
    authors = dict(session.execute(
        select(ConsoleUser.id, ConsoleUser.username)
        .where(ConsoleUser.id.in_({n.created_by for n in notices if n.created_by}))).all())
    leads = {n.author_employee_id for n in notices if n.author_employee_id}
    floor = dict(session.execute(select(Employee.id, Employee.name)
                                 .where(Employee.id.in_(leads))).all()) if leads else {}
    return [Summary(n, describe_target(session, n.target_kind, n.target_ref), status(n, now),
                    counts.get(n.id, Counts()),
                    authors.get(n.created_by) or floor.get(n.author_employee_id))
            for n in notices]


def listing(session: Session, scope: Scope, *, limit: int = 200) -> list[Summary]:
    """The latest notices this scope may see, newest first, with their counts."""
    stmt = select(Notice).order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit)
    condition = _scope_filter(scope)
    if condition is not None:
        stmt = stmt.where(condition)
    return _summaries(session, list(session.execute(stmt).scalars()))


def get_visible(session: Session, scope: Scope, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound("not_found", "No such notice.")
    if scope.employee is not None and notice.author_employee_id == scope.employee:
        return notice  # their own, from a terminal, wherever it went
    if not may_target(session, scope, notice.target_kind, notice.target_ref):
        raise OutOfScope("out_of_scope", "This notice was sent to a team you do not supervise.")
    return notice


def get_actionable(session: Session, scope: Scope, notice_id: int) -> Notice:
    """A notice this scope may remind or withdraw (``OutOfScope`` if it may only see it)."""
    notice = get_visible(session, scope, notice_id)
    if not scope.may_act(notice):
        raise OutOfScope("not_author", "Only HR or the notice's author may change it.")
    return notice


def media_of(session: Session, scope: Scope, notice_id: int) -> bytes | None:
    notice = get_visible(session, scope, notice_id)
    if notice.media_id is None:
        return None
    media = session.get(Media, notice.media_id)
    return media.data if media else None


@dataclass(frozen=True)
class PersonState:
    employee_id: int
    name: str
    team: str
    delivered_at: dt.datetime | None
    seen_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    reminders: int = 0
    last_reminded_at: dt.datetime | None = None

    @property
    def state(self) -> str:
        if self.acknowledged_at:
            return "acknowledged"
        if self.seen_at:
            return "seen"
        if self.delivered_at:
            return "reached"
        return "waiting"


@dataclass(frozen=True)
class PeoplePage(Numbered):
    """One page of a tracking list, in name order, and how many the whole list holds."""

    people: list[PersonState]
    total: int
    page: int = 1
    per_page: int = 0  # 0: the whole list on one page

    @property
    def pages(self) -> int:
        return pages_for(self.total, self.per_page) if self.per_page else 1


@dataclass(frozen=True)
class Tracking:
    summary: Summary
    pending_page: PeoplePage = field(default_factory=lambda: PeoplePage([], 0))
    done_page: PeoplePage = field(default_factory=lambda: PeoplePage([], 0))
    audience_preview: int = 0  # for a scheduled notice: how many it would reach today

    @property
    def pending(self) -> list[PersonState]:
        """Those who have not done it yet (acknowledged, or seen when nothing is asked)."""
        return self.pending_page.people

    @property
    def done(self) -> list[PersonState]:
        return self.done_page.people

    @property
    def people(self) -> list[PersonState]:
        return [*self.pending, *self.done]


def tracking(session: Session, scope: Scope, notice_id: int, *, per_page: int = 0,
             pending_page: int = 1, done_page: int = 1) -> Tracking:
    """Who has been reached, has seen and has acknowledged one notice, and who has not:
    each list a page of ``per_page`` people (0: all of them), read and counted by the
    database. A notice to everyone at 50,000 employees loaded and rendered every receipt:
    4 s and 15 MB of page."""
    notice = get_visible(session, scope, notice_id)
    summary = _summaries(session, [notice], fresh=True)[0]
    mine = NoticeReceipt.notice_id == notice.id
    done = (NoticeReceipt.acknowledged_at.is_not(None) if notice.ack_required
            else NoticeReceipt.seen_at.is_not(None))
    counts = summary.counts  # counted just now: every receipt, and those done
    total = counts.audience
    finished = counts.acknowledged if notice.ack_required else counts.seen
    preview = 0
    if notice.published_at is None:
        query = audience_query(session, notice.target_kind, notice.target_ref)
        preview = 0 if query is None else session.scalar(
            select(func.count()).select_from(query.subquery())) or 0
    return Tracking(summary, _people(session, and_(mine, ~done), total - finished,
                                     pending_page, per_page),
                    _people(session, and_(mine, done), finished, done_page, per_page), preview)


def _people(session: Session, where: Any, total: int, page: int, per_page: int) -> PeoplePage:
    stmt = (select(NoticeReceipt, Employee.name, Team.name)
            .join(Employee, Employee.id == NoticeReceipt.employee_id)
            .outerjoin(Team, Team.id == Employee.team_id)
            .where(where).order_by(Employee.name, Employee.id))
    if per_page:
        page = min(max(1, page), pages_for(total, per_page))
        stmt = stmt.offset((page - 1) * per_page).limit(per_page)
    people = [PersonState(r.employee_id, name, team or "", r.delivered_at, r.seen_at,
                          r.acknowledged_at, r.reminders or 0, r.last_reminded_at)
              for r, name, team in session.execute(stmt)]
    return PeoplePage(people, total, page if per_page else 1, per_page)


def remind(session: Session, scope: Scope, notice_id: int, actor: str,
           audit_chain: str = audit.MAIN) -> int:
    """Send the notice again to those who have not acknowledged it (not seen it, when no
    acknowledgement is asked). Returns how many people are reminded. ``audit_chain``: a
    lead's terminal's (services.audit)."""
    notice = get_actionable(session, scope, notice_id)
    if status(notice) != "active":
        raise Invalid("not_current", "Only a notice that kiosks are showing can be reminded.")
    missing = (NoticeReceipt.acknowledged_at.is_(None) if notice.ack_required
               else NoticeReceipt.seen_at.is_(None))
    ids = list(session.execute(
        select(NoticeReceipt.employee_id)
        .join(Employee, Employee.id == NoticeReceipt.employee_id)
        .where(NoticeReceipt.notice_id == notice.id, missing, Employee.active.is_(True))
        .order_by(NoticeReceipt.employee_id)).scalars())
    if not ids:
        return 0
    send_reminders(session, notice, ids)
    # Each person's reminder is counted on their receipt (the notice's tracking page shows
    # it); the audit line names them only while a list is something to read: reminding a
    # notice to everyone wrote 50,000 ids, 300 KB, into one line the audit page shows whole.
    named = {"employees": ids} if len(ids) <= AUDIT_NAMES_MAX else {}
    audit.record(session, actor, "notice.remind", f"notice:{notice.id}", chain=audit_chain,
                 count=len(ids), **named)
    return len(ids)


AUDIT_NAMES_MAX = 100  # people named in a reminder's audit line; past it, the count only


_CHUNK = 5000  # ids per IN list (SQLite takes 32,766 parameters at most)


def send_reminders(session: Session, notice: Notice, employee_ids: list[int], *,
                   at: dt.datetime | None = None) -> int:
    """Send ``notice`` again to these people as a reminder (``reminder: true``; the kiosk
    shows it full screen) and count one on each receipt: HR's button, a lead's tap and the
    relay's timer (services.reminders) all come here. An older copy still waiting for the
    terminal is replaced, never doubled. The caller has chosen who (and audits it)."""
    ids = sorted(set(employee_ids))
    if not ids:
        return 0
    at = at or utcnow()
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        session.execute(delete(Downlink).where(
            Downlink.kind == "notice", Downlink.ref == notice.uid,
            Downlink.employee_id.in_(chunk)).execution_options(synchronize_session=False))
        session.execute(update(NoticeReceipt).where(
            NoticeReceipt.notice_id == notice.id, NoticeReceipt.employee_id.in_(chunk))
            .values(reminders=NoticeReceipt.reminders + 1, last_reminded_at=at)
            .execution_options(synchronize_session=False))
        downlinks.queue_audience(session, "notice", select(Employee.id).where(
            Employee.id.in_(chunk)), copy_fields(notice, reminder=True), ref=notice.uid)
    return len(ids)


def withdraw(session: Session, scope: Scope, notice_id: int, actor: str) -> Notice:
    """End a notice now: kiosks stop showing it (it leaves every sync and notices list) and
    copies not yet delivered are dropped; a scheduled notice never goes out."""
    notice = get_actionable(session, scope, notice_id)
    if status(notice) == "ended":
        raise Invalid("already_ended", "This notice has already ended.")
    was = status(notice)
    notice.valid_until = utcnow()
    dropped = session.execute(delete(Downlink).where(Downlink.kind == "notice",
                                                     Downlink.ref == notice.uid)).rowcount
    audit.record(session, actor, "notice.withdraw", f"notice:{notice.id}", title=notice.title,
                 was=was, undelivered_dropped=dropped or 0)
    return notice
