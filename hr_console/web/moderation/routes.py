"""Moderation views. They only turn requests into calls of
``hr_console.services.moderation_queue`` (which goes through ``services.messaging``):
no message state is ever changed here."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from hr_console.services import moderation_queue as mq
from hr_console.services.errors import Invalid, NotFound
from hr_console.store.models import utcnow
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, HR, SUPERVISOR
from hr_console.web.db import uow
from hr_console.web.moderation import drawing_svg
from hr_console.web.moderation.fmt import duration, local
from hr_console.web.moderation.forms import TABS, ActionForm, BulkForm, ReasonForm

bp = Blueprint("moderation", __name__, template_folder="templates", url_prefix="/moderation")

MODERATORS = (ADMIN, HR, SUPERVISOR)
PER_PAGE = 50


def state_label(state: str) -> str:
    return {
        "held": _("held"), "accepted": _("accepted"), "approved": _("approved"),
        "rejected": _("rejected"), "refused": _("refused"), "delivered": _("delivered"),
        "read": _("read"), "retracted": _("retracted"), "error": _("error"),
    }.get(state, state)


def decision_label(decision: str) -> str:
    return {"approve": _("approved"), "reject": _("rejected"), "retract": _("retracted"),
            "review": _("reviewed")}.get(decision, decision)


def kind_label(kind: str) -> str:
    return {"text": _("text"), "photo": _("photo"), "drawing": _("drawing"),
            "voice": _("voice")}.get(kind, kind)


def clip_length(duration_ms: int | None) -> str:
    """A voice message's length as a player shows it: 0:07, 1:00."""
    seconds = ((duration_ms or 0) + 500) // 1000  # half up: 2.5 s reads 0:03
    return f"{seconds // 60}:{seconds % 60:02d}"


def recipient_label(item: mq.Item) -> str:
    """Whom a message goes to, as the queue shows it: a person, or "group: <name>"."""
    if item.group_id is not None:
        return _("group: %(name)s", name=item.group or f"#{item.group_id}")
    return item.recipient or "—"


def _scope(s: Any) -> mq.Scope:
    try:
        return mq.scope_for(s, current_user.role, current_user.employee_id)
    except mq.OutOfScope:
        abort(403)


def _page_arg() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 100_000))
    except ValueError:
        return 1


def _common() -> dict[str, Any]:
    return {"duration": duration, "local": local, "state_label": state_label,
            "decision_label": decision_label, "kind_label": kind_label,
            "clip_length": clip_length, "now": utcnow(),
            "action_form": ActionForm(), "reason_form": ReasonForm(), "bulk_form": BulkForm()}


