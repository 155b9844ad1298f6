"""Compiled catalogues are part of the source tree and the programs only read them: every
``.mo`` is what its ``.po`` compiles to, and a console started from an install it cannot
write (a root-owned venv, run as the service user) writes nothing there."""

from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.pofile import read_po

from hr_console.catalogues import FIX, ROOT, compiled, sources
from tests.installed import install_copy, run_from, snapshot, writable_again
from tests.system_fixture import prepared_home

SERVER = ("hr_console", "broker_config", "relais_wire", "assets")


def test_there_are_catalogues_for_the_console_and_the_kiosk() -> None:
    found = {po.relative_to(ROOT).parts[0] for po in sources()}
    assert found == {"hr_console", "kiosk_app"}
    assert len(sources()) >= 14


def test_every_compiled_catalogue_is_its_po() -> None:
    """A .po edited without recompiling fails here, naming the command that fixes it."""
    stale = [str(po.with_suffix(".mo").relative_to(ROOT)) for po in sources()
             if not po.with_suffix(".mo").is_file() or po.with_suffix(".mo").read_bytes() != compiled(po)]
    assert not stale, f"run `{FIX}`: these .mo differ from their .po: {stale}"


def test_every_translation_of_a_po_is_read_from_its_mo() -> None:
    """Independently of how they were compiled: gettext reading the tracked .mo gives the
    .po's translation of every (non-fuzzy) message, plurals included."""
    checked = 0
    for po in sources():
        with po.open("rb") as fh:
            catalog = read_po(fh)
        with po.with_suffix(".mo").open("rb") as fh:
            mo = gettext.GNUTranslations(fh)
        for m in catalog:
            if not m.id or m.fuzzy or not m.string:
                continue
            if isinstance(m.id, str):
                assert mo.gettext(m.id) == m.string, (po, m.id)
            else:
                assert mo.ngettext(m.id[0], m.id[1], 1) == m.string[0], (po, m.id)
                assert mo.ngettext(m.id[0], m.id[1], 5) == m.string[-1], (po, m.id)
            checked += 1
    assert checked > 500


CONSOLE = """
import sys
import hr_console
from hr_console.config import load
from hr_console.web import create_app
app = create_app(load(sys.argv[1]), {"TESTING": True})
page = app.test_client().get("/auth/login", headers={"Accept-Language": "fr"})
print(hr_console.__file__)
print(page.status_code, "Se connecter" in page.get_data(as_text=True))
"""


def test_the_console_starts_from_an_install_it_cannot_write_and_writes_nothing_there(
        tmp_path: Path, db_url: str) -> None:
    cfg, _ = prepared_home(tmp_path, db_url)
    site = install_copy(tmp_path / "site-packages", SERVER)
    before = snapshot(site)
    try:
        result = run_from(site, CONSOLE, str(cfg.home))
        assert result.returncode == 0, result.stderr[-3000:]
        where, answer = result.stdout.splitlines()[-2:]
        assert where == str(site / "hr_console" / "__init__.py")  # the copy, not the tree
        assert answer == "200 True"  # the sign-in page in French, from the shipped .mo
        assert snapshot(site) == before
    finally:
        writable_again(site)


def test_a_console_install_without_its_compiled_catalogues_does_not_start(tmp_path: Path,
                                                                          db_url: str) -> None:
    """Better no console than one silently in English for a whole area."""
    cfg, _ = prepared_home(tmp_path, db_url)
    site = install_copy(tmp_path / "site-packages", SERVER, read_only=False)
    missing = site / "hr_console" / "web" / "teams" / "translations" / "fr" / "LC_MESSAGES" / "messages.mo"
    missing.unlink()
    result = run_from(site, CONSOLE, str(cfg.home))
    assert result.returncode != 0
    assert f"{missing} is missing" in result.stderr
    assert not missing.exists()
