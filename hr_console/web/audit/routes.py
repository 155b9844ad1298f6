"""Audit log views: reading is for admin, HR and auditors; an export is itself audited."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user

from hr_console.services import audit, audit_search
from hr_console.store.db import read_snapshot
from hr_console.store.models import utcnow
from hr_console.web.audit.forms import ExportForm, FilterForm
from hr_console.web.audit.labels import action_label, detail_label
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, AUDITOR, HR
from hr_console.web.db import store, uow
from hr_console.web.moderation.fmt import local

bp = Blueprint("audit", __name__, template_folder="templates", url_prefix="/audit")

READERS = (ADMIN, HR, AUDITOR)
PER_PAGE = 50


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filters(source: dict) -> audit_search.Filters:
    return audit_search.Filters(
        actor=(source.get("actor") or "").strip()[:120],
        action=(source.get("action") or "").strip()[:60],
        target=(source.get("target") or "").strip()[:200],
        date_from=_date(source.get("date_from")), date_to=_date(source.get("date_to")))


@bp.get("/")
@roles_required(*READERS)
def index():  # noqa: ANN201
    form = FilterForm(request.args)
    f = _filters(request.args)
    if request.args and not form.validate():
        flash(_("Some filters could not be read and were ignored."), "error")
    try:
        page = max(1, min(int(request.args.get("page", 1)), 1_000_000))
    except ValueError:
        page = 1
    with uow() as s:
        actors, actions = audit_search.choices(s)
        result = audit_search.search(s, f, page=page, per_page=PER_PAGE)
    noted, anchor_problem = _noted_anchor(request.args.get("anchor", ""))
    with read_snapshot(store()) as s:  # entries, heads and openings read in one snapshot
        if noted is None:
            chain, walked_at = audit.WATCH.check(s)
        else:
            (chain, failed), walked_at = audit.verify_anchored(s, [noted]), utcnow()
            anchor_problem = failed.problem_in(_) if failed is not None else None
    form.action.choices = [("", _("every action"))] + sorted(
        ((a, action_label(a)) for a in actions), key=lambda c: c[1].lower())
    export = ExportForm(data={"actor": f.actor, "action": f.action, "target": f.target,
                              "date_from": f.date_from.isoformat() if f.date_from else "",
                              "date_to": f.date_to.isoformat() if f.date_to else ""})
    args = {k: v for k, v in request.args.items() if k not in ("page", "anchor") and v}
    return render_template("audit/index.html", form=form, export=export, result=result, chain=chain,
                           walked_at=walked_at, problem=chain.problem_in(_), local=local,
                           anchor=audit.anchor_of(chain), noted=noted,
                           noted_text=request.args.get("anchor", "")[:100],
                           anchor_problem=anchor_problem,
                           args=args, actors=actors,
                           action_label=action_label, detail_label=detail_label)


def _noted_anchor(text: str) -> tuple[audit.Anchor | None, str | None]:
    """The anchor a reader typed to check (none asked: both None), or why it cannot be read."""
    if not text.strip():
        return None, None
    try:
        return audit.Anchor.parse(text[:100]), None
    except ValueError:
        return None, _("This is not an anchor: write its entry number, a colon and at least "
                       "20 hexadecimal digits, as shown above (1234:9f3a2c718b0e44d1c07a).")


@bp.post("/export.csv")
@roles_required(*READERS)
def export():  # noqa: ANN201
    form = ExportForm()
    if not form.validate_on_submit():
        flash(_("The export could not be prepared: please try again."), "error")
        return redirect(url_for("audit.index"))
    f = _filters(request.form)
    # Audited (with its size) and committed before a byte of it leaves; then sent as it is
    # read, however long the log (audit_search.export_chunks).
    with uow() as s:
        plan = audit_search.plan_export(s, f)
        audit.record(s, current_user.username, "audit.export", "audit_log", rows=plan.rows,
                     filters=f.as_detail())
    name = f"relais-audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    resp = Response(stream_with_context(audit_search.export_chunks(uow, f, plan)),
                    mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp
