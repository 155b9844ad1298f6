"""Terminals. The MQTT username IS the terminal's name, so renaming issues new credentials
(shown once) and the old login stops working; enrolment, rotation and rename show the
password and the one-time enrolment code on the result page only, never again (only their
hashes are kept). After every change the broker's files are rendered from the database and
the broker reloaded (SIGHUP), inside the same unit of work: a revoked terminal is dropped at
once, and if the broker files cannot be written the change is not committed either."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext

from hr_console.services import broker, enrolment, sessions, terminals
from hr_console.services.directory import ENROL_CODE_MINUTES
from hr_console.services.errors import NotFound, ServiceError
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, HR
from hr_console.web.db import uow
from hr_console.web.employees.common import actor, error_text, int_arg, options
from hr_console.web.terminals.forms import EnrolForm, RenameForm, SiteForm

bp = Blueprint("terminals", __name__, template_folder="templates", url_prefix="/terminals")


def _site_choices(s) -> list[tuple[int, str]]:  # noqa: ANN001
    from hr_console.services.teams import sites

    return [(0, _("— No site —"))] + list(sites(s))


def _apply(s) -> None:  # noqa: ANN001
    """The broker's password file and ACL from the database (this transaction), reloaded."""
    if not broker.apply(s, current_app.config["RELAIS"]):
        flash(_("The broker is not running: its files are up to date and apply when it starts."),
              "info")


def _filter() -> tuple[terminals.TerminalFilter, dict[str, str]]:
    """The list's filter from the query string, and what the pager keeps of it."""
    q = request.args.get("q", "").strip()[:64]
    site = int_arg("site")
    state = request.args.get("state", "")
    state = state if state in terminals.STATES else ""
    kept = {k: str(v) for k, v in (("q", q), ("site", site), ("state", state))
            if v not in ("", None)}
    return terminals.TerminalFilter(q, site, state), kept


def _index(s, form: EnrolForm, status: int = 200):  # noqa: ANN001, ANN202
    flt, kept = _filter()
    page = terminals.find(s, flt, page=int_arg("page") or 1)
    sites = _site_choices(s)
    form.site.choices = options(sites)
    return render_template("terminals/index.html", page=page, flt=flt, kept=kept, sites=sites,
                           states=terminals.STATES, form=form), status


@bp.get("/")
@roles_required(ADMIN)
def index():  # noqa: ANN201
    with uow() as s:
        return _index(s, EnrolForm())


def _credentials_page(name: str, creds, action: str):  # noqa: ANN001, ANN202
    return render_template("terminals/credentials.html", name=name, creds=creds, action=action,
                           minutes=ENROL_CODE_MINUTES, cfg=current_app.config["RELAIS"],
                           ca_fingerprint=enrolment.ca_fingerprint(current_app.config["RELAIS"]))


@bp.post("/new")
@roles_required(ADMIN)
def enrol():  # noqa: ANN201
    form = EnrolForm()
    with uow() as s:
        form.site.choices = options(_site_choices(s))
        if not form.validate_on_submit():
            return _index(s, form, 400)
        try:
            with s.begin_nested():
                row, creds = terminals.enrol(s, form.name.data, form.site.data or None, actor())
                _apply(s)
        except ServiceError as exc:
            flash(error_text(exc), "error")
            return _index(s, form, 400)
        return _credentials_page(row.name, creds, "enrol")


def _terminal(s, terminal_id: int):  # noqa: ANN001, ANN202
    try:
        return terminals.get(s, terminal_id)
    except NotFound:
        abort(404)


def _detail(s, terminal_id: int, rename_form: RenameForm | None = None, status: int = 200):  # noqa: ANN001, ANN202
    row = terminals.terminal_row(s, terminal_id)
    if row is None:
        abort(404)
    site_form = SiteForm(data={"site": row.site_id or 0})
    site_form.site.choices = options(_site_choices(s))
    return render_template("terminals/detail.html", t=row, site_form=site_form,
                           rename_form=rename_form or RenameForm()), status


@bp.get("/<int:terminal_id>")
@roles_required(ADMIN)
def detail(terminal_id: int):  # noqa: ANN201
    with uow() as s:
        return _detail(s, terminal_id)


@bp.post("/<int:terminal_id>/site")
@roles_required(ADMIN)
def site(terminal_id: int):  # noqa: ANN201
    form = SiteForm()
    with uow() as s:
        row = _terminal(s, terminal_id)
        form.site.choices = options(_site_choices(s))
        if not form.validate_on_submit():
            flash(_("Choose a site."), "error")
            return _detail(s, terminal_id, status=400)
        try:
            with s.begin_nested():
                terminals.set_site(s, row, form.site.data or None, actor())
        except ServiceError as exc:
            flash(error_text(exc), "error")
            return _detail(s, terminal_id, status=400)
    flash(_("Site changed."), "success")
    return redirect(url_for("terminals.detail", terminal_id=terminal_id))


@bp.post("/<int:terminal_id>/rename")
@roles_required(ADMIN)
def rename(terminal_id: int):  # noqa: ANN201
    form = RenameForm()
    with uow() as s:
        row = _terminal(s, terminal_id)
        if not form.validate_on_submit():
            return _detail(s, terminal_id, form, 400)
        try:
            with s.begin_nested():
                creds = terminals.rename(s, row, form.name.data, actor())
                _apply(s)
        except ServiceError as exc:
            flash(error_text(exc), "error")
            return _detail(s, terminal_id, form, 400)
        return _credentials_page(row.name, creds, "rename")


@bp.post("/<int:terminal_id>/rotate")
@roles_required(ADMIN)
def rotate(terminal_id: int):  # noqa: ANN201
    with uow() as s:
        row = _terminal(s, terminal_id)
        reinstated = not row.active
        creds = terminals.rotate(s, row, actor())
        _apply(s)
        return _credentials_page(row.name, creds, "reinstate" if reinstated else "rotate")


@bp.post("/<int:terminal_id>/revoke")
@roles_required(ADMIN)
def revoke(terminal_id: int):  # noqa: ANN201
    with uow() as s:
        row = _terminal(s, terminal_id)
        ended = terminals.revoke(s, row, actor())
        _apply(s)
        name = row.name
    flash(_("%(name)s is revoked: the broker has dropped it and refuses its login.", name=name),
          "success")
    if ended:
        flash(ngettext("%(num)s badge session open on it was ended.",
                       "%(num)s badge sessions open on it were ended.", ended), "info")
    return redirect(url_for("terminals.detail", terminal_id=terminal_id))



@bp.post("/<int:terminal_id>/resume")
@roles_required(ADMIN, HR)
def resume(terminal_id: int):  # noqa: ANN201
    """A terminal suspended for guessing badges or PINs takes badge-ins again (HR decides,
    from the dashboard's alert; audited)."""
    with uow() as s:
        row = _terminal(s, terminal_id)
        resumed = sessions.resume_logins(s, row, actor())
        name = row.name
    if resumed:
        flash(_("%(name)s takes badge-ins again.", name=name), "success")
    else:
        flash(_("%(name)s was not suspended.", name=name), "info")
    return redirect(url_for("dashboard.index"))
