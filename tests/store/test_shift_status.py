"""A person's shift state from the database (``services.shifts``): their team's shifts, the
site's own time zone or else the installation's, the grace period setting, people without a
team or shift, and one query for many people, cached for a relay batch. SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import event, select

from hr_console.services import settings, shifts
from hr_console.store.db import Store, open_batch_cache
from hr_console.store.models import Employee, Shift, Site, Team
from tests.system_fixture import prepared_home

AT = dt.datetime(2026, 12, 7, 16, 30, tzinfo=dt.UTC)  # Monday: 17:30 in Paris, 13:30 in Cayenne


@pytest.fixture
def store(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Store:
    cfg, _demo = prepared_home(tmp_path, db_url)
    monkeypatch.setattr(shifts, "now", lambda: AT)
    shifts.use_zone("Europe/Paris")
    st = Store(cfg.database_url)
    with st.session() as s:
        atelier = s.execute(select(Team).where(Team.name == "Atelier")).scalar_one()
        s.add(Shift(name="Matin", team_id=atelier.id, days="mon,tue,wed,thu,fri",
                    start_time=dt.time(6), end_time=dt.time(14)))
        s.add(Shift(name="Soir", team_id=atelier.id, days="tue", start_time=dt.time(18),
                    end_time=dt.time(2)))
    yield st
    st.dispose()


def _ids(s, *names: str) -> list[int]:  # noqa: ANN001
    return [s.execute(select(Employee.id).where(Employee.name == n)).scalar_one() for n in names]


def test_the_site_zone_then_the_installation_zone(store: Store) -> None:
    with store.session() as s:
        karim, lucas = _ids(s, "Karim Benali", "Lucas Bernard")
        state = shifts.status_of(s, karim)  # Paris 17:30: after 14:00 and its grace
        assert state.off_shift and state.next_start.isoformat() == "2026-12-08T06:00:00+01:00"
        assert shifts.opening(state) == {"from": "06:00", "from_day": "tue"}
        # Logistique has no shift: never off shift.
        assert not shifts.status_of(s, lucas).scheduled
        s.execute(select(Site)).scalars().first().timezone = "America/Cayenne"
    with store.session() as s:
        assert shifts.status_of(s, karim).on_shift  # 13:30 in Cayenne
        s.execute(select(Site)).scalars().first().timezone = "Not/AZone"  # removed from tzdata
    with store.session() as s:
        assert shifts.status_of(s, karim).off_shift  # the installation's zone again


def test_the_grace_setting_and_one_query_per_batch(store: Store) -> None:
    with store.session() as s:
        karim, julie, sophie = _ids(s, "Karim Benali", "Julie Moreau", "Sophie Martin")
        settings.put(s, "shift_grace_minutes", 240)  # until 18:00 in Paris
    with store.session() as s:
        assert shifts.status_of(s, karim).on_shift
    with store.session() as s:
        open_batch_cache(s)
        statements: list[str] = []
        event.listen(s.get_bind(), "before_cursor_execute",
                     lambda *a: statements.append(a[2]) if "shifts" in a[2] else None)
        many = shifts.statuses(s, karim, julie, sophie, 10**6)
        assert all(many[i].on_shift for i in (karim, julie, sophie))
        assert not many[10**6].scheduled  # nobody by that number: no shift
        shifts.status_of(s, karim)
        shifts.statuses(s, julie, sophie)
        assert len(statements) == 1, statements
