"""Notices area. Views turn requests into hr_console.services.notices calls with the
signed-in user's scope; the service enforces who may address and track what (a supervisor:
the teams they supervise), the view only maps its refusals to 403 / 404."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import Session

from hr_console.domain import reminders as reminder_rules
from hr_console.services import notices
from hr_console.services.errors import NotFound, ServiceError
from hr_console.services.photos import MAX_UPLOAD_BYTES
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, HR, SUPERVISOR
from hr_console.web.db import uow
from hr_console.web.employees.common import int_arg
from hr_console.web.notices.forms import ActionForm, NoticeForm
from hr_console.web.notices.timezone import to_utc, when

bp = Blueprint("notices", __name__, template_folder="templates", url_prefix="/notices")

SENDERS = (ADMIN, HR, SUPERVISOR)
PEOPLE_PER_PAGE = 100  # of each list on a notice's page (a notice to everyone: 50,000 people)

STATUS_LABELS = {"scheduled": _l("Scheduled"), "active": _l("Showing"), "ended": _l("Ended")}
STATE_LABELS = {"acknowledged": _l("Acknowledged"), "seen": _l("Seen"), "reached": _l("Reached"),
                "waiting": _l("Not reached yet")}
ERRORS = {
    "bad_target": _l("Choose who the notice is for."),
    "out_of_scope": _l("You may only send notices to the teams you supervise."),
    "not_found": _l("This team, site or shift no longer exists."),
    "shift_without_team": _l("This shift belongs to no team, so the notice would reach nobody."),
    "bad_window": _l("The end of the validity must come after its start, and after now."),
    "bad_text": _l("The title or the text holds invisible or control characters."),
    "too_long": _l("The title or the text is too long."),
    "empty": _l("Give the notice a title."),
    "bad_image": _l("The photo was refused: it is not a JPEG, PNG or WebP image, or the file "
                    "is damaged or incomplete."),
    "image_too_large": _l("The photo was refused: the file is too large."),
    "image_too_big_pixels": _l("The photo was refused: it has far too many pixels."),
    "not_current": _l("Only a notice that kiosks are showing can be reminded."),
    "bad_interval": _l("Choose how often to remind: every 5 to 1440 minutes, or only at the "
                       "next badge-in."),
    "interval_without_ack": _l("Reminders repeat until each person confirms: ask for the "
                               "confirmation, or choose no reminder."),
    "already_ended": _l("This notice has already ended."),
}


def _error_text(err: ServiceError) -> str:
    label = ERRORS.get(err.code)
    return str(label) if label is not None else _("This could not be done: %(reason)s",
                                                  reason=err.message)


def _scope(s: Session) -> notices.Scope:
    return notices.scope_for(s, current_user.role, current_user.employee_id, current_user.id)


def target_label(target: notices.Target) -> str:
    if target.kind == "everyone":
        return _("Everyone")
    if target.kind == "site":
        return _("Site %(name)s", name=target.name)
    if target.kind == "team":
        return _("Team %(name)s", name=target.name)
    return _("Shift %(name)s (%(team)s)", name=target.name, team=target.detail)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"when": when, "target_label": target_label,
            "status_label": lambda s: STATUS_LABELS.get(s, s),
            "state_label": lambda s: STATE_LABELS.get(s, s)}


def _choices(targets: list[notices.Target]) -> dict[str, list[tuple[str, str]]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    names = {"everyone": _("Everyone"), "site": _("Sites"), "team": _("Teams"), "shift": _("Shifts")}
    for t in targets:
        label = target_label(t) if t.kind != "team" or not t.detail else \
            _("Team %(name)s (%(site)s)", name=t.name, site=t.detail)
        groups.setdefault(str(names[t.kind]), []).append((t.value, label))
    return groups


@bp.get("/")
@roles_required(*SENDERS)
def index():  # noqa: ANN201
    with uow() as s:
        scope = _scope(s)
        rows = notices.listing(s, scope)
        can_compose = bool(notices.targets(s, scope))
    return render_template("notices/index.html", rows=rows, can_compose=can_compose)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*SENDERS)
def new():  # noqa: ANN201
    with uow() as s:
        targets = notices.targets(s, _scope(s))
    form = NoticeForm()
    form.target.choices = _choices(targets)
    if not targets:
        flash(_("You supervise no team, so you cannot send notices."), "error")
        return redirect(url_for("notices.index"))
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate():
            created = _compose(form)
            if created is not None:
                flash(_("The notice is saved.") if created[1] == "scheduled"
                      else _("The notice is sent."), "success")
                return redirect(url_for("notices.show", notice_id=created[0]))
    return render_template("notices/new.html", form=form), status


def _remind_every(form: NoticeForm) -> tuple[bool, int | None]:
    """The reminder interval posted: (ok, minutes). Not posted (the select is disabled
    while no confirmation is asked): the priority's default, every few minutes when urgent."""
    urgent = form.priority.data == "urgent"
    raw = request.form.get("remind_every")
    if raw is None or raw == "":
        return True, reminder_rules.default_every(urgent)
    if raw == "none":
        return True, None
    if raw.isascii() and raw.isdigit() and len(raw) <= 5:
        return True, int(raw)
    form.remind_every.errors = [str(ERRORS["bad_interval"])]
    return False, None