@bp.get("/")
@roles_required(*MODERATORS)
def index():  # noqa: ANN201
    page = _page_arg()
    with uow() as s:
        scope = _scope(s)
        result = mq.held(s, scope, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
        oldest = mq.oldest_held(s, scope)
    latest = max((i.id for i in result.items), default=0)
    return render_template("moderation/queue.html", tab="queue", result=result, page=page,
                           oldest=oldest, latest=latest, scope=scope, **_common())


def _in_menu(user: Any) -> bool:
    """Supervisors moderate only while the setting allows it: no menu entry otherwise."""
    if user.role != SUPERVISOR:
        return True
    with uow() as s:
        try:
            mq.scope_for(s, user.role, user.employee_id)
        except mq.OutOfScope:
            return False
    return True


index.nav_visible = _in_menu  # type: ignore[attr-defined]


@bp.get("/recent")
@roles_required(*MODERATORS)
def recent():  # noqa: ANN201
    page = _page_arg()
    show_all = request.args.get("show") == "all"
    with uow() as s:
        scope = _scope(s)
        result = mq.recent(s, scope, to_review=not show_all, offset=(page - 1) * PER_PAGE,
                           limit=PER_PAGE)
    return render_template("moderation/recent.html", tab="recent", result=result, page=page,
                           show_all=show_all, **_common())


@bp.get("/history")
@roles_required(*MODERATORS)
def history():  # noqa: ANN201
    page = _page_arg()
    with uow() as s:
        scope = _scope(s)
        result = mq.decisions(s, scope, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
    return render_template("moderation/history.html", tab="history", result=result, page=page,
                           **_common())


def _item_json(item: mq.Item) -> dict[str, Any]:
    return {
        "id": item.id, "kind": item.kind, "kind_label": kind_label(item.kind),
        "sender": item.sender, "recipient": recipient_label(item), "group": item.group_id,
        "team": item.team or "",
        "segments": [[text, hit] for text, hit in item.segments],
        "keywords": list(item.keyword_hits),
        "photo": url_for("moderation.photo", message_id=item.id)
        if item.has_media and item.kind != "voice" else None,
        "audio": url_for("moderation.audio", message_id=item.id)
        if item.has_media and item.kind == "voice" else None,
        "length": clip_length(item.duration_ms) if item.kind == "voice" else "",
        "drawing": url_for("moderation.drawing", message_id=item.id) if item.kind == "drawing" else None,
        "created": local(item.created_at), "waiting": duration(item.waiting()),
        "approve": url_for("moderation.approve", message_id=item.id),
        "reject": url_for("moderation.reject", message_id=item.id),
    }


MAX_ID = 2**53  # ids a client may name (a database integer holds 2**63 - 1)


@bp.get("/queue.json")
@roles_required(*MODERATORS)
def queue_json():  # noqa: ANN201
    """What changed since the page was drawn: new held messages after ``since`` and which of
    the shown ``ids`` are no longer held. Polled with ``X-Relais-Poll: 1``."""
    try:
        since = max(0, int(request.args.get("since", 0)))
        shown = [int(x) for x in request.args.get("ids", "").split(",") if x.strip()][:500]
    except ValueError:
        abort(400)
    if since > MAX_ID or any(abs(i) > MAX_ID for i in shown):
        abort(400)  # no row has such an id, and the database column could not even hold it
    with uow() as s:
        scope = _scope(s)
        new = mq.held(s, scope, after_id=since, limit=PER_PAGE)
        still = mq.still_held(s, scope, shown)
        summary = mq.pending_for(s, scope)
    items = [_item_json(i) for i in new.items]
    return jsonify({
        "count": summary["count"],
        "oldest_wait": duration(summary["oldest_wait_s"]) if summary["oldest_wait_s"] is not None else "",
        "items": items, "more": new.has_more,
        "gone": [i for i in shown if i not in still],
        "latest": max([since, *(i["id"] for i in items)]),
    })


def _in_scope(read, message_id: int):  # noqa: ANN001, ANN202
    """What ``read(session, message_id, scope)`` finds for this moderator: 403 outside their
    scope, 404 when there is nothing."""
    with uow() as s:
        try:
            found = read(s, message_id, _scope(s))
        except mq.OutOfScope:
            abort(403)
        except NotFound:
            abort(404)
    if found is None:
        abort(404)
    return found


@bp.get("/messages/<int:message_id>/photo")
@roles_required(*MODERATORS)
def photo(message_id: int):  # noqa: ANN201
    data, mime = _in_scope(mq.media_of, message_id)
    if mime == "audio/ogg":
        abort(404)  # a voice clip: voice.ogg
    # Media is stored normalised as JPEG; never trust a stored type for what the browser runs.
    resp = Response(data, mimetype="image/jpeg")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Disposition"] = f'inline; filename="message-{message_id}.jpg"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.get("/messages/<int:message_id>/voice.ogg")
@roles_required(*MODERATORS)
def audio(message_id: int):  # noqa: ANN201
    """A voice message for the console's audio player: the clip the relay made again from its
    samples (services.voice), always served as Ogg whatever a row says."""
    data, mime = _in_scope(mq.media_of, message_id)
    if mime != "audio/ogg":
        abort(404)
    resp = Response(data, mimetype="audio/ogg")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Disposition"] = f'inline; filename="message-{message_id}.ogg"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.get("/messages/<int:message_id>/drawing.svg")
@roles_required(*MODERATORS)
def drawing(message_id: int):  # noqa: ANN201
    obj = _in_scope(mq.drawing_of, message_id)
    resp = Response(drawing_svg.render(obj), mimetype="image/svg+xml")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# --- actions -----------------------------------------------------------------------------------

REASON_ERRORS = {
    "reason_required": lambda: _("A reason is required to reject: the sender will see it."),
    "reason_too_long": lambda: _("The reason is too long (300 characters at most)."),
    "reason_invalid": lambda: _("The reason holds characters a terminal cannot show."),
}


def _back(default: str = "queue") -> str:
    tab = request.form.get("back") or default
    if tab not in TABS:
        tab = default
    return url_for({"queue": "moderation.index", "recent": "moderation.recent",
                    "history": "moderation.history"}[tab])


def _report(action: str, outcome: mq.Outcome) -> None:
    n = len(outcome.done)
    if n:
        text = {
            "approve": ngettext("%(num)d message approved and sent.",
                                "%(num)d messages approved and sent.", n),
            "reject": ngettext("%(num)d message rejected; the sender sees the reason.",
                               "%(num)d messages rejected; the senders see the reason.", n),
            "retract": ngettext("%(num)d message retracted from the recipient's terminal.",
                                "%(num)d messages retracted from the recipients' terminals.", n),
            "review": ngettext("%(num)d message marked reviewed.",
                               "%(num)d messages marked reviewed.", n),
        }[action]
        flash(text, "success")
    for message_id, state in outcome.stale:
        flash(_("Message #%(id)d was already %(state)s by the time you acted: nothing was changed.",
                id=message_id, state=state_label(state)), "error")
    why = {"archived": _("its group was archived"), "group_closed": _("its group was deleted"),
           "not_member": _("its author is no longer in the group"),
           "read_only": _("its author may no longer post there"),
           "reply_only": _("its author may no longer post there")}
    for message_id, reason in outcome.undeliverable:
        flash(_("Group post #%(id)d can no longer be delivered (%(why)s): reject it.",
                id=message_id, why=why.get(reason, reason)), "error")
    for message_id in outcome.missing:
        flash(_("Message #%(id)d no longer exists or is outside your teams: nothing was changed.",
                id=message_id), "error")
    if not (n or outcome.stale or outcome.missing or outcome.undeliverable):
        flash(_("No message was selected."), "error")


def _act(action: str, ids: list[int], reason: str | None) -> None:
    with uow() as s:
        scope = _scope(s)
        try:
            outcome = mq.decide(s, ids, action, scope=scope, actor=current_user.username,
                                user_id=current_user.id, reason=reason)
        except Invalid as exc:
            flash(REASON_ERRORS.get(exc.code, lambda: _("This action is not possible."))(), "error")
            return
    _report(action, outcome)


def _single(message_id: int, action: str, form_cls: type = ActionForm):  # noqa: ANN202
    with uow() as s:  # who may act is settled before the form is read
        scope = _scope(s)
        try:
            mq.message_in_scope(s, message_id, scope)
        except mq.OutOfScope:
            abort(403)
        except NotFound:
            abort(404)
    form = form_cls()
    if not form.validate_on_submit():
        flash(_("The form could not be read: please try again."), "error")
        return redirect(_back())
    _act(action, [message_id], getattr(form, "reason", None) and form.reason.data)
    return redirect(_back("recent" if action in ("retract", "review") else "queue"))


@bp.post("/messages/<int:message_id>/approve")
@roles_required(*MODERATORS)
def approve(message_id: int):  # noqa: ANN201
    return _single(message_id, "approve")


@bp.post("/messages/<int:message_id>/reject")
@roles_required(*MODERATORS)
def reject(message_id: int):  # noqa: ANN201
    return _single(message_id, "reject", ReasonForm)


@bp.post("/messages/<int:message_id>/retract")
@roles_required(*MODERATORS)
def retract(message_id: int):  # noqa: ANN201
    return _single(message_id, "retract", ReasonForm)


@bp.post("/messages/<int:message_id>/review")
@roles_required(*MODERATORS)
def review(message_id: int):  # noqa: ANN201
    return _single(message_id, "review")


@bp.post("/bulk")
@roles_required(*MODERATORS)
def bulk():  # noqa: ANN201
    with uow() as s:  # a supervisor without the setting is refused before the form is read
        _scope(s)
    form = BulkForm()
    if not form.validate_on_submit():
        flash(_("The form could not be read: please try again."), "error")
        return redirect(_back())
    try:
        ids = [int(x) for x in request.form.getlist("ids")][:500]
    except ValueError:
        abort(400)
    if not ids:
        flash(_("No message was selected."), "error")
    else:
        _act(form.action.data, ids, form.reason.data)
    return redirect(_back())
