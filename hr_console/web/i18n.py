"""French and English for the console. Each console area keeps its own catalogue
(``<area>/translations/fr/LC_MESSAGES/messages.po``) so areas can grow independently;
Flask-Babel merges them. Catalogues are compiled to ``.mo`` when the app starts (and the
``.po`` is newer), so nothing generated has to be committed."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel
from flask_login import current_user

WEB = Path(__file__).parent
LANGUAGES = ("fr", "en")


def catalogue_dirs() -> list[Path]:
    return sorted(p for p in WEB.rglob("translations") if p.is_dir())


def compile_catalogues() -> None:
    for po in WEB.rglob("translations/*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        tmp.replace(mo)


def select_locale() -> str:
    """The console user's own language, else the browser's, else French."""
    if getattr(current_user, "is_authenticated", False):
        return current_user.language
    return request.accept_languages.best_match(LANGUAGES) or "fr"


def init_app(app: Flask) -> None:
    compile_catalogues()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "fr")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(p) for p in catalogue_dirs())
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def _locale() -> dict:
        from flask_babel import get_locale

        locale = get_locale()
        return {"lang": locale.language if locale else "fr"}
