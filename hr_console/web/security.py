"""Headers every console response carries, the idle timeout and the session's longest life.

The CSP allows scripts and styles only from the console itself: templates hold no inline
script, so an injected ``<script>`` in a name or a message cannot run even if escaping
were ever missed."""

from __future__ import annotations

import time

from flask import Flask, Response, abort, redirect, request, session, url_for
from flask_login import current_user, logout_user

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.is_secure:  # HTTPS here, or at a trusted proxy (X-Forwarded-Proto)
            resp.headers["Strict-Transport-Security"] = "max-age=31536000"
        if request.endpoint not in ("static",):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.before_request
    def _no_nul():  # noqa: ANN202
        """A NUL character is never part of a name, a search or a date, and PostgreSQL
        refuses it in any text: a request carrying one is bad input, not a server error."""
        fields = [*request.args.items(multi=True), *request.form.items(multi=True)]
        if any("\x00" in key or "\x00" in value for key, value in fields):
            abort(400, description="A request field holds a NUL character.")
        return None

    @app.before_request
    def _idle_timeout():  # noqa: ANN202
        if request.endpoint in ("static", "healthz") or request.blueprint == "kiosk_api":
            return None
        if not current_user.is_authenticated:
            return None
        now = time.time()
        last = session.get("last_seen", now)
        lifetime = app.permanent_session_lifetime.total_seconds()
        # The cookie's expiry moves on with each request; the sign-in time does not, so a
        # session kept busy still ends after the lifetime (12 hours: a shift and then some).
        idle = now - last > app.config["IDLE_TIMEOUT_S"]
        if idle or now - session.get("signed_in_at", now) > lifetime:
            logout_user()
            session.clear()
            from flask import flash
            from flask_babel import gettext as _

            flash(_("You were signed out after a period of inactivity.") if idle else
                  _("Your session has ended: please sign in again."), "info")
            return redirect(url_for("auth.login", next=request.path))
        # Background polling (the live queue) must not keep a session alive on its own.
        if not request.headers.get("X-Relais-Poll"):
            session["last_seen"] = now
        return None
