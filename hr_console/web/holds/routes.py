"""Legal hold views: the list of holds with the form to place one, releasing one, and the
form that starts a person's access-request export (employees.export_start). Every rule is
in services.legal_holds; a refused form changes nothing and says why."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hr_console.services import legal_holds
from hr_console.services.errors import ServiceError
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, AUDITOR, HR
from hr_console.web.db import uow
from hr_console.web.employees.common import int_arg
from hr_console.web.employees.exports import exports
from hr_console.web.holds.forms import PlaceForm, ReleaseForm
from hr_console.web.moderation.fmt import local

bp = Blueprint("holds", __name__, template_folder="templates", url_prefix="/holds")

KEEPERS = (ADMIN, HR, AUDITOR)
KIND_LABELS = {"person": _l("Person"), "conversation": _l("Conversation")}


def error_text(err: ServiceError) -> str:
    texts = {
        "bad_kind": _("Choose a person or a conversation."),
        "unknown_person": _("No employee has this number."),
        "same_person": _("A conversation is between two different people."),
        "empty": _("A reason is required."),
        "too_long": _("The reason is too long (at most %(max)s characters).",
                      max=legal_holds.MAX_REASON_CHARS),
        "bad_text": _("The reason contains a hidden or control character."),
        "hold_exists": _("The same hold is already in place."),
        "not_found": _("This hold does not exist or was already released."),
    }
    return texts.get(err.code) or err.message


def _page(form: PlaceForm, status: int = 200) -> Any:
    show_all = request.args.get("show") == "all"
    with uow() as s:
        rows = legal_holds.listing(s, active_only=not show_all)
    jobs = exports(current_app).mine(current_user.id)
    return render_template("holds/index.html", form=form, rows=rows, show_all=show_all,
                           release_form=ReleaseForm(), jobs=jobs, local=local,
                           KIND_LABELS=KIND_LABELS,
                           employee=int_arg("employee") or ""), status


@bp.get("/")
@roles_required(*KEEPERS)
def index():  # noqa: ANN201
    form = PlaceForm()
    if int_arg("employee"):
        form.employee.data = int_arg("employee")
    return _page(form)


@bp.post("/")
@roles_required(*KEEPERS)
def place():  # noqa: ANN201
    form = PlaceForm()
    if not form.validate_on_submit():
        flash(_("Employee numbers are whole numbers."), "error")
        return _page(form, 400)
    try:
        with uow() as s:
            row = legal_holds.place(s, form.kind.data, form.employee.data, form.reason.data,
                                    other_id=form.other.data, actor=current_user.username)
            hold_id = row.id
    except ServiceError as exc:
        flash(error_text(exc), "error")
        return _page(form, 400)
    flash(_("Hold %(id)s is in place: the retention purge keeps what it covers until it is "
            "released.", id=hold_id), "success")
    return redirect(url_for("holds.index"))


@bp.post("/<int:hold_id>/release")
@roles_required(*KEEPERS)
def release(hold_id: int):  # noqa: ANN201
    form = ReleaseForm()
    try:
        if not form.validate_on_submit():
            raise ServiceError("empty", "A reason is required.")
        with uow() as s:
            legal_holds.release(s, hold_id, form.reason.data, actor=current_user.username)
    except ServiceError as exc:
        flash(error_text(exc), "error")
        return _page(PlaceForm(formdata=None), 404 if exc.code == "not_found" else 400)
    flash(_("Hold %(id)s is released: what it kept goes at the next purge if it is past "
            "the retention.", id=hold_id), "success")
    return redirect(url_for("holds.index"))
