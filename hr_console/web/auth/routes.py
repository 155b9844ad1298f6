"""Console sign-in: growing waits after failures per typed name and client address (see
``services.sign_in``: nobody can lock another out, and the answer never tells which names
exist), a fresh permanent session at every sign-in (no fixation; it ends 12 hours later at
most) and sign-out by POST only. The per-address Flask-Limiter limit is only a coarse guard
against floods; the client address is the real one when a trusted proxy forwards it."""

from __future__ import annotations

import datetime as dt
import math
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from hr_console.services import audit, sign_in
from hr_console.store.models import ConsoleUser
from hr_console.web.auth.forms import LanguageForm, LoginForm
from hr_console.web.auth.roles import ConsoleIdentity
from hr_console.web.db import settings, uow
from hr_console.web.extensions import limiter, login_manager

bp = Blueprint("auth", __name__, template_folder="templates", url_prefix="/auth")


@login_manager.user_loader
def load_user(user_id: str) -> ConsoleIdentity | None:
    uid, _sep, token = user_id.partition(":")
    if not uid.isdigit():
        return None
    with uow() as s:
        row = s.get(ConsoleUser, int(uid))
        if row is None or not row.active or token != str(row.session_epoch or 0):
            return None  # deactivated, or signed out since this cookie was issued
        return ConsoleIdentity(row.id, row.username, row.role, row.language, row.employee_id,
                               token)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])  # a flood guard per client address
def login():  # noqa: ANN201
    if current_user.is_authenticated:
        return redirect(url_for("home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        identity, wait = _authenticate(form.username.data, form.password.data)
        if identity is not None:
            session.clear()  # a new session id: nothing from before sign-in survives
            login_user(identity)
            session.permanent = True  # the cookie expires (PERMANENT_SESSION_LIFETIME)
            now = dt.datetime.now(dt.UTC).timestamp()
            session["last_seen"] = session["signed_in_at"] = now
            return redirect(_safe_next(request.args.get("next")))
        if wait is not None:
            status = 429
    return render_template("auth/login.html", form=form), status


def _authenticate(username: str, password: str) -> tuple[ConsoleIdentity | None, float | None]:
    """The identity signed in, or None with the wait that refused the attempt unchecked
    (None when it was checked and failed)."""
    with uow() as s:
        outcome = sign_in.attempt(s, pepper=settings().secret_key, username=username,
                                  password=password, address=request.remote_addr or "?")
        row = outcome.user
        if row is not None:
            return ConsoleIdentity(row.id, row.username, row.role, row.language,
                                   row.employee_id, str(row.session_epoch or 0)), None
    if not outcome.checked:
        flash(_too_many(outcome.wait_s), "error")
        return None, outcome.wait_s
    flash(_("Wrong username or password."), "error")
    if outcome.wait_s > 0:
        flash(_too_many(outcome.wait_s), "info")
    return None, None


def _too_many(wait_s: float) -> str:
    return _("Too many attempts: try again in %(n)s s.", n=math.ceil(wait_s))


@bp.post("/logout")
@login_required
def logout():  # noqa: ANN201
    with uow() as s:
        audit.record(s, current_user.username, "logout", f"console_user:{current_user.id}")
        row = s.get(ConsoleUser, current_user.id)
        if row is not None:  # every cookie issued so far, copies included, stops working
            row.session_epoch = (row.session_epoch or 0) + 1
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/language")
@login_required
def language():  # noqa: ANN201
    form = LanguageForm()
    if form.validate_on_submit():
        with uow() as s:
            row = s.get(ConsoleUser, current_user.id)
            if row is not None:
                row.language = form.language.data
    return redirect(_safe_next(request.form.get("next")))
