"""Employees: the list HR works from all day, each person's profile, badge and PIN, and
CSV import (preview, then a job with real progress) and export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from hr_console.domain.moderation import effective_mode
from hr_console.services import (
    audit,
    charter,
    directory,
    employees,
    employees_io,
    legal_holds,
    settings,
)
from hr_console.services.errors import ServiceError
from hr_console.store.models import Employee, Team
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, AUDITOR, HR
from hr_console.web.db import settings as relais_settings
from hr_console.web.db import store, uow
from hr_console.web.employees.common import (
    LANGUAGE_LABELS,
    MODE_LABELS,
    MODE_SHORT,
    actor,
    error_text,
    int_arg,
    options,
    pepper,
)
from hr_console.web.employees.exports import Refused, exports
from hr_console.web.employees.forms import BadgeForm, EmployeeForm, ImportForm, NewEmployeeForm, PinForm
from hr_console.web.employees.imports import imports

bp = Blueprint("employees", __name__, template_folder="templates", url_prefix="/employees")

MAX_IMPORT_BYTES = 8 * 1024 * 1024
PREVIEW_ROWS = 200
PREVIEW_ERRORS = 1000


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"MODE_LABELS": MODE_LABELS, "MODE_SHORT": MODE_SHORT,
            "LANGUAGE_LABELS": LANGUAGE_LABELS}


# --- the list ------------------------------------------------------------------------------


def _filter() -> tuple[employees.EmployeeFilter, dict[str, str]]:
    """Filters from the query string; anything malformed is ignored, never an error."""
    args = request.args
    q = args.get("q", "").strip()[: employees.MAX_QUERY_CHARS]
    team = employees.NO_TEAM if args.get("team") == "none" else int_arg("team")
    site = int_arg("site")
    active = args.get("active", "active")
    active = active if active in employees.ACTIVE_CHOICES else "active"
    lang = args.get("lang") if args.get("lang") in directory.LANGUAGES else None
    flt = employees.EmployeeFilter(q=q, team=team, site=site, active=active, language=lang)
    kept = {"q": q, "team": "none" if team == employees.NO_TEAM else (str(team) if team else ""),
            "site": str(site) if site else "", "active": active, "lang": lang or ""}
    per = int_arg("per")
    if per in employees.PER_PAGE_CHOICES:
        kept["per"] = str(per)
    return flt, {k: v for k, v in kept.items() if v}


@bp.get("/")
@roles_required(ADMIN, HR)
def index():  # noqa: ANN201
    flt, kept = _filter()
    with uow() as s:
        page = employees.find(s, flt, pepper(), page=int_arg("page") or 1,
                              per_page=int_arg("per") or employees.DEFAULT_PER_PAGE)
        teams, sites = employees.teams_and_sites(s)
    return render_template("employees/index.html", page=page, teams=teams, sites=sites,
                           kept=kept, per_choices=employees.PER_PAGE_CHOICES)


@bp.get("/export.csv")
@roles_required(ADMIN, HR)
def export():  # noqa: ANN201
    flt, kept = _filter()
    sep = ";" if request.args.get("sep") == "semicolon" else ","
    with uow() as s:
        text, n = employees_io.export_csv(s, flt, pepper(), delimiter=sep)
        audit.record(s, actor(), "employee.export", None, rows=n,
                               filters={k: v for k, v in kept.items() if k != "per"})
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")
    return Response(text.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="employees-{stamp}.csv"'})


# --- one person ----------------------------------------------------------------------------


def _team_choices(s) -> list[tuple[int, str]]:  # noqa: ANN001
    rows = employees.teams_and_sites(s)[0]
    return [(0, _("— No team —"))] + [(tid, f"{name} ({site})") for tid, name, site in rows]


def _team(s, team_id: int | None) -> Team | None:  # noqa: ANN001
    if not team_id:
        return None
    row = s.get(Team, team_id)
    if row is None:
        raise ServiceError("unknown_team", "No such team.")
    return row


def _employee(s, employee_id: int) -> Employee:  # noqa: ANN001
    row = s.get(Employee, employee_id)
    if row is None:
        abort(404)
    return row


@bp.route("/new", methods=["GET", "POST"])
@roles_required(ADMIN, HR)
def new():  # noqa: ANN201
    form = NewEmployeeForm()
    with uow() as s:
        form.team.choices = options(_team_choices(s))
        if request.method == "GET" and int_arg("team"):
            form.team.data = int_arg("team")
        if form.validate_on_submit():
            try:
                with s.begin_nested():
                    row = directory.employee(
                        s, form.name.data, pepper=pepper(), team_row=_team(s, form.team.data),
                        badge=(form.badge.data or "").strip() or None, pin=form.pin.data or None,
                        language=form.language.data, is_hr_desk=form.is_hr_desk.data,
                        moderation_mode=form.moderation_mode.data or None, actor=actor(),
                        via="console")
            except ServiceError as exc:
                flash(error_text(exc), "error")
            else:
                flash(_("%(name)s was added.", name=row.name), "success")
                return redirect(url_for("employees.detail", employee_id=row.id))
        status = 400 if request.method == "POST" else 200
        return render_template("employees/new.html", form=form), status


def _detail(s, emp: Employee, form: EmployeeForm | None = None, status: int = 200):  # noqa: ANN001, ANN202
    if form is None:
        form = EmployeeForm(data={"name": emp.name, "team": emp.team_id or 0,
                                  "language": emp.language, "is_hr_desk": emp.is_hr_desk,
                                  "moderation_mode": emp.moderation_mode or ""})
        form.team.choices = options(_team_choices(s))
    team = s.get(Team, emp.team_id) if emp.team_id else None
    default = str(settings.get(s, "default_moderation"))
    supervises = list(s.execute(select(Team.id, Team.name).where(Team.supervisor_id == emp.id)))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    in_force = charter.current(s)
    return render_template(
        "employees/detail.html", emp=emp, form=form, badge_form=BadgeForm(), pin_form=PinForm(),
        team=team, team_site=team.site.name if team else "", default_mode=default,
        effective=effective_mode(emp.moderation_mode, team.moderation_mode if team else None, default),
        supervises=supervises, locked=bool(emp.locked_until and emp.locked_until > now),
        has_contacts="contacts.employee" in current_app.view_functions,
        has_teams="teams.detail" in current_app.view_functions,
        holds=[h for h in legal_holds.of_person(s, emp.id) if h.released_at is None],
        charter_now=in_force.version if in_force is not None else None,
        charter_rows=charter.accepted_by(s, emp.id),
        has_charter="charter.show" in current_app.view_functions,
    ), status


@bp.get("/<int:employee_id>")
@roles_required(ADMIN, HR)
def detail(employee_id: int):  # noqa: ANN201
    with uow() as s:
        return _detail(s, _employee(s, employee_id))


@bp.post("/<int:employee_id>")
@roles_required(ADMIN, HR)
def save(employee_id: int):  # noqa: ANN201
    with uow() as s:
        emp = _employee(s, employee_id)
        form = EmployeeForm()
        form.team.choices = options(_team_choices(s))
        if not form.validate_on_submit():
            return _detail(s, emp, form, 400)
        try:
            with s.begin_nested():
                changes = directory.update_employee(
                    s, emp, name=form.name.data, team_row=_team(s, form.team.data),
                    language=form.language.data, is_hr_desk=form.is_hr_desk.data,
                    moderation_mode=form.moderation_mode.data or None, actor=actor())
        except ServiceError as exc:
            flash(error_text(exc), "error")
            return _detail(s, emp, form, 400)
        flash(_("Changes saved.") if changes else _("Nothing to change."), "success")
    return redirect(url_for("employees.detail", employee_id=employee_id))


@bp.post("/<int:employee_id>/badge")
@roles_required(ADMIN, HR)
def badge(employee_id: int):  # noqa: ANN201
    form = BadgeForm()
    with uow() as s:
        emp = _employee(s, employee_id)
        if not form.validate_on_submit():
            flash(_("Type or scan a badge number (at most 64 characters)."), "error")
            return _detail(s, emp, status=400)
        try:
            with s.begin_nested():
                directory.set_badge(s, emp, form.badge.data.strip(), pepper=pepper(), actor=actor())
        except ServiceError as exc:
            flash(error_text(exc), "error")
            return _detail(s, emp, status=409 if exc.code == "badge_taken" else 400)
        flash(_("The badge is assigned. Only a fingerprint of its number is kept."), "success")
    return redirect(url_for("employees.detail", employee_id=employee_id))


@bp.post("/<int:employee_id>/badge/remove")
@roles_required(ADMIN, HR)
def badge_remove(employee_id: int):  # noqa: ANN201
    with uow() as s:
        directory.set_badge(s, _employee(s, employee_id), None, pepper=pepper(), actor=actor())
    flash(_("The badge was removed: it no longer opens a session."), "success")
    return redirect(url_for("employees.detail", employee_id=employee_id))


@bp.post("/<int:employee_id>/pin")
@roles_required(ADMIN, HR)
def pin(employee_id: int):  # noqa: ANN201
    form = PinForm()
    with uow() as s:
        emp = _employee(s, employee_id)
        if not form.validate_on_submit():
            for errors in form.errors.values():
                for message in errors:
                    flash(str(message), "error")
            return _detail(s, emp, status=400)
        had = emp.pin_hash is not None
        directory.set_pin(s, emp, form.pin.data, actor())
        flash(_("The PIN was changed.") if had else _("The PIN was set."), "success")
    return redirect(url_for("employees.detail", employee_id=employee_id))


@bp.post("/<int:employee_id>/pin/remove")
@roles_required(ADMIN, HR)
def pin_remove(employee_id: int):  # noqa: ANN201
    with uow() as s:
        directory.set_pin(s, _employee(s, employee_id), None, actor())
    flash(_("The PIN was removed: the badge alone opens a session."), "success")
    return redirect(url_for("employees.detail", employee_id=employee_id))


@bp.post("/<int:employee_id>/deactivate")
@roles_required(ADMIN, HR)
def deactivate(employee_id: int):  # noqa: ANN201
    with uow() as s:
        emp = _employee(s, employee_id)
        if directory.set_employee_active(s, emp, False, actor()):
            flash(_("%(name)s is deactivated: no badge-in, no messages to or from them.",
                    name=emp.name), "success")
    return redirect(url_for("employees.detail", employee_id=employee_id))


@bp.post("/<int:employee_id>/reactivate")
@roles_required(ADMIN, HR)
def reactivate(employee_id: int):  # noqa: ANN201
    with uow() as s:
        emp = _employee(s, employee_id)
        if directory.set_employee_active(s, emp, True, actor()):
            flash(_("%(name)s is active again.", name=emp.name), "success")
    return redirect(url_for("employees.detail", employee_id=employee_id))


# --- CSV import ----------------------------------------------------------------------------


def row_error_text(err: employees_io.RowError) -> str:
    p = err.params
    texts = {
        "required": _("This cell is required."),
        "empty": _("This cell is required."),
        "too_long": _("Too long (at most %(max)s characters).", max=p.get("max", "")),
        "bad_text": _("Contains a hidden or control character."),
        "bad_id": _("An ID is a number (leave it empty to create a new employee)."),
        "unknown_id": _("No employee has the ID %(id)s.", id=p.get("id", "")),
        "duplicate_id": _("The same ID is already on line %(line)s.", line=p.get("line", "")),
        "site_without_team": _("A site is given without a team."),
        "unknown_site": _("No site is named “%(site)s”.", site=p.get("site", "")),
        "unknown_team": _("No team is named “%(team)s” (create it first in Teams and sites).",
                          team=p.get("team", "")),
        "ambiguous_team": _("Several sites have a team “%(team)s” (%(sites)s): fill in the site.",
                            team=p.get("team", ""), sites=p.get("sites", "")),
        "bad_bool": _("“%(value)s” is not yes or no.", value=p.get("value", "")),
        "bad_language": _("“%(value)s” is not a language: use fr or en.", value=p.get("value", "")),
        "bad_moderation": _("“%(value)s” is not a moderation mode: use pre, post, none or leave "
                            "empty to inherit.", value=p.get("value", "")),
        "bad_pin": _("A PIN is 4 to 8 digits (a spreadsheet may have removed leading zeros)."),
        "badge_duplicate": _("The same badge is already on line %(line)s.", line=p.get("line", "")),
        "badge_taken": _("This badge already belongs to someone else."),
        "empty_file": _("The file is empty."),
        "bad_csv": _("The file is not a readable CSV file."),
        "no_name_column": _("The first line must name the columns, with at least “name”."),
        "too_many_rows": _("Too many rows: at most %(max)s per file.", max=p.get("max", "")),
        "not_found": _("The employee or team no longer exists."),
    }
    return texts.get(err.code, err.code)


@bp.route("/import", methods=["GET", "POST"])
@roles_required(ADMIN, HR)
def import_upload():  # noqa: ANN201
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            flash(_("The file is too large (at most 8 MB)."), "error")
        else:
            with uow() as s:  # reads only: the preview writes nothing
                plan = employees_io.parse(s, data, pepper(), filename=upload.filename or "")
            token = imports(current_app).keep(current_user.id, plan)
            return redirect(url_for("employees.import_preview", token=token))
    elif request.method == "POST":
        flash(_("Choose a CSV file."), "error")
    return render_template("employees/import.html", form=form,
                           columns=employees_io.IMPORT_COLUMNS), 400 if request.method == "POST" else 200


@bp.get("/import/<token>")
@roles_required(ADMIN, HR)
def import_preview(token: str):  # noqa: ANN201
    preview = imports(current_app).preview(current_user.id, token)
    if preview is None:
        flash(_("This preview has expired. Upload the file again."), "error")
        return redirect(url_for("employees.import_upload"))
    plan = preview.plan
    errors = plan.errors
    return render_template(
        "employees/import_preview.html", plan=plan, token=token,
        rows=plan.rows[:PREVIEW_ROWS], errors=[(e, row_error_text(e)) for e in errors[:PREVIEW_ERRORS]],
        more_errors=max(0, len(errors) - PREVIEW_ERRORS), KEEP=employees_io.KEEP)


@bp.post("/import/<token>/confirm")
@roles_required(ADMIN, HR)
def import_confirm(token: str):  # noqa: ANN201
    reg = imports(current_app)
    preview = reg.drop(current_user.id, token)
    if preview is None:
        flash(_("This preview has expired. Upload the file again."), "error")
        return redirect(url_for("employees.import_upload"))
    if not preview.plan.valid_rows:
        flash(_("There is no valid row to import."), "error")
        return redirect(url_for("employees.import_upload"))
    job = reg.start(current_user.id, preview.plan, store(), pepper(), actor())
    return redirect(url_for("employees.import_job", job_id=job.id))


@bp.post("/import/<token>/cancel")
@roles_required(ADMIN, HR)
def import_cancel(token: str):  # noqa: ANN201
    imports(current_app).drop(current_user.id, token)
    flash(_("Import cancelled: nothing was written."), "info")
    return redirect(url_for("employees.index"))


def _job_status(job) -> dict[str, Any]:  # noqa: ANN001
    r = job.result
    return {
        "state": job.state, "percent": int(r.progress * 100), "total": r.total, "done": r.done,
        "pins_total": r.pins_total, "pins_hashed": r.pins_hashed, "created": r.created,
        "updated": r.updated, "unchanged": r.unchanged, "skipped": len(r.errors),
        "stopped_at": r.stopped_at,
        "errors": [{"line": e.line, "field": e.field, "message": row_error_text(e)}
                   for e in list(r.errors)[:200]],
    }


@bp.get("/import/jobs/<job_id>")
@roles_required(ADMIN, HR)
def import_job(job_id: str):  # noqa: ANN201
    job = imports(current_app).job(current_user.id, job_id)
    if job is None:
        abort(404)
    return render_template("employees/import_job.html", job=job, status=_job_status(job))


@bp.get("/import/jobs/<job_id>/status")
@roles_required(ADMIN, HR)
def import_status(job_id: str):  # noqa: ANN201
    job = imports(current_app).job(current_user.id, job_id)
    if job is None:
        abort(404)
    return jsonify(_job_status(job))


# --- access requests (GDPR art. 15): everything about one person, as a ZIP ------------------
# HR, admins and auditors; never a supervisor. Built in a thread (exports.py), polled.

RIGHTS = (ADMIN, HR, AUDITOR)
EXPORT_REFUSED = {
    "yours_running": _l("Your previous export is still being built: wait for it to finish "
                        "before starting another."),
    "too_many": _l("Two exports are already being built: try again when one has finished."),
    "disk_full": _l("The server's disk is short of free space: no export was started. Ask "
                    "the administrator to free space first."),
}


def _export_status(job) -> dict[str, Any]:  # noqa: ANN001
    p = job.progress
    return {"state": job.state, "percent": p.percent, "done": p.done, "total": p.total,
            "photos": p.photos, "voice": p.voice, "size": p.size,
            "download": url_for("employees.export_download", job_id=job.id)
            if job.state == "ready" else None}


@bp.post("/exports")
@roles_required(*RIGHTS)
def export_start():  # noqa: ANN201
    employee_id = int_arg("employee_id", request.form)
    with uow() as s:
        emp = (s.get(Employee, employee_id)
               if employee_id and employee_id <= legal_holds.MAX_ID else None)
        name = emp.name if emp is not None else ""
    if emp is None:
        flash(_("No employee has this number."), "error")
        return redirect(url_for("holds.index"))
    try:
        job = exports(current_app).start(current_user.id, emp.id, name, store(),
                                         relais_settings(), actor=actor(),
                                         language=current_user.language)
    except Refused as exc:
        flash(str(EXPORT_REFUSED[exc.code]), "error")
        return redirect(url_for("holds.index"))
    return redirect(url_for("employees.export_job", job_id=job.id))


def _my_export(job_id: str):  # noqa: ANN202
    job = exports(current_app).job(current_user.id, job_id)
    if job is None:
        abort(404)
    return job


@bp.get("/exports/<job_id>")
@roles_required(*RIGHTS)
def export_job(job_id: str):  # noqa: ANN201
    job = _my_export(job_id)
    return render_template("employees/export_job.html", job=job, status=_export_status(job),
                           has_detail=current_user.role in (ADMIN, HR))


@bp.get("/exports/<job_id>/status")
@roles_required(*RIGHTS)
def export_status(job_id: str):  # noqa: ANN201
    return jsonify(_export_status(_my_export(job_id)))


@bp.get("/exports/<job_id>/download")
@roles_required(*RIGHTS)
def export_download(job_id: str):  # noqa: ANN201
    reg = exports(current_app)
    job = _my_export(job_id)
    if job.state != "ready" or not job.path.is_file():
        abort(404)
    # Opened, then removed from the folder at once: the open file is what is sent (POSIX),
    # and nothing stays on disk once it has been read, whatever becomes of the transfer.
    fh = job.path.open("rb")
    reg.downloaded(job)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")
    resp = send_file(fh, mimetype="application/zip", as_attachment=True,
                     download_name=f"relais-access-request-{job.employee_id}-{stamp}.zip",
                     max_age=0)
    resp.headers["Cache-Control"] = "no-store"
    return resp
