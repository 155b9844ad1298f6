"""The monthly moderation report for the works council (issue 17): what moderation did in
a month, and to how many, without one message's words and without naming a person.

Everything is counted by the database, grouped: one statement reads the month's moderation
once (a materialised ``facts`` table: the messages of the month that were held, and the
month's decisions) and returns only grouped rows (teams x outcomes x reasons, keywords,
the two ranks of the decision time, its histogram), a few thousand rows at most whatever
the number of messages. The notices, safety alerts and totals are one small grouped query
each. No message body, photo, drawing or name is ever selected.

Which figures may be named is the domain's rule: a team is named only when the month's
plan (``domain.council.plan``, one for the company's report and every site's) names it, so
that no subtraction of one report from another singles out a small group; a reason HR
wrote, a team's share of a reason or a keyword is shown only when at least ``minimum``
distinct people stand behind it (``domain.council.shown``); the others are pooled as
"other". The charter's rate of a site is left out on the same terms (``sites_shown``).

A team is the sender's team now (no history of moves is kept). Held messages are counted in
the month they were written, decisions in the month they were taken (a held message of
the 31st approved on the 1st counts in both months, each for what happened then).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    Integer,
    String,
    case,
    cast,
    distinct,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from hr_console.domain.council import MIN_PEOPLE, plan, shown, sites_shown
from hr_console.services import charter as charters
from hr_console.store.models import (
    Employee,
    Message,
    ModerationDecision,
    Notice,
    NoticeReceipt,
    SafetyAlert,
    Site,
    Team,
)

OUTCOMES = ("held", "approved", "rejected", "retracted")
# Why a message was held: a keyword, pre-moderation, a photo or drawing held by setting, or
# another rule (sent after its badge session ended, over a group's fan-out budget).
CAUSES = ("keyword", "pre", "media", "other")
# Decision time histogram: (key, upper bound in seconds).
BUCKETS = (("5m", 300), ("15m", 900), ("1h", 3600), ("4h", 14400), ("1d", 86400),
           ("more", None))
OTHER = "other"  # a pooled row: the teams, reasons or words too small to be named
NO_TEAM = 0
_DECISIONS = {"approve": "approved", "reject": "rejected", "retract": "retracted"}


@dataclass(frozen=True)
class Counts:
    held: int = 0
    approved: int = 0
    rejected: int = 0
    retracted: int = 0

    def plus(self, outcome: str, n: int) -> Counts:
        values = {k: getattr(self, k) for k in OUTCOMES}
        values[outcome] += n
        return Counts(**values)


@dataclass(frozen=True)
class TeamRow:
    """``kind``: "team" (``name`` is the team's), "no_team" or "other" (the pooled teams)."""

    kind: str
    name: str
    counts: Counts


@dataclass(frozen=True)
class Cell:
    kind: str  # as TeamRow
    name: str
    count: int


@dataclass(frozen=True)
class ReasonRow:
    """A reason given to rejected or retracted messages. ``kind``: "text" (HR's words,
    used for at least ``minimum`` people), "none" (no reason given) or "other" (pooled)."""

    outcome: str  # rejected | retracted
    kind: str
    text: str
    count: int
    teams: list[Cell] = field(default_factory=list)


@dataclass(frozen=True)
class WordRow:
    kind: str  # "word" or "other"
    word: str
    count: int


@dataclass(frozen=True)
class DecisionTime:
    decided: int
    median_s: float | None
    p90_s: float | None
    buckets: list[tuple[str, int]]


@dataclass(frozen=True)
class NoticeFigures:
    published: int = 0
    urgent: int = 0
    ack_required: int = 0
    from_terminals: int = 0  # broadcast by a team lead from a terminal
    reached: int = 0  # receipts: one per person a notice was sent to
    seen: int = 0
    ack_expected: int = 0
    acknowledged: int = 0


@dataclass(frozen=True)
class SafetyFigures:
    raised: int = 0
    handled: int = 0
    by_pictogram: list[tuple[str, int, int]] = field(default_factory=list)  # (pictogram, raised, handled)


@dataclass(frozen=True)
class CharterFigures:
    """People (not messages) who accepted the version in force at the end of the month,
    of those it speaks to. ``withheld``: a site's figure left out (zeros), its people too
    few, or the company's figure minus the shown sites' would single out a few."""

    accepted: int
    expected: int
    withheld: bool = False


@dataclass(frozen=True)
class Report:
    year: int
    month: int
    start: dt.datetime  # naive UTC, inclusive
    end: dt.datetime  # naive UTC, exclusive
    site: str | None
    minimum: int
    messages: int  # every message written in the month (the scope's senders)
    totals: Counts
    waiting: int  # of the month's held messages, those still waiting for a decision
    people: int  # distinct people whose messages moderation touched
    teams: list[TeamRow]
    pooled_teams: int  # teams counted under "other teams"
    causes: dict[str, int]
    reasons: list[ReasonRow]
    words: list[WordRow]
    decision_time: DecisionTime
    notices: NoticeFigures
    safety: SafetyFigures
    charter: CharterFigures | None
    # One site whose moderated people are fewer than ``minimum``: its name alone would
    # single them out, so its moderation figures are left out (zeros and empty lists).
    withheld: bool = False


# --- the month's moderation, one statement ------------------------------------------------


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _seconds(session: Session, later: Any, earlier: Any) -> Any:
    if _is_sqlite(session):
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _hits_array(session: Session) -> Any:
    """The keyword hits when they are a list (the column also holds SQL NULL or JSON null)."""
    kind = (func.json_type if _is_sqlite(session) else func.json_typeof)(Message.keyword_hits)
    return kind == "array"


def _unindexed(session: Session, column: Any) -> Any:
    """``column``, which SQLite's planner may not read through its index (a unary ``+``).
    Finding the month's decided messages, SQLite otherwise walks the million messages of
    the month and probes each one's decisions (2.4 s at 50,000 employees) rather than
    reading the decisions taken since the month began (0.3 s). PostgreSQL plans it well."""
    if not _is_sqlite(session):
        return column
    return literal_column(f"+{column.table.name}.{column.name}", column.type)


def _in_scope(stmt: Any, site_id: int | None) -> Any:
    """Messages of senders whose team is on the site (every sender when no site)."""
    if site_id is None:
        return stmt
    return stmt.join(Team, Team.id == Employee.team_id).where(Team.site_id == site_id)


def _facts(session: Session, start: dt.datetime, end: dt.datetime, site_id: int | None) -> Any:
    """One row per held message written in the month and per decision taken in it: team,
    sender, outcome, reason (a cause code, or HR's words folded for grouping), its words as
    written, the decision time in seconds, the keyword hits. Materialised: read once."""
    m, d = Message, ModerationDecision
    hits = _hits_array(session)
    cause = case((hits, "keyword"), (m.moderation == "pre", "pre"),
                 (m.kind.in_(("photo", "drawing", "voice")), "media"), else_="other")
    team = func.coalesce(Employee.team_id, NO_TEAM)
    month = (m.created_at >= start, m.created_at < end)

    def held(outcome: str) -> Any:
        return select(team.label("team_id"), m.sender_id.label("sender_id"),
                      literal(outcome).label("outcome"), cause.label("reason"),
                      cause.label("label"), cast(null(), Float).label("wait_s"),
                      case((hits, m.keyword_hits), else_=cast(null(), JSON)).label("hits"))

    # Held in the month: still waiting (the held queue's index), or decided since; a
    # decision comes after its message, so the month's decided ones are found from the
    # decisions taken since the month began (the time index), not by probing the decisions
    # of every message of the month.
    waiting = _in_scope(held("waiting").select_from(m).join(Employee, Employee.id == m.sender_id),
                        site_id).where(m.state == "held", *month)
    written = _unindexed(session, m.created_at)
    decided = _in_scope(
        held("held").select_from(d).join(m, m.id == d.message_id)
        .join(Employee, Employee.id == m.sender_id), site_id
    ).where(d.created_at >= start, d.decision.in_(("approve", "reject")),
            written >= start, written < end)
    words = func.trim(func.coalesce(d.reason, ""))
    decisions = _in_scope(
        select(team, m.sender_id, d.decision,
               case((d.decision == "approve", ""), else_=func.lower(words)), words,
               case((d.decision.in_(("approve", "reject")), _seconds(session, d.created_at,
                                                                      m.created_at)),
                    else_=cast(null(), Float)),
               cast(null(), JSON))
        .select_from(d).join(m, m.id == d.message_id).join(Employee, Employee.id == m.sender_id),
        site_id
    ).where(d.created_at >= start, d.created_at < end)
    return union_all(waiting, decided, decisions).cte("facts").prefix_with("MATERIALIZED")


def _grouped(session: Session, facts: Any) -> list[Any]:
    """Every grouped figure of ``facts`` in one statement: (kind, team, outcome, reason,
    label, n, people, value)."""
    f = facts.c
    people = func.count(distinct(f.sender_id))
    blank = (cast(null(), Integer), cast(null(), String), cast(null(), String),
             cast(null(), String))
    cells = select(literal("cell"), f.team_id, f.outcome, f.reason, func.min(f.label),
                   func.count(), people, cast(null(), Float)
                   ).group_by(f.team_id, f.outcome, f.reason)
    teams = select(literal("team"), f.team_id, *blank[1:], func.count(), people,
                   cast(null(), Float)).group_by(f.team_id)
    everyone = select(literal("all"), *blank, func.count(), people, cast(null(), Float))
    if _is_sqlite(session):
        each = func.json_each(f.hits).table_valued("value")
    else:
        each = func.json_array_elements_text(f.hits).table_valued("value")
    word = cast(each.c.value, String)
    words = (select(literal("word"), blank[0], blank[1], word, blank[3], func.count(),
                    people, cast(null(), Float))
             .select_from(facts).join(each, true()).where(f.hits.is_not(None)).group_by(word))
    timed = f.outcome.in_(("approve", "reject"))
    ranked = select(f.wait_s.label("s"),
                    func.row_number().over(order_by=f.wait_s).label("rn"),
                    func.count().over().label("n")).where(timed).subquery()
    median_rank, p90_rank = (ranked.c.n + 1) // 2, (9 * ranked.c.n + 9) // 10
    ranks = (select(literal("rank"), blank[0],
                    case((ranked.c.rn == median_rank, "median"), else_="p90"),
                    case((ranked.c.rn == p90_rank, "p90"), else_=""), blank[3],
                    ranked.c.n, ranked.c.rn, ranked.c.s)
             .where(or_(ranked.c.rn == median_rank, ranked.c.rn == p90_rank)))
    bucket = case(*[(f.wait_s < bound, key) for key, bound in BUCKETS if bound is not None],
                  else_=BUCKETS[-1][0])
    buckets = select(literal("bucket"), blank[0], blank[1], bucket, blank[3], func.count(),
                     cast(null(), Integer), cast(null(), Float)).where(timed).group_by(bucket)
    return session.execute(union_all(cells, teams, everyone, words, ranks, buckets)).all()


# --- from grouped rows to what may be shown ------------------------------------------------


def _team_names(session: Session, with_site: bool) -> dict[int, str]:
    rows = session.execute(select(Team.id, Team.name, Site.name)
                           .join(Site, Site.id == Team.site_id)).all()
    return {tid: (f"{name} ({site})" if with_site else name) for tid, name, site in rows}


def _label(team: int, names: dict[int, str], visible: set[int]) -> tuple[str, str]:
    if team not in visible:
        return OTHER, ""
    if team == NO_TEAM:
        return "no_team", ""
    return "team", names.get(team, "")


def _order(kind: str, name: str) -> tuple[int, str]:
    return ({"team": 0, "no_team": 1, OTHER: 2}[kind], name.casefold())


@dataclass
class _Built:
    totals: Counts = field(default_factory=Counts)
    waiting: int = 0
    people: int = 0
    teams: list[TeamRow] = field(default_factory=list)
    pooled: int = 0
    causes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CAUSES, 0))
    reasons: list[ReasonRow] = field(default_factory=list)
    words: list[WordRow] = field(default_factory=list)
    decided: int = 0
    median_s: float | None = None
    p90_s: float | None = None
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        [k for k, _b in BUCKETS], 0))


