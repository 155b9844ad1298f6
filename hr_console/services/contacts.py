"""One employee's contact policy as HR sees it: the rules that concern them, whom they may
write to (exactly the list their kiosk shows, from ``people.contact_list``), who may write
to them, and their moderation mode. Changes go through ``directory`` and are audited."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from hr_console.domain.moderation import effective_mode
from hr_console.domain.policy import RECIPIENT_KINDS, SENDER_KINDS, Person, Rule, sender_matches
from hr_console.services import directory, people, settings
from hr_console.services.errors import Conflict, Invalid, NotFound
from hr_console.services.paging import Numbered, pages_for
from hr_console.store.models import ContactRule, Employee, Site, Team

WRITERS_SHOWN = 300  # who may write to someone: the first names shown, then a count
CONTACTS_SHOWN = 500  # whom someone may write to: the same (the HR desk reaches everyone)


@dataclass(frozen=True)
class Side:
    kind: str  # person | team | everyone | supervisor | hr_desk
    ref: int | None
    label: str  # a person's or team's name; empty for everyone / supervisor / HR desk
    missing: bool = False  # the person or team it names no longer exists


@dataclass(frozen=True)
class RuleView:
    id: int
    sender: Side
    recipient: Side
    allow_reply: bool
    group: bool  # names no person: applies to everyone it matches
    on_shift_only: bool = False  # grants only while the writer is on shift


@dataclass
class Policy:
    employee_id: int
    name: str
    active: bool
    is_hr_desk: bool
    team_id: int | None
    team: str
    supervises: list[tuple[int, str]]
    as_sender: list[RuleView]
    as_recipient: list[RuleView]
    can_write_to: list[dict]  # the first CONTACTS_SHOWN of what the kiosk lists, by name
    can_write_to_total: int  # how many the kiosk lists (people.contact_list)
    writers: list[tuple[int, str, str]]  # (id, name, team) of people who may write to them
    writers_total: int
    own_mode: str | None
    team_mode: str | None
    default_mode: str
    effective_mode: str
    notes: list[str] = field(default_factory=list)


def _labels(session: Session, rows: list[ContactRule]) -> tuple[dict[int, str], dict[int, str]]:
    person_ids = {r.sender_ref for r in rows if r.sender_kind == "person"}
    person_ids |= {r.recipient_ref for r in rows if r.recipient_kind == "person"}
    team_ids = {r.sender_ref for r in rows if r.sender_kind == "team"}
    team_ids |= {r.recipient_ref for r in rows if r.recipient_kind == "team"}
    persons = dict(session.execute(
        select(Employee.id, Employee.name).where(Employee.id.in_(person_ids))).all()) if person_ids else {}
    teams = {i: f"{t} ({s})" for i, t, s in session.execute(
        select(Team.id, Team.name, Site.name).join(Site, Site.id == Team.site_id)
        .where(Team.id.in_(team_ids)))} if team_ids else {}
    return persons, teams


def _side(kind: str, ref: int | None, persons: dict[int, str], teams: dict[int, str]) -> Side:
    if kind == "person":
        return Side(kind, ref, persons.get(ref, f"#{ref}"), ref not in persons)
    if kind == "team":
        return Side(kind, ref, teams.get(ref, f"#{ref}"), ref not in teams)
    return Side(kind, None, "")


def views(session: Session, rows: list[ContactRule]) -> list[RuleView]:
    persons, teams = _labels(session, rows)
    return [RuleView(r.id, _side(r.sender_kind, r.sender_ref, persons, teams),
                     _side(r.recipient_kind, r.recipient_ref, persons, teams), r.allow_reply,
                     r.sender_kind != "person" and r.recipient_kind != "person",
                     bool(r.on_shift_only)) for r in rows]


RULES_PER_PAGE = 100  # group rules on a page of the console (a team each way: thousands)


@dataclass(frozen=True)
class RulePage(Numbered):
    rules: list[RuleView]
    total: int
    page: int
    per_page: int


def group_rules(session: Session, page: int = 1, per_page: int = RULES_PER_PAGE) -> RulePage:
    """The rules that name no one, oldest first, a page at a time: at 50,000 employees
    (2,551 of them) the whole list was a 3 MB page that took 1.2 s of the server."""
    group = and_(ContactRule.sender_kind != "person", ContactRule.recipient_kind != "person")
    total = session.scalar(select(func.count()).select_from(ContactRule).where(group)) or 0
    page = min(max(1, page), pages_for(total, per_page))
    rows = list(session.execute(select(ContactRule).where(group).order_by(ContactRule.id)
                                .offset((page - 1) * per_page).limit(per_page)).scalars())
    return RulePage(views(session, rows), total, page, per_page)


def personal_rule_count(session: Session) -> int:
    return session.execute(
        select(func.count()).select_from(ContactRule).where(
            (ContactRule.sender_kind == "person") | (ContactRule.recipient_kind == "person"))
    ).scalar_one()


def _may_receive_by(rule: Rule, me: Person, supervised: set[int],
                    team_of: dict[int, int | None]) -> bool:
    """Could this rule's recipient side be ``me`` for some sender?"""
    kind = rule.recipient_kind
    if kind == "person":
        return rule.recipient_ref == me.id
    if kind == "team":
        return me.team_id is not None and rule.recipient_ref == me.team_id
    if kind == "hr_desk":
        return me.is_hr_desk
    # "supervisor": me, when a sender of the rule is in a team I supervise
    if not supervised:
        return False
    if rule.sender_kind == "everyone":
        return True
    if rule.sender_kind == "team":
        return rule.sender_ref in supervised
    return team_of.get(rule.sender_ref or 0) in supervised


