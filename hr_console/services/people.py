"""Reading people, teams and contact rules as domain values, and the contact lists built
from them. The relay's check and the kiosk's list come from the same function."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session, aliased

from hr_console.domain.policy import Person, Rule, RuleIndex, reach
from hr_console.store.db import batch_cache, cached, keep
from hr_console.store.models import ContactRule, Employee, Team


def person(session: Session, employee_id: int) -> Person | None:
    row = session.execute(
        select(Employee.id, Employee.team_id, Team.supervisor_id, Employee.is_hr_desk,
               Employee.active)
        .outerjoin(Team, Team.id == Employee.team_id)
        .where(Employee.id == employee_id)
    ).one_or_none()
    return None if row is None else Person(*row)


# Run for every relay batch: built once (see messaging._FIND).
_PERSONS = (select(Employee, Team).outerjoin(Team, Team.id == Employee.team_id)
            .where(Employee.id.in_(bindparam("ids", expanding=True))))


def persons(session: Session, *ids: int) -> dict[int, Person]:
    """Several people (and their teams) in one query. The rows stay in the session, so
    that a later ``session.get(Employee, id)`` or ``session.get(Team, id)`` of the same
    unit of work costs no query (for the rest of the batch, in the relay)."""
    out: dict[int, Person] = {}
    cache = batch_cache(session)
    known = cache.setdefault("persons", {}) if cache is not None else {}
    missing = [i for i in dict.fromkeys(ids) if i not in known]
    if missing:
        for emp, team in session.execute(_PERSONS, {"ids": missing}).tuples():
            keep(session, emp, team)
            known[emp.id] = Person(emp.id, emp.team_id, team.supervisor_id if team else None,
                                   emp.is_hr_desk, emp.active)
    for i in ids:
        if i in known:
            out[i] = known[i]
    return out


def rules(session: Session) -> list[Rule]:
    """Every contact rule (once per batch in the relay: ``store.db.open_batch_cache``)."""
    return cached(session, "contact_rules", lambda: [
        Rule(*row) for row in session.execute(
            select(ContactRule.sender_kind, ContactRule.sender_ref, ContactRule.recipient_kind,
                   ContactRule.recipient_ref, ContactRule.allow_reply)
            .order_by(ContactRule.id))
    ])


def rule_index(session: Session) -> RuleIndex:
    """The contact rules by sender side (once per batch in the relay, like ``rules``)."""
    return cached(session, "contact_rule_index", lambda: RuleIndex(rules(session)))


def check(session: Session, sender_id: int, recipient_id: int) -> str | None:
    """None when ``sender`` may write to ``recipient``, else the refusal code."""
    both = persons(session, sender_id, recipient_id)
    sender, recipient = both.get(sender_id), both.get(recipient_id)
    if sender is None or recipient is None:
        return "unknown_recipient"
    verdict = _index_for(session, sender, recipient).may_write(sender, recipient)
    return None if verdict.allowed else verdict.reason


def _index_for(session: Session, *people: Person) -> RuleIndex:
    """A ``RuleIndex`` of the rules whose sender side is one of ``people`` (everyone, their
    person, their team): ``RuleIndex.for_pair`` looks at no others for a pair of them, so its
    verdicts are those of the index of every rule. Read from the database for the people it
    does not cover yet, all at once: in a relay batch, every person the batch loaded
    (``persons``), so one query per batch whatever the number of rules, instead of every
    rule into Python."""
    cache = batch_cache(session)
    if cache is None:
        return RuleIndex(_rules_of(session, list(people)).values())
    covered: set[int] = cache.setdefault("rules_covered", set())
    if all(p.id in covered for p in people):
        return cache["rules_subset_index"]
    known: dict[int, Person] = cache.get("persons", {})
    wanted = {p.id: p for p in known.values() if p.id not in covered}
    wanted.update({p.id: p for p in people if p.id not in covered})
    rules = cache.setdefault("rules_subset", {})
    rules.update(_rules_of(session, list(wanted.values())))
    covered.update(wanted)
    index = cache["rules_subset_index"] = RuleIndex(rules[i] for i in sorted(rules))
    return index


def _rules_of(session: Session, people: list[Person]) -> dict[int, Rule]:
    """The contact rules whose sender side is one of ``people``, by id."""
    teams = sorted({p.team_id for p in people if p.team_id is not None})
    return {row[0]: Rule(*row[1:]) for row in session.execute(
        _RULES_OF, {"ids": sorted({p.id for p in people}), "teams": teams})}


_RULES_OF = (
    select(ContactRule.id, ContactRule.sender_kind, ContactRule.sender_ref,
           ContactRule.recipient_kind, ContactRule.recipient_ref, ContactRule.allow_reply)
    .where(or_(ContactRule.sender_kind == "everyone",
               and_(ContactRule.sender_kind == "person",
                    ContactRule.sender_ref.in_(bindparam("ids", expanding=True))),
               and_(ContactRule.sender_kind == "team",
                    ContactRule.sender_ref.in_(bindparam("teams", expanding=True)))))
    .order_by(ContactRule.id))


def _rules_about(session: Session, me: Person, supervised: list[int]) -> list[Rule]:
    """The rules ``policy.reach`` needs for ``me`` (a superset of ``RuleIndex.about``
    narrowed by the teams ``me`` supervises), chosen by the database: a badge-in reads the
    few rules that concern one person instead of building every rule in Python."""
    if not me.active:
        return []
    r = ContactRule
    as_sender = [r.sender_kind == "everyone",
                 and_(r.sender_kind == "person", r.sender_ref == me.id)]
    if me.team_id is not None:
        as_sender.append(and_(r.sender_kind == "team", r.sender_ref == me.team_id))
    as_recipient = [and_(r.recipient_kind == "person", r.recipient_ref == me.id)]
    if me.team_id is not None:
        as_recipient.append(and_(r.recipient_kind == "team", r.recipient_ref == me.team_id))
    if me.is_hr_desk:
        as_recipient.append(r.recipient_kind == "hr_desk")
    if supervised:
        as_recipient.append(and_(r.recipient_kind == "supervisor", or_(
            r.sender_kind.in_(("everyone", "person")),
            and_(r.sender_kind == "team", r.sender_ref.in_(supervised)))))
    return [Rule(*row) for row in session.execute(
        select(r.sender_kind, r.sender_ref, r.recipient_kind, r.recipient_ref, r.allow_reply)
        .where(or_(*as_sender, and_(r.allow_reply.is_(True), or_(*as_recipient))))
        .order_by(r.id))]


def contact_list(session: Session, employee_id: int) -> list[dict]:
    """Everyone this employee may write to, as their kiosk shows them, by name.

    The rules that concern this employee become sets (``policy.reach``: person ids, team
    ids, the HR desk, everyone, members of the teams they supervise), and the sets one
    indexed query: the cost follows the size of the answer, not employees x rules. The same
    people as ``policy.contacts`` over every employee (tests/domain/test_policy_sets.py,
    tests/web/test_contact_list_sets.py)."""
    me = person(session, employee_id)
    if me is None:
        return []
    supervised = list(session.execute(select(Team.id).where(Team.supervisor_id == me.id))
                      .scalars()) if me.active else []
    who = reach(me, _rules_about(session, me, supervised), supervised)
    if who.nobody:
        return []
    team = aliased(Team)
    query = (
        select(Employee.id, Employee.name, Employee.is_hr_desk, team.name)
        .outerjoin(team, team.id == Employee.team_id)
        .where(Employee.active.is_(True), Employee.id != employee_id)
        .order_by(Employee.name, Employee.id)
    )
    if not who.everyone:
        anyone = []
        if who.person_ids:
            anyone.append(Employee.id.in_(sorted(who.person_ids)))
        if who.team_ids:
            anyone.append(Employee.team_id.in_(sorted(who.team_ids)))
        if who.hr_desk:
            # A subquery rather than ``is_hr_desk`` in the OR: employees.is_hr_desk has no
            # index, and an unindexed term makes SQLite walk every active employee instead
            # of uniting the id and team_id lookups (MULTI-INDEX OR).
            desk = aliased(Employee)
            anyone.append(Employee.id.in_(select(desk.id).where(desk.is_hr_desk.is_(True))))
        if who.supervised_team_ids:
            members = Employee.team_id.in_(sorted(who.supervised_team_ids))
            if who.supervised_members:
                anyone.append(members)
            elif who.supervised_person_ids:
                anyone.append(and_(Employee.id.in_(sorted(who.supervised_person_ids)), members))
        if not anyone:
            return []
        query = query.where(or_(*anyone))
    return [{"id": i, "name": name, "team": team_name or "", "hr": bool(hr)}
            for i, name, hr, team_name in session.execute(query)]
