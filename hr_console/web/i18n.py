"""French and English for the console. Each console area keeps its own catalogue
(``<area>/translations/fr/LC_MESSAGES/messages.po``) so areas can grow independently;
Flask-Babel merges them.

The compiled ``.mo`` beside each ``.po`` is part of the source tree (``make catalogues``,
hr_console/catalogues.py) and the console only reads it: the console runs as an
unprivileged user from a root-owned install, where it can write nothing (compiling at
start-up once failed there with "Permission denied: …/messages.mo.tmp")."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel
from flask_login import current_user

WEB = Path(__file__).parent
LANGUAGES = ("fr", "en")


def catalogue_dirs() -> list[Path]:
    return sorted(p for p in WEB.rglob("translations") if p.is_dir())


def check_catalogues() -> None:
    """Refuse to start without a compiled catalogue: Flask-Babel would silently show
    English on every French page of that area."""
    for po in sorted(WEB.rglob("translations/*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not mo.is_file():
            raise RuntimeError(f"{mo} is missing: this install lacks its compiled catalogues "
                               "(in a source tree, run `make catalogues`)")


def select_locale() -> str:
    """The console user's own language, else the browser's, else French."""
    if getattr(current_user, "is_authenticated", False):
        return current_user.language
    return request.accept_languages.best_match(LANGUAGES) or "fr"


def init_app(app: Flask) -> None:
    check_catalogues()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "fr")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(p) for p in catalogue_dirs())
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def _locale() -> dict:
        from flask_babel import get_locale

        locale = get_locale()
        return {"lang": locale.language if locale else "fr"}
