"""Teams and sites: create and rename sites and teams, a team's supervisor and moderation
mode, and its shifts (what a notice can target and what "on shift" means)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from hr_console.services import directory, settings, shifts, teams
from hr_console.services.errors import ServiceError
from hr_console.store.models import Employee, Shift, Site, Team
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, HR
from hr_console.web.db import uow
from hr_console.web.employees.common import actor, error_text, options
from hr_console.web.teams.forms import (
    WEEKDAY_LABELS,
    NewTeamForm,
    ShiftForm,
    SiteForm,
    SiteZoneForm,
    TeamForm,
)

bp = Blueprint("teams", __name__, template_folder="templates", url_prefix="/teams")


def _site_choices(s) -> list[tuple[int, str]]:  # noqa: ANN001
    return list(teams.sites(s))


@bp.get("/")
@roles_required(ADMIN, HR)
def index():  # noqa: ANN201
    with uow() as s:
        overview = teams.overview(s)
        team_form = NewTeamForm()
        team_form.site.choices = options(_site_choices(s))
        default = settings.get(s, "default_moderation")
    return render_template("teams/index.html", overview=overview, site_form=SiteForm(),
                           team_form=team_form, default_mode=default,
                           has_employees="employees.index" in current_app.view_functions)


@bp.post("/sites")
@roles_required(ADMIN, HR)
def site_create():  # noqa: ANN201
    form = SiteForm()
    if not form.validate_on_submit():
        flash(_("A site needs a name (at most 80 characters)."), "error")
        return redirect(url_for("teams.index"))
    try:
        with uow() as s:
            row = directory.create_site(s, form.name.data, actor())
            name = row.name
    except ServiceError as exc:
        flash(error_text(exc), "error")
    else:
        flash(_("Site %(name)s created.", name=name), "success")
    return redirect(url_for("teams.index"))


@bp.post("/sites/<int:site_id>")
@roles_required(ADMIN, HR)
def site_rename(site_id: int):  # noqa: ANN201
    form = SiteForm(prefix=f"site{site_id}")
    if not form.validate_on_submit():
        flash(_("A site needs a name (at most 80 characters)."), "error")
        return redirect(url_for("teams.index"))
    try:
        with uow() as s:
            row = s.get(Site, site_id)
            if row is None:
                abort(404)
            directory.rename_site(s, row, form.name.data, actor())
    except ServiceError as exc:
        flash(error_text(exc), "error")
    else:
        flash(_("Site renamed."), "success")
    return redirect(url_for("teams.index"))


@bp.post("/sites/<int:site_id>/timezone")
@roles_required(ADMIN, HR)
def site_timezone(site_id: int):  # noqa: ANN201
    """The zone the site's shifts are read in (on-shift-only contact rules)."""
    form = SiteZoneForm(prefix=f"zone{site_id}")
    back = url_for("teams.index") + f"#site-{site_id}"
    zone = (form.timezone.data or "").strip()
    if not form.validate_on_submit() or (zone and not shifts.valid_zone(zone)):
        flash(_("A time zone is a name such as Europe/Paris."), "error")
        return redirect(back)
    try:
        with uow() as s:
            row = s.get(Site, site_id)
            if row is None:
                abort(404)
            changed = directory.set_site_timezone(s, row, form.timezone.data, actor())
    except ServiceError as exc:
        flash(error_text(exc), "error")
    else:
        if changed:
            flash(_("Time zone saved."), "success")
    return redirect(back)


@bp.post("/new")
@roles_required(ADMIN, HR)
def create():  # noqa: ANN201
    form = NewTeamForm()
    with uow() as s:
        form.site.choices = options(_site_choices(s))
    if not form.validate_on_submit():
        flash(_("A team needs a name (at most 80 characters) and a site."), "error")
        return redirect(url_for("teams.index"))
    try:
        with uow() as s:
            site = s.get(Site, form.site.data)
            if site is None:
                raise ServiceError("unknown_site", "No such site.")
            row = directory.team(s, form.name.data, site, actor=actor())
            team_id = row.id
    except ServiceError as exc:
        flash(error_text(exc), "error")
        return redirect(url_for("teams.index"))
    flash(_("Team created. Choose its supervisor and its shifts below."), "success")
    return redirect(url_for("teams.detail", team_id=team_id))


def _supervisor_choices(s, row: Team) -> list[tuple[int, str]]:  # noqa: ANN001
    choices = [(0, _("— No supervisor —"))] + list(teams.members(s, row.id))
    if row.supervisor_id and row.supervisor_id not in {c[0] for c in choices}:
        sup = s.get(Employee, row.supervisor_id)
        if sup is not None:
            label = sup.name if sup.active else _("%(name)s (deactivated)", name=sup.name)
            choices.insert(1, (sup.id, label))
    return choices


def _team_form(s, row: Team, form: TeamForm | None = None) -> TeamForm:  # noqa: ANN001
    if form is None:
        form = TeamForm(data={"name": row.name, "site": row.site_id,
                              "supervisor": row.supervisor_id or 0,
                              "moderation_mode": row.moderation_mode or ""})
    form.site.choices = options(_site_choices(s))
    form.supervisor.choices = options(_supervisor_choices(s, row))
    return form


