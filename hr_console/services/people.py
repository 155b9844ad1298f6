"""Reading people, teams and contact rules as domain values, and the contact lists built
from them. The relay's check and the kiosk's list come from the same function."""

from __future__ import annotations

from sqlalchemy import Row, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from hr_console.domain.policy import Person, Reach, Rule, RuleIndex, off_shift_rules, reach
from hr_console.domain.shifts import Status
from hr_console.services import shifts
from hr_console.services.remembered import Profile, remembered
from hr_console.store.db import batch_cache, cached, keep
from hr_console.store.models import ContactRule, Employee, Team, search_key
from relais_wire import limits


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
    """Several people (and their teams) in one query, or none for those the relay remembers
    (``services.remembered``). The rows read stay in the session, so that a later
    ``session.get(Employee, id)`` or ``session.get(Team, id)`` of the same unit of work costs
    no query (for the rest of the batch, in the relay); the message path reads what else it
    needs of a person through ``profile``."""
    out: dict[int, Person] = {}
    cache = batch_cache(session)
    known = cache.setdefault("persons", {}) if cache is not None else {}
    kept = remembered(session)
    if kept is not None:
        known.update((i, kept.people[i]) for i in ids if i not in known and i in kept.people)
    missing = [i for i in dict.fromkeys(ids) if i not in known]
    if missing:
        for emp, team in session.execute(_PERSONS, {"ids": missing}).tuples():
            keep(session, emp, team)
            known[emp.id] = Person(emp.id, emp.team_id, team.supervisor_id if team else None,
                                   emp.is_hr_desk, emp.active)
            if kept is not None:
                kept.people[emp.id] = known[emp.id]
                kept.profiles[emp.id] = Profile(emp.name, emp.moderation_mode,
                                                team.moderation_mode if team else None)
    for i in ids:
        if i in known:
            out[i] = known[i]
    return out


def profile(session: Session, employee_id: int) -> Profile | None:
    """A person's name and moderation modes: remembered by the relay, else from the session
    (no query in a batch that read them with ``persons``)."""
    kept = remembered(session)
    if kept is not None and employee_id in kept.profiles:
        return kept.profiles[employee_id]
    emp = session.get(Employee, employee_id)
    if emp is None:
        return None
    team = session.get(Team, emp.team_id) if emp.team_id is not None else None
    return Profile(emp.name, emp.moderation_mode, team.moderation_mode if team else None)


# What a ``policy.Rule`` is made of, in its fields' order.
_RULE_COLUMNS = (ContactRule.sender_kind, ContactRule.sender_ref, ContactRule.recipient_kind,
                 ContactRule.recipient_ref, ContactRule.allow_reply, ContactRule.on_shift_only)


