"""Console sign-in with rate limiting, lock-out after repeated failures (both audited),
a fresh session at every sign-in (no fixation) and sign-out by POST only."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from hr_console.services import audit
from hr_console.services.secrets import check_secret
from hr_console.store.models import ConsoleUser, utcnow
from hr_console.web.auth.forms import LanguageForm, LoginForm
from hr_console.web.auth.roles import ConsoleIdentity
from hr_console.web.db import uow
from hr_console.web.extensions import limiter, login_manager

bp = Blueprint("auth", __name__, template_folder="templates", url_prefix="/auth")

MAX_FAILURES = 5
LOCK_MINUTES = 15


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
@limiter.limit("10 per minute", methods=["POST"])
def login():  # noqa: ANN201
    if current_user.is_authenticated:
        return redirect(url_for("home"))
    form = LoginForm()
    if form.validate_on_submit():
        identity = _authenticate(form.username.data.strip(), form.password.data)
        if identity is not None:
            session.clear()  # a new session id: nothing from before sign-in survives
            login_user(identity)
            session["last_seen"] = dt.datetime.now(dt.UTC).timestamp()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


def _authenticate(username: str, password: str) -> ConsoleIdentity | None:
    ip = request.remote_addr or "?"
    with uow() as s:
        row = s.execute(select(ConsoleUser).where(ConsoleUser.username == username)).scalar_one_or_none()
        now = utcnow()
        if row is not None and row.locked_until and row.locked_until > now:
            audit.record(s, username, "login.refused_locked", f"console_user:{row.id}", ip=ip)
            flash(_("Too many failed attempts: this account is locked for a while."), "error")
            return None
        if row is None or not row.active or not check_secret(row.password_hash, password):
            audit.record(s, username[:120] or "?", "login.failure", None, ip=ip)
            if row is not None:
                row.failed_logins = (row.failed_logins or 0) + 1
                if row.failed_logins >= MAX_FAILURES:
                    row.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
                    row.failed_logins = 0
                    audit.record(s, username, "login.locked", f"console_user:{row.id}", ip=ip,
                                 minutes=LOCK_MINUTES)
            flash(_("Wrong username or password."), "error")
            return None
        row.failed_logins, row.locked_until = 0, None
        audit.record(s, row.username, "login.success", f"console_user:{row.id}", ip=ip)
        return ConsoleIdentity(row.id, row.username, row.role, row.language, row.employee_id,
                               str(row.session_epoch or 0))


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
