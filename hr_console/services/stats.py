"""Figures for the dashboard: what waits, what flows, who talks to whom.

Days are UTC calendar days (the database stores UTC). Every query is bounded by a time
window on an indexed column, so the dashboard stays fast with millions of messages.

Group posts (``messages.group_id`` set, no recipient) count as messages everywhere; they
are also counted apart (``group_posts_today``, ``group_posts_per_day``), and in the team
flows their destination is ``GROUP_POSTS`` rather than a team.

The figures of days that are over (messages per day, moderation wait) only change when a
purge removes old messages, so they are kept ``CLOSED_DAYS_TTL_S`` seconds per database;
today's figures are always read afresh.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from hr_console.services.moderation_queue import IS_HELD
from hr_console.store.db import database_key
from hr_console.store.models import (
    Employee,
    Message,
    ModerationDecision,
    Notice,
    NoticeReceipt,
    Site,
    Team,
    Terminal,
    utcnow,
)

GROUP_POSTS = -1  # the destination "a workgroup" in team flows (0 is "no team")
OFFLINE_AFTER = dt.timedelta(minutes=10)  # a terminal silent this long counts as offline
CLOSED_DAYS_TTL_S = 300.0  # how long the figures of past days are reused (0: never)

T = TypeVar("T")
_cache: dict[tuple, tuple[float, Any]] = {}
_cache_lock = threading.Lock()
_computing: dict[tuple, threading.Lock] = {}


def _remembered(key: tuple, compute: Callable[[], T], ttl: float | None = None) -> T:
    """``compute()``, reused for ``ttl`` seconds (``CLOSED_DAYS_TTL_S`` by default). Two
    requests missing at once (the dashboard loads its charts together) compute once."""
    ttl = CLOSED_DAYS_TTL_S if ttl is None else ttl
    with _cache_lock:
        key_lock = _computing.setdefault(key, threading.Lock())
    with key_lock:
        hit = _cache.get(key)
        if ttl > 0 and hit is not None and time.monotonic() - hit[0] < ttl:
            return hit[1]
        value = compute()
        with _cache_lock:
            if len(_cache) > 256:  # one entry per database, chart and day: stays tiny
                _cache.clear()
                _computing.clear()
            _cache[key] = (time.monotonic(), value)
        return value


def forget() -> None:
    """Drop every remembered figure (tests, or after a purge)."""
    with _cache_lock:
        _cache.clear()
        _computing.clear()


def _midnight(now: dt.datetime, tz: dt.tzinfo | None = None) -> dt.datetime:
    """The last midnight on the site's clock ``tz`` (UTC when None), as naive UTC."""
    if tz is None:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    here = now.replace(tzinfo=dt.UTC).astimezone(tz)
    start = here.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(dt.UTC).replace(tzinfo=None)


def day_range(days: int, now: dt.datetime | None = None) -> list[dt.date]:
    today = (now or utcnow()).date()
    return [today - dt.timedelta(days=days - 1 - i) for i in range(days)]


# --- the numbers at the top -----------------------------------------------------------------


@dataclass(frozen=True)
class OfflineTerminal:
    name: str
    site: str | None
    last_seen: dt.datetime | None


@dataclass(frozen=True)
class Overview:
    held: int
    oldest_held: dt.datetime | None
    messages_today: int
    urgent_unacknowledged: int  # people who have not acknowledged a live urgent notice
    urgent_notices: int  # live urgent notices with at least one such person
    terminals: int
    offline: list[OfflineTerminal] = field(default_factory=list)
    group_posts_today: int = 0  # of ``messages_today``, the posts to a workgroup


