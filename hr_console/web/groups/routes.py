"""Workgroups: the list, a group's page (its rules, hand-picked people and live members),
the create / edit form, and archive / reopen / delete. Every change goes through
``hr_console.services.groups`` (which validates and audits it); this module only decides
who may see or change which group and turns errors into the reader's language.

Who: admins and HR manage every group; auditors read them; a supervisor manages the groups
made only of their own teams, and only while the setting ``supervisors_manage_groups`` is
on (off: the area is closed to them, as moderation is without its setting)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from hr_console.services import employees, settings
from hr_console.services import groups as groups_svc
from hr_console.services.errors import NotFound, ServiceError
from hr_console.store.models import Employee, Shift, Site, Team
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, AUDITOR, HR, SUPERVISOR
from hr_console.web.db import uow
from hr_console.web.employees.common import actor, error_text, int_arg, options, pepper
from hr_console.web.groups.forms import ActionForm, GroupForm, PersonForm

bp = Blueprint("groups", __name__, template_folder="templates", url_prefix="/groups")

READERS = (ADMIN, HR, AUDITOR, SUPERVISOR)
MANAGERS = (ADMIN, HR, SUPERVISOR)
SETTING = "supervisors_manage_groups"
PER_PAGE = 50
STATES = ("open", "archived", "all")


# --- who may do what ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What the signed-in console user may do here. ``team_ids`` None: every group; else
    only the groups whose every rule and hand-picked person is within these teams."""

    manage: bool
    team_ids: tuple[int, ...] | None = None

    @property
    def everything(self) -> bool:
        return self.team_ids is None


def _supervised(s: Session, employee_id: int | None) -> tuple[int, ...]:
    if employee_id is None:
        return ()
    return tuple(s.execute(select(Team.id).where(Team.supervisor_id == employee_id)
                           .order_by(Team.id)).scalars())


def access_for(s: Session, role: str, employee_id: int | None) -> Access | None:
    """None: no access to workgroups at all."""
    if role in (ADMIN, HR):
        return Access(manage=True)
    if role == AUDITOR:
        return Access(manage=False)
    if role == SUPERVISOR and settings.get(s, SETTING):
        teams = _supervised(s, employee_id)
        if teams:
            return Access(manage=True, team_ids=teams)
    return None


def _access(s: Session) -> Access:
    acc = access_for(s, current_user.role, current_user.employee_id)
    if acc is None:
        abort(403)
    return acc


def _in_menu(user: Any) -> bool:
    """Supervisors see the area only while the setting allows it (no door that says no)."""
    if user.role != SUPERVISOR:
        return True
    with uow() as s:
        return access_for(s, user.role, user.employee_id) is not None


def within(s: Session, view: Any, team_ids: tuple[int, ...] | None) -> bool:
    """Whether a group is made only of these teams: team and shift rules of these teams, no
    site or everyone rule, hand-picked people of these teams, no other site."""
    if team_ids is None:
        return True
    if not view.rules and not view.people:
        return False
    shift_ids = [r.ref_id for r in view.rules if r.kind == "shift"]
    for rule in view.rules:
        if rule.kind == "team" and rule.ref_id in team_ids:
            continue
        if rule.kind == "shift":
            continue
        return False
    if shift_ids:
        teams_of = set(s.execute(select(Shift.team_id).where(Shift.id.in_(shift_ids))).scalars())
        if not teams_of <= set(team_ids) or len(teams_of) == 0:
            return False
    person_ids = [pid for pid, _name in view.people]
    if person_ids:
        teams_of = set(s.execute(select(Employee.team_id)
                                 .where(Employee.id.in_(person_ids))).scalars())
        if not teams_of <= set(team_ids):
            return False
    if view.site_id is not None:
        sites = set(s.execute(select(Team.site_id).where(Team.id.in_(team_ids))).scalars())
        if view.site_id not in sites:
            return False
    return True


