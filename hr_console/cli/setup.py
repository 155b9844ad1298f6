"""``relais init``, ``relais demo-data`` and ``relais broker-config``: setting a home up."""

from __future__ import annotations

from pathlib import Path

import click

from hr_console.cli.common import Ctx, fail
from hr_console.cli.home import initialise, load_demo, print_demo
from hr_console.cli.i18n import Command, _, _l


@click.command(cls=Command, help=_l("Create the home: settings, database, broker configuration."))
@click.option("--tls", is_flag=True,
              help=_l("Encrypt the terminals' listener with a local CA made in HOME/tls."))
@click.option("--tls-host", "tls_hosts", multiple=True,
              help=_l("A name or address terminals use to reach this machine (repeatable; "
                      "default: this host's names and 127.0.0.1)."))
@click.pass_obj
def init(obj: Ctx, tls: bool, tls_hosts: tuple[str, ...]) -> None:
    from dataclasses import replace

    cfg = obj.cfg
    try:
        if tls or tls_hosts:
            from broker_config.tls import make_local_ca

            files = make_local_ca(cfg.home / "tls", list(tls_hosts) or None)
            cfg = replace(cfg, tls_cert=str(files.cert), tls_key=str(files.key),
                          tls_ca=str(files.ca_cert))
        cfg = initialise(cfg)
    except Exception as exc:
        raise fail(exc) from None
    click.echo(_("Relais home ready in {home} (database {database})").format(
        home=cfg.home, database=cfg.database_url.split('@')[-1]))
    if cfg.tls:
        click.echo(_("Terminals connect with TLS on port {port}; they trust {ca} "
                     "(sent to each terminal at enrolment).").format(port=cfg.mqtt_port, ca=cfg.tls_ca))


@click.command("demo-data", cls=Command,
               help=_l("Create the demo site, people, terminals and console logins."))
@click.option("--password", default=None, help=_l("Password of the demo console logins."))
@click.pass_obj
def demo_data(obj: Ctx, password: str | None) -> None:
    from hr_console.services.errors import ServiceError

    cfg = obj.ready_cfg()
    try:
        data = load_demo(cfg, password)
    except ServiceError as exc:  # a password the console would refuse: say why, change nothing
        raise fail(exc) from None
    if data is None:
        raise click.ClickException(_("demo data already exists in this home"))
    print_demo(data, cfg)



@click.command("broker-config", cls=Command,
               help=_l("Render the Mosquitto configuration from the database."))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help=_l("Directory to write mosquitto.conf, passwd and acl (default: the home's)."))
@click.pass_obj
def broker_config_cmd(obj: Ctx, out_dir: str | None) -> None:
    from dataclasses import replace

    from hr_console.services import broker

    cfg = obj.ready_cfg()
    settings = broker.broker_settings(cfg)
    if out_dir:
        settings = replace(settings, directory=Path(out_dir).absolute())
    store = obj.store()
    try:
        with store.session() as s:
            broker.apply(s, cfg, settings)
    finally:
        store.dispose()
    click.echo(_("broker configuration written to {directory}").format(directory=settings.directory))



def register(main: click.Group) -> None:
    main.add_command(init)
    main.add_command(demo_data)
    main.add_command(broker_config_cmd)