def _naming(me: Person, supervises: bool) -> ColumnElement[bool]:
    """The rules whose sender or recipient side can be ``me`` (every rule towards
    "supervisor" when ``me`` supervises a team): the only ones ``sender_matches`` and
    ``_may_receive_by`` can keep, read instead of all of them (2,751 at 50,000 employees)."""
    r = ContactRule
    sides = [r.sender_kind == "everyone",
             and_(r.sender_kind == "person", r.sender_ref == me.id),
             and_(r.recipient_kind == "person", r.recipient_ref == me.id)]
    if me.team_id is not None:
        sides += [and_(r.sender_kind == "team", r.sender_ref == me.team_id),
                  and_(r.recipient_kind == "team", r.recipient_ref == me.team_id)]
    if me.is_hr_desk:
        sides.append(r.recipient_kind == "hr_desk")
    if supervises:
        sides.append(r.recipient_kind == "supervisor")
    return or_(*sides)


def policy(session: Session, employee_id: int) -> Policy:
    emp = session.get(Employee, employee_id)
    if emp is None:
        raise NotFound("not_found", "No such employee.")
    me = people.person(session, employee_id)
    assert me is not None
    team = session.get(Team, emp.team_id) if emp.team_id else None
    supervises = [(t.id, t.name) for t in session.execute(
        select(Team).where(Team.supervisor_id == employee_id).order_by(Team.name)).scalars()]
    supervised = {t for t, _n in supervises}
    rows = list(session.execute(select(ContactRule).where(_naming(me, bool(supervised)))
                                .order_by(ContactRule.id)).scalars())
    person_refs = {r.sender_ref for r in rows if r.sender_kind == "person"}
    team_of = dict(session.execute(
        select(Employee.id, Employee.team_id).where(Employee.id.in_(person_refs))).all()) \
        if person_refs else {}
    rules = [(r, Rule(r.sender_kind, r.sender_ref, r.recipient_kind, r.recipient_ref, r.allow_reply))
             for r in rows]
    as_sender = [r for r, rule in rules if sender_matches(rule, me)]
    as_recipient = [r for r, rule in rules if _may_receive_by(rule, me, supervised, team_of)]
    writers, total = _writers(session, me, sorted(supervised))
    shown, shown_total = people.people_reached(
        session, people.reach_of(session, me, supervised=sorted(supervised)),
        (Employee.id, Employee.name, Employee.is_hr_desk, people.TEAM_NAME), limit=CONTACTS_SHOWN)
    default = str(settings.get(session, "default_moderation"))
    return Policy(
        employee_id=emp.id, name=emp.name, active=emp.active, is_hr_desk=emp.is_hr_desk,
        team_id=emp.team_id, team=team.name if team else "", supervises=supervises,
        as_sender=views(session, as_sender), as_recipient=views(session, as_recipient),
        can_write_to=[{"id": i, "name": name, "team": team or "", "hr": bool(hr)}
                      for i, name, hr, team in shown],
        can_write_to_total=shown_total or 0,
        writers=writers, writers_total=total,
        own_mode=emp.moderation_mode, team_mode=team.moderation_mode if team else None,
        default_mode=default,
        effective_mode=effective_mode(emp.moderation_mode, team.moderation_mode if team else None,
                                      default),
    )


