"""Application factory: configuration from the Relais settings (or a test's mapping), the
extensions, and one blueprint per console area."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from flask import Flask, current_app, redirect, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.middleware.proxy_fix import ProxyFix

from broker_config.render import ReloadError
from hr_console.config import Settings
from hr_console.store.db import Store
from hr_console.web import i18n, security
from hr_console.web.extensions import csrf, limiter, login_manager
from hr_console.web.nav import NAV, visible_nav

# Areas register in this order; a module missing here simply has no pages yet.
AREAS = ["auth", "dashboard", "moderation", "employees", "teams", "contacts", "groups", "notices",
         "terminals", "users", "audit", "settings", "kiosk_api", "safety", "holds",
         "council", "charter"]

ROLE_HOME = {"admin": "dashboard.index", "hr": "dashboard.index",
             "supervisor": "notices.index", "auditor": "audit.index"}


def create_app(cfg: Settings, test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=cfg.secret_key,
        RELAIS=cfg,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="relais_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        # A signed-in session is permanent (its cookie expires) and ends 12 hours after
        # sign-in at the latest, idle or not (security.py).
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        IDLE_TIMEOUT_S=30 * 60,
        WTF_CSRF_TIME_LIMIT=None,  # the session bounds the token's life
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        BABEL_DEFAULT_TIMEZONE=cfg.timezone,  # every time shown is the site's clock
    )
    if test_config:
        app.config.update(test_config)
    app.session_interface = _SchemeSessionInterface()
    if cfg.trusted_proxies:
        # Behind nginx every request comes from the proxy: believe the last N hops of
        # X-Forwarded-For / -Proto / -Host, so limits, the audit log and the Secure cookie
        # see the real client. With 0 the headers are ignored: anyone can send them.
        n = cfg.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
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
    app.register_error_handler(ReloadError, _broker_refused)
    return app


def server_options(cfg: Settings) -> dict[str, Any]:
    """What waitress needs besides the app. Waitress 3 strips X-Forwarded-* from every peer
    it was not told to trust; with ``trusted_proxies`` the app's ProxyFix is the one that
    decides (any WSGI server then behaves the same), so waitress must pass them through."""
    return {"clear_untrusted_proxy_headers": False} if cfg.trusted_proxies else {}


class _SchemeSessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure exactly when this request came over HTTPS (directly, or
    per a trusted proxy's X-Forwarded-Proto): the broker's TLS says nothing about how the
    console is served. ``SESSION_COOKIE_SECURE=True`` still forces it. Signed-in sessions
    are permanent, so their cookie would be refreshed on every response."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        """The kiosk API never sets or refreshes a cookie, a console session's included."""
        if request.blueprint == "kiosk_api":
            return False
        return super().should_set_cookie(app, session)


def _broker_refused(err: ReloadError):  # noqa: ANN202
    """A change whose broker files Mosquitto did not take (terminal added, renamed, rotated,
    revoked): the transaction is rolled back, and the page says so instead of a bare 500."""
    current_app.logger.error("broker refused a change: %s", err)
    message = _("The broker did not take this change, so nothing was changed. Your "
                "administrator finds why in the broker's log.")
    return render_template("error.html", code=503, message=message), 503


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


__all__ = ["NAV", "create_app", "server_options"]
