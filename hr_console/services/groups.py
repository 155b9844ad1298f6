"""Workgroups: the console's management of them, their live membership, who may post, and
what a member's kiosk lists at badge-in.

Membership is never stored per member: it is worked out, set-based, from the group's rules
(a team, a site, a shift's team, everyone; limited to the group's site when it has one) and
its hand-picked people, among ACTIVE employees, at the moment it is asked. So someone who
moves team leaves and joins groups with no one clicking. Who received a given post is
another matter: the relay writes one ``group_receipts`` row per member when it fans the
post out, and that snapshot is what history and "seen by N of M" read.

The rules are stated once in plain Python in ``hr_console.domain.groups``; the SQL here says
the same for many people at once (and is tested against it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from hr_console.domain.groups import (
    MODERATION_MODES,
    POST_RIGHTS,
    RULE_KINDS,
    MemberRule,
    Placement,
    leads,
    posting_refusal,
)
from hr_console.services import audit
from hr_console.services.errors import Conflict, Invalid, NotFound
from hr_console.store.models import (
    Employee,
    Group,
    GroupPerson,
    GroupReceipt,
    GroupRule,
    Message,
    Shift,
    Site,
    Team,
    search_key,
    utcnow,
)
from relais_wire.envelope import WireError, clean_text

NAME_CHARS = 80
DESCRIPTION_CHARS = 500
MEMBERS_PER_PAGE = 50
LAST_EXCERPT_CHARS = 80
# Posts a member's kiosk shows (messaging.DELIVERABLE): accepted or approved, not held,
# refused, rejected or retracted.
VISIBLE_POSTS = ("accepted", "approved")


# --- views --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleView:
    kind: str  # team | site | shift | everyone
    ref_id: int | None
    label: str  # the team ("Team (Site)"), site or shift ("Shift — Team") named; "" for everyone


@dataclass(frozen=True)
class GroupView:
    id: int
    name: str
    description: str
    site_id: int | None
    site_name: str  # "" when the group is for every site
    post_right: str  # everyone | leads
    members_reply: bool
    moderation_mode: str | None  # None: the sender's usual mode
    state: str  # open | archived | deleted
    rules: list[RuleView]
    people: list[tuple[int, str]]  # hand-picked (id, name), by name
    member_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None


# --- membership, set-based ----------------------------------------------------------------


# Built on the Core tables (aliased: never silently correlated with a query they are
# embedded in, such as the relay's fan-out or a page of members), and the statements used
# at every badge-in are built once, with bound parameters: building an ORM statement with
# aliases costs milliseconds of Python, more than running it.
#
# Every part is driven by an index: the rules of the group, then teams by id or site, then
# employees by team (ix_employees_team_id) or by id. "Active" is tested as ``IS NOT false``
# on purpose: SQLite, without statistics, would otherwise walk ix_employees_active_name,
# that is every active employee (50,000 rows for 500 members).

_EMP, _TEAM, _SHIFT = Employee.__table__, Team.__table__, Shift.__table__
_GROUP, _RULE, _PERSON = Group.__table__, GroupRule.__table__, GroupPerson.__table__
_RECEIPT, _MSG = GroupReceipt.__table__, Message.__table__


def _active(employee: Any) -> ColumnElement[bool]:
    return employee.c.active.is_not(False)


def _rule_teams(group_id: Any) -> Select:
    """The teams whose members a group's team, site and shift rules take in (a shift rule
    means the shift's team), within the group's site if it has one. A union of one indexed
    lookup per kind of rule, so that a planner sees a dozen teams coming (PostgreSQL, given
    one OR over all teams, expected hundreds and read every employee). 'Everyone' is apart
    (``_everyone``)."""
    rule = [_RULE.alias() for _ in range(3)]
    team, site_team, shift, group = _TEAM.alias(), _TEAM.alias(), _SHIFT.alias(), _GROUP.alias()

    def of(r: Any, kind: str) -> ColumnElement[bool]:
        return and_(r.c.group_id == group_id, r.c.kind == kind)

    made = union(
        select(rule[0].c.ref_id.label("tid")).where(of(rule[0], "team")),
        select(site_team.c.id).join(rule[1], site_team.c.site_id == rule[1].c.ref_id)
        .where(of(rule[1], "site")),
        select(shift.c.team_id).join(rule[2], shift.c.id == rule[2].c.ref_id)
        .where(of(rule[2], "shift")),
    ).subquery()
    group_site = select(group.c.site_id).where(group.c.id == group_id).scalar_subquery()
    return (select(team.c.id).join(made, made.c.tid == team.c.id)
            .where(or_(group_site.is_(None), team.c.site_id == group_site)))


def _everyone(group_id: Any) -> Select:
    """An 'everyone' rule: every active employee (people without a team too), or with a
    site, those whose team is on it. Skipped whole when the group has no such rule."""
    rule, group, person, team = _RULE.alias(), _GROUP.alias(), _EMP.alias(), _TEAM.alias()
    group_site = select(group.c.site_id).where(group.c.id == group_id).scalar_subquery()
    return (select(person.c.id).outerjoin(team, team.c.id == person.c.team_id)
            .where(exists().where(rule.c.group_id == group_id, rule.c.kind == "everyone"),
                   _active(person),
                   or_(group_site.is_(None), team.c.site_id == group_site)))


def _members(group_id: Any, exclude: Any = None) -> Select:
    by_team, picked, person = _EMP.alias(), _EMP.alias(), _PERSON.alias()
    parts = [
        select(by_team.c.id).where(by_team.c.team_id.in_(_rule_teams(group_id)),
                                   _active(by_team)),
        select(picked.c.id).join(person, person.c.employee_id == picked.c.id)
        .where(person.c.group_id == group_id, _active(picked)),
        _everyone(group_id),
    ]
    if exclude is not None:
        parts = [p.where(p.selected_columns[0] != exclude) for p in parts]
    members = union(*parts).subquery()
    return select(members.c.id.label("id"))


def members_select(group_id: int, *, exclude: int | None = None) -> Select:
    """SELECT of the ids of the group's live members (one column, ``id``), for
    ``insert(...).from_select`` (the relay's fan-out) or a count. ``exclude``: the author.

    One statement, set-based: the active members of the teams the rules take in, the
    hand-picked, and everyone (within the group's site) under an 'everyone' rule."""
    return _members(literal(group_id, Integer),
                    None if exclude is None else literal(exclude, Integer))


# The relay's fan-out of a post: the members of group ``:gid`` but its ``:author``, built
# once (building members_select costs ~5 ms of Python per post, and its cache key 2 ms more).
# Module level in the caller, once:
#   fan = FAN_OUT_MEMBERS.subquery()
#   RECEIPTS = (insert(GroupReceipt.__table__).from_select(
#       ["message_id", "employee_id"], select(bindparam("mid", type_=Integer), fan.c.id))
#       .returning(GroupReceipt.__table__.c.employee_id))
# then per post: session.execute(RECEIPTS, {"mid": msg.id, "gid": gid, "author": sender_id}).
FAN_OUT_MEMBERS: Select = _members(bindparam("gid", type_=Integer),
                                   bindparam("author", type_=Integer))
_MEMBERS = _members(bindparam("gid")).subquery()
_MEMBER_IDS = select(_MEMBERS.c.id).order_by(_MEMBERS.c.id)
_MEMBER_COUNT = select(func.count()).select_from(_MEMBERS)


def member_ids(session: Session, group_id: int) -> list[int]:
    """The group's live members, by id: one set-based query."""
    return list(session.execute(_MEMBER_IDS, {"gid": group_id}).scalars())


def member_count(session: Session, group_id: int) -> int:
    return int(session.execute(_MEMBER_COUNT, {"gid": group_id}).scalar_one())


def _member_counts_select(group_ids: Any) -> Select:
    """(gid, count) of the live members of several groups at once, each person counted once,
    without ever listing the (group, person) pairs nor reading a hand-picked person's row:
    counts added up per group.

    * Groups with an 'everyone' rule: the active people (within the group's site), counted
      from the index for each such group (driven by those groups: none, nothing read), and
      their hand-picked not counted by it, tested one by one (such groups are few).
    * The others: the active members of the teams their rules take in, less those of them
      also hand-picked, in one pass (the union of their (group, team) pairs is small; one
      team per person: no repeats); plus their hand-picked who are active, counted from
      the picks' index against the few inactive people."""
    rule, team, shift = _RULE.alias(), _TEAM.alias(), _SHIFT.alias()
    mine = rule.c.group_id.in_(group_ids)
    made = union(
        select(rule.c.group_id.label("gid"), rule.c.ref_id.label("tid"))
        .where(mine, rule.c.kind == "team"),
        select(rule.c.group_id, team.c.id).join(team, team.c.site_id == rule.c.ref_id)
        .where(mine, rule.c.kind == "site"),
        select(rule.c.group_id, shift.c.team_id).join(shift, shift.c.id == rule.c.ref_id)
        .where(mine, rule.c.kind == "shift", shift.c.team_id.is_not(None)),
    ).subquery()
    every = _RULE.alias()
    everyone_groups = (select(every.c.group_id.label("gid"))
                       .where(every.c.group_id.in_(group_ids), every.c.kind == "everyone")
                       .distinct().cte("everyone_groups"))
    in_team, in_group = _TEAM.alias(), _GROUP.alias()
    group_teams = (select(made.c.gid, made.c.tid)
                   .join(in_group, in_group.c.id == made.c.gid)
                   .join(in_team, in_team.c.id == made.c.tid)
                   .where(or_(in_group.c.site_id.is_(None),
                              in_group.c.site_id == in_team.c.site_id),
                          made.c.gid.not_in(select(everyone_groups.c.gid)))
                   .cte("group_teams"))
    # By rule, less the hand-picked among them (the picks' primary key, looked up).
    member, also_picked = _EMP.alias(), _PERSON.alias()
    by_rule = (select(group_teams.c.gid,
                      (func.count() - func.count(also_picked.c.employee_id)).label("n"))
               .join(member, member.c.team_id == group_teams.c.tid)
               .outerjoin(also_picked, and_(also_picked.c.group_id == group_teams.c.gid,
                                            also_picked.c.employee_id == member.c.id))
               .where(_active(member))
               .group_by(group_teams.c.gid))
    # 'everyone': a count per such group, of every active person or of the site's teams.
    all_group, anyone, site_team, on_site = _GROUP.alias(), _EMP.alias(), _TEAM.alias(), \
        _EMP.alias()
    everybody = select(func.count()).select_from(anyone).where(_active(anyone))
    on_its_site = (select(func.count()).select_from(site_team)
                   .join(on_site, on_site.c.team_id == site_team.c.id)
                   .where(site_team.c.site_id == all_group.c.site_id, _active(on_site)))
    by_everyone = (select(everyone_groups.c.gid, case(
        (all_group.c.site_id.is_(None), everybody.scalar_subquery()),
        else_=on_its_site.correlate(all_group).scalar_subquery()))
        .join(all_group, all_group.c.id == everyone_groups.c.gid))
    # The hand-picked of the other groups who are active ("active" is ``IS NOT false``: not
    # among the few people whose flag is false), from the picks' index alone.
    pick, gone = _PERSON.alias(), _EMP.alias()
    picked = (select(pick.c.group_id, func.count())
              .where(pick.c.group_id.in_(group_ids),
                     pick.c.group_id.not_in(select(everyone_groups.c.gid)),
                     pick.c.employee_id.not_in(select(gone.c.id).where(gone.c.active == false())))
              .group_by(pick.c.group_id))
    # The hand-picked of 'everyone' groups whom their rule does not count (off its site, or
    # without a team where it has one). Someone without a team is on no site.
    person, chosen, own_team, picked_group = (_PERSON.alias(), _EMP.alias(), _TEAM.alias(),
                                              _GROUP.alias())
    by_everyone_too = (
        select(literal(1))
        .select_from(picked_group)
        .where(picked_group.c.id == person.c.group_id,
               or_(picked_group.c.site_id.is_(None),
                   picked_group.c.site_id == select(own_team.c.site_id)
                   .where(own_team.c.id == chosen.c.team_id).correlate(chosen)
                   .scalar_subquery()))
        .correlate(person, chosen).exists())
    picked_everyone = (select(person.c.group_id, func.count())
                       .join(chosen, chosen.c.id == person.c.employee_id)
                       .where(person.c.group_id.in_(select(everyone_groups.c.gid)),
                              _active(chosen), ~by_everyone_too)
                       .group_by(person.c.group_id))
    parts = by_rule.union_all(by_everyone, picked, picked_everyone).subquery()
    return select(parts.c.gid, func.sum(parts.c.n)).group_by(parts.c.gid)


_COUNTS = _member_counts_select(bindparam("ids", expanding=True))


def member_counts(session: Session, group_ids: Iterable[int]) -> dict[int, int]:
    """group id -> live member count, for several groups in one query."""
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    counts = dict(session.execute(_COUNTS, {"ids": ids}).all())
    return {gid: int(counts.get(gid, 0)) for gid in ids}


def _groups_of_select() -> Select:
    """SELECT of the open and archived groups the employee ``:eid`` is a live member of:
    the rules matching the person (the (kind, ref_id) index, the person's team and site
    read once), and the groups that hand-picked them."""
    me, team, shift = _EMP.alias(), _TEAM.alias(), _SHIFT.alias()
    eid = bindparam("eid")
    my_team = select(me.c.team_id).where(me.c.id == eid).scalar_subquery()
    my_site = (select(team.c.site_id).join(me, me.c.team_id == team.c.id)
               .where(me.c.id == eid).scalar_subquery())
    rule = _RULE.alias()
    rule_groups = select(rule.c.group_id).where(or_(
        rule.c.kind == "everyone",
        and_(rule.c.kind == "team", rule.c.ref_id == my_team),
        and_(rule.c.kind == "site", rule.c.ref_id == my_site),
        and_(rule.c.kind == "shift",
             rule.c.ref_id.in_(select(shift.c.id).where(shift.c.team_id == my_team)))))
    person = _PERSON.alias()
    picked = select(person.c.group_id).where(person.c.employee_id == eid)
    active = exists().where(me.c.id == eid, _active(me))
    return select(Group).where(
        Group.state.in_(("open", "archived")), active,
        or_(Group.id.in_(picked),
            and_(Group.id.in_(rule_groups),
                 or_(Group.site_id.is_(None), Group.site_id == my_site))))


_GROUPS_OF = _groups_of_select()
_GROUPS_OF_SORTED = _GROUPS_OF.order_by(Group.name, Group.id)
_IS_MEMBER = select(literal(True)).select_from(
    _GROUPS_OF.where(Group.id == bindparam("gid")).subquery())


def groups_of(session: Session, employee_id: int) -> list[Group]:
    """The open and archived groups this employee is a live member of, by name: one query,
    never a walk over all groups or all employees."""
    return list(session.execute(_GROUPS_OF_SORTED, {"eid": employee_id}).scalars())


def is_member(session: Session, group_id: int, employee_id: int) -> bool:
    """Is this employee a live member of this open or archived group now. Asked of one
    person, so worked out from that person's side (as groups_of), not from the whole
    membership."""
    return session.execute(_IS_MEMBER, {"gid": group_id, "eid": employee_id}).first() is not None


_LED = select(_TEAM.c.id, _TEAM.c.site_id).where(_TEAM.c.supervisor_id == bindparam("eid"))
_IS_HR_DESK = select(_EMP.c.is_hr_desk).where(_EMP.c.id == bindparam("eid"))
_RULES_OF = (select(_RULE.c.group_id, _RULE.c.kind, _RULE.c.ref_id)
             .where(_RULE.c.group_id.in_(bindparam("gids", expanding=True))))
_SHIFT_TEAMS = select(_SHIFT.c.id, _SHIFT.c.team_id).where(
    _SHIFT.c.id.in_(bindparam("shifts", expanding=True)))
_PICKED_LED = (select(_PERSON.c.group_id).join(_EMP, _EMP.c.id == _PERSON.c.employee_id)
               .where(_PERSON.c.group_id.in_(bindparam("gids", expanding=True)),
                      _EMP.c.team_id.in_(bindparam("teams", expanding=True)), _active(_EMP),
                      _EMP.c.id != bindparam("eid")))


def leads_of(session: Session, employee_id: int, rows: Iterable[Group]) -> set[int]:
    """Which of these groups the employee leads, so may post in where only leads do: the HR
    desk leads every group; a team lead those that take in a team they supervise (by rule,
    within the group's site, or through a hand-picked member of it other than themselves:
    being picked to read a group makes nobody its lead). At most five small
    queries, whatever the number of groups."""
    rows = list(rows)
    if not rows:
        return set()
    if session.execute(_IS_HR_DESK, {"eid": employee_id}).scalar():
        return {g.id for g in rows}
    led = [Placement(team_id, site_id)
           for team_id, site_id in session.execute(_LED, {"eid": employee_id})]
    if not led:
        return set()
    gids = [g.id for g in rows]
    rules: dict[int, list[MemberRule]] = {}
    for gid, kind, ref in session.execute(_RULES_OF, {"gids": gids}):
        with contextlib.suppress(ValueError):  # a rule left naming nothing takes nobody in
            rules.setdefault(gid, []).append(MemberRule(kind, ref))
    shifts = [r.ref_id for rs in rules.values() for r in rs if r.kind == "shift"]
    shift_team = {sid: tid for sid, tid in session.execute(_SHIFT_TEAMS, {"shifts": shifts})}
    picked = set(session.execute(_PICKED_LED, {"gids": gids, "eid": employee_id,
                                                "teams": [p.team_id for p in led]}).scalars())
    return {g.id for g in rows
            if leads(rules.get(g.id, []), led, shift_team, group_site_id=g.site_id,
                     leads_a_picked_member=g.id in picked)}


def is_lead(session: Session, employee_id: int, group: Group | int) -> bool:
    """May post in this group where only leads do (``leads_of``)."""
    row = session.get(Group, group) if isinstance(group, int) else group
    return row is not None and row.id in leads_of(session, employee_id, [row])


# --- posting ------------------------------------------------------------------------------


def may_post(session: Session, group: Group | int | None, employee_id: int, *,
             reply_to: str | None) -> str | None:
    """None if the employee may post this now, else the refusal code (domain.groups:
    'group_closed', 'not_member', 'archived', 'read_only', 'reply_only'). ``reply_to`` is
    the client id of the post answered, already checked by the caller to name a post of
    this group the person can see (or None)."""
    if isinstance(group, int):
        group = session.get(Group, group)
    if group is None or group.state not in ("open", "archived"):
        return posting_refusal(state=None, is_member=False, is_lead=False,
                               post_right="everyone", members_reply=False, reply_to=reply_to)
    member = is_member(session, group.id, employee_id)
    lead = member and group.post_right != "everyone" and is_lead(session, employee_id, group)
    return posting_refusal(state=group.state, is_member=member, is_lead=lead,
                           post_right=group.post_right, members_reply=group.members_reply,
                           reply_to=reply_to)


# --- what a member's kiosk lists ----------------------------------------------------------


_SYNC_IDS = bindparam("ids", expanding=True)
_UNREAD = (select(_MSG.c.group_id, func.count(),
                  func.max(case((_MSG.c.urgent.is_(True), 1), else_=0)))
           .join(_RECEIPT, _RECEIPT.c.message_id == _MSG.c.id)
           .where(_RECEIPT.c.employee_id == bindparam("eid"), _RECEIPT.c.read_at.is_(None),
                  _MSG.c.group_id.in_(_SYNC_IDS), _MSG.c.state.in_(VISIBLE_POSTS))
           .group_by(_MSG.c.group_id))
# The last post of each group the person can see: one they hold a receipt for, or wrote.
_HELD = select(_RECEIPT.c.message_id).where(_RECEIPT.c.employee_id == bindparam("eid"))
_LATEST = (select(func.max(_MSG.c.id))
           .where(_MSG.c.group_id.in_(_SYNC_IDS), _MSG.c.state.in_(VISIBLE_POSTS),
                  or_(_MSG.c.sender_id == bindparam("eid"), _MSG.c.id.in_(_HELD)))
           .group_by(_MSG.c.group_id))
_LAST = (select(_MSG.c.group_id, _EMP.c.name, _MSG.c.kind, _MSG.c.body, _MSG.c.sent_ts,
                _MSG.c.created_at)
         .join(_EMP, _EMP.c.id == _MSG.c.sender_id).where(_MSG.c.id.in_(_LATEST)))


def for_sync(session: Session, employee_id: int,
             mine: list[Group] | None = None) -> list[dict[str, Any]]:
    """The ``groups`` of a badge-in sync: the person's groups with what they may do, the
    member count, their unread posts and the last post they can see; urgent unread first,
    then by last activity. A fixed number of queries, whatever the number of groups.
    ``mine``: ``groups_of`` the person, when the caller read it in the same transaction."""
    rows = groups_of(session, employee_id) if mine is None else mine
    if not rows:
        return []
    ids = [g.id for g in rows]
    led = leads_of(session, employee_id, rows)
    counts = member_counts(session, ids)
    unread = {gid: (int(n), bool(urgent)) for gid, n, urgent in session.execute(
        _UNREAD, {"eid": employee_id, "ids": ids})}
    last: dict[int, tuple[dict[str, Any], dt.datetime]] = {}
    for gid, name, kind, body, sent_ts, created in session.execute(
            _LAST, {"eid": employee_id, "ids": ids}):
        text = (body or "") if kind in ("text", "photo") else ""
        last[gid] = ({"from_name": name, "kind": kind, "text": _excerpt(text),
                      "sent_ts": int(sent_ts or 0)}, created)
    out = []
    for g in rows:
        fields = {"state": g.state, "is_member": True, "is_lead": g.id in led,
                  "post_right": g.post_right, "members_reply": g.members_reply}
        new = posting_refusal(**fields, reply_to=None)
        answer = posting_refusal(**fields, reply_to="reply")
        n_unread, urgent = unread.get(g.id, (0, False))
        post = last.get(g.id)
        out.append({
            "id": g.id, "name": g.name, "description": g.description or "",
            "can_post": new is None, "read_only": answer is not None,
            "members_reply": bool(g.members_reply), "members": counts.get(g.id, 0),
            # A lead of the group or the HR desk may mark a post urgent (messaging._urgent).
            "can_urgent": new is None and g.id in led,
            "unread": n_unread, "last": post[0] if post else None,
            "urgent_unread": urgent and n_unread > 0,
            "_activity": post[1] if post else None,
        })
    out.sort(key=lambda d: (not d["urgent_unread"], d["_activity"] is None,
                            -(d["_activity"].timestamp() if d["_activity"] else 0),
                            d["name"].casefold(), d["id"]))
    for d in out:
        del d["_activity"]
    return out


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= LAST_EXCERPT_CHARS:
        return text
    return text[:LAST_EXCERPT_CHARS - 1].rstrip() + "…"


# --- reading for the console --------------------------------------------------------------


def _views(session: Session, rows: list[Group]) -> list[GroupView]:
    """Views of several groups in a fixed number of queries."""
    if not rows:
        return []
    ids = [g.id for g in rows]
    rules: dict[int, list[tuple[str, int | None]]] = {gid: [] for gid in ids}
    for gid, kind, ref in session.execute(
            select(GroupRule.group_id, GroupRule.kind, GroupRule.ref_id)
            .where(GroupRule.group_id.in_(ids)).order_by(GroupRule.id)):
        rules[gid].append((kind, ref))
    labels = _labels(session, [r for rs in rules.values() for r in rs],
                     {g.site_id for g in rows if g.site_id is not None})
    people: dict[int, list[tuple[int, str]]] = {gid: [] for gid in ids}
    for gid, eid, name in session.execute(
            select(GroupPerson.group_id, Employee.id, Employee.name)
            .join(Employee, Employee.id == GroupPerson.employee_id)
            .where(GroupPerson.group_id.in_(ids)).order_by(Employee.name, Employee.id)):
        people[gid].append((eid, name))
    counts = member_counts(session, ids)
    return [GroupView(
        id=g.id, name=g.name, description=g.description or "", site_id=g.site_id,
        site_name=labels.get(("site", g.site_id), "") if g.site_id is not None else "",
        post_right=g.post_right, members_reply=bool(g.members_reply),
        moderation_mode=g.moderation_mode, state=g.state,
        rules=[RuleView(k, r, labels.get((k, r), "" if k == "everyone" else f"#{r}"))
               for k, r in rules[g.id]],
        people=people[g.id], member_count=counts.get(g.id, 0), created_at=g.created_at,
        updated_at=g.updated_at, archived_at=g.archived_at) for g in rows]


def _labels(session: Session, rules: list[tuple[str, int | None]],
            site_ids: set[int]) -> dict[tuple[str, int | None], str]:
    """(kind, ref) -> the name it shows; missing refs are left out."""
    refs: dict[str, set[int]] = {"team": set(), "site": set(site_ids), "shift": set()}
    for kind, ref in rules:
        if kind in refs and ref is not None:
            refs[kind].add(ref)
    out: dict[tuple[str, int | None], str] = {}
    if refs["site"]:
        out.update((("site", i), n) for i, n in session.execute(
            select(Site.id, Site.name).where(Site.id.in_(refs["site"]))))
    if refs["team"]:
        out.update((("team", i), f"{t} ({s})") for i, t, s in session.execute(
            select(Team.id, Team.name, Site.name).join(Site, Site.id == Team.site_id)
            .where(Team.id.in_(refs["team"]))))
    if refs["shift"]:
        out.update((("shift", i), f"{n} — {t}" if t else n) for i, n, t in session.execute(
            select(Shift.id, Shift.name, Team.name).outerjoin(Team, Team.id == Shift.team_id)
            .where(Shift.id.in_(refs["shift"]))))
    return out


def list_groups(session: Session, *, include_deleted: bool = False,
                site_id: int | None = None) -> list[GroupView]:
    """Groups by name (deleted ones only if asked; ``site_id``: the groups tied to it)."""
    stmt = select(Group).order_by(Group.name, Group.id)
    if not include_deleted:
        stmt = stmt.where(Group.state != "deleted")
    if site_id is not None:
        stmt = stmt.where(Group.site_id == site_id)
    return _views(session, list(session.execute(stmt).scalars()))


def get(session: Session, group_id: int) -> GroupView:
    """One group, whatever its state (NotFound if there is no such row)."""
    return _views(session, [_row(session, group_id)])[0]


def _row(session: Session, group_id: int) -> Group:
    row = session.get(Group, group_id) if isinstance(group_id, int) else None
    if row is None:
        raise NotFound("not_found", "No such group.")
    return row


def members_page(session: Session, group_id: int, *, q: str = "",
                 page: int = 1) -> tuple[list[tuple[int, str, str]], int]:
    """A page of the live members, by name: (id, name, team name or ""), and how many
    match ``q`` (a case- and accent-blind substring of the name) in all."""
    _row(session, group_id)
    cond = [Employee.id.in_(members_select(group_id))]
    if q.strip():
        cond.append(Employee.search_name.contains(search_key(q.strip()), autoescape=True))
    total = session.execute(
        select(func.count()).select_from(Employee).where(*cond)).scalar_one()
    page = max(1, int(page))
    rows = session.execute(
        select(Employee.id, Employee.name, Team.name)
        .outerjoin(Team, Team.id == Employee.team_id)
        .where(*cond).order_by(Employee.name, Employee.id)
        .limit(MEMBERS_PER_PAGE).offset((page - 1) * MEMBERS_PER_PAGE)).all()
    return [(i, n, t or "") for i, n, t in rows], int(total)


# --- changing (console) -------------------------------------------------------------------


class _Keep:
    """An update field left as it is."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


def _text(value: Any, field: str, code: str, max_chars: int, *, allow_empty: bool) -> str:
    if not isinstance(value, str):
        raise Invalid(code, f"{field} must be text.", field=field)
    try:
        return clean_text(value, field, max_chars, allow_empty=allow_empty).strip()
    except WireError as exc:
        raise Invalid(code, exc.message, field=field, reason=exc.code,
                      max_chars=max_chars) from None


def _check_name_free(session: Session, name: str, group_id: int | None) -> None:
    wanted = name.casefold()
    for gid, other in session.execute(
            select(Group.id, Group.name).where(Group.state != "deleted")):
        if gid != group_id and other.casefold() == wanted:
            raise Conflict("name_taken", f"Another group is already named {name!r}.",
                           field="name")


def _ids(session: Session, model: Any, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(session.execute(select(model.id).where(model.id.in_(ids))).scalars())


def _check_rules(session: Session, rules: Any,
                 kept: set[tuple[str, int | None]]) -> list[tuple[str, int | None]]:
    """Rules as (kind, ref_id), without repeats; what they name must exist, except a rule the
    group already had (a team or shift removed since must not block every later edit)."""
    out: list[tuple[str, int | None]] = []
    try:
        items = list(rules)
    except TypeError:
        raise Invalid("bad_rule", "Rules are a list of (kind, reference).",
                      field="rules") from None
    for item in items:
        try:
            kind, ref = item
        except (TypeError, ValueError):
            raise Invalid("bad_rule", "A rule is a (kind, reference) pair.",
                          field="rules") from None
        if isinstance(ref, bool) or (ref is not None and not isinstance(ref, int)):
            raise Invalid("bad_rule", "A rule's reference is a number.", field="rules")
        try:
            MemberRule(kind, ref)
        except ValueError:
            raise Invalid("bad_rule", f"A rule is one of {', '.join(RULE_KINDS)}, with a "
                          "reference except for everyone.", field="rules") from None
        if (kind, ref) not in out:
            out.append((kind, ref))
    for kind, model, code in (("team", Team, "unknown_team"), ("site", Site, "unknown_site"),
                              ("shift", Shift, "unknown_shift")):
        wanted = {r for k, r in out if k == kind and (k, r) not in kept}
        missing = wanted - _ids(session, model, wanted)  # type: ignore[arg-type]
        if missing:
            raise Invalid(code, f"No {kind} #{min(missing)}.", field="rules", ref=min(missing))
    return out


def _check_people(session: Session, people: Any) -> list[int]:
    """Hand-picked ids, without repeats; each must be an employee (a deactivated one may
    stay picked: they are a member of nothing until reactivated)."""
    try:
        ids = list(dict.fromkeys(people))
    except TypeError:
        raise Invalid("unknown_person", "People are a list of employee ids.",
                      field="people") from None
    if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise Invalid("unknown_person", "People are a list of employee ids.", field="people")
    missing = set(ids) - _ids(session, Employee, set(ids))
    if missing:
        raise Invalid("unknown_person", f"No employee #{min(missing)}.", field="people",
                      ref=min(missing))
    return ids


def _fields(session: Session, *, name: Any, description: Any, site_id: Any, post_right: Any,
            members_reply: Any, moderation_mode: Any, group_id: int | None) -> dict[str, Any]:
    name = _text(name, "name", "bad_name", NAME_CHARS, allow_empty=False)
    description = _text(description if description is not None else "", "description",
                         "bad_description", DESCRIPTION_CHARS, allow_empty=True)
    if site_id is not None and (isinstance(site_id, bool) or not isinstance(site_id, int)
                                or session.get(Site, site_id) is None):
        raise Invalid("unknown_site", "No such site.", field="site_id")
    if post_right not in POST_RIGHTS:
        raise Invalid("bad_post_right", f"Who may post is one of {', '.join(POST_RIGHTS)}.",
                      field="post_right")
    if not isinstance(members_reply, bool):
        raise Invalid("bad_members_reply", "members_reply is true or false.",
                      field="members_reply")
    if moderation_mode is not None and moderation_mode not in MODERATION_MODES:
        raise Invalid("bad_moderation", f"Moderation mode is one of "
                      f"{', '.join(MODERATION_MODES)}, or the sender's.", field="moderation_mode")
    _check_name_free(session, name, group_id)
    return {"name": name, "description": description, "site_id": site_id,
            "post_right": post_right, "members_reply": members_reply,
            "moderation_mode": moderation_mode}


def _store_rules(session: Session, group_id: int, rules: list[tuple[str, int | None]]) -> None:
    session.execute(GroupRule.__table__.delete().where(GroupRule.group_id == group_id))
    if rules:
        session.execute(GroupRule.__table__.insert(),
                        [{"group_id": group_id, "kind": k, "ref_id": r} for k, r in rules])


def _store_people(session: Session, group_id: int, people: list[int]) -> None:
    session.execute(GroupPerson.__table__.delete().where(GroupPerson.group_id == group_id))
    if people:
        session.execute(GroupPerson.__table__.insert(),
                        [{"group_id": group_id, "employee_id": e} for e in people])


def _target(group_id: int) -> str:
    return f"group:{group_id}"


def create(session: Session, *, name: str, description: str = "", site_id: int | None = None,
           post_right: str = "everyone", members_reply: bool = False,
           moderation_mode: str | None = None, rules: Iterable[tuple[str, int | None]] = (),
           people: Iterable[int] = (), actor: str) -> GroupView:
    """A new open group. Everything is checked before anything is written (Invalid /
    Conflict with a stable code); audited as ``group.create``."""
    fields = _fields(session, name=name, description=description, site_id=site_id,
                     post_right=post_right, members_reply=members_reply,
                     moderation_mode=moderation_mode, group_id=None)
    rule_list = _check_rules(session, rules, set())
    person_list = _check_people(session, people)
    now = utcnow()
    row = Group(**fields, state="open", created_at=now, updated_at=now,
                created_by=(actor or "")[:80])
    session.add(row)
    session.flush()
    _store_rules(session, row.id, rule_list)
    _store_people(session, row.id, person_list)
    audit.record(session, actor, "group.create", _target(row.id), **fields,
                 rules=[list(r) for r in rule_list], people=person_list)
    return get(session, row.id)


def update(session: Session, group_id: int, *, name: Any = KEEP, description: Any = KEEP,
           site_id: Any = KEEP, post_right: Any = KEEP, members_reply: Any = KEEP,
           moderation_mode: Any = KEEP, rules: Any = KEEP, people: Any = KEEP,
           actor: str) -> GroupView:
    """Change an open group; a field left out (KEEP) stays as it is. Membership follows at
    once. Audited as ``group.update`` with what changed; nothing changed, nothing written."""
    row = _row(session, group_id)
    _check_open(row)
    current = {"name": row.name, "description": row.description or "", "site_id": row.site_id,
               "post_right": row.post_right, "members_reply": bool(row.members_reply),
               "moderation_mode": row.moderation_mode}
    given = {"name": name, "description": description, "site_id": site_id,
             "post_right": post_right, "members_reply": members_reply,
             "moderation_mode": moderation_mode}
    fields = _fields(session, group_id=row.id,
                     **{k: current[k] if v is KEEP else v for k, v in given.items()})
    old_rules = [(k, r) for k, r in session.execute(
        select(GroupRule.kind, GroupRule.ref_id).where(GroupRule.group_id == row.id)
        .order_by(GroupRule.id))]
    old_people = list(session.execute(
        select(GroupPerson.employee_id).where(GroupPerson.group_id == row.id)
        .order_by(GroupPerson.employee_id)).scalars())
    new_rules = old_rules if rules is KEEP else _check_rules(session, rules, set(old_rules))
    new_people = old_people if people is KEEP else _check_people(session, people)
    changes: dict[str, Any] = {k: [current[k], v] for k, v in fields.items() if current[k] != v}
    if set(new_rules) != set(old_rules):
        changes["rules"] = [[list(r) for r in old_rules], [list(r) for r in new_rules]]
        _store_rules(session, row.id, new_rules)
    added = sorted(set(new_people) - set(old_people))
    removed = sorted(set(old_people) - set(new_people))
    if added or removed:
        changes["people"] = {"added": added, "removed": removed}
        _store_people(session, row.id, new_people)
    if changes:
        for key, value in fields.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
        session.flush()
        audit.record(session, actor, "group.update", _target(row.id), name=row.name,
                     changes=changes)
    return get(session, row.id)


def _check_open(row: Group) -> None:
    if row.state == "deleted":
        raise Invalid("deleted", "This group was deleted.")
    if row.state == "archived":
        raise Invalid("archived", "The group is archived: reopen it first.")


def archive(session: Session, group_id: int, actor: str) -> GroupView:
    """Read-only for everyone, still listed; audited as ``group.archive``."""
    row = _row(session, group_id)
    if row.state == "archived":
        raise Invalid("already_archived", "The group is already archived.")
    _check_open(row)
    row.state, row.archived_at = "archived", utcnow()
    row.updated_at = row.archived_at
    session.flush()
    audit.record(session, actor, "group.archive", _target(row.id), name=row.name)
    return get(session, row.id)


def reopen(session: Session, group_id: int, actor: str) -> GroupView:
    """An archived group open again; audited as ``group.reopen``."""
    row = _row(session, group_id)
    if row.state == "deleted":
        raise Invalid("deleted", "This group was deleted.")
    if row.state != "archived":
        raise Invalid("not_archived", "The group is not archived.")
    row.state, row.archived_at, row.updated_at = "open", None, utcnow()
    session.flush()
    audit.record(session, actor, "group.reopen", _target(row.id), name=row.name)
    return get(session, row.id)


def delete(session: Session, group_id: int, actor: str) -> GroupView:
    """Hidden everywhere (its posts go with retention as usual); its name is free again.
    Audited as ``group.delete``."""
    row = _row(session, group_id)
    if row.state == "deleted":
        raise Invalid("deleted", "This group was deleted.")
    row.state, row.updated_at = "deleted", utcnow()
    session.flush()
    audit.record(session, actor, "group.delete", _target(row.id), name=row.name)
    return get(session, row.id)


__all__ = [
    "DESCRIPTION_CHARS", "FAN_OUT_MEMBERS", "KEEP", "MEMBERS_PER_PAGE", "NAME_CHARS",
    "VISIBLE_POSTS", "GroupView", "RuleView", "archive", "create", "delete", "for_sync", "get",
    "groups_of", "is_lead", "is_member", "list_groups", "may_post", "member_count",
    "member_counts", "member_ids", "members_page", "members_select", "reopen", "update",
]
