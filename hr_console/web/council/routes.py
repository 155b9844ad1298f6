"""Report views: the figures from ``services.council_report``, drawn with the dashboard's
charts (SVG made on the server, embedded as images: no script in them), printable (print
CSS; the browser's "Save as PDF" makes the PDF) and as CSV.

The report reads a month of moderation, seconds of reading at 50,000 employees: it reads from
``store.db.read_snapshot`` (on SQLite a deferred, query-only transaction), because the
console's usual transactions begin IMMEDIATE and would hold the relays' one writer lock
meanwhile."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import threading
import time
from dataclasses import dataclass
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import format_datetime, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hr_console.domain import council
from hr_console.services import audit
from hr_console.services import council_report as cr
from hr_console.services.employees_io import neutralise
from hr_console.store.db import read_snapshot
from hr_console.store.models import Site, utcnow
from hr_console.web.auth import roles_required
from hr_console.web.auth.roles import ADMIN, AUDITOR, HR
from hr_console.web.dashboard import charts
from hr_console.web.db import store
from hr_console.web.moderation.fmt import duration

bp = Blueprint("council", __name__, template_folder="templates", url_prefix="/council")

BUSY = _l("A report is being computed: try again in a moment.")

READERS = (ADMIN, HR, AUDITOR)
CACHE_S = 60.0  # the page, its print version and its CSV are usually asked one after another
CHART_TEAMS = 15

OUTCOME_LABELS = {"held": _l("Held for moderation"), "approved": _l("Approved"),
                  "rejected": _l("Rejected"), "retracted": _l("Retracted")}
CAUSE_LABELS = {"keyword": _l("A keyword of the filter"),
                "pre": _l("Pre-moderation (every message checked first)"),
                "media": _l("Photo, drawing or voice message held by setting"),
                "other": _l("Other rule (sent after the badge session ended, group post budget)")}
BUCKET_LABELS = {"5m": _l("under 5 min"), "15m": _l("5 to 15 min"), "1h": _l("15 to 60 min"),
                 "4h": _l("1 to 4 h"), "1d": _l("4 to 24 h"), "more": _l("over a day")}
PICTOGRAMS = {"fall": _l("Fall"), "fire": _l("Fire"), "injury": _l("Injury"),
              "machine": _l("Machine"), "chemical": _l("Chemical"), "other": _l("Other danger")}
ERRORS = {"bad_month": _l("Choose a month as year and month, for example 2026-11."),
          "future_month": _l("This month has not begun: choose this month or an earlier one."),
          "bad_minimum": _l("The smallest group must be a whole number from %(low)d to %(high)d: "
                            "it can be raised, never lowered.", low=council.MIN_PEOPLE,
                            high=council.MAX_PEOPLE),
          "unknown_site": _l("There is no such site.")}


@dataclass(frozen=True)
class Ask:
    """What the reader asked for, checked."""

    year: int
    month: int
    site_id: int | None
    minimum: int

    @property
    def month_text(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def args(self) -> dict[str, Any]:
        out: dict[str, Any] = {"month": self.month_text, "min": self.minimum}
        if self.site_id is not None:
            out["site"] = self.site_id
        return out


def _ask(sites: dict[int, SiteInfo]) -> Ask:
    """The month, site and threshold from the query string; ``ValueError`` (a code of
    ``ERRORS``) when one is not acceptable."""
    today = dt.datetime.now(get_timezone()).date()
    year, month = council.parse_month(request.args.get("month"), today)
    minimum = council.minimum_people(request.args.get("min"))
    raw = (request.args.get("site") or "").strip()
    site_id = None
    if raw:
        if not raw.isdigit() or int(raw) not in sites:
            raise ValueError("unknown_site")
        site_id = int(raw)
    return Ask(year, month, site_id, minimum)


# --- reading ---------------------------------------------------------------------------------


# The month's reading takes seconds at 50,000 employees and the console's threads also serve
# the kiosk API: no request ever waits behind another's reading. ``_state`` (a short lock)
# only guards the cache and the set of readings under way; at most ``COMPUTING`` readings run
# at once (a non-blocking semaphore), and a request that finds its own reading under way, or
# no free slot, is answered 503 "try again in a moment" at once.
COMPUTING = 1


class Busy(Exception):
    """A reading of the report is under way: answer 503, do not wait for it."""


def _shared() -> dict[str, Any]:
    """The app's cache, readings under way and reading slots (one app per process)."""
    return current_app.extensions.setdefault("relais_council", {
        "state": threading.Lock(), "cache": {}, "running": set(),
        "slots": threading.BoundedSemaphore(COMPUTING)})


