"""Administration commands: ``relais purge`` (retention), ``relais gen-data`` (a large
realistic data set) and ``relais bench-console`` (server time of the busiest console pages).

Registered on the main group by ``register(main)`` at the end of ``hr_console/cli.py``.
"""

from __future__ import annotations

import secrets
import statistics
import time
from typing import Any

import click


def _store(obj: Any):  # noqa: ANN202
    return obj.store()


@click.command("purge")
@click.option("--days", type=click.IntRange(1, 3650), default=None,
              help="Keep this many days instead of the retention setting.")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.pass_obj
def purge(obj: Any, days: int | None, dry_run: bool) -> None:
    """Delete messages older than the retention (with their photos, pending downlinks and
    moderation decisions). Run it once a day, e.g. from cron:

      15 3 * * *  relais --home /srv/relais purge
    """
    from sqlalchemy import func, select

    from hr_console.services import retention
    from hr_console.store.models import Message

    store = _store(obj)
    try:
        if dry_run:
            with store.session() as s:
                before = retention.cutoff(s, days=days)
                n = s.scalar(select(func.count()).select_from(Message)
                             .where(Message.created_at < before)) or 0
            click.echo(f"would delete {n} messages created before {before:%Y-%m-%d %H:%M} UTC")
            return
        counts = retention.purge(store.session, actor="cli", days=days)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.dispose()
    click.echo(f"purged {counts.messages} messages, {counts.media} photos, "
               f"{counts.downlinks} pending downlinks, {counts.decisions} moderation decisions")


@click.command("gen-data")
@click.option("--employees", type=click.IntRange(2, 1_000_000), default=10_000, show_default=True)
@click.option("--messages", type=click.IntRange(0, 50_000_000), default=1_000_000, show_default=True)
@click.option("--days", type=click.IntRange(1, 3650), default=90, show_default=True)
@click.option("--sites", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--held", type=click.IntRange(0, 1_000_000), default=400, show_default=True,
              help="How many messages are left waiting for moderation.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--yes", is_flag=True, help="Add to a home that already holds messages.")
@click.pass_obj
def gen_data(obj: Any, employees: int, messages: int, days: int, sites: int, held: int,
             seed: int, yes: bool) -> None:
    """Fill the home's database with a large generated organisation and its messages
    (for benchmarks and demos; never on a production home)."""
    from sqlalchemy import func, select

    from hr_console.services import audit, gendata
    from hr_console.store.models import Message

    store = _store(obj)
    started = time.perf_counter()
    try:
        with store.session() as s:
            if not yes and (s.scalar(select(func.count()).select_from(Message)) or 0) > 0:
                raise click.ClickException("this home already holds messages: add --yes to add more")
            out = gendata.generate(s, employees=employees, messages=messages, days=days,
                                   sites=sites, held=min(held, messages), seed=seed,
                                   progress=lambda m: click.echo(f"  {m}", err=True))
            audit.record(s, "cli", "data.generate", None, employees=out.employees,
                         messages=out.messages, teams=out.teams)
        if store.is_sqlite:
            with store.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
    finally:
        store.dispose()
    click.echo(f"generated {out.sites} sites, {out.teams} teams, {out.employees} employees, "
               f"{out.terminals} terminals, {out.messages} messages ({out.held} held, "
               f"{out.decisions} decisions) in {time.perf_counter() - started:.0f} s")


BENCH_PAGES = [
    "/moderation/", "/moderation/queue.json?since=0", "/moderation/recent",
    "/moderation/recent?show=all", "/moderation/history", "/dashboard/",
    "/dashboard/charts/messages.svg", "/dashboard/charts/wait.svg",
    "/dashboard/charts/teams.svg", "/dashboard/charts/matrix.svg", "/audit/",
]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


@click.command("bench-console")
@click.option("--runs", type=click.IntRange(3, 1000), default=15, show_default=True)
@click.option("--warmup", type=click.IntRange(0, 100), default=3, show_default=True)
@click.option("--page", "pages", multiple=True, help="Measure only these paths.")
@click.option("--no-cache", is_flag=True, help="Recompute the team charts at every request.")
@click.pass_obj
def bench_console(obj: Any, runs: int, warmup: int, pages: tuple[str, ...], no_cache: bool) -> None:
    """Server time of the moderation queue, the dashboard and its charts: each page is
    requested through the Flask test client (the WSGI call, no network), signed in as a
    temporary HR user; prints median and p95 in milliseconds."""
    from sqlalchemy import func, select, update

    from hr_console.services import directory
    from hr_console.store.models import ConsoleUser, Message
    from hr_console.web import create_app

    cfg = obj.ready_cfg()
    store = _store(obj)
    username, password = f"bench-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    with store.session() as s:
        directory.console_user(s, username, password, "hr", language="en", actor="bench")
        n_messages = s.scalar(select(func.count()).select_from(Message)) or 0
    app = create_app(cfg, {"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                           **({"DASHBOARD_CACHE_S": 0} if no_cache else {})})
    client = app.test_client()
    try:
        resp = client.post("/auth/login", data={"username": username, "password": password})
        if resp.status_code != 302:
            raise click.ClickException("could not sign in the benchmark user")
        click.echo(f"{n_messages} messages; {runs} runs after {warmup} warm-up requests")
        click.echo(f"{'page':40} {'median ms':>10} {'p95 ms':>10}")
        for path in pages or BENCH_PAGES:
            for _ in range(warmup):
                client.get(path)
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                resp = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                if resp.status_code != 200:
                    raise click.ClickException(f"{path} answered {resp.status_code}")
            click.echo(f"{path:40} {statistics.median(times):10.1f} {_p95(times):10.1f}")
    finally:
        with store.session() as s:
            s.execute(update(ConsoleUser).where(ConsoleUser.username == username)
                      .values(active=False))
        app.extensions["relais_store"].dispose()
        store.dispose()


def register(main: click.Group) -> None:
    for command in (purge, gen_data, bench_console):
        main.add_command(command)