def overview(session: Session, now: dt.datetime | None = None,
             tz: dt.tzinfo | None = None) -> Overview:
    """The cards; ``messages_today`` counts from midnight on the site's clock ``tz``."""
    now = now or utcnow()
    held = session.scalar(select(func.count()).select_from(Message).where(IS_HELD))
    oldest = session.scalar(select(func.min(Message.created_at)).where(IS_HELD))
    since = _midnight(now, tz)
    today = session.scalar(select(func.count()).select_from(Message)
                           .where(Message.created_at >= since))
    group_today = session.scalar(select(func.count()).select_from(Message)
                                 .where(Message.created_at >= since, Message.group_id.is_not(None)))
    live_urgent = (Notice.urgent.is_(True), Notice.published_at.is_not(None),
                   (Notice.valid_until.is_(None)) | (Notice.valid_until > now))
    unacked = (select(func.count(NoticeReceipt.id), func.count(func.distinct(Notice.id)))
               .join(Notice, Notice.id == NoticeReceipt.notice_id)
               .where(*live_urgent, NoticeReceipt.acknowledged_at.is_(None)))
    people, notices = session.execute(unacked).one()
    terminals = session.execute(
        select(Terminal.name, Site.name, Terminal.online, Terminal.last_seen)
        .outerjoin(Site, Site.id == Terminal.site_id)
        .where(Terminal.active.is_(True)).order_by(Terminal.name)
    ).all()
    offline = [OfflineTerminal(name, site, seen) for name, site, online, seen in terminals
               if not online or seen is None or seen < now - OFFLINE_AFTER]
    return Overview(held or 0, oldest, today or 0, people or 0, notices or 0, len(terminals),
                    offline, group_today or 0)


# --- charts -------------------------------------------------------------------------------------


def messages_per_day(session: Session, days: int = 14,
                     now: dt.datetime | None = None) -> list[tuple[dt.date, int]]:
    """Messages received per day (every state, group posts included), oldest day first,
    zero-filled.

    One range count per day on the time index (covering): no per-row date function, the
    same SQL on SQLite and PostgreSQL. Past days are remembered, today is counted."""
    return _per_day(session, "per_day", days, now)


def group_posts_per_day(session: Session, days: int = 14,
                        now: dt.datetime | None = None) -> list[tuple[dt.date, int]]:
    """Of ``messages_per_day``, the posts to a workgroup, the same way."""
    return _per_day(session, "group_per_day", days, now, Message.group_id.is_not(None))


def _per_day(session: Session, key: str, days: int, now: dt.datetime | None,
             *where: Any) -> list[tuple[dt.date, int]]:
    dates = day_range(days, now)

    def count(d: dt.date) -> int:
        start = dt.datetime.combine(d, dt.time())
        return session.scalar(select(func.count()).select_from(Message).where(
            Message.created_at >= start, Message.created_at < start + dt.timedelta(days=1),
            *where)) or 0

    past = _remembered((key, database_key(session), dates[0], dates[-1]),
                       lambda: [count(d) for d in dates[:-1]])
    return list(zip(dates, [*past, count(dates[-1])], strict=True))


@dataclass(frozen=True)
class WaitDay:
    day: dt.date
    decided: int
    median_s: float | None
    p90_s: float | None


def _seconds_between(later, earlier):  # noqa: ANN001, ANN202 - SQL expressions
    """``later - earlier`` in seconds, computed by the database (no per-row datetime
    parsing in Python)."""
    return func.extract("epoch", later - earlier)


def _seconds_between_sqlite(later, earlier):  # noqa: ANN001, ANN202
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _waits(session: Session, start: dt.datetime, end: dt.datetime | None) -> dict[str, WaitDay]:
    """Median and 90th percentile wait per decision day in [start, end), nearest rank,
    ranked by the database (window functions): two rows per day come back, not every
    decision."""
    between = (_seconds_between_sqlite if session.get_bind().dialect.name == "sqlite"
               else _seconds_between)
    conds = [ModerationDecision.created_at >= start,
             ModerationDecision.decision.in_(("approve", "reject"))]
    if end is not None:
        conds.append(ModerationDecision.created_at < end)
    waits = (select(func.date(ModerationDecision.created_at).label("day"),
                    between(ModerationDecision.created_at, Message.created_at).label("s"))
             .join(Message, Message.id == ModerationDecision.message_id).where(*conds).subquery())
    ranked = select(
        waits.c.day, waits.c.s,
        func.row_number().over(partition_by=waits.c.day, order_by=waits.c.s).label("rn"),
        func.count().over(partition_by=waits.c.day).label("n"),
    ).subquery()
    # Nearest rank: ceil(q * n), in integers: (n + 1) // 2 and (9n + 9) // 10.
    median_rank, p90_rank = (ranked.c.n + 1) // 2, (9 * ranked.c.n + 9) // 10
    rows = session.execute(
        select(ranked.c.day, ranked.c.n, ranked.c.rn == median_rank, ranked.c.rn == p90_rank,
               ranked.c.s)
        .where(or_(ranked.c.rn == median_rank, ranked.c.rn == p90_rank))
    ).all()
    out: dict[str, WaitDay] = {}
    for day, n, is_median, is_p90, seconds in rows:
        key = str(day)[:10]
        seconds = max(0.0, float(seconds or 0))
        prev = out.get(key) or WaitDay(dt.date.fromisoformat(key), int(n), None, None)
        out[key] = WaitDay(prev.day, prev.decided, seconds if is_median else prev.median_s,
                           seconds if is_p90 else prev.p90_s)
    return out


