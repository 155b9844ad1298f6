"""Settings views: admins change, HR reads. Validation and auditing happen in
``hr_console.services.admin_settings``; this module only maps fields and errors."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from hr_console.services import admin_settings, employees
from hr_console.services import settings as settings_svc
from hr_console.services.admin_settings import MAX_QUICK_REPLIES, SettingsInvalid
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, HR
from hr_console.web.db import uow
from hr_console.web.settings import pictograms
from hr_console.web.settings.forms import GeneralForm, QuickRepliesForm

bp = Blueprint("settings", __name__, template_folder="templates", url_prefix="/settings")

EXTRA_ROWS = 2


def _error_text(err: admin_settings.FieldError) -> str:
    texts = {
        "not_a_number": _("Enter a whole number of days."),
        "out_of_range": _("Retention is from %(min)d to %(max)d days.",
                          min=admin_settings.RETENTION_MIN, max=admin_settings.RETENTION_MAX),
        "too_many": _("There are too many entries."),
        "bad_mode": _("Choose pre, post or none."),
        "bad_icon": _("Choose an icon from the list."),
        "empty": _("This text is empty."),
        "too_long": _("This text is too long."),
        "bad_text": _("This text holds hidden or control characters."),
        "unknown": _("This setting cannot be changed here."),
        "not_an_employee_number": _("Write employee numbers only, one per line."),
        "unknown_employee": _("No active employee has this number."),
    }
    if err.field != "retention_days" and err.code in ("not_a_number", "out_of_range"):
        return _("Enter a whole number in the range shown.")
    text = texts.get(err.code, _("This value is not valid."))
    if err.field == "quick_replies" and err.code == "empty":
        text = _("Keep at least one quick reply.")
    if err.field == "quick_replies" and err.code == "too_many":
        text = _("At most %(n)d quick replies.", n=MAX_QUICK_REPLIES)
    return text


def _general_form(values: dict[str, Any]) -> GeneralForm:
    return GeneralForm(formdata=None, data={
        "retention_days": values["retention_days"], "keywords": "\n".join(values["keywords"] or []),
        "default_moderation": values["default_moderation"],
        "media_always_held": bool(values["media_always_held"]),
        "voice_always_held": bool(values["voice_always_held"]),
        "supervisors_moderate_own_teams": bool(values["supervisors_moderate_own_teams"]),
        "supervisors_manage_groups": bool(values["supervisors_manage_groups"]),
        "pin_always": bool(values["pin_always"]),
        "session_max_hours": values["session_max_hours"],
        "session_idle_minutes": values["session_idle_minutes"],
        "group_copies_per_minute": values["group_copies_per_minute"],
        "safety_alert_recipients": "\n".join(map(str, values["safety_alert_recipients"] or [])),
        "safety_alert_on_idle": bool(values["safety_alert_on_idle"]),
        "shift_grace_minutes": values["shift_grace_minutes"],
        "off_shift_notice": bool(values["off_shift_notice"]),
        "off_shift_notice_fr": (values["off_shift_notice_text"] or {}).get("fr", ""),
        "off_shift_notice_en": (values["off_shift_notice_text"] or {}).get("en", ""),
        "read_urgent_aloud": bool(values["read_urgent_aloud"])})


def _replies_form(values: dict[str, Any]) -> QuickRepliesForm:
    rows = [dict(r, remove=False) for r in values["quick_replies"] or []]
    rows += [{"icon": "", "fr": "", "en": "", "remove": False}] * EXTRA_ROWS
    form = QuickRepliesForm(formdata=None, data={"rows": rows})
    icons = pictograms.choices(admin_settings.pictograms())
    for row in form.rows:
        row.form.icon.choices = icons
    return form


def _page(general: GeneralForm | None = None, replies: QuickRepliesForm | None = None,
          status: int = 200):  # noqa: ANN202
    with uow() as s:
        values = settings_svc.all_settings(s)
        without_pin = employees.without_pin(s)
        alerted = employees.names(s, values["safety_alert_recipients"] or [])
    return render_template("settings/index.html", general=general or _general_form(values),
                           replies=replies or _replies_form(values),
                           can_edit=current_user.role == ADMIN, without_pin=without_pin,
                           pin_always=bool(values["pin_always"]), alerted=alerted), status


@bp.get("/")
@roles_required(ADMIN, HR)
def index():  # noqa: ANN201
    return _page()


def _apply(values: dict[str, Any]) -> list[admin_settings.FieldError]:
    with uow() as s:
        try:
            changed = admin_settings.update(s, values, actor=current_user.username)
        except SettingsInvalid as exc:
            return exc.errors
    if changed:
        flash(_("Settings saved: %(keys)s.", keys=", ".join(_label(k) for k in changed)), "success")
    else:
        flash(_("Nothing changed."), "info")
    return []


def _label(key: str) -> str:
    return {"retention_days": _("retention"), "keywords": _("keywords"),
            "default_moderation": _("default moderation"),
            "media_always_held": _("photos and drawings held"),
            "voice_always_held": _("voice messages held"),
            "supervisors_moderate_own_teams": _("supervisors moderate"),
            "supervisors_manage_groups": _("supervisors manage workgroups"),
            "pin_always": _("PIN at every badge-in"),
            "session_max_hours": _("session length"),
            "session_idle_minutes": _("session idle limit"),
            "group_copies_per_minute": _("group copies per minute"),
            "safety_alert_recipients": _("safety alert recipients"),
            "safety_alert_on_idle": _("safety alert on the idle screen"),
            "shift_grace_minutes": _("shift grace period"),
            "off_shift_notice": _("off-shift notice"),
            "off_shift_notice_text": _("off-shift notice text"),
            "read_urgent_aloud": _("urgent notices read aloud"),
            "quick_replies": _("quick replies")}.get(key, key)


@bp.post("/")
@roles_required(ADMIN)
def save():  # noqa: ANN201
    form = GeneralForm()
    if not form.validate_on_submit():
        return _page(general=form, status=400)
    values = {
        "retention_days": form.retention_days.data, "keywords": form.keywords.data or "",
        "default_moderation": form.default_moderation.data,
        "media_always_held": form.media_always_held.data,
        "voice_always_held": form.voice_always_held.data,
        "supervisors_moderate_own_teams": form.supervisors_moderate_own_teams.data,
        "supervisors_manage_groups": form.supervisors_manage_groups.data,
        "pin_always": form.pin_always.data,
        "session_max_hours": form.session_max_hours.data,
        "session_idle_minutes": form.session_idle_minutes.data,
        "group_copies_per_minute": form.group_copies_per_minute.data}
    if "safety_alert_recipients" in request.form:  # a post without it leaves them as they are
        values["safety_alert_recipients"] = form.safety_alert_recipients.data or ""
    values["safety_alert_on_idle"] = form.safety_alert_on_idle.data  # unticked: off, as any box
    values["shift_grace_minutes"] = form.shift_grace_minutes.data
    values["off_shift_notice"] = form.off_shift_notice.data
    values["read_urgent_aloud"] = form.read_urgent_aloud.data  # unticked: off
    if "off_shift_notice_fr" in request.form or "off_shift_notice_en" in request.form:
        values["off_shift_notice_text"] = {"fr": form.off_shift_notice_fr.data or "",
                                           "en": form.off_shift_notice_en.data or ""}
    errors = _apply({k: v for k, v in values.items() if v is not None})
    if errors:
        for err in errors:
            name = err.field.split(".")[0]
            if name == "off_shift_notice_text":  # one field per language
                name = "off_shift_notice_" + err.field.rsplit(".", 1)[-1]
            field = getattr(form, name, None)
            msg = _error_text(err) + (f" ({err.detail})" if err.detail else "")
            if field is not None:
                field.errors = [*field.errors, msg]
            else:
                flash(msg, "error")
        return _page(general=form, status=400)
    return redirect(url_for("settings.index"))


@bp.post("/quick-replies")
@roles_required(ADMIN)
def save_replies():  # noqa: ANN201
    form = QuickRepliesForm()
    icons = pictograms.choices(admin_settings.pictograms())
    for row in form.rows:
        row.form.icon.choices = icons
    if not form.validate_on_submit():
        return _page(replies=form, status=400)
    rows = [{"icon": r.form.icon.data, "fr": r.form.fr.data or "", "en": r.form.en.data or ""}
            for r in form.rows if not r.form.remove.data]
    errors = _apply({"quick_replies": rows})
    if errors:
        kept = [r for r in form.rows if not r.form.remove.data]
        for err in errors:
            parts = err.field.split(".")
            msg = _error_text(err)
            if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(kept):
                row = kept[int(parts[1])].form
                target = getattr(row, parts[2], row.icon) if len(parts) > 2 else row.icon
                target.errors = [*target.errors, msg]
            else:
                flash(msg, "error")
        return _page(replies=form, status=400)
    return redirect(url_for("settings.index"))
