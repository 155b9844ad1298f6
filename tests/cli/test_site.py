"""`relais site add NAME` and `relais site list`, as the deployment guide uses them: a site
before its first terminal, one-line refusals that change nothing, counts that match."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from hr_console.config import load
from hr_console.store.db import Store
from hr_console.store.models import AuditEntry, Employee, Site, Team, Terminal
from tests.cli.test_cli import home, run  # noqa: F401 - the initialised home of the CLI tests


def _sites(home_dir) -> list[str]:  # noqa: ANN001
    store = Store(load(home_dir).database_url)
    try:
        with store.session() as s:
            return list(s.execute(select(Site.name).order_by(Site.id)).scalars())
    finally:
        store.dispose()


def _audit(home_dir) -> list[tuple[str, str, str | None]]:  # noqa: ANN001
    store = Store(load(home_dir).database_url)
    try:
        with store.session() as s:
            return [(e.actor, e.action, e.target) for e in
                    s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
    finally:
        store.dispose()


def _listed(home_dir) -> list[dict]:  # noqa: ANN001
    result = run(home_dir, "site", "list", "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_the_guide_creates_its_site_before_its_first_terminal(home) -> None:  # noqa: ANN001, F811
    refused = run(home, "terminal", "add", "atelier-nord", "--site", "usine")
    assert refused.exit_code == 1
    assert refused.output.strip() == "Error: No site named 'usine'."

    assert run(home, "site", "list").output.strip() == "no site yet: relais site add NAME"
    added = run(home, "site", "add", "usine")
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "site 'usine' created (id 1)"
    assert ("cli", "site.create", "site:1") in _audit(home)

    terminal = run(home, "terminal", "add", "atelier-nord", "--site", "usine")
    assert terminal.exit_code == 0, terminal.output
    assert json.loads(terminal.output.strip().splitlines()[-1])["username"] == "atelier-nord"
    assert _listed(home) == [{"id": 1, "name": "usine", "terminals": 1, "employees": 0}]
    table = run(home, "site", "list").output.splitlines()
    assert table[0].split() == ["id", "name", "terminals", "employees"]
    assert table[1].split() == ["1", "usine", "1", "0"]


@pytest.mark.parametrize("name, message", [
    ("usine", "Error: A site named 'usine' already exists."),
    (" usine ", "Error: A site named 'usine' already exists."),
    ("   ", "Error: field 'name' is empty"),
    ("x" * 81, "Error: field 'name' is longer than 80 characters"),
    ("us\u202eine", "Error: field 'name' holds a hidden or direction-changing character (U+202E)"),
])
def test_a_bad_site_name_gets_one_line_and_changes_nothing(home, name, message) -> None:  # noqa: ANN001, F811
    assert run(home, "site", "add", "usine").exit_code == 0
    before = (_sites(home), _audit(home))
    result = run(home, "site", "add", name)
    assert result.exit_code == 1
    assert result.output.strip() == message
    assert (_sites(home), _audit(home)) == before


def test_site_list_counts_active_terminals_and_active_team_members(home) -> None:  # noqa: ANN001, F811
    assert run(home, "demo-data", "--password", "secret-pw-1").exit_code == 0
    assert run(home, "site", "add", "entrepôt").exit_code == 0
    store = Store(load(home).database_url)
    try:
        with store.session() as s:
            demo_id = s.execute(select(Site.id).where(Site.name == "demo")).scalar_one()
            employees = s.scalar(select(func.count()).select_from(Employee)
                                 .join(Team, Team.id == Employee.team_id)
                                 .where(Team.site_id == demo_id, Employee.active.is_(True)))
            terminals = s.scalar(select(func.count()).select_from(Terminal)
                                 .where(Terminal.site_id == demo_id, Terminal.active.is_(True)))
    finally:
        store.dispose()
    assert employees > 0 and terminals == 2
    listed = {r["name"]: r for r in _listed(home)}
    assert listed["demo"] == {"id": demo_id, "name": "demo", "terminals": 2, "employees": employees}
    assert listed["entrepôt"]["terminals"] == listed["entrepôt"]["employees"] == 0

    assert run(home, "terminal", "revoke", "kiosk-2").exit_code == 0
    assert {r["name"]: r for r in _listed(home)}["demo"]["terminals"] == 1


def test_site_commands_refuse_an_uninitialised_home(tmp_path) -> None:  # noqa: ANN001
    for args in (["site", "add", "usine"], ["site", "list"]):
        result = run(tmp_path / "nothing", *args)
        assert result.exit_code == 1
        assert "not a Relais home yet" in result.output
    assert not (tmp_path / "nothing" / "relais.db").exists()
