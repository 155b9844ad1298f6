"""Administration commands: ``relais purge`` (retention), ``relais gen-data`` (a large
realistic data set) and ``relais bench-console`` (server time of the busiest console pages).

Registered on the root group by ``register(main)`` (``hr_console/cli/__init__.py``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import secrets
import statistics
import time
from dataclasses import dataclass
from typing import Any

import click

from hr_console.cli.common import fail
from hr_console.cli.i18n import Command, _, _l


def _store(obj: Any):  # noqa: ANN202
    return obj.store()


@click.command("purge", cls=Command, help=_l(
    "Delete messages older than the retention (with their photos, pending downlinks and\n"
    "moderation decisions). Run it once a day, e.g. from cron:\n"
    "\n"
    "  15 3 * * *  relais --home /srv/relais purge"))
@click.option("--days", type=click.IntRange(1, 3650), default=None,
              help=_l("Keep this many days instead of the retention setting."))
@click.option("--dry-run", is_flag=True, help=_l("Only count what would be deleted."))
@click.pass_obj
def purge(obj: Any, days: int | None, dry_run: bool) -> None:
    from hr_console.services import retention

    store = _store(obj)
    try:
        if dry_run:
            with store.session() as s:
                before = retention.cutoff(s, days=days)
                n, held = retention.due(s, before)
            click.echo(_("would delete {n} messages created before {before:%Y-%m-%d %H:%M} UTC")
                       .format(n=n, before=before)
                       + (_(" (and keep {held} under a legal hold)").format(held=held) if held else ""))
            return
        counts = retention.purge(store.session, actor="cli", days=days)
    except ValueError as exc:
        raise fail(exc) from None
    finally:
        store.dispose()
    click.echo(_("purged {messages} messages, {media} photos, {downlinks} pending downlinks, "
                 "{decisions} moderation decisions").format(
        messages=counts.messages, media=counts.media, downlinks=counts.downlinks,
        decisions=counts.decisions)
               + (_("; kept {held} under a legal hold").format(held=counts.held)
                  if counts.held else "")
               + (_("; {photos} safety alert photos").format(photos=counts.alert_photos)
                  if counts.alert_photos else "")
               + (_("; {sessions} badge sessions").format(sessions=counts.sessions)
                  if counts.sessions else ""))


@click.command("gen-data", cls=Command, help=_l(
    "Fill the home's database with a large generated organisation (teams, supervisors, HR desk, "
    "contact rules, badges, PINs, terminals, shifts) and its messages (for benchmarks and demos; "
    "never on a production home)."))
@click.option("--employees", type=click.IntRange(2, 1_000_000), default=10_000, show_default=True)
@click.option("--messages", type=click.IntRange(0, 50_000_000), default=1_000_000, show_default=True)
@click.option("--days", type=click.IntRange(1, 3650), default=90, show_default=True)
@click.option("--sites", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--held", type=click.IntRange(0, 1_000_000), default=400, show_default=True,
              help=_l("How many messages are left waiting for moderation."))
@click.option("--team-size", type=click.IntRange(2, 10_000), default=40, show_default=True)
@click.option("--person-rules", type=click.IntRange(0, 1_000_000), default=200,
              show_default=True, help=_l("Person-to-person contact rules."))
@click.option("--team-pairs", type=click.IntRange(0, 1_000_000), default=50,
              show_default=True, help=_l("Team-to-team contact rules (a fifth across sites)."))
@click.option("--pins", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help=_l("Share of employees whose badge also asks for a PIN."))
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--yes", is_flag=True, help=_l("Add to a home that already holds messages."))
@click.pass_obj
def gen_data(obj: Any, employees: int, messages: int, days: int, sites: int, held: int,
             team_size: int, person_rules: int, team_pairs: int, pins: float, seed: int,
             yes: bool) -> None:
    from sqlalchemy import func, select

    from hr_console.services import audit, gendata
    from hr_console.store.models import Message

    store = _store(obj)
    started = time.perf_counter()
    try:
        with store.session() as s:
            if not yes and (s.scalar(select(func.count()).select_from(Message)) or 0) > 0:
                raise click.ClickException(
                    _("this home already holds messages: add --yes to add more"))
            out = gendata.generate(s, employees=employees, messages=messages, days=days,
                                   sites=sites, held=min(held, messages), seed=seed,
                                   team_size=team_size, person_rules=person_rules,
                                   team_pairs=team_pairs, pins=pins,
                                   pepper=obj.ready_cfg().badge_pepper,
                                   progress=lambda m: click.echo(f"  {m}", err=True))
            audit.record(s, "cli", "data.generate", None, employees=out.employees,
                         messages=out.messages, teams=out.teams)
        with store.engine.connect() as conn:  # fresh statistics for the query planner
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    finally:
        store.dispose()
    seconds = time.perf_counter() - started
    info = {**dataclasses.asdict(out), "seconds": round(seconds, 1)}
    (obj.ready_cfg().home / GEN_INFO).write_text(json.dumps(info), encoding="utf-8")
    click.echo(_("generated {sites} sites, {teams} teams, {employees} employees, {rules} contact "
                 "rules, {shifts} shifts, {terminals} terminals, {messages} messages ({held} held, "
                 "{decisions} decisions) in {seconds:.0f} s").format(
        sites=out.sites, teams=out.teams, employees=out.employees, rules=out.rules,
        shifts=out.shifts, terminals=out.terminals, messages=out.messages, held=out.held,
        decisions=out.decisions, seconds=seconds))
    if out.badges:
        click.echo(_("badges {first} to {last}; {pins} of them also ask for PIN {pin}").format(
            first=out.badge_first, last=out.badge_last, pins=out.pins, pin=gendata.GEN_PIN))


# (area, what, path): {site}, {team} and {last_page} are filled from the database.
BENCH_PAGES = [
    ("moderation", "held queue, first page", "/moderation/"),
    ("moderation", "live queue poll", "/moderation/queue.json?since=0"),
    ("moderation", "delivered, to review", "/moderation/recent"),
    ("moderation", "delivered, all", "/moderation/recent?show=all"),
    ("moderation", "decisions", "/moderation/history"),
    ("moderation", "decisions, page 100", "/moderation/history?page=100"),
    ("employees", "first page", "/employees/"),
    ("employees", "search by name", "/employees/?q=martin"),
    ("employees", "search, accents folded", "/employees/?q=lea+masson"),
    ("employees", "filter: team", "/employees/?team={team}"),
    ("employees", "filter: site + language", "/employees/?site={site}&language=en"),
    ("employees", "late page", "/employees/?page={last_page}"),
    ("contacts", "policy, group rules", "/contacts/"),
    ("contacts", "a worker's contacts", "/contacts/{worker}"),
    ("contacts", "a supervisor's contacts", "/contacts/{supervisor}"),
    ("contacts", "the HR desk's contacts (everyone)", "/contacts/{hr_desk}"),
    ("dashboard", "page", "/dashboard/"),
    ("dashboard", "chart: messages per day", "/dashboard/charts/messages.svg"),
    ("dashboard", "chart: moderation wait", "/dashboard/charts/wait.svg"),
    ("dashboard", "chart: volume per team", "/dashboard/charts/teams.svg"),
    ("dashboard", "chart: who talks to whom", "/dashboard/charts/matrix.svg"),
]
TARGET_MS = 200.0
GEN_INFO = "gen-data.json"  # what `gen-data` made, kept in the home for the report


@dataclass
class Figure:
    area: str
    what: str
    path: str
    median_ms: float
    p95_ms: float
    cpu_ms: float
    cold: bool = False

    @property
    def ok(self) -> bool:
        return self.p95_ms < TARGET_MS


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(0.95 * len(ordered)) - 1))]


def _fill(path: str, session: Any) -> str:
    """A bench path with real ids: a team and a site that have people, a worker and the
    supervisor of that team, someone of the HR desk, the last page. The team is one of
    workers: the HR desk's own team (gen-data's first) would make the worker's and the
    supervisor's pages two more HR desk pages."""
    from sqlalchemy import func, select

    from hr_console.services.employees import DEFAULT_PER_PAGE
    from hr_console.store.models import Employee, Team

    if "{" not in path:
        return path
    team_id, site_id = session.execute(
        select(Team.id, Team.site_id).join(Employee, Employee.team_id == Team.id)
        .where(Employee.is_hr_desk.is_(False))
        .order_by(Team.id).limit(1)).first() or (0, 0)
    active = session.scalar(select(func.count()).select_from(Employee)
                            .where(Employee.active.is_(True))) or 0
    supervisor = session.scalar(select(Team.supervisor_id).where(Team.id == team_id)) or 0
    worker = session.scalar(select(Employee.id).where(
        Employee.team_id == team_id, Employee.id != supervisor, Employee.active.is_(True),
        Employee.is_hr_desk.is_(False)).order_by(Employee.id).limit(1)) or 0
    hr_desk = session.scalar(select(Employee.id).where(Employee.is_hr_desk.is_(True))
                             .order_by(Employee.id).limit(1)) or 0
    return path.format(team=team_id, site=site_id, worker=worker, supervisor=supervisor,
                       hr_desk=hr_desk, last_page=max(1, -(-active // DEFAULT_PER_PAGE)))


def measure(client: Any, path: str, runs: int, warmup: int) -> tuple[float, float, float]:
    """(median, p95, median CPU) in ms of ``runs`` GETs of ``path`` after ``warmup``."""
    for _i in range(warmup):
        client.get(path)
    wall, cpu = [], []
    for _i in range(runs):
        t0, c0 = time.perf_counter(), time.thread_time()
        resp = client.get(path)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        if resp.status_code != 200:
            raise click.ClickException(f"{path} answered {resp.status_code}")
    return statistics.median(wall), _p95(wall), statistics.median(cpu)


def _set_caches(app: Any, ttl: float, flows_ttl: float) -> None:
    """Chart caches on (the figures' own TTLs) or off (0): the service's and the view's."""
    from hr_console.services import stats

    stats.CLOSED_DAYS_TTL_S = ttl
    app.config["DASHBOARD_CACHE_S"] = flows_ttl
    stats.forget()
    app.extensions.pop("relais_dashboard", None)


def _dialect_title(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite" if url.startswith(
        "sqlite") else url.split(":", 1)[0]


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on every platform
        return None


def console_markdown(title: str, figures: list[Figure], *, messages: int, employees: int,
                     runs: int, warmup: int, generated: dict | None,
                     load: tuple[float | None, float | None] = (None, None)) -> str:
    """The block of one database in the "console" section of docs/benchmarks.md."""
    from bench.report import machine

    made = ""
    if generated:
        org = (f"{generated['teams']:,} teams, {generated['rules']:,} contact rules, "
               if "teams" in generated and "rules" in generated else "")
        made = (f" Data made by `relais gen-data` in {generated.get('seconds', 0):.0f} s "
                f"({org}{generated.get('held', 0)} held, "
                f"{generated.get('decisions', 0)} decisions).")
    lines = [
        f"### {title}: {employees:,} employees, {messages:,} messages",
        "",
        f"{time.strftime('%Y-%m-%d')}, {machine()}.{made} Server time of one request through "
        f"Flask's test client (the WSGI call, no network), signed in as HR: median and 95th "
        f"percentile of {runs} runs after {warmup} warm-up requests; CPU is this process's "
        f"share (the database server's is not in it). Target: p95 under {TARGET_MS:.0f} ms."
        + (f" Load average {load[0]:.1f} at the start, {load[1]:.1f} at the end (a shared "
           f"machine: wall times include waiting for a core; CPU does not)."
           if None not in load else ""),
        "",
        "| area | request | median ms | p95 ms | CPU ms | under target |",
        "|---|---|---:|---:|---:|:-:|",
    ]
    for f in figures:
        what = f"{f.what} (no cache)" if f.cold else f.what
        lines.append(f"| {f.area} | {what} `{f.path}` | {f.median_ms:.1f} | {f.p95_ms:.1f} | "
                     f"{f.cpu_ms:.1f} | {'yes' if f.ok else '**no**'} |")
    return "\n".join(lines)


def merge_console_section(current: str, key: str, block: str) -> str:
    """The "console" section with the block of one database replaced (others kept)."""
    import re

    from hr_console.services import stats

    blocks = dict(re.findall(r"<!-- console:(\w+) -->\n(.*?)\n<!-- /console:\1 -->",
                             current, re.DOTALL))
    blocks[key] = block.strip()
    intro = ("Written by `relais bench-console` on a home filled by `relais gen-data` "
             "(by default 10,000 employees and 1,000,000 messages over 90 days); each database's block "
             "is rewritten by its own run. Charts remember the figures of past days for "
             f"{stats.CLOSED_DAYS_TTL_S:.0f} s (today's are read at every request); the rows marked "
             "\"no cache\" measure them recomputed every time.")
    parts = [intro]
    for name in sorted(blocks):
        b, e = f"<!-- console:{name} -->", f"<!-- /console:{name} -->"
        parts.append(f"{b}\n{blocks[name]}\n{e}")
    return "\n\n".join(parts)


def _current_section(path: Any, name: str) -> str:
    import re

    text = path.read_text(encoding="utf-8") if path.exists() else ""
    m = re.search(rf"<!-- BEGIN {name} -->\n(.*?)\n<!-- END {name} -->", text, re.DOTALL)
    return m.group(1) if m else ""


@click.command("bench-console", cls=Command, help=_l(
    "Server time of the moderation queue, the employee list and the dashboard with its charts: "
    "each page is requested through the Flask test client (the WSGI call, no network), signed "
    "in as a temporary HR user; prints median and p95 in milliseconds and writes them to "
    "section \"console\" of docs/benchmarks.md."))
@click.option("--runs", type=click.IntRange(3, 1000), default=20, show_default=True)
@click.option("--warmup", type=click.IntRange(0, 100), default=3, show_default=True)
@click.option("--page", "pages", multiple=True,
              help=_l("Measure only these paths (not written)."))
@click.option("--no-cache", is_flag=True,
              help=_l("Recompute the chart figures at every request."))
@click.option("--no-write", is_flag=True,
              help=_l("Print only; leave docs/benchmarks.md alone."))
@click.option("--report", type=click.Path(dir_okay=False), default=None,
              help=_l("Write to this Markdown file instead of docs/benchmarks.md."))
@click.pass_obj
def bench_console(obj: Any, runs: int, warmup: int, pages: tuple[str, ...], no_cache: bool,
                  no_write: bool, report: str | None) -> None:
    from pathlib import Path

    from sqlalchemy import func, select, update

    from bench.report import BENCHMARKS, replace_section
    from hr_console.services import directory, stats
    from hr_console.store.models import ConsoleUser, Employee, Message
    from hr_console.web import create_app

    cfg = obj.ready_cfg()
    store = _store(obj)
    username, password = f"bench-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    with store.session() as s:
        directory.console_user(s, username, password, "hr", language="en", actor="bench")
        n_messages = s.scalar(select(func.count()).select_from(Message)) or 0
        n_employees = s.scalar(select(func.count()).select_from(Employee)) or 0
        plan = ([("custom", p, p) for p in pages] if pages else
                [(area, what, _fill(path, s)) for area, what, path in BENCH_PAGES])
    app = create_app(cfg, {"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    figures: list[Figure] = []
    ttl, flows_ttl = stats.CLOSED_DAYS_TTL_S, app.config.get("DASHBOARD_CACHE_S", 60)
    try:
        resp = client.post("/auth/login", data={"username": username, "password": password})
        if resp.status_code != 302:
            raise click.ClickException(_("could not sign in the benchmark user"))
        load_start = _load()
        click.echo(_("{employees} employees, {messages} messages; {runs} runs after {warmup} "
                     "warm-up requests").format(employees=n_employees, messages=n_messages,
                                                runs=runs, warmup=warmup))
        click.echo(f"{'request':58} {'median ms':>10} {'p95 ms':>8} {'CPU ms':>8}")
        if no_cache:
            _set_caches(app, 0, 0)
        for area, what, path in plan:
            figures.append(Figure(area, what, path, *measure(client, path, runs, warmup),
                                  cold=no_cache and "/charts/" in path))
        if not no_cache and not pages:  # the charts once more, recomputed every time
            _set_caches(app, 0, 0)
            for area, what, path in plan:
                if "/charts/" in path:
                    figures.append(Figure(area, what, path,
                                          *measure(client, path, max(3, runs // 3), 1), cold=True))
        load_end = _load()
        for f in figures:
            label = f"{f.area}: {f.what}{' (no cache)' if f.cold else ''}"
            click.echo(f"{label:58} {f.median_ms:10.1f} {f.p95_ms:8.1f} {f.cpu_ms:8.1f}"
                       f"{'' if f.ok else '  over target'}")
    finally:
        _set_caches(app, ttl, flows_ttl)
        with store.session() as s:
            s.execute(update(ConsoleUser).where(ConsoleUser.username == username)
                      .values(active=False))
        app.extensions["relais_store"].dispose()
        store.dispose()
    if no_write or pages:
        return
    info_path = Path(cfg.home) / GEN_INFO
    generated = json.loads(info_path.read_text(encoding="utf-8")) if info_path.exists() else None
    title = _dialect_title(cfg.database_url)
    block = console_markdown(title, figures, messages=n_messages, employees=n_employees,
                             runs=runs, warmup=warmup, generated=generated,
                             load=(load_start, load_end))
    target = Path(report) if report else BENCHMARKS
    replace_section(target, "console",
                    merge_console_section(_current_section(target, "console"), title.lower(),
                                          block))
    click.echo(_("written to {file} (section console, {title})").format(file=target, title=title))


def register(main: click.Group) -> None:
    for command in (purge, gen_data, bench_console):
        main.add_command(command)