def rules(session: Session) -> list[Rule]:
    """Every contact rule (once per batch in the relay: ``store.db.open_batch_cache``)."""
    return cached(session, "contact_rules", lambda: [
        Rule(*row) for row in session.execute(
            select(*_RULE_COLUMNS).order_by(ContactRule.id))
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
    # Off shift first: when that is allowed, being on shift changes nothing, and the sender's
    # shifts are read (once per batch) only when an on-shift-only rule alone would allow it.
    verdict = _index_for(session, sender, recipient).may_write(sender, recipient,
                                                               on_shift=False)
    if verdict.reason == "off_shift" and not shifts.status_of(session, sender_id).off_shift:
        return None
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
    kept = remembered(session)
    if kept is not None:  # the relay's, from an earlier batch at the same epoch
        for person in list(wanted.values()):
            theirs = kept.rules_of(person)
            if theirs is not None:
                rules.update(theirs)
                covered.add(person.id)
                del wanted[person.id]
    if wanted:
        found = _rules_of(session, list(wanted.values()))
        rules.update(found)
        if kept is not None:
            kept.learn_rules(found, list(wanted.values()))
    covered.update(wanted)
    index = cache["rules_subset_index"] = RuleIndex(rules[i] for i in sorted(rules))
    return index


def _rules_of(session: Session, people: list[Person]) -> dict[int, Rule]:
    """The contact rules whose sender side is one of ``people``, by id."""
    teams = sorted({p.team_id for p in people if p.team_id is not None})
    return {row[0]: Rule(*row[1:]) for row in session.execute(
        _RULES_OF, {"ids": sorted({p.id for p in people}), "teams": teams})}


_RULES_OF = (
    select(ContactRule.id, *_RULE_COLUMNS)
    .where(or_(ContactRule.sender_kind == "everyone",
               and_(ContactRule.sender_kind == "person",
                    ContactRule.sender_ref.in_(bindparam("ids", expanding=True))),
               and_(ContactRule.sender_kind == "team",
                    ContactRule.sender_ref.in_(bindparam("teams", expanding=True)))))
    .order_by(ContactRule.id))


def _rules_about(session: Session, me: Person, supervised: list[int], *,
                 towards_me: bool = False) -> list[Rule]:
    """The rules ``policy.reach`` needs for ``me`` (a superset of ``RuleIndex.about``
    narrowed by the teams ``me`` supervises), chosen by the database: a badge-in reads the
    few rules that concern one person instead of building every rule in Python.
    ``towards_me``: for ``reach(towards_me=True)``, every rule naming ``me`` on either side
    (it filters on replies itself)."""
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
    about_me = or_(*as_recipient) if towards_me else and_(r.allow_reply.is_(True),
                                                          or_(*as_recipient))
    return [Rule(*row) for row in session.execute(
        select(*_RULE_COLUMNS)
        .where(or_(*as_sender, about_me))
        .order_by(r.id))]


FOUND_SHOWN = 30  # people a name search gives back at most: type more to narrow it

_TEAM = aliased(Team, name="their_team")  # a person's team, beside the teams of the WHERE
TEAM_NAME = _TEAM.name


def _reached(query: Select, who: Reach) -> Select | None:
    """``query`` (over ``Employee``) narrowed to the people ``who`` admits, as one indexed
    ``WHERE``; None when it admits nobody."""
    if who.nobody:
        return None
    query = query.where(Employee.active.is_(True), Employee.id != who.me)
    if who.everyone:
        return query
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
    return query.where(or_(*anyone)) if anyone else None


def _reached_with_team(columns: tuple, who: Reach) -> Select | None:
    """``columns`` of the people ``who`` admits, their team joined (``TEAM_NAME``)."""
    return _reached(select(*columns).select_from(Employee)
                    .outerjoin(_TEAM, _TEAM.id == Employee.team_id), who)


def _with_first(session: Session, who: Reach, columns: tuple, rows: list[Row],
                first: set[int]) -> list[Row]:
    """``rows`` (the head by name) and after them the people of ``first`` and the HR desk
    that ``who`` admits and the head left out: a few more rows, one indexed query."""
    wanted = or_(Employee.id.in_(sorted(first)), Employee.is_hr_desk.is_(True)) if first \
        else Employee.is_hr_desk.is_(True)
    query = _reached_with_team(columns, who)
    if query is None:
        return rows
    held = {row[0] for row in rows}
    # Outside the head, so after all of it in the same order: appended, in that order.
    return [*rows, *(row for row in session.execute(query.where(wanted)
                                                     .order_by(Employee.name, Employee.id))
                     if row[0] not in held)]


def reach_of(session: Session, me: Person, *, towards_me: bool = False,
             supervised: list[int] | None = None) -> Reach:
    """Whom ``me`` may write to (or, ``towards_me``, who may write to ``me``) as sets.
    ``supervised``: the teams ``me`` supervises, when the caller has read them already."""
    if supervised is None or not me.active:
        supervised = list(session.execute(select(Team.id).where(Team.supervisor_id == me.id))
                          .scalars()) if me.active else []
    return reach(me, _rules_about(session, me, supervised, towards_me=towards_me), supervised,
                 towards_me=towards_me)


def people_reached(session: Session, who: Reach, columns: tuple, *,
                   limit: int | None = None, named: str = "") -> tuple[list[Row], int | None]:
    """The people ``who`` admits, by name: ``columns`` of the first ``limit`` of them (all
    when None), and how many there are when a limit is given (one COUNT). ``named``: only
    those whose name holds it, case and accents aside (``search_name``)."""
    query = _reached_with_team(columns, who)
    if query is None:
        return [], 0 if limit is not None else None
    name_part = Employee.search_name.contains(search_key(named), autoescape=True) \
        if named else None
    if name_part is not None:
        query = query.where(name_part)
    ordered = query.order_by(Employee.name, Employee.id)
    if limit is None:
        return list(session.execute(ordered)), None
    rows = list(session.execute(ordered.limit(limit)))
    if len(rows) < limit:
        return rows, len(rows)
    # The count without the team join: a join per matching row doubled it at 50,000.
    counted = _reached(select(func.count()).select_from(Employee), who)
    assert counted is not None
    if name_part is not None:
        counted = counted.where(name_part)
    return rows, session.scalar(counted)


def contact_list(session: Session, employee_id: int) -> list[dict]:
    """Everyone this employee may write to, as their kiosk shows them, by name.

    The rules that concern this employee become sets (``policy.reach``: person ids, team
    ids, the HR desk, everyone, members of the teams they supervise), and the sets one
    indexed query: the cost follows the size of the answer, not employees x rules. The same
    people as ``policy.contacts`` over every employee (tests/domain/test_policy_sets.py,
    tests/web/test_contact_list_sets.py).

    Someone off shift also gets the people only an on-shift-only rule lets them write to,
    marked ``"off_shift": true`` with ``"from": "06:00"`` (and ``"from_day"`` when not
    today): the kiosk shows them greyed, with when."""
    return contacts_and_shift(session, employee_id)[0]


def find_contacts(session: Session, employee_id: int, named: str, *,
                  limit: int = FOUND_SHOWN) -> tuple[list[dict], int]:
    """The first ``limit`` people of ``contact_list`` whose name holds ``named`` (case and
    accents aside), as that list gives them, and how many match in all.

    A sync lists at most what one packet holds (relay.sync_fit): the HR desk of a company
    of 16,000 finds the others by name from her kiosk (the kiosk API's ``/contacts``).
    Fewer than ``MIN_FIND_CHARS`` letters once folded (a lone accent is none) find nobody:
    they would match everyone, at the price of a walk through all her contacts."""
    named = named.strip()[:limits.MAX_FIND_CHARS]
    if len(search_key(named)) < limits.MIN_FIND_CHARS:
        return [], 0
    found, _state, total = _contacts(session, employee_id, named=named, limit=limit)
    return found, total or 0


def contacts_and_shift(session: Session, employee_id: int, *, need_shift: bool = False
                       ) -> tuple[list[dict], Status | None]:
    """``contact_list``, and the person's shift state when it was read: only when an
    on-shift-only rule concerns them, or ``need_shift`` (the off-shift notice is on)."""
    found, state, _total = _contacts(session, employee_id, need_shift=need_shift)
    return found, state


SYNC_CONTACTS_MOST = 2000  # a sync's contact list, at most: the rest are found by name


def sync_contacts(session: Session, employee_id: int, *, first: set[int],
                  need_shift: bool = False, most: int = SYNC_CONTACTS_MOST
                  ) -> tuple[list[dict], Status | None, int]:
    """``contacts_and_shift`` for a badge-in's sync: the first ``most`` by name, with the
    people of ``first`` (those of the history shown) and the HR desk wherever they fall,
    by name, and how many were left out. Everyone's contact, the HR desk of a company of
    50,000 had all of them built and encoded at each badge-in (a second on a slow machine)
    to keep the 13,800 one packet holds; nobody scrolls those on a kiosk, and her kiosk
    finds the others by name (the kiosk API's ``/contacts``), as it does for the rest."""
    found, state, total = _contacts(session, employee_id, need_shift=need_shift, limit=most,
                                    first=first)
    return found, state, max(0, (total or 0) - len(found))


def _contacts(session: Session, employee_id: int, *, need_shift: bool = False,
              named: str = "", limit: int | None = None, first: set[int] | None = None
              ) -> tuple[list[dict], Status | None, int | None]:
    me = person(session, employee_id)
    if me is None:
        return [], None, 0
    supervised = list(session.execute(select(Team.id).where(Team.supervisor_id == me.id))
                      .scalars()) if me.active else []
    about = _rules_about(session, me, supervised)
    state = shifts.status_of(session, me.id) \
        if need_shift or any(r.on_shift_only for r in about) else None
    now: Reach | None = None
    if state is not None and state.off_shift and any(r.on_shift_only for r in about):
        now = reach(me, off_shift_rules(about), supervised)
    who = reach(me, about, supervised)
    columns = (Employee.id, Employee.name, Employee.is_hr_desk, TEAM_NAME, Employee.team_id)
    rows, total = people_reached(session, who, columns, limit=limit, named=named)
    if first is not None and limit is not None and len(rows) >= limit:
        rows = _with_first(session, who, columns, rows, first)
    later = shifts.opening(state) if now is not None and state is not None else {}
    out = []
    for i, name, hr, team_name, team_id in rows:
        entry = {"id": i, "name": name, "team": team_name or "", "hr": bool(hr)}
        if now is not None and not now.admits(Person(i, team_id, None, bool(hr))):
            entry.update(off_shift=True, **later)
        out.append(entry)
    return out, state, total