def _build(rows: list[Any], names: dict[int, str], minimum: int, named: set[int]) -> _Built:
    """``named``: the teams the month's plan lets every report name (``domain.council.plan``)."""
    out = _Built()
    team_people: dict[int, int] = {}
    cells: list[tuple[int, str, str, str, int, int]] = []
    for kind, team, outcome, reason, label, n, people, value in rows:
        if kind == "team":
            team_people[team] = people
        elif kind == "all":
            out.people = people
        elif kind == "cell":
            cells.append((team, outcome, reason or "", label or "", n, people))
        elif kind == "word":
            out.words.append(WordRow("word" if people >= minimum else OTHER, reason, n))
        elif kind == "rank":
            out.decided = n
            if outcome == "median" or reason == "median":
                out.median_s = max(0.0, float(value or 0))
            if outcome == "p90" or reason == "p90":
                out.p90_s = max(0.0, float(value or 0))
        elif kind == "bucket":
            out.buckets[reason] = n
    visible = set(team_people) & named
    out.pooled = len(set(team_people) - visible)
    by_team: dict[tuple[str, str], Counts] = defaultdict(Counts)
    totals = Counts()
    reason_cells: dict[tuple[str, str], dict[int, tuple[int, int]]] = defaultdict(dict)
    reason_words: dict[tuple[str, str], str] = {}
    for team, outcome, reason, label, n, people in cells:
        if outcome in ("held", "waiting"):
            out.causes[reason] = out.causes.get(reason, 0) + n
            if outcome == "waiting":
                out.waiting += n
            outcome = "held"
        else:
            outcome = _DECISIONS[outcome]
            if outcome != "approved":
                reason_cells[(outcome, reason)][team] = (n, people)
                reason_words[(outcome, reason)] = label
        by_team[_label(team, names, visible)] = by_team[_label(team, names, visible)].plus(
            outcome, n)
        totals = totals.plus(outcome, n)
    out.totals = totals
    out.teams = [TeamRow(kind, name, counts) for (kind, name), counts
                 in sorted(by_team.items(), key=lambda kv: _order(*kv[0]))]
    out.reasons = _reasons(reason_cells, reason_words, names, visible, minimum)
    words: dict[tuple[str, str], int] = defaultdict(int)
    for w in out.words:
        words[(w.kind, w.word if w.kind == "word" else "")] += w.count
    out.words = sorted((WordRow(k, w, n) for (k, w), n in words.items()),
                       key=lambda r: (r.kind == OTHER, -r.count, r.word.casefold()))
    return out


