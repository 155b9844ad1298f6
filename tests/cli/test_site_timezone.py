"""`relais site add NAME --timezone ZONE` and `relais site timezone NAME [ZONE]` (issue 16:
a site's shifts are read in its own zone): audited, a zone zoneinfo does not know refused
in one line with nothing changed."""

from __future__ import annotations

from sqlalchemy import select

from hr_console.config import load
from hr_console.store.db import Store
from hr_console.store.models import AuditEntry, Site
from tests.cli.test_cli import home, run  # noqa: F401 - the initialised home of the CLI tests


def _zones(home_dir) -> dict[str, str | None]:  # noqa: ANN001
    store = Store(load(home_dir).database_url)
    try:
        with store.session() as s:
            return dict(s.execute(select(Site.name, Site.timezone)).tuples().all())
    finally:
        store.dispose()


def _audited(home_dir) -> list[dict]:  # noqa: ANN001
    store = Store(load(home_dir).database_url)
    try:
        with store.session() as s:
            return [e.detail for e in s.execute(select(AuditEntry).where(
                AuditEntry.action == "site.timezone").order_by(AuditEntry.id)).scalars()]
    finally:
        store.dispose()


def test_a_site_zone_set_changed_and_cleared(home) -> None:  # noqa: ANN001, F811
    added = run(home, "site", "add", "guyane", "--timezone", "America/Cayenne")
    assert added.exit_code == 0, added.output
    assert _zones(home) == {"guyane": "America/Cayenne"}
    assert run(home, "site", "timezone", "guyane", "Europe/Paris").exit_code == 0
    cleared = run(home, "site", "timezone", "guyane")
    assert cleared.exit_code == 0 and "installation's time zone" in cleared.output
    assert _zones(home) == {"guyane": None}
    assert _audited(home) == [{"old": None, "new": "America/Cayenne"},
                              {"old": "America/Cayenne", "new": "Europe/Paris"},
                              {"old": "Europe/Paris", "new": None}]


def test_bad_zones_and_sites_are_refused_in_one_line(home) -> None:  # noqa: ANN001, F811
    assert run(home, "site", "add", "usine").exit_code == 0
    for args in (("usine", "Europe/Pariss"), ("usine", "../../etc/passwd"),
                 ("nowhere", "Europe/Paris")):
        result = run(home, "site", "timezone", *args)
        assert result.exit_code == 1, result.output
        assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("Error:")
    bad = run(home, "site", "add", "ailleurs", "--timezone", "Mars/Olympus")
    assert bad.exit_code == 1
    assert _zones(home) == {"usine": None} and _audited(home) == []
