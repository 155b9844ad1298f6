"""``relais audit``: the tamper-evident audit log."""

from __future__ import annotations

import click

from hr_console.cli.common import Ctx
from hr_console.cli.i18n import Group, _, _l


@click.group(cls=Group, help=_l("The tamper-evident audit log."))
def audit() -> None:
    pass


@audit.command("verify", help=_l("Check that no audit entry was altered, deleted or reordered."))
@click.pass_obj
def audit_verify(obj: Ctx) -> None:
    from hr_console.services import audit as audit_svc

    store = obj.store()
    try:
        with store.session() as s:
            result = audit_svc.verify(s)
    finally:
        store.dispose()
    if not result.ok:
        raise click.ClickException(_("audit log NOT intact at entry {entry}: {problem}").format(
            entry=result.first_bad_id, problem=result.problem))
    click.echo(_("audit log intact: {entries} entries").format(entries=result.entries))



def register(main: click.Group) -> None:
    main.add_command(audit)
