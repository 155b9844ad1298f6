"""One employee's contact policy as HR sees it: the rules that concern them, whom they may
write to (exactly the list their kiosk shows, from ``people.contact_list``), who may write
to them, and their moderation mode. Changes go through ``directory`` and are audited."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hr_console.domain.moderation import effective_mode
from hr_console.domain.policy import RECIPIENT_KINDS, SENDER_KINDS, Person, Rule, may_write, sender_matches
from hr_console.services import directory, people, settings
from hr_console.services.errors import Conflict, Invalid, NotFound
from hr_console.store.models import ContactRule, Employee, Site, Team

WRITERS_SHOWN = 300  # who may write to someone: the first names shown, then a count


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
    can_write_to: list[dict]  # people.contact_list: what the kiosk shows
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
                     r.sender_kind != "person" and r.recipient_kind != "person") for r in rows]


def group_rules(session: Session) -> list[RuleView]:
    rows = list(session.execute(
        select(ContactRule).where(ContactRule.sender_kind != "person",
                                  ContactRule.recipient_kind != "person")
        .order_by(ContactRule.id)).scalars())
    return views(session, rows)


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
    rows = list(session.execute(select(ContactRule).order_by(ContactRule.id)).scalars())
    person_refs = {r.sender_ref for r in rows if r.sender_kind == "person"}
    team_of = dict(session.execute(
        select(Employee.id, Employee.team_id).where(Employee.id.in_(person_refs))).all()) \
        if person_refs else {}
    rules = [(r, Rule(r.sender_kind, r.sender_ref, r.recipient_kind, r.recipient_ref, r.allow_reply))
             for r in rows]
    as_sender = [r for r, rule in rules if sender_matches(rule, me)]
    as_recipient = [r for r, rule in rules if _may_receive_by(rule, me, supervised, team_of)]
    writers, total = _writers(session, me, [rule for _r, rule in rules])
    default = str(settings.get(session, "default_moderation"))
    return Policy(
        employee_id=emp.id, name=emp.name, active=emp.active, is_hr_desk=emp.is_hr_desk,
        team_id=emp.team_id, team=team.name if team else "", supervises=supervises,
        as_sender=views(session, as_sender), as_recipient=views(session, as_recipient),
        can_write_to=people.contact_list(session, employee_id),
        writers=writers, writers_total=total,
        own_mode=emp.moderation_mode, team_mode=team.moderation_mode if team else None,
        default_mode=default,
        effective_mode=effective_mode(emp.moderation_mode, team.moderation_mode if team else None,
                                      default),
    )


def _writers(session: Session, me: Person, rules: list[Rule]) -> tuple[list[tuple[int, str, str]], int]:
    """Everyone the relay would let write to ``me`` (same check as for a real message)."""
    rows = session.execute(
        select(Employee.id, Employee.name, Employee.team_id, Team.supervisor_id,
               Employee.is_hr_desk, Employee.active, Team.name)
        .outerjoin(Team, Team.id == Employee.team_id)
        .where(Employee.active.is_(True), Employee.id != me.id)
        .order_by(Employee.name, Employee.id)
    ).all()
    shown: list[tuple[int, str, str]] = []
    total = 0
    for r in rows:
        if may_write(Person(r[0], r[2], r[3], bool(r[4]), bool(r[5])), me, rules).allowed:
            total += 1
            if len(shown) < WRITERS_SHOWN:
                shown.append((r[0], r[1], r[6] or ""))
    return shown, total


def _check_ref(session: Session, kind: str, ref: int | None) -> None:
    if kind == "person" and (ref is None or session.get(Employee, ref) is None):
        raise NotFound("unknown_person", "No such employee.")
    if kind == "team" and (ref is None or session.get(Team, ref) is None):
        raise NotFound("unknown_team", "No such team.")


def add_rule(session: Session, sender_kind: str, sender_ref: int | None, recipient_kind: str,
             recipient_ref: int | None, allow_reply: bool, actor: str) -> ContactRule:
    """A new rule (audited). The same rule twice is Conflict(rule_exists); the same rule
    with another reply flag changes that flag instead."""
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
        if same.allow_reply == allow_reply:
            raise Conflict("rule_exists", "This rule already exists.")
        return directory.set_rule_reply(session, same.id, allow_reply, actor)
    return directory.contact_rule(session, sender_kind, sender_ref, recipient_kind, recipient_ref,
                                  allow_reply=allow_reply, actor=actor)


def rule_view(session: Session, rule_id: int) -> RuleView:
    row = session.get(ContactRule, rule_id)
    if row is None:
        raise NotFound("not_found", "No such rule.")
    return views(session, [row])[0]