def _detail(s, row: Team, form: TeamForm | None = None, new_shift: ShiftForm | None = None,  # noqa: ANN001
            status: int = 200):  # noqa: ANN202
    shifts = teams.shifts(s, row.id)
    edit_forms = {sh.id: ShiftForm(prefix=f"shift{sh.id}", data={
        "name": sh.name, "days": sh.days.split(","), "start": sh.start_time, "end": sh.end_time})
        for sh in shifts}
    return render_template(
        "teams/detail.html", team=teams.team_row(s, row.id), form=_team_form(s, row, form),
        shift_form=new_shift or ShiftForm(prefix="new", data={"days": ["mon", "tue", "wed", "thu", "fri"]}),
        shifts=shifts, edit_forms=edit_forms, day_labels=dict(WEEKDAY_LABELS),
        default_mode=settings.get(s, "default_moderation"),
        has_employees="employees.index" in current_app.view_functions,
        has_contacts="contacts.index" in current_app.view_functions,
    ), status


def _team(s, team_id: int) -> Team:  # noqa: ANN001
    row = s.get(Team, team_id)
    if row is None:
        abort(404)
    return row


@bp.get("/<int:team_id>")
@roles_required(ADMIN, HR)
def detail(team_id: int):  # noqa: ANN201
    with uow() as s:
        return _detail(s, _team(s, team_id))


@bp.post("/<int:team_id>")
@roles_required(ADMIN, HR)
def save(team_id: int):  # noqa: ANN201
    with uow() as s:
        row = _team(s, team_id)
        form = _team_form(s, row, TeamForm())
        if not form.validate_on_submit():
            return _detail(s, row, form, status=400)
        sup_id = form.supervisor_other.data or form.supervisor.data or None
        try:
            with s.begin_nested():
                site = s.get(Site, form.site.data)
                supervisor = s.get(Employee, sup_id) if sup_id else None
                if site is None:
                    raise ServiceError("unknown_site", "No such site.")
                if sup_id and supervisor is None:
                    raise ServiceError("unknown_person", "No such employee.")
                changes = directory.update_team(
                    s, row, name=form.name.data, site_row=site, supervisor=supervisor,
                    moderation_mode=form.moderation_mode.data or None, actor=actor())
        except ServiceError as exc:
            flash(error_text(exc), "error")
            return _detail(s, row, form, status=400)
        flash(_("Changes saved.") if changes else _("Nothing to change."), "success")
    return redirect(url_for("teams.detail", team_id=team_id))


@bp.post("/<int:team_id>/shifts")
@roles_required(ADMIN, HR)
def shift_create(team_id: int):  # noqa: ANN201
    form = ShiftForm(prefix="new")
    with uow() as s:
        row = _team(s, team_id)
        if not form.validate_on_submit():
            return _detail(s, row, new_shift=form, status=400)
        try:
            with s.begin_nested():
                directory.shift(s, row, form.name.data, form.days.data, form.start.data,
                                form.end.data, actor())
        except ServiceError as exc:
            flash(error_text(exc), "error")
            return _detail(s, row, new_shift=form, status=400)
    flash(_("Shift added."), "success")
    return redirect(url_for("teams.detail", team_id=team_id))


def _shift(s, team_id: int, shift_id: int) -> Shift:  # noqa: ANN001
    row = s.get(Shift, shift_id)
    if row is None or row.team_id != team_id:
        abort(404)
    return row


@bp.post("/<int:team_id>/shifts/<int:shift_id>")
@roles_required(ADMIN, HR)
def shift_save(team_id: int, shift_id: int):  # noqa: ANN201
    form = ShiftForm(prefix=f"shift{shift_id}")
    with uow() as s:
        row = _shift(s, team_id, shift_id)
        if not form.validate_on_submit():
            for errors in form.errors.values():
                for message in errors:
                    flash(str(message), "error")
            return _detail(s, _team(s, team_id), status=400)
        try:
            with s.begin_nested():
                directory.update_shift(s, row, form.name.data, form.days.data, form.start.data,
                                       form.end.data, actor())
        except ServiceError as exc:
            flash(error_text(exc), "error")
            return _detail(s, _team(s, team_id), status=400)
    flash(_("Shift saved."), "success")
    return redirect(url_for("teams.detail", team_id=team_id))


@bp.post("/<int:team_id>/shifts/<int:shift_id>/delete")
@roles_required(ADMIN, HR)
def shift_delete(team_id: int, shift_id: int):  # noqa: ANN201
    with uow() as s:
        try:
            with s.begin_nested():
                directory.delete_shift(s, _shift(s, team_id, shift_id), actor())
        except ServiceError as exc:
            flash(error_text(exc), "error")
            return redirect(url_for("teams.detail", team_id=team_id))
    flash(_("Shift deleted."), "success")
    return redirect(url_for("teams.detail", team_id=team_id))


@bp.app_template_filter("hhmm")
def _hhmm(value) -> str:  # noqa: ANN001
    return value.strftime("%H:%M") if value else ""
