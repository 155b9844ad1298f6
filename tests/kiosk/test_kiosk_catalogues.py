"""The kiosk reads its shipped catalogues as the console does: from the compiled .mo, with
the standard library, writing nothing into its install and needing no server package."""

from __future__ import annotations

from pathlib import Path

from tests.installed import install_copy, run_from, snapshot, writable_again

KIOSK = """
import sys
import kiosk_app
from kiosk_app.ui.i18n import tr
tr.switch("fr")
print(kiosk_app.__file__)
print(tr._("Back"), "|", tr.ngettext("+ {n} more notice", "+ {n} more notices", 3).format(n=3))
print(sorted(m for m in ("babel", "flask", "sqlalchemy") if m in sys.modules))
"""


def test_the_kiosk_reads_its_compiled_catalogues_and_writes_nothing(tmp_path: Path) -> None:
    site = install_copy(tmp_path / "site-packages", ("kiosk_app", "relais_wire"))
    before = snapshot(site)
    env = {"KIVY_NO_ARGS": "1", "KIVY_HOME": str(tmp_path / "kivy"), "KIVY_NO_CONSOLELOG": "1"}
    try:
        result = run_from(site, KIOSK, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        where, words, servers = result.stdout.splitlines()[-3:]
        assert where == str(site / "kiosk_app" / "__init__.py")
        assert words == "Retour | + 3 autres avis"
        assert servers == "[]"  # no Babel: a terminal installs no server dependency
        assert snapshot(site) == before
    finally:
        writable_again(site)
