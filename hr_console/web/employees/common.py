"""Helpers shared by the people areas (employees, teams, contacts, terminals): who acts,
the badge pepper, strict query-string parsing and service errors in the user's language."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from hr_console.services.errors import ServiceError

FIELD_LABELS = {
    "name": _l("Name"), "badge": _l("Badge"), "username": _l("Username"), "pin": _l("PIN"),
    "team": _l("Team"), "site": _l("Site"), "id": _l("ID"), "language": _l("Language"),
}

MODE_LABELS = {
    None: _l("Inherit"), "": _l("Inherit"), "pre": _l("Before delivery (hold everything)"),
    "post": _l("After delivery (reviewable)"), "none": _l("No moderation"),
}
MODE_SHORT = {None: _l("inherit"), "": _l("inherit"), "pre": _l("pre"), "post": _l("post"),
              "none": _l("none")}
LANGUAGE_LABELS = {"fr": "Français", "en": "English"}


def options(pairs: Any) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def actor() -> str:
    return current_user.username


def pepper() -> str:
    return current_app.config["RELAIS"].badge_pepper


def int_arg(name: str, source: Any = None) -> int | None:
    """A positive integer from the query string or form, or None (anything else ignored)."""
    raw = (source if source is not None else request.args).get(name, "")
    raw = raw.strip() if isinstance(raw, str) else ""
    if raw.isascii() and raw.isdigit() and len(raw) <= 12:
        return int(raw)
    return None


def error_text(err: ServiceError | Exception) -> str:
    """A service error in the user's language (its English message when unknown here)."""
    code = getattr(err, "code", "")
    detail = getattr(err, "detail", {}) or {}
    field = str(FIELD_LABELS.get(detail.get("field", ""), detail.get("field", "")))
    texts = {
        "empty": _("%(field)s is required.", field=field or _("This field")),
        "too_long": _("%(field)s is too long (at most %(max)s characters).",
                      field=field or _("This field"), max=detail.get("max_chars", "")),
        "bad_text": _("%(field)s contains a hidden or control character.",
                      field=field or _("This field")),
        "bad_language": _("The language must be French or English."),
        "bad_moderation": _("Unknown moderation mode."),
        "bad_pin": _("A PIN is 4 to 8 digits."),
        "badge_taken": _("This badge already belongs to someone else."),
        "team_exists": _("This site already has a team with this name."),
        "site_exists": _("A site with this name already exists."),
        "supervisor_inactive": _("A deactivated employee cannot supervise a team."),
        "bad_days": _("Choose at least one day."),
        "bad_time": _("A shift needs a start and an end time, and they must differ."),
        "shift_has_notices": ngettext(
            "%(num)d scheduled notice is addressed to this shift: withdraw it first, or wait "
            "until it has gone out.",
            "%(num)d scheduled notices are addressed to this shift: withdraw them first, or "
            "wait until they have gone out.", int(detail.get("count", 0) or 0)),
        "shift_in_groups": ngettext(
            "%(num)d workgroup takes members from this shift: take it out of its membership "
            "rules first.",
            "%(num)d workgroups take members from this shift: take it out of their membership "
            "rules first.", int(detail.get("count", 0) or 0)),
        "not_found": _("This item does not exist (any more)."),
        "unknown_person": _("This employee does not exist."),
        "unknown_team": _("This team does not exist."),
        "unknown_site": _("This site does not exist."),
        "bad_rule": _("This rule is not valid."),
        "rule_exists": _("This rule already exists."),
        "self_rule": _("Someone cannot be given a rule to write to themselves."),
        "bad_name": _("A terminal name is 1 to 32 lower-case letters, digits or dashes."),
        "name_taken": _("A terminal with this name already exists."),
        "same_name": _("This is already the terminal's name."),
    }
    return texts.get(code) or getattr(err, "message", "") or _("This could not be done.")