def _group(s: Session, group_id: int, acc: Access) -> Any:
    """The group, if it exists, is not deleted and is within the user's reach (404 / 403)."""
    try:
        view = groups_svc.get(s, group_id)
    except NotFound:
        abort(404)
    if view.state == "deleted":
        abort(404)
    if not within(s, view, acc.team_ids):
        abort(403)
    return view


def _manager(s: Session, group_id: int) -> tuple[Access, Any]:
    acc = _access(s)
    if not acc.manage:
        abort(403)
    return acc, _group(s, group_id, acc)


# --- labels --------------------------------------------------------------------------------------


def state_label(state: str) -> str:
    return {"open": _("open"), "archived": _("archived"), "deleted": _("deleted")}.get(state, state)


def post_right_label(value: str) -> str:
    return {"everyone": _("every member"), "leads": _("leads and HR")}.get(value, value)


def moderation_label(value: str | None) -> str:
    return {None: _("as for one-to-one"), "": _("as for one-to-one"), "pre": _("before delivery"),
            "post": _("after delivery"), "none": _("none")}.get(value, value or "")


def rule_kind_label(kind: str) -> str:
    return {"team": _("Team"), "site": _("Site"), "shift": _("Shift"),
            "everyone": _("Everyone")}.get(kind, kind)


def group_error(exc: ServiceError) -> str:
    """A service refusal in the reader's language."""
    texts = {
        "name_taken": _("Another group already has this name."),
        "group_exists": _("Another group already has this name."),
        "duplicate_name": _("Another group already has this name."),
        "bad_name": _("A group needs a name of at most 80 characters."),
        "bad_description": _("A description has at most 500 characters."),
        "bad_post_right": _("Who may post is either every member or the leads and HR."),
        "bad_moderation": _("Unknown moderation mode."),
        "bad_rule": _("This membership rule is not valid."),
        "bad_state": _("This cannot be done in the group's present state."),
        "unknown_team": _("This team does not exist."),
        "unknown_site": _("This site does not exist."),
        "unknown_shift": _("This shift does not exist."),
        "unknown_person": _("This employee does not exist."),
        "unknown_employee": _("This employee does not exist."),
        "archived": _("The group is archived: reopen it first."),
        "already_archived": _("The group is already archived."),
        "not_archived": _("The group is not archived."),
        "deleted": _("This group was deleted."),
        "not_found": _("This group does not exist (any more)."),
    }
    if exc.code in ("bad_name", "bad_description") and \
            (getattr(exc, "detail", None) or {}).get("reason") == "bad_text":
        return _("The name or the description holds a hidden or control character.")
    return texts.get(exc.code) or error_text(exc)


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"group_state_label": state_label, "post_right_label": post_right_label,
            "group_moderation_label": moderation_label, "rule_kind_label": rule_kind_label}


# --- the list ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pages:
    page: int
    pages: int
    total: int


def _page_arg(name: str = "page") -> int:
    return max(1, min(int_arg(name) or 1, 100_000))


@bp.get("/")
@roles_required(*READERS)
def index():  # noqa: ANN201
    state = request.args.get("state", "open")
    if state not in STATES:
        state = "open"
    q = request.args.get("q", "").strip()[:80]
    with uow() as s:
        acc = _access(s)
        rows = [g for g in groups_svc.list_groups(s) if g.state != "deleted"
                and within(s, g, acc.team_ids)]
    counts = {"open": sum(g.state == "open" for g in rows),
              "archived": sum(g.state == "archived" for g in rows)}
    counts["all"] = counts["open"] + counts["archived"]
    if state != "all":
        rows = [g for g in rows if g.state == state]
    if q:
        folded = q.casefold()
        rows = [g for g in rows if folded in g.name.casefold()]
    rows.sort(key=lambda g: (g.state != "open", g.name.casefold()))
    pages = max(1, math.ceil(len(rows) / PER_PAGE))
    page = min(_page_arg(), pages)
    shown = rows[(page - 1) * PER_PAGE: page * PER_PAGE]
    return render_template("groups/index.html", groups=shown, pg=Pages(page, pages, len(rows)),
                           state=state, q=q, counts=counts, acc=acc,
                           kept={"state": state, "q": q} if q else {"state": state})


