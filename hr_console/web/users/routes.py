"""Console users. A typed password is never shown back; a generated one is shown on the
result page only, once (never through a flash message: the session cookie is signed, not
encrypted). Changes take effect at the user's next request: every request reloads the
user, and deactivation or a new password moves their session epoch on, which ends the
sessions they have open."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from hr_console.services import console_users as users
from hr_console.services.errors import NotFound, ServiceError
from hr_console.store.models import ConsoleUser
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, ConsoleIdentity
from hr_console.web.db import settings, uow
from hr_console.web.employees.common import LANGUAGE_LABELS, actor, error_text, options
from hr_console.web.users.forms import NewUserForm, PasswordForm, UserForm

bp = Blueprint("users", __name__, template_folder="templates", url_prefix="/users")


@bp.context_processor
def _labels() -> dict:
    return {"LANGUAGE_LABELS": LANGUAGE_LABELS}

ERRORS = {
    "bad_role": lambda: _("Choose a role."),
    "supervisor_employee": lambda: _("A supervisor must be linked to the employee they are: "
                                     "their teams are the teams this employee supervises."),
    "employee_inactive": lambda: _("A deactivated employee cannot be a supervisor."),
    "weak_password": lambda: _("A console password has at least 8 characters."),
    "long_password": lambda: _("A console password has at most 200 characters."),
    "self_demote": lambda: _("You cannot take the administrator role away from yourself: "
                             "ask another administrator."),
    "self_deactivate": lambda: _("You cannot deactivate your own account: ask another "
                                 "administrator."),
    "last_admin": lambda: _("This is the last active administrator: make someone else "
                            "administrator first."),
    "name_taken": lambda: _("A console user with this name already exists."),
}


def _error(exc: ServiceError) -> str:
    text = ERRORS.get(exc.code)
    return text() if text else error_text(exc)


def _employee_choices(s, current: int | None = None) -> list:  # noqa: ANN001
    return options([(0, _("— None —"))] + users.supervisor_choices(s, current))


def _pepper() -> str:
    """The key of the sign-in waits (services.sign_in), which the unlock action clears."""
    return settings().secret_key


def _user(s, user_id: int) -> ConsoleUser:  # noqa: ANN001
    try:
        return users.get(s, user_id)
    except NotFound:
        abort(404)


def _index(s, form: NewUserForm | None = None, status: int = 200):  # noqa: ANN001, ANN202
    if form is None:
        form = NewUserForm(data={"role": "auditor", "language": current_user.language})
    form.employee.choices = _employee_choices(s)
    return render_template("users/index.html", rows=users.list_users(s, pepper=_pepper()),
                           form=form), status


@bp.get("/")
@roles_required(ADMIN)
def index():  # noqa: ANN201
    with uow() as s:
        return _index(s)


@bp.post("/new")
@roles_required(ADMIN)
def create():  # noqa: ANN201
    form = NewUserForm()
    with uow() as s:
        form.employee.choices = _employee_choices(s)
        if not form.validate_on_submit():
            return _index(s, form, 400)
        try:
            with s.begin_nested():
                row, generated = users.create(
                    s, username=form.username.data, role=form.role.data,
                    language=form.language.data, employee_id=form.employee_id(),
                    password=form.password.data or None, actor=actor())
        except ServiceError as exc:
            flash(_error(exc), "error")
            return _index(s, form, 400)
        if generated is None:
            flash(_("Console user %(name)s created with the password you typed.",
                    name=row.username), "success")
            return redirect(url_for("users.detail", user_id=row.id))
        return render_template("users/password.html", username=row.username, user_id=row.id,
                               password=generated, action="create")


def _detail(s, user_id: int, form: UserForm | None = None, status: int = 200):  # noqa: ANN001, ANN202
    found = users.list_users(s, user_id, pepper=_pepper())
    if not found:
        abort(404)
    u = found[0]
    if form is None:
        form = UserForm(data={"role": u.role, "language": u.language,
                              "employee": u.employee_id or 0})
    form.employee.choices = _employee_choices(s, u.employee_id)
    return render_template("users/detail.html", u=u, form=form, password_form=PasswordForm(),
                           is_me=u.id == current_user.id), status


@bp.get("/<int:user_id>")
@roles_required(ADMIN)
def detail(user_id: int):  # noqa: ANN201
    with uow() as s:
        return _detail(s, user_id)


@bp.post("/<int:user_id>")
@roles_required(ADMIN)
def save(user_id: int):  # noqa: ANN201
    form = UserForm()
    with uow() as s:
        row = _user(s, user_id)
        form.employee.choices = _employee_choices(s, row.employee_id)
        if not form.validate_on_submit():
            return _detail(s, user_id, form, 400)
        try:
            with s.begin_nested():
                changes = users.update(s, row, role=form.role.data, language=form.language.data,
                                       employee_id=form.employee_id(),
                                       actor_id=current_user.id, actor=actor())
        except ServiceError as exc:
            flash(_error(exc), "error")
            return _detail(s, user_id, form, 400)
    flash(_("Changes saved.") if changes else _("Nothing to change."), "success")
    return redirect(url_for("users.detail", user_id=user_id))


def _act(user_id: int, action, done: str):  # noqa: ANN001, ANN202
    """One POST action on a user: refused with the reason, or done and back to the page."""
    with uow() as s:
        row = _user(s, user_id)
        try:
            with s.begin_nested():
                action(s, row)
        except ServiceError as exc:
            flash(_error(exc), "error")
            return _detail(s, user_id, status=409)
        name = row.username
    flash(done % {"name": name}, "success")
    return redirect(url_for("users.detail", user_id=user_id))


@bp.post("/<int:user_id>/deactivate")
@roles_required(ADMIN)
def deactivate(user_id: int):  # noqa: ANN201
    return _act(user_id, lambda s, row: users.deactivate(s, row, actor_id=current_user.id,
                                                         actor=actor()),
                _("%(name)s is deactivated: they cannot sign in, and their open sessions ended."))


@bp.post("/<int:user_id>/reactivate")
@roles_required(ADMIN)
def reactivate(user_id: int):  # noqa: ANN201
    return _act(user_id, lambda s, row: users.reactivate(s, row, actor=actor()),
                _("%(name)s is active again and can sign in."))


@bp.post("/<int:user_id>/unlock")
@roles_required(ADMIN)
def unlock(user_id: int):  # noqa: ANN201
    return _act(user_id, lambda s, row: users.unlock(s, row, actor=actor(), pepper=_pepper()),
                _("%(name)s can sign in again at once: the waits after wrong passwords are "
                  "cleared."))


@bp.post("/<int:user_id>/password")
@roles_required(ADMIN)
def password(user_id: int):  # noqa: ANN201
    form = PasswordForm()
    with uow() as s:
        row = _user(s, user_id)
        if not form.validate_on_submit():
            flash(_("A console password has at most 200 characters."), "error")
            return _detail(s, user_id, status=400)
        try:
            with s.begin_nested():
                generated = users.reset_password(s, row, form.password.data or None,
                                                 actor=actor())
        except ServiceError as exc:
            flash(_error(exc), "error")
            return _detail(s, user_id, status=400)
        name, epoch = row.username, row.session_epoch
        if row.id == current_user.id:  # your own reset must not sign you out
            login_user(ConsoleIdentity(row.id, row.username, row.role, row.language,
                                       row.employee_id, str(epoch)))
    if generated is None:
        flash(_("New password set for %(name)s; their open sessions ended.", name=name),
              "success")
        return redirect(url_for("users.detail", user_id=user_id))
    return render_template("users/password.html", username=name, user_id=user_id,
                           password=generated, action="reset")
