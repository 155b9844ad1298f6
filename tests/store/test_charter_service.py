"""services.charter on a real database (SQLite, and PostgreSQL when RELAIS_TEST_PG_URL is
set), issue 17: a version is published whole or not at all, the same text twice is refused,
the counts (per version, pending people, the rate at a date, per site) are what the rows
say, and one person's acceptances are theirs alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from hr_console.domain.charter import SECTIONS, starting_text
from hr_console.services import charter
from hr_console.services.errors import Invalid
from hr_console.store.db import Store
from hr_console.store.models import (
    AuditEntry,
    BadgeSession,
    CharterAcceptance,
    CharterVersion,
    Employee,
    Site,
    Team,
    Terminal,
    utcnow,
)
from relais_wire import limits
from tests.system_fixture import prepared_home


@pytest.fixture
def store(tmp_path: Path, db_url: str) -> Iterator[Store]:
    cfg, demo = prepared_home(tmp_path, db_url)
    assert demo is not None
    s = Store(cfg.database_url)
    try:
        yield s
    finally:
        s.dispose()


def _count(store: Store, model: type) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _accept(store: Store, employee_id: int, version: int) -> bool:
    with store.session() as s:
        term = s.execute(select(Terminal).limit(1)).scalar_one()
        row = BadgeSession(id=f"s-{employee_id}-{version}-{utcnow().timestamp()}",
                           employee_id=employee_id, terminal_id=term.id)
        s.add(row)
        s.flush()
        return charter.accept(s, term, row, version, "client-id")


@pytest.mark.parametrize(("lang", "section", "value", "code"), [
    ("fr", "purpose", "", "empty"),
    ("en", "contact", "   ", "empty"),
    ("en", "retention", "x" * (limits.MAX_CHARTER_SECTION_CHARS + 1), "too_long"),
    ("fr", "moderation", "caché\u202e", "bad_text"),
])
def test_a_bad_section_publishes_nothing(store: Store, lang: str, section: str, value: str,
                                         code: str) -> None:
    texts = starting_text(365, "pre")
    texts[lang][section] = value
    with pytest.raises(Invalid) as err, store.session() as s:
        charter.publish(s, texts, actor="hr")
    assert err.value.code == code and err.value.detail["field"] == f"{lang}.{section}"
    assert _count(store, CharterVersion) == 0
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == charter.PUBLISHED)) == 0


def test_versions_follow_each_other_and_the_same_text_is_refused(store: Store) -> None:
    with store.session() as s:
        assert charter.current(s) is None
        draft = charter.draft(s)  # the installation's retention in the first draft
    assert "365" in draft["fr"]["retention"] and "365" in draft["en"]["retention"]
    with store.session() as s:
        first = charter.publish(s, draft, actor="hr")
        assert (first.version, first.published_by) == (1, "hr")
    with pytest.raises(Invalid) as err, store.session() as s:
        charter.publish(s, draft, actor="admin")
    assert err.value.code == "unchanged"
    draft["en"]["contact"] = "  Ask Claire, HR.  "
    with store.session() as s:
        second = charter.publish(s, draft, actor="admin")
        assert second.version == 2 and second.texts["en"]["contact"] == "Ask Claire, HR."
        assert charter.current(s).version == 2
        assert charter.draft(s)["en"]["contact"] == "Ask Claire, HR."
        entries = s.execute(select(AuditEntry).where(AuditEntry.action == charter.PUBLISHED)
                            .order_by(AuditEntry.id)).scalars().all()
    assert [(e.target, e.detail["replaces"]) for e in entries] == [
        ("charter:1", None), ("charter:2", 1)]
    assert set(second.texts["fr"]) == set(SECTIONS)


def test_counts_pending_and_rate_are_what_the_rows_say(store: Store) -> None:
    with store.session() as s:
        charter.publish(s, starting_text(365, "pre"), actor="hr")
        people = dict(s.execute(select(Employee.name, Employee.id).where(
            Employee.active.is_(True), Employee.is_hr_desk.is_(False))).all())
    assert len(people) >= 5
    names = sorted(people)
    for name in names[:3]:
        assert _accept(store, people[name], 1) is True
    assert _accept(store, people[names[0]], 1) is False  # once per person and version
    with pytest.raises(Invalid) as err, store.session() as s:
        term = s.execute(select(Terminal).limit(1)).scalar_one()
        row = s.execute(select(BadgeSession).limit(1)).scalar_one()
        charter.accept(s, term, row, 7, "x")
    assert err.value.code == "unknown_charter"

    with store.session() as s:
        rows, expected = charter.versions(s)
        assert [(r.version, r.accepted) for r in rows] == [(1, 3)] and expected == len(people)
        pending = charter.pending(s, 1, page=1, per_page=2)
        assert pending.total == len(people) - 3 and len(pending.people) == 2
        everyone = [n for p in range(1, pending.pages + 1)
                    for _i, n in charter.pending(s, 1, page=p, per_page=2).people]
        assert everyone == sorted(names[3:])
        later = utcnow() + dt.timedelta(seconds=5)
        assert charter.rate(s, later) == (3, len(people))
        assert charter.rate(s, utcnow() - dt.timedelta(days=1)) is None  # not yet published
        mine = charter.accepted_by(s, people[names[0]])
        assert [(a.version, a.in_force) for a in mine] == [(1, True)]
        assert charter.accepted_by(s, people[names[4]]) == []

    # Someone who leaves no longer counts as expected; a site's rate counts its people.
    with store.session() as s:
        s.execute(update(Employee).where(Employee.id == people[names[4]]).values(active=False))
        site = s.execute(select(Site).limit(1)).scalar_one()
        on_site = s.scalar(
            select(func.count()).select_from(Employee).join(Team, Team.id == Employee.team_id)
            .where(Team.site_id == site.id, Employee.active.is_(True), Employee.is_hr_desk.is_(False)))
        accepted_on_site = s.scalar(
            select(func.count()).select_from(CharterAcceptance).join(Employee)
            .join(Team, Team.id == Employee.team_id)
            .where(Team.site_id == site.id, Employee.active.is_(True)))
        assert charter.rate(s, later) == (3, len(people) - 1)
        assert charter.rate(s, later, site.id) == (accepted_on_site, on_site)
