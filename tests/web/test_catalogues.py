"""Catalogues: the ``.po`` are the sources (in git), the ``.mo`` build output (ignored,
compiled at install by ``make catalogues``). A console started from an install it cannot
write (a root-owned venv, run as the service user) writes nothing there, and shows French
whether the install's ``.mo`` are fresh, older than their ``.po`` or missing."""

from __future__ import annotations

import gettext
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from hr_console.catalogues import ROOT, compiled, sources
from kiosk_app.ui import pocompile
from tests.installed import install_copy, make_read_only, run_from, snapshot, writable_again
from tests.system_fixture import prepared_home

SERVER = ("hr_console", "broker_config", "relais_wire", "assets")
CACHE = Path(".cache") / "catalogues"


def test_one_catalogue_for_the_console_and_one_per_language_for_the_kiosk() -> None:
    found = sorted(str(po.relative_to(ROOT)) for po in sources())
    assert found == ["hr_console/web/translations/fr/LC_MESSAGES/messages.po",
                     "kiosk_app/ui/locales/en/LC_MESSAGES/kiosk.po",
                     "kiosk_app/ui/locales/fr/LC_MESSAGES/kiosk.po"]


def console_msgids() -> set[str | tuple[str, str]]:
    """What the console's code and templates translate, found as ``make extract`` finds it."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    return {msgid for _file, _line, msgid, _comments, _ctx in extract_from_dir(
        str(ROOT / "hr_console"), method_map, options_map, keywords=keywords) if msgid}


def test_every_string_of_the_console_has_its_french() -> None:
    """A string added to a template or the code without its French fails here (run
    ``make extract``, translate the empty and fuzzy entries, as docs/translating.md says)."""
    with (ROOT / "hr_console/web/translations/fr/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh)
    used = console_msgids()
    assert len(used) > 900
    missing = []
    for msgid in sorted(used, key=str):
        m = catalog.get(msgid)
        strings = [] if m is None else [m.string] if isinstance(m.string, str) else list(m.string)
        if m is None or m.fuzzy or not strings or not all(strings):
            missing.append(msgid)
    assert missing == [], f"untranslated or fuzzy in French (make extract, then translate): {missing}"


def test_every_catalogue_passes_the_checks_make_compiles_it_with() -> None:
    """``make catalogues`` runs ``pybabel compile``, which refuses a translation whose
    placeholders differ from its id's (Babel reads "40 % of" as a %-format): such an entry
    broke ``make test`` and ``make run`` from a clean clone while the in-process compiler,
    which does not check, was content."""
    problems = []
    for po in sources():
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name, domain=po.stem)
        problems += [f"{po.name}:{msg.lineno}: {err}" for msg, errors in catalog.check()
                     for err in errors]
    assert not problems, problems


def test_compiled_catalogues_are_not_in_git() -> None:
    """A .mo in git is rewritten by every install: binary churn in every commit."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to check")
    tracked = subprocess.run(["git", "ls-files", "*.mo"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert tracked == []
    probe = sources()[0].with_suffix(".mo").relative_to(ROOT)
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", str(probe)], cwd=ROOT)
    assert ignored.returncode == 0, f"{probe} is not ignored by git"


def test_every_translation_of_a_po_is_read_from_its_compiled_form() -> None:
    """Both compilers (Babel's, which the console uses, and the kiosk's standard-library one)
    give gettext the .po's translation of every (non-fuzzy) message, plurals included."""
    checked = 0
    for po in sources():
        with po.open("rb") as fh:
            catalog = read_po(fh)
        for mo in (gettext.GNUTranslations(io.BytesIO(compiled(po))), pocompile.translations(po)):
            for m in catalog:
                if not m.id or m.fuzzy or not m.string:
                    continue
                if isinstance(m.id, str):
                    assert mo.gettext(m.id) == m.string, (po, m.id)
                else:
                    assert mo.ngettext(m.id[0], m.id[1], 1) == m.string[0], (po, m.id)
                    assert mo.ngettext(m.id[0], m.id[1], 5) == m.string[-1], (po, m.id)
                checked += 1
    assert checked > 1000


CONSOLE = """
import sys
import hr_console
from hr_console.config import load
from hr_console.web import create_app
app = create_app(load(sys.argv[1]), {"TESTING": True})
page = app.test_client().get("/auth/login", headers={"Accept-Language": "fr"})
print(hr_console.__file__)
print(page.status_code, sys.argv[2] in page.get_data(as_text=True))
"""


def _cached(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home / CACHE).parent.parent.parent)
                  for p in (home / CACHE).rglob("*.mo"))


@pytest.mark.parametrize("mo", ["fresh", "older", "none"])
def test_the_console_starts_from_an_install_it_cannot_write_and_writes_nothing_there(
        tmp_path: Path, db_url: str, mo: str) -> None:
    cfg, _ = prepared_home(tmp_path, db_url)
    site = install_copy(tmp_path / "site-packages", SERVER, mo=mo)  # type: ignore[arg-type]
    before = snapshot(site)
    try:
        result = run_from(site, CONSOLE, str(cfg.home), "Se connecter")
        assert result.returncode == 0, result.stderr[-3000:]
        where, answer = result.stdout.splitlines()[-2:]
        assert where == str(site / "hr_console" / "__init__.py")  # the copy, not the tree
        assert answer == "200 True"  # the sign-in page in French
        assert snapshot(site) == before
        if mo == "fresh":
            assert _cached(cfg.home) == []  # the install's own .mo were read
        else:
            assert len(_cached(cfg.home)) >= 1  # compiled into the home, once
            again = run_from(site, CONSOLE, str(cfg.home), "Se connecter")
            assert again.stdout.splitlines()[-1] == "200 True"
            assert len(_cached(cfg.home)) == len(set(_cached(cfg.home)))
    finally:
        writable_again(site)


def test_a_po_edited_after_its_mo_is_what_the_console_shows(tmp_path: Path,
                                                            db_url: str) -> None:
    cfg, _ = prepared_home(tmp_path, db_url)
    site = install_copy(tmp_path / "site-packages", SERVER, read_only=False)
    po = next(p for p in site.rglob("fr/LC_MESSAGES/messages.po")
              if 'msgstr "Se connecter"' in p.read_text(encoding="utf-8"))
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "Se connecter"',
                                                         'msgstr "Entrer ici"', 1),
                  encoding="utf-8")
    later = po.with_suffix(".mo").stat().st_mtime + 1  # edited after `make catalogues`
    os.utime(po, (later, later))
    make_read_only(site)
    try:
        result = run_from(site, CONSOLE, str(cfg.home), "Entrer ici")
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.splitlines()[-1] == "200 True"
    finally:
        writable_again(site)
