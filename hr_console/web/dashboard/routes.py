"""Dashboard views: figures from ``hr_console.services.stats``, charts as SVG pictures from
role-checked routes."""

from __future__ import annotations

import datetime as dt
import time

from flask import Blueprint, Response, current_app, render_template
from flask_babel import format_date, get_timezone
from flask_babel import gettext as _

from hr_console.services import charter, sessions, stats
from hr_console.store.models import utcnow
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, HR
from hr_console.web.dashboard import charts
from hr_console.web.db import uow
from hr_console.web.moderation.fmt import duration, local

bp = Blueprint("dashboard", __name__, template_folder="templates", url_prefix="/dashboard")

VIEWERS = (ADMIN, HR)
DAYS = 14
FLOW_DAYS = 7
MATRIX_TEAMS = 12


def _svg(body: str) -> Response:
    resp = Response(body, mimetype="image/svg+xml")
    resp.headers["Content-Security-Policy"] = "default-src 'none'"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    # Not kept by the browser: the picture's words follow the user's language, which can
    # change between two loads of the same URL (the figures are cached on the server).
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


def _day(d: dt.date) -> str:
    return format_date(d, "dd/MM") if d else ""


@bp.get("/")
@roles_required(*VIEWERS)
def index():  # noqa: ANN201
    with uow() as s:
        ov = stats.overview(s, tz=get_timezone())
        suspended = [(t.id, t.name, t.logins_suspended_at) for t in sessions.suspended_terminals(s)]
        guessing = sessions.terminals_with_many_misses(s)
        no_charter = charter.current(s) is None
    now = utcnow()
    return render_template("dashboard/index.html", ov=ov, now=now, duration=duration, local=local,
                           days=DAYS, flow_days=FLOW_DAYS, suspended=suspended,
                           guessing=guessing, no_charter=no_charter,
                           has_charter="charter.index" in current_app.view_functions)


@bp.get("/charts/messages.svg")
@roles_required(*VIEWERS)
def chart_messages():  # noqa: ANN201
    with uow() as s:
        per_day = stats.messages_per_day(s, DAYS)
        group_posts = stats.group_posts_per_day(s, DAYS)
    return _svg(charts.bars([(_day(d), n) for d, n in per_day],
                            _("Messages per day, last %(n)d days", n=DAYS),
                            empty=_("No message yet."), parts=[n for _d, n in group_posts],
                            legend=(_("all messages"), _("of which group posts"))))


@bp.get("/charts/wait.svg")
@roles_required(*VIEWERS)
def chart_wait():  # noqa: ANN201
    with uow() as s:
        rows = stats.moderation_wait(s, DAYS)
    minutes = [(r.median_s / 60 if r.median_s is not None else None,
                r.p90_s / 60 if r.p90_s is not None else None) for r in rows]
    return _svg(charts.lines(
        [_day(r.day) for r in rows],
        [(_("median"), [m for m, _p in minutes], charts.ACCENT),
         (_("9 out of 10 within"), [p for _m, p in minutes], charts.ACCENT2)],
        _("Moderation wait in minutes, per decision day"), unit=" min",
        empty=_("No moderation decision in this period.")))


def _team_name(flows: stats.TeamFlows, team_id: int) -> str:
    if team_id == stats.GROUP_POSTS:
        return _("(workgroups)")
    return flows.teams.get(team_id) or _("(no team)")


def _flows() -> stats.TeamFlows:
    """Both team charts draw from the same figures, which the page asks for at the same
    moment: computed once, kept ``DASHBOARD_CACHE_S`` seconds (default 60) per app."""
    ttl = current_app.config.get("DASHBOARD_CACHE_S", 60)
    cache = current_app.extensions.setdefault("relais_dashboard", {})
    hit = cache.get("flows")
    if ttl and hit and time.monotonic() - hit[0] < ttl:
        return hit[1]
    with uow() as s:
        flows = stats.team_flows(s, FLOW_DAYS)
    cache["flows"] = (time.monotonic(), flows)
    return flows


@bp.get("/charts/teams.svg")
@roles_required(*VIEWERS)
def chart_teams():  # noqa: ANN201
    flows = _flows()
    sent, received = flows.sent(), flows.received()
    order = flows.busiest(15)
    rows = [(_team_name(flows, t), sent.get(t, 0), received.get(t, 0)) for t in order]
    return _svg(charts.hbars(rows, (_("sent"), _("received")),
                             _("Messages per team, last %(n)d days", n=FLOW_DAYS),
                             empty=_("No message in this period.")))


@bp.get("/charts/matrix.svg")
@roles_required(*VIEWERS)
def chart_matrix():  # noqa: ANN201
    flows = _flows()
    top = flows.busiest(MATRIX_TEAMS)
    others = -1
    index = {t: i for i, t in enumerate(top)}
    names = [_team_name(flows, t) for t in top]
    cells: dict[tuple[int, int], int] = {}
    has_other = False
    for (src, dst), n in flows.matrix.items():
        i, j = index.get(src, others), index.get(dst, others)
        if i == others or j == others:
            has_other = True
            i = len(top) if i == others else i
            j = len(top) if j == others else j
        cells[(i, j)] = cells.get((i, j), 0) + n
    if has_other:
        names.append(_("other teams"))
    return _svg(charts.heatmap(names, cells, _("Who writes to whom, last %(n)d days", n=FLOW_DAYS),
                               row_axis=_("from"), col_axis=_("to"),
                               empty=_("No message in this period.")))

