"""Contact policy. One employee's page shows the rules that concern them, the EFFECTIVE
list of whom they may write to (``people.contact_list``, the very function the relay uses
for their kiosk) and who may write to them. The relay reads the rules from the database for
every message, so a change here applies to the next message."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from hr_console.services import contacts, directory, employees, teams
from hr_console.services.errors import Invalid, ServiceError
from hr_console.store.models import Employee
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, HR
from hr_console.web.contacts.forms import GroupRuleForm, PersonRuleForm
from hr_console.web.db import uow
from hr_console.web.employees.common import actor, error_text, int_arg, pepper

bp = Blueprint("contacts", __name__, template_folder="templates", url_prefix="/contacts")



def _side(value: str) -> tuple[str, int | None]:
    """'team:3' -> ('team', 3); 'hr_desk' -> ('hr_desk', None); malformed -> Invalid."""
    kind, _sep, ref = (value or "").partition(":")
    if kind in ("person", "team"):
        if not (ref.isascii() and ref.isdigit() and len(ref) < 12):
            raise Invalid("bad_rule", "Malformed rule side.")
        return kind, int(ref)
    if kind in ("everyone", "supervisor", "hr_desk") and not ref:
        return kind, None
    raise Invalid("bad_rule", "Malformed rule side.")


@bp.get("/")
@roles_required(ADMIN, HR)
def index():  # noqa: ANN201
    q = request.args.get("q", "").strip()[: employees.MAX_QUERY_CHARS]
    with uow() as s:
        found = employees.lookup(s, q, pepper(), limit=25, active_only=False) if q else []
        rules = contacts.group_rules(s, request.args.get("page", 1, type=int) or 1,
                                     contacts.RULES_PER_PAGE)
        personal = contacts.personal_rule_count(s)
        team_list = teams.all_teams(s)
    return render_template("contacts/index.html", q=q, found=found, rules=rules,
                           personal=personal, teams=team_list, form=GroupRuleForm())


@bp.get("/<int:employee_id>")
@roles_required(ADMIN, HR)
def employee(employee_id: int):  # noqa: ANN201
    find = request.args.get("find", "").strip()[: employees.MAX_QUERY_CHARS]
    with uow() as s:
        if s.get(Employee, employee_id) is None:
            abort(404)
        policy = contacts.policy(s, employee_id)
        found = [e for e in employees.lookup(s, find, pepper(), limit=20)
                 if e.id != employee_id] if find else []
        team_list = teams.all_teams(s)
    return render_template(
        "contacts/employee.html", p=policy, find=find, found=found, teams=team_list,
        form=PersonRuleForm(), shown=policy.can_write_to,
        has_employees="employees.detail" in current_app.view_functions,
        has_teams="teams.detail" in current_app.view_functions)


@bp.post("/<int:employee_id>/rules")
@roles_required(ADMIN, HR)
def add_person_rule(employee_id: int):  # noqa: ANN201
    form = PersonRuleForm()
    back = url_for("contacts.employee", employee_id=employee_id)
    if not form.validate_on_submit():
        flash(_("This rule is not valid."), "error")
        return redirect(back)
    try:
        with uow() as s:
            if s.get(Employee, employee_id) is None:
                abort(404)
            kind, ref = _side(form.target.data)
            if form.direction.data == "out":
                if kind == "everyone":
                    raise Invalid("bad_rule", "Everyone is not a recipient.")
                contacts.add_rule(s, "person", employee_id, kind, ref, form.allow_reply.data, actor(),
                                  on_shift_only=form.on_shift_only.data)
            else:
                if kind in ("supervisor", "hr_desk"):
                    raise Invalid("bad_rule", "Not a sender.")
                contacts.add_rule(s, kind, ref, "person", employee_id, form.allow_reply.data, actor(),
                                  on_shift_only=form.on_shift_only.data)
    except ServiceError as exc:
        flash(error_text(exc), "error")
        return redirect(back)
    flash(_("Rule added. It applies to the next message."), "success")
    return redirect(back)


@bp.post("/rules")
@roles_required(ADMIN, HR)
def add_group_rule():  # noqa: ANN201
    form = GroupRuleForm()
    back = url_for("contacts.index") + "#group-rules"
    if not form.validate_on_submit():
        flash(_("This rule is not valid."), "error")
        return redirect(back)
    try:
        sender, sender_ref = _side(form.sender.data)
        recipient, recipient_ref = _side(form.recipient.data)
        if sender not in ("everyone", "team") or recipient not in ("team", "supervisor", "hr_desk"):
            raise Invalid("bad_rule", "Group rules go from everyone or a team to a team, "
                          "the supervisor or the HR desk.")
        with uow() as s:
            contacts.add_rule(s, sender, sender_ref, recipient, recipient_ref,
                              form.allow_reply.data, actor(), on_shift_only=form.on_shift_only.data)
    except ServiceError as exc:
        flash(error_text(exc), "error")
        return redirect(back)
    flash(_("Rule added. It applies to the next message."), "success")
    return redirect(back)


def _back() -> str:
    employee_id = int_arg("employee", request.form)
    if employee_id:
        return url_for("contacts.employee", employee_id=employee_id)
    return url_for("contacts.index") + "#group-rules"


@bp.post("/rules/<int:rule_id>/delete")
@roles_required(ADMIN, HR)
def delete_rule(rule_id: int):  # noqa: ANN201
    try:
        with uow() as s:
            directory.delete_contact_rule(s, rule_id, actor())
    except ServiceError as exc:
        flash(error_text(exc), "error")
    else:
        flash(_("Rule removed. It no longer applies from the next message."), "success")
    return redirect(_back())


def _set_flag(rule_id: int, setter: Any, value: bool, done: str) -> Any:
    """One audited switch of a rule (``directory.set_rule_*``), then back where HR was."""
    try:
        with uow() as s:
            setter(s, rule_id, value, actor())
    except ServiceError as exc:
        flash(error_text(exc), "error")
    else:
        flash(done, "success")
    return redirect(_back())


@bp.post("/rules/<int:rule_id>/reply")
@roles_required(ADMIN, HR)
def toggle_reply(rule_id: int):  # noqa: ANN201
    allow = request.form.get("allow_reply") == "1"
    return _set_flag(rule_id, directory.set_rule_reply, allow,
                     _("Replies are now allowed for this rule.") if allow
                     else _("Replies are no longer allowed for this rule."))


@bp.post("/rules/<int:rule_id>/shift")
@roles_required(ADMIN, HR)
def toggle_shift(rule_id: int):  # noqa: ANN201
    """A rule made to grant only while the writer is on shift, or at any time again."""
    value = request.form.get("on_shift_only")
    if value not in ("0", "1"):
        flash(_("This rule is not valid."), "error")
        return redirect(_back())
    only = value == "1"
    return _set_flag(rule_id, directory.set_rule_shift, only,
                     _("This rule now applies only during the sender's shift.") if only
                     else _("This rule now applies at any time."))
    only = value == "1"
    try:
        with uow() as s:
            directory.set_rule_shift(s, rule_id, only, actor())
    except ServiceError as exc:
        flash(error_text(exc), "error")
    else:
        flash(_("This rule now applies only during the sender's shift.") if only
              else _("This rule now applies at any time."), "success")
    return redirect(_back())