def _reasons(reason_cells: dict[tuple[str, str], dict[int, tuple[int, int]]],
             reason_words: dict[tuple[str, str], str], names: dict[int, str],
             visible: set[int], minimum: int) -> list[ReasonRow]:
    """Reasons HR wrote, named when given to at least ``minimum`` people (their words may
    name someone or quote a message: used that widely they are a standard phrase), each
    split by team where the team is named and the cell has ``minimum`` people."""
    merged: dict[tuple[str, str, str], dict[int, tuple[int, int]]] = defaultdict(dict)
    for (outcome, reason), per_team in reason_cells.items():
        people = sum(p for _n, p in per_team.values())  # one team per person: disjoint
        if reason == "":
            key = (outcome, "none", "")
        elif people >= minimum:
            key = (outcome, "text", reason_words[(outcome, reason)])
        else:
            key = (outcome, OTHER, "")
        for team, (n, p) in per_team.items():
            old_n, old_p = merged[key].get(team, (0, 0))
            # Pooled reasons may share people: the larger count is a floor of the distinct
            # people, never more than there are.
            merged[key][team] = (old_n + n, max(old_p, p))
    rows = []
    for (outcome, kind, text), per_team in merged.items():
        keep = shown({t: p for t, (_n, p) in per_team.items()}, minimum, eligible=visible)
        split: dict[tuple[str, str], int] = defaultdict(int)
        for team, (n, _p) in per_team.items():
            split[_label(team, names, keep)] += n
        cells = [Cell(k, name, n) for (k, name), n in sorted(split.items(),
                                                                key=lambda kv: _order(*kv[0]))]
        rows.append(ReasonRow(outcome, kind, text, sum(n for n, _p in per_team.values()), cells))
    return sorted(rows, key=lambda r: (r.outcome, {"text": 0, "none": 1, OTHER: 2}[r.kind],
                                       -r.count, r.text.casefold()))


