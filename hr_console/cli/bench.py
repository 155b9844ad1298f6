"""``relais bench``: the relay measured side by side with the raw broker (issue 5), a
Prosody + mod_mam peer, badge-in at size and CPU-capped relays (issue 14)."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import click

from hr_console.cli.i18n import Command, _, _l

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_url(pg: str | None, no_pg: bool) -> str | None:
    from bench.system import pg_reachable

    if no_pg:
        return None
    if pg:
        if not pg_reachable(pg):
            raise click.ClickException(_("PostgreSQL at {url} does not answer").format(url=pg))
        return pg
    url = os.environ.get("RELAIS_TEST_PG_URL") or DEFAULT_PG
    return url if pg_reachable(url) else None


@click.command(cls=Command, help=_l(
    "Measure the relay against the raw broker and a Prosody + mod_mam peer, badge-in at 10,000 "
    "and 50,000 employees, one to three relays capped at 40 percent of a core each, the shift change; "
    "print JSON, rewrite docs/benchmarks.md."))
@click.option("--quick", is_flag=True, help=_l("A few seconds: checks the harness, not speed."))
@click.option("--long", "long_", is_flag=True, help=_l("A ten-minute scale run."))
@click.option("--pg", default=None, help=_l("PostgreSQL admin URL for figures 6 and 9 (default: "
                                            "RELAIS_TEST_PG_URL or the local server, when it "
                                            "answers)."))
@click.option("--no-pg", is_flag=True, help=_l("Skip PostgreSQL."))
@click.option("--no-write", is_flag=True, help=_l("Print the JSON only; leave the docs alone."))
@click.option("--profile", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=_l("Run the relays under pyinstrument and write their profiles here."))
def bench(quick: bool, long_: bool, pg: str | None, no_pg: bool, no_write: bool,
          profile: Path | None) -> None:
    from bench import runner

    # A stopped bench still stops its broker, relays and load processes (finally blocks).
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
    try:
        result = runner.run(quick=quick, long=long_, pg_url=_pg_url(pg, no_pg),
                            profile=profile.absolute() if profile else None,
                            say=lambda m: click.echo(m, err=True))
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    if not no_write:
        runner.write_doc(result)
        click.echo(_("docs/benchmarks.md: section 'relay' rewritten"), err=True)


def register(main: click.Group) -> None:
    main.add_command(bench)
