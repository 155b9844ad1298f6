"""Charter views: the version in force with its acceptance rate, the history of versions and
who has not accepted yet; the publish form; one version's texts. Every rule is in
services.charter; a refused form writes nothing and says why next to the field."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from hr_console.domain.charter import LANGUAGES, SECTIONS
from hr_console.services import charter
from hr_console.services.errors import ServiceError
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, AUDITOR, HR
from hr_console.web.charter.forms import (
    LANGUAGE_NAMES,
    SECTION_HINTS,
    SECTION_TITLES,
    CharterForm,
    field_name,
)
from hr_console.web.db import uow
from hr_console.web.employees.common import int_arg
from hr_console.web.moderation.fmt import local
from relais_wire import limits

bp = Blueprint("charter", __name__, template_folder="templates", url_prefix="/charter")

PUBLISHERS = (ADMIN, HR)
READERS = (ADMIN, HR, AUDITOR)
PER_PAGE = 50


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"CHARTER_SECTIONS": SECTIONS, "CHARTER_LANGUAGES": LANGUAGES,
            "CHARTER_TITLES": SECTION_TITLES, "CHARTER_LANGUAGE_NAMES": LANGUAGE_NAMES}


def _may_open(endpoint: str) -> bool:
    """Whether the signed-in user's role opens ``endpoint`` (links are shown only then)."""
    view = current_app.view_functions.get(endpoint)
    return view is not None and current_user.role in getattr(view, "allowed_roles", ())


def section_error(code: str) -> str:
    return {
        "empty": _("This section is required."),
        "too_long": _("This section is too long (at most %(max)s characters).",
                      max=limits.MAX_CHARTER_SECTION_CHARS),
        "bad_text": _("This section contains a hidden or control character."),
    }.get(code) or _("This section cannot be published as it is.")


@bp.get("/")
@roles_required(*READERS)
def index():  # noqa: ANN201
    with uow() as s:
        now = charter.current(s)
        rows, expected = charter.versions(s)
        pending = None
        if now is not None:
            pending = charter.pending(s, now.version, int_arg("page") or 1, PER_PAGE)
            if pending.page > pending.pages:  # past the end (some accepted since): the last page
                pending = charter.pending(s, now.version, pending.pages, PER_PAGE)
    # The rate counts the people the charter speaks to now (the history's counts keep
    # those who have left since): accepted = expected - not yet.
    accepted = expected - pending.total if pending is not None else 0
    return render_template("charter/index.html", now=now, rows=rows, expected=expected,
                           accepted=accepted, pending=pending, local=local,
                           may_publish=current_user.role in PUBLISHERS,
                           may_open_people=_may_open("employees.detail"))


def _form_page(form: CharterForm, status: int = 200) -> Any:
    with uow() as s:
        now = charter.current(s)
        replaces = now.version if now is not None else None
    return render_template("charter/new.html", form=form, replaces=replaces, hints=SECTION_HINTS,
                           field_name=field_name,
                           max_chars=limits.MAX_CHARTER_SECTION_CHARS), status


def _mark(form: CharterForm, exc: ServiceError) -> None:
    """Each refused section's error next to its field (``fields``: ``fr.purpose`` -> code)."""
    for name, code in dict(exc.detail.get("fields") or {}).items():  # type: ignore[call-overload]
        lang, _dot, section = str(name).partition(".")
        if lang in LANGUAGES and section in SECTIONS:
            form[field_name(lang, section)].errors = [section_error(str(code))]


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*PUBLISHERS)
def new():  # noqa: ANN201
    form = CharterForm()
    if not form.is_submitted():
        with uow() as s:
            start = charter.draft(s)
        for lang in LANGUAGES:
            for section in SECTIONS:
                form[field_name(lang, section)].data = (start.get(lang) or {}).get(section, "")
        return _form_page(form)
    if not form.validate_on_submit():
        flash(_("The form had expired. Nothing was published: try again."), "error")
        return _form_page(form, 400)
    try:
        with uow() as s:
            number = charter.publish(s, form.texts(), actor=current_user.username).version
    except ServiceError as exc:
        _mark(form, exc)
        if exc.code == "unchanged":
            flash(_("This text is the version in force already: change it before publishing, "
                    "or nobody would be asked anything new."), "error")
        else:
            flash(_("Nothing was published: every section is required, in French and in "
                    "English. The sections to complete are marked."), "error")
        return _form_page(form, 400)
    flash(_("Version %(n)s of the charter is published: every worker will be asked to accept "
            "it at their next badge-in.", n=number), "success")
    return redirect(url_for("charter.index"))


@bp.get("/<int:version>")
@roles_required(*READERS)
def show(version: int):  # noqa: ANN201
    with uow() as s:
        row = charter.version(s, version)
        if row is None:
            abort(404)
        rows, expected = charter.versions(s)
        now = charter.current(s)
        texts = {lang: dict(row.texts.get(lang) or {}) for lang in LANGUAGES}
        facts = {"version": row.version, "published_by": row.published_by,
                 "published_at": row.published_at}
    accepted = next((r.accepted for r in rows if r.version == version), 0)
    return render_template("charter/show.html", row=facts, texts=texts, accepted=accepted,
                           expected=expected, in_force=now is not None and now.version == version,
                           local=local)