# --- the other figures -----------------------------------------------------------------------


def _messages(session: Session, start: dt.datetime, end: dt.datetime, site_id: int | None) -> int:
    stmt = select(func.count()).select_from(Message).where(Message.created_at >= start,
                                                           Message.created_at < end)
    if site_id is not None:
        stmt = _in_scope(stmt.join(Employee, Employee.id == Message.sender_id), site_id)
    return session.scalar(stmt) or 0


def _site_people(site_id: int) -> Any:
    return (select(Employee.id).join(Team, Team.id == Employee.team_id)
            .where(Team.site_id == site_id))


def notice_figures(session: Session, start: dt.datetime, end: dt.datetime,
                   site_id: int | None) -> NoticeFigures:
    """Notices published in the month (on a site: those that reached its people) and their
    receipts: one per person sent to, seen, acknowledged where asked."""
    n, r = Notice, NoticeReceipt
    month = (n.published_at >= start, n.published_at < end)

    def flag(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    notices = select(func.count(), flag(n.urgent.is_(True)), flag(n.ack_required.is_(True)),
                     flag(n.author_employee_id.is_not(None))).where(*month)
    receipts = (select(func.count(r.id), func.count(r.seen_at),
                       flag(n.ack_required.is_(True)),
                       flag(n.ack_required.is_(True) & r.acknowledged_at.is_not(None)))
                .join(n, n.id == r.notice_id).where(*month))
    if site_id is not None:
        people = _site_people(site_id)
        notices = notices.where(n.id.in_(select(r.notice_id).where(r.employee_id.in_(people))))
        receipts = receipts.where(r.employee_id.in_(people))
    published, urgent, ack, terminals = session.execute(notices).one()
    reached, seen, expected, acked = session.execute(receipts).one()
    return NoticeFigures(published, urgent, ack, terminals, reached, seen, expected, acked)


def safety_figures(session: Session, start: dt.datetime, end: dt.datetime,
                   site_id: int | None) -> SafetyFigures:
    a = SafetyAlert
    stmt = (select(a.pictogram, func.count(), func.count(a.handled_at))
            .where(a.raised_at >= start, a.raised_at < end).group_by(a.pictogram)
            .order_by(a.pictogram))
    if site_id is not None:
        stmt = stmt.where(a.site_id == site_id)
    rows = [(p, n, h) for p, n, h in session.execute(stmt).all()]
    return SafetyFigures(sum(n for _p, n, _h in rows), sum(h for _p, _n, h in rows), rows)


def charter_figures(session: Session, start: dt.datetime, end: dt.datetime,
                    site_id: int | None) -> CharterFigures | None:
    """People of the scope who accepted the charter version in force at the end of the
    month (before it ends), over the people it speaks to (``services.charter.rate``);
    None when no charter was in force then."""
    figures = charters.rate(session, end, site_id)
    return None if figures is None else CharterFigures(*figures)


def charter_people(session: Session) -> tuple[dict[int, int], int]:
    """The people a charter speaks to per site, and those on no site (no team), in one
    grouped query: what decides which site's rate may be shown (``assemble``)."""
    scope = charters._expected()  # noqa: SLF001 - the same people as ``rate``'s, by definition
    per_site = {int(sid): int(n) for sid, n in session.execute(
        select(Team.site_id, func.count()).select_from(Employee)
        .join(Team, Team.id == Employee.team_id).where(scope).group_by(Team.site_id)).all()}
    everyone = session.scalar(select(func.count()).select_from(Employee).where(scope)) or 0
    return per_site, int(everyone) - sum(per_site.values())


def _everyone(session: Session, start: dt.datetime, end: dt.datetime) -> dict[int, int]:
    """The month's moderated people per team, every site: a site's report is planned with
    the company's (``domain.council.plan``), so it needs them too (one grouped read)."""
    f = _facts(session, start, end, None).c
    return {int(t): int(n) for t, n in session.execute(
        select(f.team_id, func.count(distinct(f.sender_id))).group_by(f.team_id)).all()}


# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gathered:
    """What the database says about a month and a scope, before any threshold: the heavy,
    seconds-long part at 50,000 employees. The threshold (``minimum``) is applied afterwards
    by ``assemble`` in memory, so one reading serves every threshold a reader may try."""

    year: int
    month: int
    start: dt.datetime
    end: dt.datetime
    site: str | None
    rows: list[Any]
    names: dict[int, str]
    messages: int
    notices: NoticeFigures
    safety: SafetyFigures
    charter: CharterFigures | None
    site_id: int | None = None
    everyone: dict[int, int] = field(default_factory=dict)  # moderated people per team, all sites
    team_site: dict[int, int] = field(default_factory=dict)
    charter_sites: dict[int, int] = field(default_factory=dict)  # charter's people per site
    charter_rest: int = 0  # and on no site


def gather(session: Session, *, year: int, month: int, start: dt.datetime, end: dt.datetime,
           site_id: int | None = None) -> Gathered:
    """Read the month [start, end) (naive UTC), on one site or everywhere: every query of
    the report, none of which depends on the threshold."""
    site = session.get(Site, site_id) if site_id is not None else None
    if site_id is not None and site is None:
        raise ValueError("unknown_site")
    facts = _facts(session, start, end, site_id)
    rows = list(_grouped(session, facts))
    if site_id is None:
        everyone = {int(r[1]): int(r[6]) for r in rows if r[0] == "team"}
    else:
        everyone = _everyone(session, start, end)
    charter = charter_figures(session, start, end, site_id)
    per_site, rest = charter_people(session) if charter is not None else ({}, 0)
    return Gathered(
        year=year, month=month, start=start, end=end, site=site.name if site else None,
        rows=rows, names=_team_names(session, with_site=site is None),
        messages=_messages(session, start, end, site_id),
        notices=notice_figures(session, start, end, site_id),
        safety=safety_figures(session, start, end, site_id),
        charter=charter, site_id=site_id, everyone=everyone,
        team_site=dict(session.execute(select(Team.id, Team.site_id)).tuples().all()),
        charter_sites=per_site, charter_rest=rest)


def site_pooled(reasons: list[ReasonRow], words: list[WordRow]
                ) -> tuple[list[ReasonRow], list[WordRow]]:
    """A site's reasons and keyword hits, each pooled into one row (``kind`` "site"): HR's
    reasons and the filter's words are named in every site's report only. Named per site,
    the threshold a reader chooses gives how many people stand behind a reason in the
    company and in one site, and their difference can be one person elsewhere."""
    by_outcome: dict[str, int] = {}
    for row in reasons:
        by_outcome[row.outcome] = by_outcome.get(row.outcome, 0) + row.count
    pooled = [ReasonRow(outcome, "site", "", n) for outcome, n in by_outcome.items()]
    hits = sum(w.count for w in words)
    return pooled, ([WordRow("site", "", hits)] if hits else [])


def assemble(g: Gathered, minimum: int) -> Report:
    """The report of what ``gather`` read, with the threshold applied (no database). What
    it names and withholds follows the month's plan for every report (``domain.council``),
    so comparing the company's report with the sites' singles out no small group."""
    if minimum < MIN_PEOPLE:
        raise ValueError("bad_minimum")
    month_plan = plan(g.everyone, {t: g.team_site.get(t) for t in g.everyone}, minimum)
    withheld = g.site_id is not None and g.site_id in month_plan.withheld
    built = _Built() if withheld else _build(g.rows, g.names, minimum, set(month_plan.named))
    reasons, words = built.reasons, built.words
    if g.site_id is not None:
        reasons, words = site_pooled(reasons, words)
    charter = g.charter
    if charter is not None and g.site_id is not None and g.site_id not in sites_shown(
            g.charter_sites, g.charter_rest, minimum):
        charter = CharterFigures(0, 0, withheld=True)
    return Report(
        year=g.year, month=g.month, start=g.start, end=g.end, site=g.site,
        minimum=minimum, withheld=withheld,
        messages=0 if withheld else g.messages,
        totals=built.totals, waiting=built.waiting, people=built.people, teams=built.teams,
        pooled_teams=built.pooled, causes=built.causes, reasons=reasons, words=words,
        decision_time=DecisionTime(built.decided, built.median_s, built.p90_s,
                                   list(built.buckets.items())),
        notices=g.notices, safety=g.safety, charter=charter)


def build(session: Session, *, year: int, month: int, start: dt.datetime, end: dt.datetime,
          minimum: int, site_id: int | None = None) -> Report:
    """The report of the month [start, end) (naive UTC), on one site or everywhere."""
    return assemble(gather(session, year=year, month=month, start=start, end=end,
                           site_id=site_id), minimum)