index.nav_visible = _in_menu  # type: ignore[attr-defined]


# --- the form ---------------------------------------------------------------------------------


def _fill_choices(s: Session, form: GroupForm, acc: Access) -> None:
    """Every choice the user may make: for a supervisor only their teams and their shifts,
    no whole site, no everyone."""
    team_rows = s.execute(select(Team.id, Team.name, Site.name, Team.site_id)
                          .join(Site, Site.id == Team.site_id).order_by(Site.name, Team.name)).all()
    shift_rows = s.execute(select(Shift.id, Shift.name, Team.name, Team.id)
                           .join(Team, Team.id == Shift.team_id).order_by(Team.name, Shift.name)).all()
    site_rows = s.execute(select(Site.id, Site.name).order_by(Site.name)).all()
    if not acc.everything:
        mine = set(acc.team_ids or ())
        team_rows = [r for r in team_rows if r[0] in mine]
        shift_rows = [r for r in shift_rows if r[3] in mine]
        own_sites = {r[3] for r in team_rows}
        site_rows = [r for r in site_rows if r[0] in own_sites]
    form.site.choices = options([(0, _("Every site"))] + [(sid, name) for sid, name in site_rows])
    form.teams.choices = options([(tid, f"{name} ({site})") for tid, name, site, _sid in team_rows])
    form.shifts.choices = options([(sid, f"{team} · {name}") for sid, name, team, _tid in shift_rows])
    form.sites.choices = [] if not acc.everything else options(site_rows)


def _form_errors(form: GroupForm) -> None:
    for field_errors in form.errors.values():
        for message in field_errors:
            flash(str(message), "error")


def _checked(form: GroupForm, acc: Access, mode_now: str | None = None) -> str | None:
    """Checks the form cannot express: a refusal in the reader's language, or None.
    ``mode_now``: the group's moderation mode before the change (None for a new group)."""
    if not acc.everything and (form.moderation_mode.data or None) != mode_now:
        # A group's mode replaces its authors' own: a supervisor setting 'none' would lift
        # the moderation HR put on their team. HR and admin alone decide it.
        return _("Only HR changes how a group is moderated.")
    if not acc.everything and (form.everyone.data or form.sites.data):
        return _("You may only make groups of your own teams.")
    if not acc.everything and not (form.teams.data or form.shifts.data):
        return _("Choose at least one of your teams or shifts.")
    if form.members_reply.data and form.post_right.data != "leads":
        return _("\"Members may reply\" only applies when the leads and HR alone may post.")
    return None


def _values(form: GroupForm) -> dict[str, Any]:
    return {"name": form.name.data.strip(), "description": (form.description.data or "").strip(),
            "site_id": form.site.data or None, "post_right": form.post_right.data,
            "members_reply": bool(form.members_reply.data),
            "moderation_mode": form.moderation_mode.data or None, "rules": form.rules()}


def _page(form: GroupForm, acc: Access, group: Any, default_mode: str, status: int = 200):  # noqa: ANN202
    """The form page, drawn once the database session is closed: the menu opens its own
    session (for a supervisor), which SQLite would not grant while this one is open."""
    return render_template("groups/form.html", form=form, group=group, acc=acc,
                           default_mode=default_mode), status


@bp.get("/new")
@roles_required(*MANAGERS)
def new():  # noqa: ANN201
    with uow() as s:
        acc = _access(s)
        form = GroupForm(data={"site": 0, "post_right": "everyone", "moderation_mode": ""})
        _fill_choices(s, form, acc)
        default_mode = settings.get(s, "default_moderation")
    return _page(form, acc, None, default_mode)


