"""services.groups on a real database (SQLite, and PostgreSQL when RELAIS_TEST_PG_URL is
set): live membership by rule and by hand, the site limit, posting rights, validation that
changes nothing, the audit trail, and the groups list of a badge-in sync."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Integer, bindparam, func, insert, literal, select
from sqlalchemy.orm import Session

from hr_console.domain.groups import MemberRule, Placement
from hr_console.domain.groups import is_member as domain_is_member
from hr_console.services import audit, groups, messaging
from hr_console.services.errors import Conflict, Invalid, NotFound, ServiceError
from hr_console.store.db import Store
from hr_console.store.migrate import upgrade
from hr_console.store.models import (
    AuditEntry,
    Downlink,
    Employee,
    Group,
    GroupPerson,
    GroupReceipt,
    GroupRule,
    Message,
    Shift,
    Site,
    Team,
)

REF = "16fd2706-8baf-433b-82eb-8c7fada847da"


@dataclass
class Org:
    """Two sites; teams A1, A2 on site A and B1 on site B; a shift on A1 and one on B1."""

    store: Store
    site_a: int
    site_b: int
    a1: int
    a2: int
    b1: int
    shift_a1: int
    shift_b1: int
    people: dict[str, int]

    def __getitem__(self, name: str) -> int:
        return self.people[name]


@pytest.fixture
def org(db_url: str) -> Iterator[Org]:
    upgrade(db_url)
    store = Store(db_url)
    with store.session() as s:
        site_a, site_b = Site(name="Site A"), Site(name="Site B")
        s.add_all([site_a, site_b])
        s.flush()
        a1, a2 = Team(name="A1", site_id=site_a.id), Team(name="A2", site_id=site_a.id)
        b1 = Team(name="B1", site_id=site_b.id)
        s.add_all([a1, a2, b1])
        s.flush()
        people = {}
        for name, team, hr in [("ana", a1, False), ("alex", a1, False), ("abel", a2, False),
                               ("bea", b1, False), ("ben", b1, False), ("hugo", None, True),
                               ("nina", None, False), ("olga", a1, False)]:
            e = Employee(name=name.capitalize(), team_id=team.id if team else None,
                         is_hr_desk=hr)
            s.add(e)
            s.flush()
            people[name] = e.id
        olga = s.get(Employee, people["olga"])
        olga.active = False  # deactivated: a member of nothing
        a1.supervisor_id = people["ana"]  # Ana leads A1
        shift_a1 = Shift(name="Matin", team_id=a1.id, start_time=dt.time(6),
                         end_time=dt.time(14))
        shift_b1 = Shift(name="Nuit", team_id=b1.id, start_time=dt.time(22),
                         end_time=dt.time(6))
        s.add_all([shift_a1, shift_b1])
        s.flush()
        made = Org(store, site_a.id, site_b.id, a1.id, a2.id, b1.id, shift_a1.id,
                   shift_b1.id, people)
    yield made
    store.dispose()


def _create(s, name: str = "Ligne", **kw) -> groups.GroupView:  # noqa: ANN001, ANN003
    fields = {"description": "", "site_id": None, "post_right": "everyone",
              "members_reply": False, "moderation_mode": None, "rules": [], "people": []}
    fields.update(kw)
    return groups.create(s, name=name, actor="hr", **fields)


def _names(org: Org, ids) -> set[str]:  # noqa: ANN001
    back = {v: k for k, v in org.people.items()}
    return {back[i] for i in ids}


def _members(org: Org, gid: int) -> set[str]:
    with org.store.session() as s:
        ids = groups.member_ids(s, gid)
        assert groups.member_count(s, gid) == len(ids)
        assert groups.member_counts(s, [gid]) == {gid: len(ids)}
        assert groups.get(s, gid).member_count == len(ids)
        for eid in org.people.values():
            assert groups.is_member(s, gid, eid) is (eid in ids)
            assert (gid in {g.id for g in groups.groups_of(s, eid)}) is (
                eid in ids and s.get(Group, gid).state != "deleted")
        return _names(org, ids)


# --- membership -------------------------------------------------------------------------


def test_each_rule_kind(org: Org) -> None:
    with org.store.session() as s:
        team = _create(s, "team", rules=[("team", org.a1)]).id
        site = _create(s, "site", rules=[("site", org.site_b)]).id
        shift = _create(s, "shift", rules=[("shift", org.shift_a1)]).id
        everyone = _create(s, "everyone", rules=[("everyone", None)]).id
        both = _create(s, "both", rules=[("team", org.a2), ("shift", org.shift_b1)]).id
        nobody = _create(s, "nobody").id
    assert _members(org, team) == {"ana", "alex"}
    assert _members(org, site) == {"bea", "ben"}
    assert _members(org, shift) == {"ana", "alex"}
    assert _members(org, everyone) == {"ana", "alex", "abel", "bea", "ben", "hugo", "nina"}
    assert _members(org, both) == {"abel", "bea", "ben"}
    assert _members(org, nobody) == set()


def test_site_limit_applies_to_rules_not_to_hand_picked(org: Org) -> None:
    with org.store.session() as s:
        gid = _create(s, "A only", site_id=org.site_a,
                      rules=[("everyone", None), ("team", org.b1)],
                      people=[org["bea"], org["nina"]]).id
        site_b_team_rule = _create(s, "B team in A", site_id=org.site_a,
                                   rules=[("shift", org.shift_b1)]).id
    # Everyone on site A (not people without a team), plus the hand-picked from anywhere.
    assert _members(org, gid) == {"ana", "alex", "abel", "bea", "nina"}
    assert _members(org, site_b_team_rule) == set()


def test_hand_picked_and_inactive(org: Org) -> None:
    with org.store.session() as s:
        gid = _create(s, "picked", people=[org["bea"], org["olga"], org["bea"]]).id
        assert [p for p, _n in groups.get(s, gid).people] == sorted(
            [org["bea"], org["olga"]], key=lambda i: s.get(Employee, i).name)
    assert _members(org, gid) == {"bea"}  # Olga is deactivated
    with org.store.session() as s:
        s.get(Employee, org["olga"]).active = True
        s.get(Employee, org["bea"]).active = False
    assert _members(org, gid) == {"olga"}


def test_moving_team_changes_membership_live(org: Org) -> None:
    with org.store.session() as s:
        gid = _create(s, "A1", rules=[("shift", org.shift_a1)]).id
        site_b = _create(s, "B", rules=[("site", org.site_b)]).id
    assert _members(org, gid) == {"ana", "alex"}
    with org.store.session() as s:
        s.get(Employee, org["alex"]).team_id = org.b1
        s.get(Employee, org["nina"]).team_id = org.a1
    assert _members(org, gid) == {"ana", "nina"}
    assert _members(org, site_b) == {"bea", "ben", "alex"}
    with org.store.session() as s:  # a whole team moving site
        s.get(Team, org.a2).site_id = org.site_b
    assert _members(org, site_b) == {"bea", "ben", "alex", "abel"}


def test_counts_of_hand_picked_people_the_rules_take_in_too(org: Org) -> None:
    """member_counts adds the rules' members and the hand-picked without reading each pick:
    a person both picked and taken in by a rule counts once, a deactivated pick not at all,
    a pick off an 'everyone' group's site or without a team counts as a pick; several
    groups counted at once, each as alone."""
    with org.store.session() as s:
        made = [
            _create(s, "team", rules=[("team", org.a1)],
                    people=[org["alex"], org["olga"], org["bea"], org["nina"]]).id,
            _create(s, "shift", rules=[("shift", org.shift_a1), ("site", org.site_a)],
                    people=[org["ana"], org["abel"], org["olga"]]).id,
            _create(s, "everyone A", site_id=org.site_a, rules=[("everyone", None)],
                    people=[org["ana"], org["bea"], org["nina"], org["olga"]]).id,
            _create(s, "everyone", rules=[("everyone", None)],
                    people=[org["ana"], org["olga"]]).id,
            _create(s, "picked", people=[org["olga"], org["hugo"]]).id,
            _create(s, "site B in A", site_id=org.site_a, rules=[("site", org.site_b)],
                    people=[org["ben"]]).id,
        ]
    assert [_members(org, gid) for gid in made] == [
        {"ana", "alex", "bea", "nina"}, {"ana", "alex", "abel"},
        {"ana", "alex", "abel", "bea", "nina"},
        {"ana", "alex", "abel", "bea", "ben", "hugo", "nina"}, {"hugo"}, {"ben"}]
    with org.store.session() as s:
        assert groups.member_counts(s, [*made, 9999]) == {
            **{gid: len(groups.member_ids(s, gid)) for gid in made}, 9999: 0}


@pytest.mark.parametrize("seed", [15, 3, 42])
def test_set_based_membership_agrees_with_the_domain_rules(org: Org, seed: int) -> None:
    """A random organisation and random groups: the SQL says what domain.groups says."""
    rng = random.Random(seed)
    with org.store.session() as s:
        sites = [org.site_a, org.site_b]
        teams = []
        for i in range(8):
            t = Team(name=f"T{i}", site_id=rng.choice(sites))
            s.add(t)
            s.flush()
            teams.append(t.id)
        shifts = []
        for i in range(6):
            sh = Shift(name=f"S{i}", team_id=rng.choice([*teams, None]),
                       start_time=dt.time(6), end_time=dt.time(14))
            s.add(sh)
            s.flush()
            shifts.append(sh.id)
        for i in range(120):
            s.add(Employee(name=f"E{i:03}", team_id=rng.choice([*teams, None]),
                           active=rng.random() > 0.1))
        s.flush()
        made = []
        for i in range(60):
            rules = []
            for _ in range(rng.randint(0, 3)):
                kind = rng.choice(["team", "site", "shift", "everyone"])
                ref = {"team": lambda: rng.choice(teams), "site": lambda: rng.choice(sites),
                       "shift": lambda: rng.choice(shifts), "everyone": lambda: None}[kind]()
                rules.append((kind, ref))
            ids = list(s.execute(select(Employee.id)).scalars())
            made.append(_create(s, f"G{i}", site_id=rng.choice([None, *sites]), rules=rules,
                                people=rng.sample(ids, rng.randint(0, 4))).id)
    with org.store.session() as s:
        shift_team = dict(s.execute(select(Shift.id, Shift.team_id)).all())
        site_of = dict(s.execute(select(Team.id, Team.site_id)).all())
        everybody = s.execute(select(Employee.id, Employee.team_id, Employee.active)).all()
        counts = groups.member_counts(s, made)
        for gid in made:
            g = s.get(Group, gid)
            rules = [MemberRule(k, r) for k, r in s.execute(
                select(GroupRule.kind, GroupRule.ref_id).where(GroupRule.group_id == gid))]
            picked = set(s.execute(select(GroupPerson.employee_id)
                                   .where(GroupPerson.group_id == gid)).scalars())
            expected = {eid for eid, team, active in everybody if domain_is_member(
                rules, Placement(team, site_of.get(team), active), shift_team,
                group_site_id=g.site_id, hand_picked=eid in picked)}
            assert set(groups.member_ids(s, gid)) == expected, gid
            assert counts[gid] == len(expected)
        members = {gid: set(groups.member_ids(s, gid)) for gid in made}
        for eid, _team, _active in everybody:
            mine = {g.id for g in groups.groups_of(s, eid)}
            assert mine == {gid for gid in made if eid in members[gid]}


def test_members_select_feeds_an_insert(org: Org) -> None:
    """The relay's fan-out can write one receipt per member, author excepted, in one
    INSERT ... SELECT."""
    with org.store.session() as s:
        gid = _create(s, "fan", rules=[("team", org.a1)], people=[org["bea"]]).id
        post = Message(client_id=str(uuid.uuid4()), sender_id=org["ana"], recipient_id=None,
                       group_id=gid, kind="text", body="hi", state="accepted")
        s.add(post)
        s.flush()
        members = groups.members_select(gid, exclude=org["ana"]).add_columns(
            literal(post.id)).subquery()
        s.execute(insert(GroupReceipt).from_select(
            ["employee_id", "message_id"], select(members)))
        got = set(s.execute(select(GroupReceipt.employee_id)
                            .where(GroupReceipt.message_id == post.id)).scalars())
    assert _names(org, got) == {"alex", "bea"}


def test_the_prebuilt_fan_out_feeds_an_insert(org: Org) -> None:
    """FAN_OUT_MEMBERS, built once with bound ``gid`` and ``author``: the relay's INSERT ...
    SELECT of one receipt per member, author excepted, built once too and run for any
    post of any group (RETURNING who got one)."""
    fan = groups.FAN_OUT_MEMBERS.subquery()
    receipts = GroupReceipt.__table__
    stmt = (insert(receipts).from_select(
        ["message_id", "employee_id"], select(bindparam("mid", type_=Integer), fan.c.id))
        .returning(receipts.c.employee_id))
    with org.store.session() as s:
        a1 = _create(s, "fan", rules=[("team", org.a1)], people=[org["bea"]]).id
        site_b = _create(s, "B", rules=[("site", org.site_b)], people=[org["abel"]]).id
        got = {}
        for gid, author in ((a1, org["ana"]), (site_b, org["bea"]), (a1, org["bea"])):
            post = Message(client_id=str(uuid.uuid4()), sender_id=author, recipient_id=None,
                           group_id=gid, kind="text", body="hi", state="accepted")
            s.add(post)
            s.flush()
            members = s.execute(stmt, {"mid": post.id, "gid": gid, "author": author}).scalars()
            got[post.id] = set(members)
            assert got[post.id] == set(s.execute(
                select(GroupReceipt.employee_id).where(GroupReceipt.message_id == post.id)
            ).scalars())
    assert [_names(org, m) for m in got.values()] == [
        {"alex", "bea"}, {"ben", "abel"}, {"ana", "alex"}]


def test_two_reads_of_one_post_committed_at_once_count_both(org: Org) -> None:
    """Alex's and Bea's reads of Ana's post, marked by two transactions at once (a relay's
    worker and its receipts lane, or two relays): the second counts once the first has
    committed, so Ana's last state says "seen by 2", not two states of "seen by 1"."""
    cid = str(uuid.uuid4())
    with org.store.session() as s:
        gid = _create(s, "fan", rules=[("team", org.a1)], people=[org["bea"]]).id
        post = Message(client_id=cid, sender_id=org["ana"], recipient_id=None, group_id=gid,
                       kind="text", body="hi", state="accepted")
        s.add(post)
        s.flush()
        s.add_all([GroupReceipt(message_id=post.id, employee_id=org[name])
                   for name in ("alex", "bea")])
    first = Session(org.store.engine)
    try:
        messaging.group_reads(first, [(org["alex"], cid)])
        first.flush()  # Alex's read and Ana's state written, not committed
        second = threading.Thread(target=_reads_in_own_transaction,
                                  args=(org.store, org["bea"], cid), daemon=True)
        second.start()
        second.join(0.5)
        assert second.is_alive()  # waits for the first transaction's post (or writer) lock
        first.commit()
    finally:
        first.close()
    second.join(10)
    assert not second.is_alive()
    with org.store.session() as s:
        states = [d.payload for d in s.execute(select(Downlink).where(
            Downlink.employee_id == org["ana"], Downlink.kind == "state")).scalars()]
    assert [(p["seen"], p["members"]) for p in states] == [(2, 2)]


