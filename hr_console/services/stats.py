"""Figures for the dashboard: what waits, what flows, who talks to whom.

Days are UTC calendar days (the database stores UTC). Every query is bounded by a time
window on an indexed column, so the dashboard stays fast with millions of messages.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

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

OFFLINE_AFTER = dt.timedelta(minutes=10)  # a terminal silent this long counts as offline


def _midnight(now: dt.datetime) -> dt.datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


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


def overview(session: Session, now: dt.datetime | None = None) -> Overview:
    now = now or utcnow()
    held = session.scalar(select(func.count()).select_from(Message).where(Message.state == "held"))
    oldest = session.scalar(select(func.min(Message.created_at)).where(Message.state == "held"))
    today = session.scalar(select(func.count()).select_from(Message)
                           .where(Message.created_at >= _midnight(now)))
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
                    offline)


# --- charts -------------------------------------------------------------------------------------


def messages_per_day(session: Session, days: int = 14,
                     now: dt.datetime | None = None) -> list[tuple[dt.date, int]]:
    """Messages received per day (every state), oldest day first, zero-filled.

    One range count per day on the time index (covering): no per-row date function, the
    same SQL on SQLite and PostgreSQL."""
    out = []
    for d in day_range(days, now):
        start = dt.datetime.combine(d, dt.time())
        n = session.scalar(select(func.count()).select_from(Message).where(
            Message.created_at >= start, Message.created_at < start + dt.timedelta(days=1)))
        out.append((d, n or 0))
    return out


@dataclass(frozen=True)
class WaitDay:
    day: dt.date
    decided: int
    median_s: float | None
    p90_s: float | None


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def _seconds_between(later, earlier):  # noqa: ANN001, ANN202 - SQL expressions
    """``later - earlier`` in seconds, computed by the database (no per-row datetime
    parsing in Python)."""
    return func.extract("epoch", later - earlier)


def _seconds_between_sqlite(later, earlier):  # noqa: ANN001, ANN202
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def moderation_wait(session: Session, days: int = 14,
                    now: dt.datetime | None = None) -> list[WaitDay]:
    """How long held messages waited for a decision (approve or reject), per decision day."""
    dates = day_range(days, now)
    start = dt.datetime.combine(dates[0], dt.time())
    between = (_seconds_between_sqlite if session.get_bind().dialect.name == "sqlite"
               else _seconds_between)
    decided_day = func.date(ModerationDecision.created_at)
    rows = session.execute(
        select(decided_day, between(ModerationDecision.created_at, Message.created_at))
        .join(Message, Message.id == ModerationDecision.message_id)
        .where(ModerationDecision.created_at >= start,
               ModerationDecision.decision.in_(("approve", "reject")))
    ).all()
    waits: dict[str, list[float]] = defaultdict(list)
    for day, seconds in rows:
        waits[str(day)[:10]].append(max(0.0, float(seconds or 0)))
    out = []
    for d in dates:
        values = sorted(waits.get(d.isoformat(), ()))
        out.append(WaitDay(d, len(values), _percentile(values, 0.5) if values else None,
                           _percentile(values, 0.9) if values else None))
    return out


@dataclass(frozen=True)
class TeamFlows:
    """Messages between teams over a window: ``matrix[(from_team, to_team)] = count``."""

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


def team_flows(session: Session, days: int = 7, now: dt.datetime | None = None) -> TeamFlows:
    """Who talks to whom, between teams, over the last ``days`` days (team 0: no team).

    Grouped by team pair in SQL, so only (teams x teams) rows come back to Python."""
    start = (now or utcnow()) - dt.timedelta(days=days)
    sender, recipient = aliased(Employee), aliased(Employee)
    rows = session.execute(
        select(sender.team_id, recipient.team_id, func.count())
        .select_from(Message)
        .join(sender, sender.id == Message.sender_id)
        .join(recipient, recipient.id == Message.recipient_id)
        .where(Message.created_at >= start)
        .group_by(sender.team_id, recipient.team_id)
    ).all()
    matrix: dict[tuple[int, int], int] = defaultdict(int)
    for src, dst, n in rows:
        matrix[(src or 0, dst or 0)] += n
    names = {tid: f"{team} ({site_name})" for tid, team, site_name in session.execute(
        select(Team.id, Team.name, Site.name).join(Site, Site.id == Team.site_id))}
    names[0] = ""
    return TeamFlows(days, names, dict(matrix))
