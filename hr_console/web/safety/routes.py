"""Safety alert views (services.safety). Every supervisor sees every alert, not only their
teams': an alert is about a place and whoever is nearest, and supervisors receive them on
their terminals anyway. The dashboard shows the open ones through ``open_safety_alerts``,
which this blueprint gives every template, so the dashboard's view is unchanged. An
alert's photo (normalised on the server as every photo) is served to the same roles only,
never cached by the browser."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

import assets
from hr_console.services import safety
from hr_console.services.errors import NotFound
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, HR, SUPERVISOR
from hr_console.web.db import uow
from hr_console.web.moderation.fmt import local

bp = Blueprint("safety", __name__, template_folder="templates", url_prefix="/safety")

HANDLERS = (ADMIN, HR, SUPERVISOR)
SOUND = Path(assets.__file__).parent / "sounds" / "urgent.wav"  # the kiosk's urgent sound

PICTOGRAMS = {"fall": _l("Fall"), "fire": _l("Fire"), "injury": _l("Injury"),
              "machine": _l("Machine"), "chemical": _l("Chemical"), "other": _l("Other danger")}


def _open_alerts() -> list[safety.AlertView]:
    if not current_user.is_authenticated or current_user.role not in HANDLERS:
        return []
    with uow() as s:
        return safety.listing(s, open_only=True, limit=50)


@bp.app_context_processor
def _dashboard_part() -> dict:
    return {"open_safety_alerts": _open_alerts, "safety_pictogram": _pictogram,
            "safety_local": local}


def _pictogram(name: str) -> str:
    return str(PICTOGRAMS.get(name, name))


@bp.get("/")
@roles_required(*HANDLERS)
def index():  # noqa: ANN201
    with uow() as s:
        rows = safety.listing(s)
    return render_template("safety/index.html", rows=rows)


@bp.post("/<int:alert_id>/handled")
@roles_required(*HANDLERS)
def handled(alert_id: int):  # noqa: ANN201
    try:
        with uow() as s:
            safety.mark_handled(s, alert_id, current_user.id, current_user.username)
    except NotFound:
        abort(404)
    flash(_("The safety alert is marked handled."), "success")
    return redirect(url_for("safety.index"))


@bp.get("/<int:alert_id>/photo")
@roles_required(*HANDLERS)
def photo(alert_id: int) -> Response:
    with uow() as s:
        data = safety.photo(s, alert_id)
    if data is None:
        abort(404)
    resp = Response(data, mimetype="image/jpeg")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.get("/sound.wav")
@roles_required(*HANDLERS)
def sound():  # noqa: ANN201
    return send_file(SOUND, mimetype="audio/wav", max_age=3600)
