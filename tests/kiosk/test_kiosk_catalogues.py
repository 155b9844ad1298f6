"""The kiosk reads its catalogues as the console does, from the compiled .mo when it is
fresh, else from the .po compiled in memory, with the standard library: it writes nothing
into its install and needs no server package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.installed import install_copy, make_read_only, run_from, snapshot, writable_again

KIOSK = """
import sys
import kiosk_app
from kiosk_app.ui.i18n import tr
tr.switch("fr")
print(kiosk_app.__file__)
print(tr._("Back"), "|", tr.ngettext("+ {n} more notice", "+ {n} more notices", 3).format(n=3))
print(sorted(m for m in ("babel", "flask", "sqlalchemy") if m in sys.modules))
"""


def _run(tmp_path: Path, site: Path) -> list[str]:
    before = snapshot(site)
    env = {"KIVY_NO_ARGS": "1", "KIVY_HOME": str(tmp_path / "kivy"), "KIVY_NO_CONSOLELOG": "1"}
    result = run_from(site, KIOSK, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert snapshot(site) == before
    return result.stdout.splitlines()[-3:]


@pytest.mark.parametrize("mo", ["fresh", "older", "none"])
def test_the_kiosk_reads_its_catalogues_and_writes_nothing(tmp_path: Path, mo: str) -> None:
    site = install_copy(tmp_path / "site-packages", ("kiosk_app", "relais_wire"), mo=mo)  # type: ignore[arg-type]
    try:
        where, words, servers = _run(tmp_path, site)
        assert where == str(site / "kiosk_app" / "__init__.py")
        assert words == "Retour | + 3 autres avis"
        assert servers == "[]"  # no Babel: a terminal installs no server dependency
    finally:
        writable_again(site)


def test_a_po_edited_after_its_mo_is_what_the_kiosk_shows(tmp_path: Path) -> None:
    site = install_copy(tmp_path / "site-packages", ("kiosk_app", "relais_wire"), read_only=False)
    po = site / "kiosk_app" / "ui" / "locales" / "fr" / "LC_MESSAGES" / "kiosk.po"
    text = po.read_text(encoding="utf-8")
    assert 'msgstr "Retour"' in text
    po.write_text(text.replace('msgstr "Retour"', 'msgstr "Revenir"', 1), encoding="utf-8")
    later = po.with_suffix(".mo").stat().st_mtime + 1  # edited after `make catalogues`
    os.utime(po, (later, later))
    make_read_only(site)
    try:
        assert _run(tmp_path, site)[1].startswith("Revenir | ")
    finally:
        writable_again(site)


def test_an_empty_text_stays_empty_in_both_languages() -> None:
    """gettext('') is a catalogue's header: a label with nothing to say must not show it."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kiosk_app.ui.i18n import Translator

    for lang in ("fr", "en"):
        tr = Translator(lang)
        assert tr._("") == ""
        assert tr._("Back") != ""


def test_a_rule_that_outlived_its_widget_does_not_stop_a_language_switch() -> None:
    """Rows made and dropped all day bind their labels to ``tr._`` through their ``.kv``
    rules. When such a rule outlived its widget, a badge-in's switch of language raised
    ``ReferenceError`` half way and the kiosk stayed on its idle screen (CI saw it). Here a
    real rule is bound to a widget that is then freed while its binding stays, as Kivy now
    and then leaves it: the switch goes through and the living labels are told."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    import gc

    from kivy.lang import Builder
    from kivy.lang import builder as kv

    from kiosk_app.ui.i18n import Translator, catalogue

    tr = Translator("en")
    kv.global_idmap["tr_under_test"] = tr
    rule_text = "<RowUnderTest@Label>:\n    text: tr_under_test._('Back')\n"
    Builder.load_string(rule_text, filename="row_under_test.kv")
    try:
        from kivy.factory import Factory

        living = Factory.RowUnderTest()
        gone = Factory.RowUnderTest()
        (fn, largs, _kw, _ref, _uid), *_ = [o for o in tr.get_property_observers("_", args=True)
                                            if o[1] and o[1][0][0] is not None
                                            and o[1][0][0].__ref__() is gone]
        stale = (gone.proxy_ref, *largs[0][1:])
        del gone
        gc.collect()  # its own bindings go with it...
        tr.fbind("_", fn, stale)  # ...but one stays, as Kivy sometimes leaves it
        with pytest.raises(ReferenceError):
            tr.property("_").dispatch(tr)  # what stopped the badge-in
        tr.fbind("_", fn, stale)  # (Kivy sets aside one that raised: another one, as before)
        tr.switch("fr")
        assert living.text == catalogue("fr").gettext("Back") != "Back" and tr.lang == "fr"
        tr.switch("en")
        assert living.text == "Back"
        # One whose gone widget only its expression reads: found only by telling it, which
        # raises; Kivy sets it aside, and the switch tells the others again.
        other = Factory.RowUnderTest()
        unseen = (living.proxy_ref, "text", compile("gone_one.text", "<rule>", "eval"),
                  largs[0][3], {"gone_one": other.proxy_ref})
        del other
        gc.collect()
        tr.fbind("_", fn, unseen)
        later = Factory.RowUnderTest()  # told after the one that raises
        tr.switch("fr")
        assert later.text == living.text == catalogue("fr").gettext("Back")
    finally:
        Builder.unload_file("row_under_test.kv")
        del kv.global_idmap["tr_under_test"]