@bp.post("/new")
@roles_required(*MANAGERS)
def create():  # noqa: ANN201
    with uow() as s:
        acc = _access(s)
        form = GroupForm()
        _fill_choices(s, form, acc)
        default_mode = settings.get(s, "default_moderation")
        problem = _refusal(form, acc)
        if problem is None:
            try:
                with s.begin_nested():
                    view = groups_svc.create(s, **_values(form), people=[], actor=actor())
            except ServiceError as exc:
                problem = group_error(exc)
    if problem is not None:
        if problem:
            flash(problem, "error")
        return _page(form, acc, None, default_mode, 400)
    flash(_("Group %(name)s created. Add hand-picked people below if needed.", name=view.name),
          "success")
    return redirect(url_for("groups.detail", group_id=view.id))


def _refusal(form: GroupForm, acc: Access, mode_now: str | None = None) -> str | None:
    """None when the form may go to the service; else what to say ("" when the form's own
    errors say it, flashed here)."""
    if not form.validate_on_submit():
        _form_errors(form)
        return ""
    return _checked(form, acc, mode_now)


def _form_from(view: Any) -> GroupForm:
    return GroupForm(data={
        "name": view.name, "description": view.description, "site": view.site_id or 0,
        "everyone": any(r.kind == "everyone" for r in view.rules),
        "teams": [r.ref_id for r in view.rules if r.kind == "team"],
        "sites": [r.ref_id for r in view.rules if r.kind == "site"],
        "shifts": [r.ref_id for r in view.rules if r.kind == "shift"],
        "post_right": view.post_right, "members_reply": view.members_reply,
        "moderation_mode": view.moderation_mode or ""})


def _refuse_archived(view: Any) -> None:
    if view.state == "archived":
        flash(_("The group is archived: reopen it first."), "error")


@bp.get("/<int:group_id>/edit")
@roles_required(*MANAGERS)
def edit(group_id: int):  # noqa: ANN201
    with uow() as s:
        acc, view = _manager(s, group_id)
        form = _form_from(view)
        _fill_choices(s, form, acc)
        default_mode = settings.get(s, "default_moderation")
    if view.state == "archived":
        _refuse_archived(view)
        return redirect(url_for("groups.detail", group_id=group_id))
    return _page(form, acc, view, default_mode)


@bp.post("/<int:group_id>/edit")
@roles_required(*MANAGERS)
def save(group_id: int):  # noqa: ANN201
    with uow() as s:
        acc, view = _manager(s, group_id)
        if view.state == "archived":
            _refuse_archived(view)
            return redirect(url_for("groups.detail", group_id=group_id))
        form = GroupForm()
        _fill_choices(s, form, acc)
        default_mode = settings.get(s, "default_moderation")
        problem = _refusal(form, acc, view.moderation_mode)
        if problem is None:
            try:
                with s.begin_nested():
                    groups_svc.update(s, group_id, **_values(form), actor=actor())
            except ServiceError as exc:
                problem = group_error(exc)
    if problem is not None:
        if problem:
            flash(problem, "error")
        return _page(form, acc, view, default_mode, 400)
    flash(_("Changes saved. Membership follows them at once."), "success")
    return redirect(url_for("groups.detail", group_id=group_id))


# --- a group's page ---------------------------------------------------------------------------


@bp.get("/<int:group_id>")
@roles_required(*READERS)
def detail(group_id: int):  # noqa: ANN201
    q = request.args.get("q", "").strip()[:80]
    find = request.args.get("find", "").strip()[: employees.MAX_QUERY_CHARS]
    with uow() as s:
        acc = _access(s)
        view = _group(s, group_id, acc)
        per_page = getattr(groups_svc, "MEMBERS_PER_PAGE", PER_PAGE)
        page = _page_arg()
        members, total = groups_svc.members_page(s, group_id, q=q, page=page)
        pages = max(1, math.ceil(total / per_page))
        if page > pages:  # past the end (members left since the link was made): the last page
            page = pages
            members, total = groups_svc.members_page(s, group_id, q=q, page=page)
        found = []
        if find and acc.manage and view.state == "open":
            picked = {pid for pid, _n in view.people}
            found = [e for e in employees.lookup(s, find, pepper(), limit=20)
                     if e.id not in picked and (acc.everything or e.team_id in (acc.team_ids or ()))]
    kept = {k: v for k, v in (("q", q), ("find", find)) if v}
    return render_template("groups/detail.html", group=view, acc=acc, members=members,
                           pg=Pages(page, pages, total), q=q, find=find,
                           found=found, kept=kept, person_form=PersonForm(),
                           action_form=ActionForm())