def moderation_wait(session: Session, days: int = 14,
                    now: dt.datetime | None = None) -> list[WaitDay]:
    """How long held messages waited for a decision (approve or reject), per decision day.
    Past days are remembered, today is ranked afresh."""
    dates = day_range(days, now)
    start = dt.datetime.combine(dates[0], dt.time())
    today = dt.datetime.combine(dates[-1], dt.time())
    past = _remembered(("wait", database_key(session), dates[0], dates[-1]),
                       lambda: _waits(session, start, today))
    found = {**past, **_waits(session, today, None)}
    return [found.get(d.isoformat()) or WaitDay(d, 0, None, None) for d in dates]


@dataclass(frozen=True)
class TeamFlows:
    """Messages between teams over a window: ``matrix[(from_team, to_team)] = count``;
    ``to_team`` is ``GROUP_POSTS`` for posts to a workgroup."""

    days: int
    teams: dict[int, str]  # team id -> "Team (site)"; 0 is "no team"
    matrix: dict[tuple[int, int], int]

    def sent(self) -> dict[int, int]:
        out: dict[int, int] = defaultdict(int)
        for (src, _dst), n in self.matrix.items():
            out[src] += n
        return out

    def received(self) -> dict[int, int]:
        out: dict[int, int] = defaultdict(int)
        for (_src, dst), n in self.matrix.items():
            out[dst] += n
        return out

    def busiest(self, limit: int) -> list[int]:
        """Team ids by total traffic, the busiest first."""
        total: dict[int, int] = defaultdict(int)
        for (src, dst), n in self.matrix.items():
            total[src] += n
            total[dst] += n
        return sorted(total, key=lambda t: (-total[t], self.teams.get(t, "")))[:limit]


def _team_pairs(session: Session, start: dt.datetime,
                end: dt.datetime | None) -> dict[tuple[int, int], int]:
    sender, recipient = aliased(Employee), aliased(Employee)
    conds = [Message.created_at >= start]
    if end is not None:
        conds.append(Message.created_at < end)
    to_group = Message.group_id.is_not(None)
    rows = session.execute(
        select(sender.team_id, recipient.team_id, to_group, func.count())
        .select_from(Message)
        .join(sender, sender.id == Message.sender_id)
        .outerjoin(recipient, recipient.id == Message.recipient_id)  # NULL: a group post
        .where(*conds)
        .group_by(sender.team_id, recipient.team_id, to_group)
    ).all()
    matrix: dict[tuple[int, int], int] = defaultdict(int)
    for src, dst, is_group, n in rows:
        matrix[(src or 0, GROUP_POSTS if is_group else (dst or 0))] += n
    return dict(matrix)


def team_flows(session: Session, days: int = 7, now: dt.datetime | None = None) -> TeamFlows:
    """Who talks to whom, between teams, over the last ``days`` calendar days, today
    included (team 0: no team).

    Grouped by team pair in SQL, so only (teams x teams) rows come back to Python. Past
    days are remembered (a week of a million-message home is ~80,000 rows to join), today
    is grouped afresh."""
    dates = day_range(days, now)
    start = dt.datetime.combine(dates[0], dt.time())
    today = dt.datetime.combine(dates[-1], dt.time())
    past = _remembered(("flows", database_key(session), dates[0], dates[-1]),
                       lambda: _team_pairs(session, start, today))
    matrix = dict(past)
    for pair, n in _team_pairs(session, today, None).items():
        matrix[pair] = matrix.get(pair, 0) + n
    names = {tid: f"{team} ({site_name})" for tid, team, site_name in session.execute(
        select(Team.id, Team.name, Site.name).join(Site, Site.id == Team.site_id))}
    names[0] = ""
    names[GROUP_POSTS] = ""
    return TeamFlows(days, names, matrix)
