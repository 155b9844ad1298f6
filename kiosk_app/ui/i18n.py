"""Every word the kiosk shows goes through ``tr._``; the language follows the person.

Catalogues are ordinary gettext ``.po`` files (``locales/<lang>/LC_MESSAGES/kiosk.po``),
the format translators and tools already know, compiled to the ``kiosk.mo`` beside them at
install (``make catalogues``, as the console's; the ``.mo`` are not in git). A ``.mo``
missing or older than its ``.po`` is compiled in memory instead (pocompile.py): the kiosk
writes nothing into its install and needs no server package (Babel) on a terminal. Message ids
are the English text; ``en`` is therefore complete by construction and ``fr`` must
translate every id (a test checks it).

Kivy binds a ``.kv`` rule to the properties its expression reads: ``text: tr._("Back")``
reads ``tr._``, an ``ObjectProperty`` holding the current ``gettext`` function, so
switching language re-evaluates every label with no bookkeeping of our own.
"""

from __future__ import annotations

import datetime as dt
import gettext
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import ObjectProperty, StringProperty
from kivy.weakproxy import WeakProxy

from kiosk_app.ui import pocompile

LOCALES = Path(__file__).with_name("locales")
DOMAIN = "kiosk"
LANGUAGES = ("fr", "en")


@cache
def catalogue(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang``, read only (an unknown language: the English ids)."""
    po = LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if not po.exists():
        return gettext.NullTranslations()
    if not mo.exists() or mo.stat().st_mtime_ns < po.stat().st_mtime_ns:
        return pocompile.translations(po)
    with mo.open("rb") as fh:
        return gettext.GNUTranslations(fh)


def N_(text: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Marks a string for the catalogue where it is defined; ``tr._`` translates it when shown."""
    return text


def _keeping_empty(get: Callable[[str], str]) -> Callable[[str], str]:
    """gettext("") is the catalogue's header (Project-Id-Version, ...): a label whose text
    is empty (a drawing's colour not named yet) must stay empty, not show that."""
    def tr(text: str) -> str:
        return get(text) if text else ""
    return tr


def _answers(target: Any) -> bool:
    """False for a weak proxy whose object is gone; True for anything else."""
    if type(target) is not WeakProxy:
        return True
    try:
        target.__ref__()
    except ReferenceError:
        return False
    return True


def _roots(idmap: Any) -> tuple[Any, ...]:
    """The widgets a rule's expression may read besides its target: ``root`` and ``self``."""
    if type(idmap) is not dict:
        return ()
    return tuple(idmap[k] for k in ("root", "self") if k in idmap)


class Translator(EventDispatcher):
    lang = StringProperty("fr")
    _ = ObjectProperty(None)

    def __init__(self, lang: str = "fr", **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.switch(lang)

    def switch(self, lang: str) -> None:
        """Every label in ``lang``, whatever rule outlived its widget (a badge-in, a sync and
        a logout switch)."""
        lang = lang if lang in LANGUAGES else "fr"
        translations = catalogue(lang)
        self._forget_the_gone()
        self._tell("lang", lang)
        self._tell("_", _keeping_empty(translations.gettext))

    def _tell(self, name: str, value: Any) -> None:
        """Set ``name`` and tell its rules, past any rule whose widget is gone.

        Rows made and dropped all day (notices, the board, keys) bind their labels to
        ``tr._``. Kivy unbinds a widget's rules when it is freed, yet now and then (a busy
        kiosk, the garbage collector's timing) one outlived its widget, and telling it the
        new language raised ``ReferenceError``: the telling stopped half way and, at a
        badge-in, so did the badge-in, the kiosk left on its idle screen (CI saw it)."""
        try:
            setattr(self, name, value)
            return
        except ReferenceError:
            pass
        # The value is set; its rules are told again one by one, past those that raise,
        # which are unbound (those told before the one that raised are told twice: the same).
        value = getattr(self, name)
        for fn, largs, kwargs, is_ref, uid in list(self.get_property_observers(name, args=True)):
            call = fn() if is_ref else fn  # a bound method is held weakly
            if call is None:
                continue
            try:
                call(*largs, self, value, **(kwargs or {}))
            except ReferenceError:
                self.unbind_uid(name, uid)

    def _forget_the_gone(self) -> None:
        """Unbind the ``.kv`` rules whose widget, or whose rule's root, no longer exists
        (found by their weak proxies, which no longer answer)."""
        for name in ("lang", "_"):
            for _fn, largs, _kwargs, _is_ref, uid in self.get_property_observers(name, args=True):
                try:
                    rule = largs[0] if largs and type(largs[0]) in (tuple, list) else ()
                    gone = len(rule) == 5 and any(
                        not _answers(p) for p in (rule[0], *_roots(rule[4])))
                except ReferenceError:
                    gone = True
                if gone:
                    self.unbind_uid(name, uid)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return catalogue(self.lang).ngettext(singular, plural, n)

    def number(self, n: int) -> str:
        """A count as each language writes it: "37 131" (a no-break space), "37,131"."""
        return f"{n:,}".replace(",", "\u00a0" if self.lang == "fr" else ",")

    # Times and dates as people read them in each language.
    @staticmethod
    def time(when: dt.datetime) -> str:
        return when.strftime("%H:%M")  # 24-hour clock in both: shifts are written that way

    def date(self, when: dt.datetime) -> str:
        days = {"fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
                "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
        months = {"fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                         "septembre", "octobre", "novembre", "décembre"),
                  "en": ("January", "February", "March", "April", "May", "June", "July", "August",
                         "September", "October", "November", "December")}
        return f"{days[self.lang][when.weekday()]} {when.day} {months[self.lang][when.month - 1]}"

    def stamp(self, when: dt.datetime, now: dt.datetime | None = None) -> str:
        """A message time: the hour today, the date and hour before."""
        now = now or dt.datetime.now()
        if when.date() == now.date():
            return self.time(when)
        if self.lang == "fr":
            return f"{when.day:02d}/{when.month:02d} {self.time(when)}"
        return f"{when.month:02d}/{when.day:02d} {self.time(when)}"


tr = Translator()
