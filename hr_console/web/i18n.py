"""French and English for the console: one catalogue for every area, in Flask-Babel's usual
place (``hr_console/web/translations/<lang>/LC_MESSAGES/messages.po``), kept in step with the
code and templates by ``make extract`` (babel.cfg) and compiled by ``make catalogues``
(docs/translating.md).

The ``.mo`` are compiled at install (``make catalogues``); one missing or older than its
``.po`` is compiled into the home instead (hr_console/catalogues.py), never into the
install, which the console (an unprivileged service user) may not write."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel
from flask_login import current_user

from hr_console import catalogues

TRANSLATIONS = Path(__file__).with_name("translations")
LANGUAGES = ("fr", "en")
CACHE = Path(".cache") / "catalogues"  # under the home


def select_locale() -> str:
    """The console user's own language, else the browser's, else French."""
    if getattr(current_user, "is_authenticated", False):
        return current_user.language
    return request.accept_languages.best_match(LANGUAGES) or "fr"


def init_app(app: Flask) -> None:
    cache = app.config["RELAIS"].home / CACHE
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "fr")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(catalogues.translation_dir(TRANSLATIONS,
                                                                                  cache))
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def _locale() -> dict:
        from flask_babel import get_locale

        locale = get_locale()
        return {"lang": locale.language if locale else "fr"}