def _reads_in_own_transaction(store: Store, reader: int, cid: str) -> None:
    with store.session() as s:
        messaging.group_reads(s, [(reader, cid)])


def test_members_page(org: Org) -> None:
    with org.store.session() as s:
        gid = _create(s, "all", rules=[("everyone", None)]).id
        rows, total = groups.members_page(s, gid)
        assert total == 7 and [r[1] for r in rows] == sorted(r[1] for r in rows)
        assert ("A1" in {t for _i, _n, t in rows}) and ("" in {t for _i, _n, t in rows})
        rows, total = groups.members_page(s, gid, q="  B")  # Abel, Bea, Ben
        assert total == 3 and {n for _i, n, _t in rows} == {"Abel", "Bea", "Ben"}
        rows, total = groups.members_page(s, gid, page=2)
        assert rows == [] and total == 7
        with pytest.raises(NotFound):
            groups.members_page(s, 9999)


# --- posting rights ---------------------------------------------------------------------


def test_may_post_matrix(org: Org) -> None:
    with org.store.session() as s:
        open_ = _create(s, "open", rules=[("site", org.site_a)], people=[org["hugo"]]).id
        leads = _create(s, "leads", post_right="leads", rules=[("site", org.site_a)],
                        people=[org["hugo"]]).id
        replies = _create(s, "replies", post_right="leads", members_reply=True,
                          rules=[("site", org.site_a)]).id
        archived = _create(s, "archived", rules=[("site", org.site_a)]).id
        groups.archive(s, archived, "hr")
        deleted = _create(s, "deleted", rules=[("site", org.site_a)]).id
        groups.delete(s, deleted, "hr")
    cases = [
        (open_, "alex", None, None), (open_, "alex", REF, None),
        (open_, "bea", None, "not_member"), (open_, "hugo", None, None),
        (open_, "olga", None, "not_member"),  # deactivated
        (leads, "ana", None, None),  # supervises A1
        (leads, "hugo", None, None),  # HR desk, hand-picked
        (leads, "alex", None, "read_only"), (leads, "alex", REF, "read_only"),
        (replies, "alex", None, "reply_only"), (replies, "alex", REF, None),
        (replies, "ana", None, None),
        (replies, "hugo", REF, "not_member"),  # a lead, but not a member
        (archived, "alex", None, "archived"), (archived, "bea", None, "not_member"),
        (deleted, "alex", None, "group_closed"), (9999, "alex", None, "group_closed"),
    ]
    with org.store.session() as s:
        for gid, who, reply_to, expected in cases:
            assert groups.may_post(s, gid, org[who], reply_to=reply_to) == expected, (gid, who)
            row = s.get(Group, gid)
            assert groups.may_post(s, row, org[who], reply_to=reply_to) == expected
        assert groups.may_post(s, None, org["alex"], reply_to=None) == "group_closed"
        assert groups.is_lead(s, org["ana"], leads) and groups.is_lead(s, org["hugo"], leads)
        assert not groups.is_lead(s, org["alex"], leads)