def _set_people(group_id: int, change) -> Any:  # noqa: ANN001
    """Apply ``change(people ids, id) -> people ids`` through ``groups.update`` (every other
    field kept as it is): one audited change, nothing changed on a refusal."""
    form = PersonForm()
    back = redirect(url_for("groups.detail", group_id=group_id))
    with uow() as s:
        acc, view = _manager(s, group_id)
        if view.state == "archived":
            _refuse_archived(view)
            return None, back
        if not form.validate_on_submit():
            flash(_("The form could not be read: please try again."), "error")
            return None, back
        raw = form.employee.data or ""
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 12):
            flash(_("This employee does not exist."), "error")
            return None, back
        person = s.get(Employee, int(raw))
        if person is None:
            flash(_("This employee does not exist."), "error")
            return None, back
        if not acc.everything and person.team_id not in (acc.team_ids or ()):
            abort(403)
        people = change([pid for pid, _n in view.people], person.id)
        try:
            with s.begin_nested():
                groups_svc.update(s, group_id, people=people, actor=actor())
        except ServiceError as exc:
            flash(group_error(exc), "error")
            return None, back
        return person.name, back


@bp.post("/<int:group_id>/people")
@roles_required(*MANAGERS)
def person_add(group_id: int):  # noqa: ANN201
    name, back = _set_people(group_id, lambda ids, pid: ids if pid in ids else [*ids, pid])
    if name:
        flash(_("%(name)s is now a member of the group.", name=name), "success")
    return back


@bp.post("/<int:group_id>/people/remove")
@roles_required(*MANAGERS)
def person_remove(group_id: int):  # noqa: ANN201
    name, back = _set_people(group_id, lambda ids, pid: [i for i in ids if i != pid])
    if name:
        flash(_("%(name)s is no longer hand-picked (a rule may still include them).", name=name),
              "success")
    return back


# --- archive, reopen, delete ------------------------------------------------------------------


def _state_change(group_id: int, call, done: str, target: str = "detail"):  # noqa: ANN001, ANN202
    form = ActionForm()
    with uow() as s:
        _manager(s, group_id)
        if not form.validate_on_submit():
            flash(_("The form could not be read: please try again."), "error")
            return redirect(url_for("groups.detail", group_id=group_id))
        try:
            with s.begin_nested():
                call(s, group_id, actor())
        except ServiceError as exc:
            flash(group_error(exc), "error")
            return redirect(url_for("groups.detail", group_id=group_id))
    flash(done, "success")
    if target == "index":
        return redirect(url_for("groups.index"))
    return redirect(url_for("groups.detail", group_id=group_id))


@bp.post("/<int:group_id>/archive")
@roles_required(*MANAGERS)
def archive(group_id: int):  # noqa: ANN201
    return _state_change(group_id, groups_svc.archive,
                         _("Group archived: its members still read it, nobody can post."))


@bp.post("/<int:group_id>/reopen")
@roles_required(*MANAGERS)
def reopen(group_id: int):  # noqa: ANN201
    return _state_change(group_id, groups_svc.reopen, _("Group reopened: its members may post again."))


@bp.post("/<int:group_id>/delete")
@roles_required(*MANAGERS)
def delete(group_id: int):  # noqa: ANN201
    return _state_change(group_id, groups_svc.delete,
                         _("Group deleted: it no longer shows anywhere; its posts go with the "
                           "retention period."), target="index")
