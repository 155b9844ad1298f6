"""Application factory: configuration from the Relais settings (or a test's mapping), the
extensions, and one blueprint per console area."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from flask import Flask, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from hr_console.config import Settings
from hr_console.store.db import Store
from hr_console.web import i18n, security
from hr_console.web.extensions import csrf, limiter, login_manager
from hr_console.web.nav import NAV, visible_nav

# Areas register in this order; a module missing here simply has no pages yet.
AREAS = ["auth", "dashboard", "moderation", "employees", "teams", "contacts", "notices",
         "terminals", "users", "audit", "settings", "kiosk_api"]

ROLE_HOME = {"admin": "dashboard.index", "hr": "dashboard.index",
             "supervisor": "notices.index", "auditor": "audit.index"}


def create_app(cfg: Settings, test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=cfg.secret_key,
        RELAIS=cfg,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.tls,  # Secure follows whether the console is on HTTPS
        SESSION_COOKIE_NAME="relais_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        IDLE_TIMEOUT_S=30 * 60,
        WTF_CSRF_TIME_LIMIT=None,  # the session bounds the token's life
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        BABEL_DEFAULT_TIMEZONE=cfg.timezone,  # every time shown is the site's clock
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["relais_store"] = Store(cfg.database_url)
    login_manager.init_app(app)
    login_manager.login_message = None
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    for area in AREAS:
        try:
            module = importlib.import_module(f"hr_console.web.{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"hr_console.web.{area}":
                raise
            continue
        app.register_blueprint(module.bp)
        if hasattr(module, "exempt_csrf") and module.exempt_csrf:
            csrf.exempt(module.bp)

    @app.context_processor
    def _nav() -> dict[str, Any]:
        return {"nav": visible_nav(app, current_user) if current_user.is_authenticated else []}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/")
    @login_required
    def home():  # noqa: ANN202
        target = ROLE_HOME.get(current_user.role, "auth.login")
        if target in app.view_functions:
            return redirect(url_for(target))
        return render_template("home.html")

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, _error_page)
    return app


def _error_page(err):  # noqa: ANN001, ANN202
    code = getattr(err, "code", 500) or 500
    titles = {
        400: _("The request could not be understood."),
        403: _("Your role does not allow this page."),
        404: _("This page does not exist."),
        405: _("This action is not allowed here."),
        413: _("The file is too large."),
        429: _("Too many attempts. Wait a minute and try again."),
        500: _("Something went wrong on our side. Nothing was changed."),
    }
    return render_template("error.html", code=code, message=titles.get(code, titles[500])), code


__all__ = ["NAV", "create_app"]