def _writers(session: Session, me: Person, supervised: list[int] | None = None,
             ) -> tuple[list[tuple[int, str, str]], int]:
    """Everyone the relay would let write to ``me`` (``may_write(p, me)``), the first
    WRITERS_SHOWN by name and how many: the rules about ``me`` as sets and one indexed query
    (``policy.reach(towards_me=True)``), as for a kiosk's contact list. It was a check of
    every employee against every rule: 225 s for a worker's page at 50,000 employees."""
    rows, total = people.people_reached(
        session, people.reach_of(session, me, towards_me=True, supervised=supervised),
        (Employee.id, Employee.name, people.TEAM_NAME), limit=WRITERS_SHOWN)
    return [(i, name, team or "") for i, name, team in rows], total or 0


def _check_ref(session: Session, kind: str, ref: int | None) -> None:
    if kind == "person" and (ref is None or session.get(Employee, ref) is None):
        raise NotFound("unknown_person", "No such employee.")
    if kind == "team" and (ref is None or session.get(Team, ref) is None):
        raise NotFound("unknown_team", "No such team.")


def add_rule(session: Session, sender_kind: str, sender_ref: int | None, recipient_kind: str,
             recipient_ref: int | None, allow_reply: bool, actor: str, *,
             on_shift_only: bool = False) -> ContactRule:
    """A new rule (audited). The same rule twice is Conflict(rule_exists); the same rule
    with another reply or shift flag changes those flags instead."""
    if sender_kind not in SENDER_KINDS or recipient_kind not in RECIPIENT_KINDS:
        raise Invalid("bad_rule", "Unknown kind of rule.")
    if sender_kind not in ("person", "team"):
        sender_ref = None
    if recipient_kind not in ("person", "team"):
        recipient_ref = None
    _check_ref(session, sender_kind, sender_ref)
    _check_ref(session, recipient_kind, recipient_ref)
    if sender_kind == "person" and recipient_kind == "person" and sender_ref == recipient_ref:
        raise Invalid("self_rule", "Someone cannot be given a rule to write to themselves.")
    same = session.execute(select(ContactRule).where(
        ContactRule.sender_kind == sender_kind, ContactRule.recipient_kind == recipient_kind,
        ContactRule.sender_ref.is_(None) if sender_ref is None else ContactRule.sender_ref == sender_ref,
        ContactRule.recipient_ref.is_(None) if recipient_ref is None
        else ContactRule.recipient_ref == recipient_ref,
    )).scalars().first()
    if same is not None:
        if same.allow_reply == allow_reply and same.on_shift_only == on_shift_only:
            raise Conflict("rule_exists", "This rule already exists.")
        directory.set_rule_shift(session, same.id, on_shift_only, actor)
        return directory.set_rule_reply(session, same.id, allow_reply, actor)
    return directory.contact_rule(session, sender_kind, sender_ref, recipient_kind, recipient_ref,
                                  allow_reply=allow_reply, on_shift_only=on_shift_only,
                                  actor=actor)


def rule_view(session: Session, rule_id: int) -> RuleView:
    row = session.get(ContactRule, rule_id)
    if row is None:
        raise NotFound("not_found", "No such rule.")
    return views(session, [row])[0]