def _compose(form: NoticeForm) -> tuple[int, str] | None:
    """Create the notice from a valid form; None (with the error flashed) if refused."""
    try:
        kind, ref = notices.parse_target(form.target.data)
    except ServiceError as err:
        form.target.errors = [_error_text(err)]
        return None
    ok, every = _remind_every(form)
    if not ok:
        return None
    photo = None
    upload = form.photo.data
    if upload is not None and getattr(upload, "filename", ""):
        photo = upload.read(MAX_UPLOAD_BYTES + 1)
        if not photo:
            form.photo.errors = [str(ERRORS["bad_image"])]
            return None
    try:
        with uow() as s:
            notice = notices.compose(
                s, _scope(s), title=form.title.data or "", body=form.body.data or "",
                target_kind=kind, target_ref=ref, urgent=form.priority.data == "urgent",
                ack_required=bool(form.ack_required.data), remind_every_min=every,
                valid_from=to_utc(form.valid_from.data), valid_until=to_utc(form.valid_until.data),
                photo=photo, actor=current_user.username, user_id=current_user.id)
            return notice.id, notices.status(notice)
    except notices.OutOfScope:
        abort(403)
    except ServiceError as err:
        field = err.detail.get("field")
        target = getattr(form, field, None) if isinstance(field, str) else None
        if target is not None and hasattr(target, "errors"):
            target.errors = [*list(target.errors or []), _error_text(err)]
        else:
            flash(_error_text(err), "error")
        return None


def _load(fn: Any, notice_id: int) -> Any:
    try:
        with uow() as s:
            return fn(s, _scope(s), notice_id)
    except notices.OutOfScope:
        abort(403)
    except NotFound:
        abort(404)


@bp.get("/<int:notice_id>")
@roles_required(*SENDERS)
def show(notice_id: int):  # noqa: ANN201
    # The buttons follow the same rule as the actions: a supervisor acts on their own only.
    pages = {"pending_page": int_arg("pending") or 1, "done_page": int_arg("done") or 1}
    tracking, scope = _load(lambda s, sc, nid: (notices.tracking(
        s, sc, nid, per_page=PEOPLE_PER_PAGE, **pages), sc), notice_id)
    n = tracking.summary.notice
    return render_template("notices/show.html", t=tracking, n=n, may_act=scope.may_act(n))


@bp.get("/<int:notice_id>/photo")
@roles_required(*SENDERS)
def photo(notice_id: int) -> Response:
    data = _load(notices.media_of, notice_id)
    if data is None:
        abort(404)
    resp = Response(data, mimetype="image/jpeg")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def _act(notice_id: int, fn: Any) -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with uow() as s:
            return fn(s, _scope(s), notice_id, current_user.username)
    except notices.OutOfScope:
        abort(403)
    except NotFound:
        abort(404)
    except ServiceError as err:
        flash(_error_text(err), "error")
        return None


@bp.post("/<int:notice_id>/remind")
@roles_required(*SENDERS)
def remind(notice_id: int):  # noqa: ANN201
    count = _act(notice_id, notices.remind)
    if count == 0:
        flash(_("Nobody to remind: everyone has already done it."), "info")
    elif count:
        flash(ngettext("Reminder sent to %(num)d person.", "Reminder sent to %(num)d people.",
                       count), "success")
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.post("/<int:notice_id>/withdraw")
@roles_required(*SENDERS)
def withdraw(notice_id: int):  # noqa: ANN201
    if _act(notice_id, notices.withdraw) is not None:
        flash(_("The notice is withdrawn: kiosks no longer show it."), "success")
    return redirect(url_for("notices.show", notice_id=notice_id))