def _zone(site: SiteInfo | None) -> dt.tzinfo:
    """The month begins at midnight on the site's clock (its own zone, else the console's)."""
    if site is not None and site.timezone:
        try:
            return ZoneInfo(site.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return get_timezone()


def _report(ask: Ask, site: SiteInfo | None) -> cr.Report:
    """The report, its reading kept ``CACHE_S`` seconds per app, month, site and zone (the
    page, then its print version and its CSV, and every threshold: the threshold is applied
    afterwards, in memory). Raises ``Busy`` rather than wait for a reading under way."""
    tz = _zone(site)
    key = (ask.year, ask.month, ask.site_id, str(tz))
    shared = _shared()
    cache, running, slots = shared["cache"], shared["running"], shared["slots"]
    ttl = current_app.config.get("COUNCIL_CACHE_S", CACHE_S)
    with shared["state"]:
        hit = cache.get(key)
        if hit and time.monotonic() - hit[0] < ttl:
            return cr.assemble(hit[1], ask.minimum)
        if key in running or not slots.acquire(blocking=False):
            raise Busy
        running.add(key)
    try:
        start, end = council.month_bounds(ask.year, ask.month, tz)
        with read_snapshot(store()) as s:
            gathered = cr.gather(s, year=ask.year, month=ask.month, start=start, end=end,
                                 site_id=ask.site_id)
        with shared["state"]:
            if len(cache) > 64:
                cache.clear()
            cache[key] = (time.monotonic(), gathered)
    finally:
        with shared["state"]:
            running.discard(key)
        slots.release()
    return cr.assemble(gathered, ask.minimum)


class SiteInfo(NamedTuple):
    name: str
    timezone: str | None


def _sites() -> dict[int, SiteInfo]:
    with read_snapshot(store()) as s:
        return {sid: SiteInfo(name, tz) for sid, name, tz in s.execute(
            select(Site.id, Site.name, Site.timezone).order_by(Site.name))}


# --- words ---------------------------------------------------------------------------------------


def team_label(kind: str, name: str) -> str:
    if kind == "team":
        return name
    if kind == "no_team":
        return _("(no team)")
    return _("other teams")


def reason_label(row: cr.ReasonRow, minimum: int) -> str:
    if row.kind == "text":
        return row.text
    if row.kind == "none":
        return _("no reason given")
    if row.kind == "site":
        return _("every reason (named in the report for every site only)")
    return _("other reasons (each given to fewer than %(n)d people)", n=minimum)


def word_label(row: cr.WordRow, minimum: int) -> str:
    if row.kind == "word":
        return row.word
    if row.kind == "site":
        return _("every word (named in the report for every site only)")
    return _("other words (each found for fewer than %(n)d people)", n=minimum)


def month_label(report: cr.Report) -> str:
    return format_datetime(dt.datetime(report.year, report.month, 15), "LLLL yyyy")


def percent(part: int, whole: int) -> str:
    return "–" if not whole else f"{100 * part / whole:.0f} %"


# --- charts ------------------------------------------------------------------------------------


def _image(svg: str) -> str:
    """An SVG chart as an image address: drawn as a picture, it can run nothing."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _charts(report: cr.Report) -> dict[str, str]:
    t = report.totals
    out = {"outcomes": _image(charts.bars(
        [(str(OUTCOME_LABELS[k]), getattr(t, k)) for k in cr.OUTCOMES],
        _("Messages held and decisions, %(month)s", month=month_label(report)),
        empty=_("No moderation in this month.")))}
    rows = sorted(report.teams, key=lambda r: -(r.counts.held + r.counts.rejected
                                               + r.counts.retracted))[:CHART_TEAMS]
    out["teams"] = _image(charts.hbars(
        [(team_label(r.kind, r.name), r.counts.held, r.counts.rejected + r.counts.retracted)
         for r in rows], (_("messages held"), _("rejected or retracted")),
        _("Moderation per team, %(month)s", month=month_label(report)),
        empty=_("No moderation in this month.")))
    out["wait"] = _image(charts.bars(
        [(str(BUCKET_LABELS[k]), n) for k, n in report.decision_time.buckets],
        _("Time from the message to HR's decision"), empty=_("No decision in this month.")))
    if report.words:
        out["words"] = _image(charts.bars(
            [(w.word[:18] if w.kind == "word" else _("other words"), w.count)
             for w in report.words[:12]],
            _("Keyword filter hits per word"), empty=""))
    return out


def _audit_anchor() -> audit.Anchor | None:
    """Where the audit log had come to when the report was made (None: not intact): the
    council keeps it with the report, and can later check that nothing recorded up to then
    was rewritten (``services.audit.Anchor``)."""
    with read_snapshot(store()) as s:
        chain, _walked = audit.WATCH.check(s)
    return audit.anchor_of(chain)


def _context(report: cr.Report, ask: Ask) -> dict[str, Any]:
    return {"r": report, "ask": ask, "charts": _charts(report), "duration": duration,
            "anchor": _audit_anchor(),
            "team_label": team_label, "reason_label": reason_label, "word_label": word_label,
            "month_label": month_label(report), "percent": percent,
            "outcome_labels": OUTCOME_LABELS, "cause_labels": CAUSE_LABELS,
            "pictograms": PICTOGRAMS, "generated": utcnow(),
            "format_datetime": format_datetime}


# --- views ---------------------------------------------------------------------------------------


def _asked() -> tuple[Ask | None, dict[int, SiteInfo], str | None]:
    sites = _sites()
    try:
        return _ask(sites), sites, None
    except ValueError as exc:
        return None, sites, str(ERRORS.get(str(exc), ERRORS["bad_month"]))


@bp.errorhandler(Busy)
def busy(_exc: Busy) -> Response:
    """503 at once, with a retry hint, instead of holding a console thread: the console's
    page for a person's browser, the sentence alone for a CSV download."""
    if request.path.endswith(".csv"):
        resp = Response(str(BUSY), status=503, mimetype="text/plain")
    else:
        resp = Response(render_template("error.html", code=503, message=BUSY), status=503)
    resp.headers["Retry-After"] = "5"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/")
@roles_required(*READERS)
def index():  # noqa: ANN201
    ask, sites, error = _asked()
    if ask is None:
        return render_template("council/index.html", sites=sites, error=error, ask=None,
                               form=request.args, min_people=council.MIN_PEOPLE), 400
    report = _report(ask, sites.get(ask.site_id) if ask.site_id else None)
    return render_template("council/index.html", sites=sites, error=None, form=request.args,
                           min_people=council.MIN_PEOPLE, **_context(report, ask))


@bp.get("/print")
@roles_required(*READERS)
def printable():  # noqa: ANN201
    ask, sites, error = _asked()
    if ask is None:
        return Response(error or "", status=400, mimetype="text/plain")
    report = _report(ask, sites.get(ask.site_id) if ask.site_id else None)
    return render_template("council/print.html", **_context(report, ask))


def csv_rows(report: cr.Report) -> list[list[Any]]:
    """(section, item, team, value): every figure of the page, labelled in the reader's
    language."""
    month = f"{report.year:04d}-{report.month:02d}"
    rows: list[list[Any]] = [
        ["period", _("Month"), "", month],
        ["period", _("Site"), "", report.site or _("every site")],
        ["period", _("Smallest group named"), "", report.minimum],
    ]
    if report.withheld:
        rows.append(["withheld", _("Fewer people than the smallest group: moderation figures "
                                   "shown only within every site's"), "", ""])
        return rows + _other_rows(report)
    rows.append(["totals", _("Messages written"), "", report.messages])
    for k in cr.OUTCOMES:
        rows.append(["totals", str(OUTCOME_LABELS[k]), "", getattr(report.totals, k)])
    rows.append(["totals", _("Still waiting for a decision"), "", report.waiting])
    rows.append(["totals", _("People whose messages were moderated"), "", report.people])
    for team in report.teams:
        for k in cr.OUTCOMES:
            rows.append(["teams", str(OUTCOME_LABELS[k]), team_label(team.kind, team.name),
                         getattr(team.counts, k)])
    for cause in cr.CAUSES:
        rows.append(["held_because", str(CAUSE_LABELS[cause]), "", report.causes.get(cause, 0)])
    for reason in report.reasons:
        label = f"{OUTCOME_LABELS[reason.outcome]}: {reason_label(reason, report.minimum)}"
        rows.append(["reasons", label, "", reason.count])
        for cell in reason.teams:
            rows.append(["reasons", label, team_label(cell.kind, cell.name), cell.count])
    for word in report.words:
        rows.append(["keywords", word_label(word, report.minimum), "", word.count])
    d = report.decision_time
    rows.append(["decision_time", _("Decisions (approved or rejected)"), "", d.decided])
    rows.append(["decision_time", _("Median, seconds"), "",
                 "" if d.median_s is None else round(d.median_s)])
    rows.append(["decision_time", _("9 out of 10 within, seconds"), "",
                 "" if d.p90_s is None else round(d.p90_s)])
    for key, n in d.buckets:
        rows.append(["decision_time", str(BUCKET_LABELS[key]), "", n])
    return rows + _other_rows(report)


def _other_rows(report: cr.Report) -> list[list[Any]]:
    """Notices, safety alerts and the charter: figures about no one's messages."""
    rows: list[list[Any]] = []
    n = report.notices
    for label, value in ((_("Notices published"), n.published), (_("of which urgent"), n.urgent),
                         (_("asking for acknowledgement"), n.ack_required),
                         (_("sent by a team lead from a terminal"), n.from_terminals),
                         (_("People reached"), n.reached), (_("Seen"), n.seen),
                         (_("Acknowledgements asked"), n.ack_expected),
                         (_("Acknowledged"), n.acknowledged)):
        rows.append(["notices", label, "", value])
    rows.append(["safety_alerts", _("Alerts raised"), "", report.safety.raised])
    rows.append(["safety_alerts", _("Marked handled"), "", report.safety.handled])
    for pictogram, raised, _handled in report.safety.by_pictogram:
        rows.append(["safety_alerts", str(PICTOGRAMS.get(pictogram, pictogram)), "", raised])
    c = report.charter
    if c is None:
        rows.append(["charter", _("Charter acceptance rate"), "", _("not applicable")])
    elif c.withheld:
        rows.append(["charter", _("Charter acceptance rate"), "", _("withheld")])
    else:
        rows.append(["charter", _("Charter acceptance rate"), "", percent(c.accepted, c.expected)])
        rows.append(["charter", _("People who accepted the charter in force"), "", c.accepted])
        rows.append(["charter", _("People it speaks to"), "", c.expected])
    return rows


@bp.get("/report.csv")
@roles_required(*READERS)
def download():  # noqa: ANN201
    ask, sites, error = _asked()
    if ask is None:
        return Response(error or "", status=400, mimetype="text/plain")
    report = _report(ask, sites.get(ask.site_id) if ask.site_id else None)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("section"), _("item"), _("team"), _("value")])
    anchor = _audit_anchor()
    for row in [*csv_rows(report),
                ["period", _("Audit log anchor"), "", str(anchor) if anchor else _("not intact")]]:
        writer.writerow([neutralise(v) if isinstance(v, str) else v for v in row])
    where = f"-site{ask.site_id}" if ask.site_id else ""
    resp = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = (
        f'attachment; filename="relais-works-council-{ask.month_text}{where}.csv"')
    resp.headers["Cache-Control"] = "no-store"
    return resp