def test_a_lead_leads_only_the_groups_that_take_in_a_team_they_lead(org: Org) -> None:
    """Leading some team is not enough to write in every 'leads' group: Ben, who leads B1
    on site B, may not post in the A1 safety group he was hand-picked into; Ana (A1) may, by
    the team rule, by the shift of her team and by the site rule; a lead of a hand-picked
    member's team may; the HR desk may everywhere."""
    with org.store.session() as s:
        s.get(Team, org.b1).supervisor_id = org["ben"]
        by_team = _create(s, "Consignes A1", post_right="leads", rules=[("team", org.a1)],
                          people=[org["ben"], org["hugo"]]).id
        by_shift = _create(s, "Matin A1", post_right="leads", rules=[("shift", org.shift_a1)],
                           people=[org["ben"]]).id
        by_site = _create(s, "Site A", post_right="leads", rules=[("site", org.site_a)],
                          people=[org["ben"]]).id
        everyone_a = _create(s, "Tout A", post_right="leads", site_id=org.site_a,
                             rules=[("everyone", None)], people=[org["ben"]]).id
        picked = _create(s, "Choisis", post_right="leads",
                         people=[org["ana"], org["bea"], org["alex"]]).id
    with org.store.session() as s:
        for gid in (by_team, by_shift, by_site, everyone_a):
            assert groups.may_post(s, gid, org["ana"], reply_to=None) is None, gid
            assert groups.may_post(s, gid, org["ben"], reply_to=None) == "read_only", gid
        assert groups.may_post(s, by_team, org["hugo"], reply_to=None) is None
        # Bea (B1) is hand-picked: Ben leads her team, Ana leads Alex's.
        assert groups.may_post(s, picked, org["ana"], reply_to=None) is None
        assert groups.may_post(s, picked, org["alex"], reply_to=None) == "read_only"
        rows = [s.get(Group, g) for g in (by_team, by_shift, by_site, everyone_a, picked)]
        assert groups.leads_of(s, org["ana"], rows) == {by_team, by_shift, by_site, everyone_a,
                                                        picked}
        assert groups.leads_of(s, org["hugo"], rows) == {g.id for g in rows}
        assert groups.leads_of(s, org["alex"], rows) == set()
        ben = {g["id"]: g for g in groups.for_sync(s, org["ben"])}
        assert ben[by_team]["can_post"] is False and ben[by_team]["read_only"] is True


