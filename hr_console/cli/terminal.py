"""``relais terminal``: enrol, revoke and rotate terminals."""

from __future__ import annotations

import json
from typing import Any

import click

from hr_console.cli.common import Ctx, fail
from hr_console.cli.home import save_kiosk_config
from hr_console.cli.i18n import N_, Group, _, _l


@click.group(cls=Group, help=_l("Enrol, revoke and rotate terminals."))
def terminal() -> None:
    pass


@terminal.command("add", help=_l("Enrol a terminal; prints its credentials as JSON, once."))
@click.argument("name")
@click.option("--site", "site_name", required=True, help=_l("Site the terminal stands on."))
@click.pass_obj
def terminal_add(obj: Ctx, name: str, site_name: str) -> None:
    from hr_console.services import broker, directory
    from hr_console.services.errors import ServiceError

    cfg = obj.ready_cfg()
    store = obj.store()
    try:
        with store.session() as s:
            site = directory.site_by_name(s, site_name)
            _row, creds = directory.terminal(s, name, site, actor="cli")
            s.flush()
            broker.apply(s, cfg)
    except ServiceError as exc:
        raise fail(exc, {"not_found": N_("This site does not exist."),
                         "name_taken": N_("A terminal with this name already exists.")}) from None
    finally:
        store.dispose()
    # Shown once and written nowhere: the terminal keeps what `relais kiosk-enrol` gives it.
    click.echo(json.dumps(enrol_hint(cfg, creds.as_json())))


def _terminal_change(obj: Ctx, name: str, change):  # noqa: ANN001, ANN202
    """Run ``change(session, terminal_row)`` on a named terminal, then re-render and reload
    the broker in the same unit of work, so the broker never lags the database."""
    from hr_console.services import broker, sessions
    from hr_console.services.errors import ServiceError

    cfg = obj.ready_cfg()
    store = obj.store()
    try:
        with store.session() as s:
            row = sessions.terminal_by_name(s, name)
            if row is None:
                raise click.ClickException(_("no terminal named {name!r}").format(name=name))
            result = change(s, row)
            s.flush()
            broker.apply(s, cfg)
    except ServiceError as exc:
        raise fail(exc) from None
    finally:
        store.dispose()
    return cfg, result


@terminal.command("revoke",
                  help=_l("Revoke a terminal's credentials; the broker drops it at once."))
@click.argument("name")
@click.pass_obj
def terminal_revoke(obj: Ctx, name: str) -> None:
    from hr_console.services import terminals

    _cfg, ended = _terminal_change(obj, name, lambda s, row: terminals.revoke(s, row, actor="cli"))
    click.echo(_("terminal {name} revoked ({ended} badge session(s) ended)").format(
        name=name, ended=ended))


def _is_demo_kiosk(row: Any) -> bool:
    """A terminal ``relais demo-data`` made, whose kiosk runs from this home's files."""
    from hr_console.services import demo

    return row.name in demo.TERMINALS and row.site is not None and row.site.name == demo.SITE_NAME


@terminal.command("rotate", help=_l("New credentials for a terminal (the old password stops "
                                      "working); printed once."))
@click.argument("name")
@click.pass_obj
def terminal_rotate(obj: Ctx, name: str) -> None:
    from hr_console.services import terminals

    cfg, (creds, demo_kiosk) = _terminal_change(
        obj, name, lambda s, row: (terminals.rotate(s, row, actor="cli"), _is_demo_kiosk(row)))
    if demo_kiosk:  # the demo's kiosk window keeps working with its new password
        save_kiosk_config(cfg, creds.as_json())
    else:  # a file an earlier version wrote for it holds an old password: gone
        (cfg.home / "kiosks" / name / "config.json").unlink(missing_ok=True)
    click.echo(json.dumps(creds.as_json()))


def enrol_hint(cfg: Any, shown: dict[str, Any]) -> dict[str, Any]:
    """What ``relais terminal add`` prints with the credentials: the home CA's fingerprint
    in the JSON (``ca_fingerprint``), and, on stderr, the command to type on the terminal
    with the code's validity, so nothing is copied to it by hand."""
    from hr_console.services.directory import ENROL_CODE_MINUTES
    from hr_console.services.enrolment import ca_fingerprint

    fingerprint = ca_fingerprint(cfg)
    url = getattr(cfg, "public_console_url", "") or "https://CONSOLE"
    command = f"relais kiosk-enrol {url} {shown.get('enrol_code', 'CODE')}"
    if fingerprint:
        shown = {**shown, "ca_fingerprint": fingerprint}
        command += f" --ca-fingerprint {fingerprint}"
    click.echo(_("on the terminal, within {minutes} minutes (the code works once): {command}")
               .format(minutes=ENROL_CODE_MINUTES, command=command), err=True)
    return shown


def register(main: click.Group) -> None:
    main.add_command(terminal)
