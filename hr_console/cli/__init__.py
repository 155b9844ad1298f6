"""The ``relais`` command: the root group, its common options, and one module per command
group (``setup``, ``terminal``, ``user``, ``audit``, ``run``, ``kiosk``, ``site``, ...).
This module imports the command modules; they import ``common`` and ``home``, never this
module (an import-linter contract, pyproject.toml). Every subcommand exits non-zero with a
one-line reason when it cannot do its job (docs/architecture.md, "Operating contract")."""

from __future__ import annotations

import os
from typing import Any

import click

from hr_console.cli import (
    admin,
    audit,
    backup,
    bench,
    db,
    ejabberd,
    kiosk,
    logs,
    person,
    relays,
    run,
    setup,
    site,
    terminal,
    user,
)
from hr_console.cli.common import PRIVATE_UMASK, Ctx, fail, hoist_common_options, missing_extra
from hr_console.cli.i18n import Group, _l


class _Main(Group):
    """A broker that did not take its new files is one line and a non-zero exit, from any
    command (they all reach it through ``services.broker.apply``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_common_options(self, ctx, list(args)))

    def invoke(self, ctx: click.Context) -> Any:
        from broker_config.render import ReloadError

        try:
            return super().invoke(ctx)
        except ReloadError as exc:
            raise fail(exc) from None
        except ModuleNotFoundError as exc:
            raise missing_extra(exc) from None


@click.group(cls=_Main, help=_l("Relais: HR-moderated messaging for shop-floor terminals."))
@click.option("--home", envvar="RELAIS_HOME", default=None,
              help=_l("Data directory (default ./var, or RELAIS_HOME)."))
@click.option("--mqtt-port", type=int, default=None, help=_l("The terminals' MQTT port."))
@click.option("--console-port", type=int, default=None, help=_l("The console's HTTP port."))
@click.option("--db-url", default=None, help=_l("Database URL (default: SQLite in the home)."))
@click.option("--trusted-proxies", type=click.IntRange(0, 10), default=None,
              help=_l("Reverse proxies in front of the console whose X-Forwarded-* to believe."))
@click.option("--public-mqtt-host", default=None,
              help=_l("The broker's name as terminals reach it (given at enrolment)."))
@click.option("--public-console-url", default=None,
              help=_l("The console's address as terminals reach it, e.g. "
                      "https://relais.usine.local."))
@click.option("-v", "--verbose", is_flag=True,
              help=_l("Log everything, at DEBUG (or RELAIS_LOG=debug); `up` then shows all on "
                      "the terminal."))
@click.pass_context
def main(ctx: click.Context, home: str | None, mqtt_port: int | None, console_port: int | None,
         db_url: str | None, trusted_proxies: int | None, public_mqtt_host: str | None,
         public_console_url: str | None, verbose: bool) -> None:
    os.umask(PRIVATE_UMASK)  # first, before anything is created; Mosquitto inherits it
    logs.setup(verbose)
    ctx.obj = Ctx(home, {"mqtt_port": mqtt_port, "console_port": console_port, "db_url": db_url,
                         "trusted_proxies": trusted_proxies, "public_mqtt_host": public_mqtt_host,
                         "public_console_url": public_console_url}, verbose)


for _module in (setup, terminal, user, audit, run, kiosk, site, relays, db, ejabberd, admin,
                backup, bench, person):
    _module.register(main)