# --- changes: validated, audited ----------------------------------------------------------


def _state(org: Org) -> tuple:
    with org.store.session() as s:
        return (s.execute(select(Group.id, Group.name, Group.description, Group.site_id,
                                 Group.post_right, Group.members_reply, Group.moderation_mode,
                                 Group.state, Group.updated_at).order_by(Group.id)).all(),
                s.execute(select(GroupRule.group_id, GroupRule.kind, GroupRule.ref_id)
                          .order_by(GroupRule.id)).all(),
                s.execute(select(GroupPerson.group_id, GroupPerson.employee_id)
                          .order_by(GroupPerson.group_id, GroupPerson.employee_id)).all(),
                s.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


BAD_CREATES = [
    ({"name": ""}, "bad_name"), ({"name": "   "}, "bad_name"), ({"name": "x" * 81}, "bad_name"),
    ({"name": "a\u202eb"}, "bad_name"), ({"name": None}, "bad_name"),
    ({"description": "d" * 501}, "bad_description"),
    ({"site_id": 9999}, "unknown_site"), ({"site_id": "1"}, "unknown_site"),
    ({"post_right": "admins"}, "bad_post_right"),
    ({"members_reply": "yes"}, "bad_members_reply"),
    ({"moderation_mode": "later"}, "bad_moderation"),
    ({"rules": [("person", 1)]}, "bad_rule"), ({"rules": [("team", None)]}, "bad_rule"),
    ({"rules": [("everyone", 3)]}, "bad_rule"), ({"rules": [("team",)]}, "bad_rule"),
    ({"rules": [("team", "1")]}, "bad_rule"), ({"rules": 5}, "bad_rule"),
    ({"rules": [("team", 9999)]}, "unknown_team"), ({"rules": [("site", 9999)]}, "unknown_site"),
    ({"rules": [("shift", 9999)]}, "unknown_shift"),
    ({"people": [9999]}, "unknown_person"), ({"people": ["1"]}, "unknown_person"),
    ({"name": "Existing"}, "name_taken"), ({"name": "EXISTING"}, "name_taken"),
]


def test_validation_errors_change_nothing(org: Org) -> None:
    with org.store.session() as s:
        gid = _create(s, "Existing", rules=[("team", org.a1)], people=[org["bea"]]).id
    before = _state(org)
    for change, code in BAD_CREATES:
        fields = {"name": "New group", **change}
        with org.store.session() as s, pytest.raises(ServiceError) as info:
            _create(s, **fields)
        assert info.value.code == code, change
        assert isinstance(info.value, Conflict if code == "name_taken" else Invalid)
        assert info.value.message and info.value.message.isascii()
        assert _state(org) == before
        if code == "name_taken":
            continue
        with org.store.session() as s, pytest.raises(ServiceError) as info:
            groups.update(s, gid, actor="hr", **{"name": "Existing", **change})
        assert info.value.code == code, change
        assert _state(org) == before
    for call, code in [(lambda s: groups.reopen(s, gid, "hr"), "not_archived"),
                       (lambda s: groups.get(s, 9999), "not_found"),
                       (lambda s: groups.update(s, 9999, name="x", actor="hr"), "not_found"),
                       (lambda s: groups.archive(s, 9999, "hr"), "not_found")]:
        with org.store.session() as s, pytest.raises(ServiceError) as info:
            call(s)
        assert info.value.code == code
        assert _state(org) == before


def test_state_changes_and_their_refusals(org: Org) -> None:
    with org.store.session() as s:
        gid = _create(s, "Inventaire", rules=[("team", org.a1)]).id
        view = groups.archive(s, gid, "hr")
        assert view.state == "archived" and view.archived_at is not None
    for call, code in [(lambda s: groups.archive(s, gid, "hr"), "already_archived"),
                       (lambda s: groups.update(s, gid, name="x", actor="hr"), "archived")]:
        with org.store.session() as s, pytest.raises(Invalid) as info:
            call(s)
        assert info.value.code == code
    with org.store.session() as s:
        assert [g.id for g in groups.groups_of(s, org["ana"])] == [gid]  # archived: listed
        view = groups.reopen(s, gid, "hr")
        assert view.state == "open" and view.archived_at is None
        groups.delete(s, gid, "hr")
        assert groups.get(s, gid).state == "deleted"
        assert groups.groups_of(s, org["ana"]) == []
        assert gid not in {g.id for g in groups.list_groups(s)}
        assert gid in {g.id for g in groups.list_groups(s, include_deleted=True)}
        for call in (groups.archive, groups.reopen, groups.delete):
            with pytest.raises(Invalid) as info:
                call(s, gid, "hr")
            assert info.value.code == "deleted"
        # A deleted group's name is free again.
        assert _create(s, "inventaire").state == "open"


def test_every_change_is_audited(org: Org) -> None:
    with org.store.session() as s:
        start = s.execute(select(func.max(AuditEntry.id))).scalar() or 0
        gid = _create(s, "Consignes", description="Ligne 3", site_id=org.site_a,
                      post_right="leads", rules=[("team", org.a1)], people=[org["hugo"]]).id
        same = groups.update(s, gid, actor="hr2", name="Consignes")  # nothing changes
        assert same.name == "Consignes"
        groups.update(s, gid, actor="hr2", description="Ligne 3 et 4",
                      rules=[("team", org.a1), ("team", org.a2)],
                      people=[org["bea"]], members_reply=True)
        groups.archive(s, gid, "hr3")
        groups.reopen(s, gid, "hr3")
        groups.delete(s, gid, "hr4")
    with org.store.session() as s:
        rows = s.execute(select(AuditEntry).where(AuditEntry.id > start)
                         .order_by(AuditEntry.id)).scalars().all()
        assert [(r.actor, r.action, r.target) for r in rows] == [
            ("hr", "group.create", f"group:{gid}"), ("hr2", "group.update", f"group:{gid}"),
            ("hr3", "group.archive", f"group:{gid}"), ("hr3", "group.reopen", f"group:{gid}"),
            ("hr4", "group.delete", f"group:{gid}")]
        created = rows[0].detail
        assert created["name"] == "Consignes" and created["post_right"] == "leads"
        assert created["rules"] == [["team", org.a1]] and created["people"] == [org["hugo"]]
        changes = rows[1].detail["changes"]
        assert changes["description"] == ["Ligne 3", "Ligne 3 et 4"]
        assert changes["members_reply"] == [False, True]
        assert changes["people"] == {"added": [org["bea"]], "removed": [org["hugo"]]}
        assert changes["rules"][1] == [["team", org.a1], ["team", org.a2]]
        assert set(changes) == {"description", "members_reply", "people", "rules"}
        assert audit.verify(s).ok


def test_update_keeps_what_is_left_out_and_old_rules_whose_target_is_gone(org: Org) -> None:
    with org.store.session() as s:
        gid = _create(s, "Nuit", moderation_mode="pre",
                      rules=[("shift", org.shift_b1)], people=[org["hugo"]]).id
        s.delete(s.get(Shift, org.shift_b1))  # the console may delete a shift
    with org.store.session() as s:
        view = groups.update(s, gid, actor="hr", description="Équipe de nuit",
                             rules=[("shift", org.shift_b1), ("team", org.a2)])
        assert view.moderation_mode == "pre" and view.people == [(org["hugo"], "Hugo")]
        assert [(r.kind, r.ref_id, r.label) for r in view.rules] == [
            ("shift", org.shift_b1, f"#{org.shift_b1}"), ("team", org.a2, "A2 (Site A)")]
        with pytest.raises(Invalid) as info:  # but a new rule must name something
            groups.update(s, gid, actor="hr", rules=[("shift", org.shift_b1 + 1000)])
        assert info.value.code == "unknown_shift"


def test_views(org: Org) -> None:
    with org.store.session() as s:
        gid = _create(s, "Vue", description=" Une description ", site_id=org.site_b,
                      rules=[("everyone", None), ("site", org.site_b), ("shift", org.shift_b1)],
                      people=[org["ana"]]).id
        view = groups.get(s, gid)
        assert view.description == "Une description" and view.site_name == "Site B"
        assert [r.label for r in view.rules] == ["", "Site B", "Nuit — B1"]
        assert view.member_count == 3 and view.post_right == "everyone"
        assert view.created_at <= view.updated_at and view.archived_at is None
        assert [g.name for g in groups.list_groups(s, site_id=org.site_b)] == ["Vue"]
        assert groups.list_groups(s, site_id=org.site_a) == []


# --- the sync's groups --------------------------------------------------------------------


def _post(s, gid: int, sender: int, text: str, *, to: list[int], read: list[int] = (),  # noqa: ANN001
          urgent: bool = False, state: str = "accepted", kind: str = "text",
          at: dt.datetime | None = None) -> Message:
    msg = Message(client_id=str(uuid.uuid4()), sender_id=sender, recipient_id=None,
                  group_id=gid, kind=kind, body=text, state=state, urgent=urgent,
                  sent_ts=1_700_000_000_000, created_at=at or dt.datetime(2026, 12, 1))
    s.add(msg)
    s.flush()
    for eid in to:
        s.add(GroupReceipt(message_id=msg.id, employee_id=eid,
                           read_at=dt.datetime(2026, 12, 2) if eid in read else None))
    s.flush()
    return msg


def test_for_sync(org: Org) -> None:
    day = dt.datetime(2026, 12, 1)
    with org.store.session() as s:
        ligne = _create(s, "Ligne A1", rules=[("team", org.a1)]).id
        consignes = _create(s, "Consignes", post_right="leads", members_reply=True,
                            rules=[("site", org.site_a)]).id
        quiet = _create(s, "Calme", rules=[("team", org.a1)]).id
        old = _create(s, "Ancien", rules=[("team", org.a1)]).id
        _create(s, "Ailleurs", rules=[("team", org.b1)])
        _post(s, ligne, org["ana"], "Machine 4 bloquée", to=[org["alex"]], at=day)
        _post(s, ligne, org["ana"], "Maintenance appelée " * 10, to=[org["alex"]],
              read=[org["alex"]], at=day + dt.timedelta(hours=1))
        _post(s, ligne, org["alex"], "Held", to=[], state="held", at=day + dt.timedelta(hours=5))
        _post(s, ligne, org["ana"], "Retiré", to=[org["alex"]], state="retracted",
              at=day + dt.timedelta(hours=6))
        _post(s, consignes, org["hugo"], "Casque obligatoire", to=[org["alex"], org["abel"]],
              urgent=True, at=day - dt.timedelta(days=1))
        _post(s, old, org["ana"], "Photo", to=[org["alex"]], read=[org["alex"]], kind="photo",
              at=day + dt.timedelta(hours=2))
        groups.archive(s, old, "hr")
        # A post from before Bea... never reaches anyone without a receipt.
        _post(s, quiet, org["ana"], "Pas pour Alex", to=[org["ana"]], at=day)
    with org.store.session() as s:
        got = groups.for_sync(s, org["alex"])
    assert [g["name"] for g in got] == ["Consignes", "Ancien", "Ligne A1", "Calme"]
    by = {g["name"]: g for g in got}
    assert by["Consignes"] == {
        "id": consignes, "name": "Consignes", "description": "", "can_post": False,
        "read_only": False, "members_reply": True, "members": 3, "unread": 1,
        "urgent_unread": True, "can_urgent": False,
        "last": {"from_name": "Hugo", "kind": "text", "text": "Casque obligatoire",
                 "sent_ts": 1_700_000_000_000}}
    assert by["Ligne A1"]["unread"] == 1 and not by["Ligne A1"]["urgent_unread"]
    assert by["Ligne A1"]["can_post"] and not by["Ligne A1"]["read_only"]
    assert not by["Ligne A1"]["can_urgent"]  # a member may post, not mark a post urgent
    last = by["Ligne A1"]["last"]
    assert last["from_name"] == "Ana" and len(last["text"]) <= 80 and last["text"].endswith("…")
    assert by["Ancien"]["read_only"] and not by["Ancien"]["can_post"]
    assert by["Ancien"]["last"]["kind"] == "photo" and by["Ancien"]["unread"] == 0
    assert by["Calme"]["last"] is None and by["Calme"]["unread"] == 0
    with org.store.session() as s:
        ana = {g["name"]: g for g in groups.for_sync(s, org["ana"])}
        assert ana["Consignes"]["can_post"] and not ana["Consignes"]["read_only"]  # a lead
        assert ana["Consignes"]["can_urgent"] and ana["Ligne A1"]["can_urgent"]
        assert not ana["Ancien"]["can_urgent"]  # archived: nobody posts
        assert ana["Calme"]["unread"] == 1
        assert ana["Ligne A1"]["last"]["text"].startswith("Maintenance")  # her own post
        # Alex moves to site B: Site A's groups leave his list at once.
        s.get(Employee, org["alex"]).team_id = org.b1
    with org.store.session() as s:
        assert [g["name"] for g in groups.for_sync(s, org["alex"])] == ["Ailleurs"]
        assert groups.for_sync(s, org["olga"]) == [] and groups.for_sync(s, 9999) == []


def test_a_fixed_number_of_queries_whatever_the_number_of_groups(org: Org) -> None:
    """No loop over groups or people: groups_of and member_ids are one statement each,
    for_sync at most six (two of them to find which groups the person leads), whether the person is in
    one group or many."""
    from sqlalchemy import event

    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        seen.append(statement)

    def statements(call) -> int:  # noqa: ANN001
        with org.store.session() as s:
            s.connection()  # the BEGIN is not what is counted
            seen.clear()
            event.listen(org.store.engine, "before_cursor_execute", count)
            try:
                call(s)
            finally:
                event.remove(org.store.engine, "before_cursor_execute", count)
        return len(seen)

    with org.store.session() as s:
        first = _create(s, "one", rules=[("team", org.a1)]).id
        _post(s, first, org["ana"], "hi", to=[org["alex"]])
    one = statements(lambda s: groups.for_sync(s, org["alex"]))
    with org.store.session() as s:
        for i in range(6):
            gid = _create(s, f"more {i}", rules=[("shift", org.shift_a1)],
                          people=[org["bea"]]).id
            _post(s, gid, org["ana"], "hi", to=[org["alex"]], urgent=i == 3)
    assert statements(lambda s: groups.for_sync(s, org["alex"])) == one <= 6
    with org.store.session() as s:  # 'leads' groups: who leads them, a few more, still fixed
        for i in range(3):
            _create(s, f"leads {i}", post_right="leads", rules=[("team", org.a1)])
    led = statements(lambda s: groups.for_sync(s, org["alex"]))
    with org.store.session() as s:
        _create(s, "leads 4", post_right="leads", rules=[("site", org.site_a)])
    assert statements(lambda s: groups.for_sync(s, org["alex"])) == led <= 6
    assert statements(lambda s: groups.groups_of(s, org["alex"])) == 1
    assert statements(lambda s: groups.member_ids(s, first)) == 1
    assert statements(lambda s: groups.member_counts(s, range(1, 8))) == 1
    assert statements(lambda s: groups.may_post(s, first, org["alex"], reply_to=None)) <= 3


# --- the sync's history -------------------------------------------------------------------


def test_sync_history_shows_each_message_as_wire_view_does(org: Org) -> None:
    """The badge-in history is read as plain rows, not ORM objects: each entry is what
    ``messaging.wire_view`` makes of the stored message (a 1:1 photo inline, a group's
    without its image, a drawing, a refusal's reason, a post's group, urgency and reply),
    plus "seen by N of M" on the person's own posts; only what they may see, oldest first;
    the same whether the caller passes the person's groups or not; and a small budget keeps
    the newest."""
    from hr_console.services import messaging
    from hr_console.store.models import Media

    day = dt.datetime(2026, 12, 1)
    alex, ana, bea = org["alex"], org["ana"], org["bea"]
    with org.store.session() as s:
        ligne = _create(s, "Ligne A1", rules=[("team", org.a1)]).id
        left = _create(s, "Quitté", people=[ana]).id  # Alex held a receipt, is no member
        media = Media(sha256="0" * 64, mime="image/jpeg", data=b"\xff\xd8jpeg")
        s.add(media)
        s.flush()
        n = iter(range(100))

        def one(sender: int, to: int, kind: str = "text", state: str = "delivered",
                **kw) -> Message:  # noqa: ANN003
            msg = Message(client_id=str(uuid.uuid4()), sender_id=sender, recipient_id=to,
                          kind=kind, body=kw.pop("body", "Bonjour"), state=state,
                          sent_ts=1_700_000_000_000, created_at=day + dt.timedelta(
                              minutes=next(n)), **kw)
            s.add(msg)
            s.flush()
            return msg

        shown = [
            one(ana, alex), one(alex, ana, state="read"),
            one(ana, alex, kind="photo", body="Vue", media_id=media.id),
            one(alex, ana, kind="drawing", body="", drawing={"v": 1, "strokes": []}),
            one(alex, bea, state="refused", reason="not_allowed"),
            _post(s, ligne, ana, "Machine 4", to=[alex], at=day + dt.timedelta(minutes=50)),
            _post(s, ligne, alex, "Photo", to=[ana, org["olga"]], read=[ana], kind="photo",
                  at=day + dt.timedelta(minutes=51)),
        ]
        shown[-2].urgent, shown[-2].reply_to = True, REF
        shown[-1].media_id = media.id
        hidden = [
            one(alex, ana, state="error"), one(ana, alex, state="accepted"),  # not delivered
            _post(s, left, ana, "Avant", to=[alex], at=day + dt.timedelta(minutes=52)),
            _post(s, ligne, ana, "Retenu", to=[], state="held", at=day),
        ]
        undelivered = _post(s, ligne, ana, "En route", to=[alex],
                            at=day + dt.timedelta(minutes=53))
        s.execute(GroupReceipt.__table__.update().values(delivered_at=day).where(
            GroupReceipt.message_id != undelivered.id))
    with org.store.session() as s:
        expected = []
        for msg in shown:
            view = messaging.wire_view(s, s.get(Message, msg.id))
            if msg.group_id is not None and msg.sender_id == alex:
                view.update(seen=1, members=2)
            expected.append(view)
        assert expected[2]["image"] and expected[6]["has_image"] and expected[5]["urgent"]
        mine = {g.id for g in groups.groups_of(s, alex)}
        assert messaging.sync_history(s, alex, 100_000) == (expected, False)
        assert messaging.sync_history(s, alex, 100_000, mine=mine) == (expected, False)
        assert messaging.history(s, alex) == expected
        assert not {m.client_id for m in hidden} & {v["msg"] for v in expected}
        # Room for the two newest only: those are kept, and the rest is said to exist.
        room = sum(messaging._json_size(v) for v in expected[-2:])
        assert messaging.sync_history(s, alex, room, mine=mine) == (expected[-2:], True)
        assert messaging.sync_history(s, alex, 100_000, limit=3) == (expected[-3:], True)
