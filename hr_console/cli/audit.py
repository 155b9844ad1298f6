"""``relais audit``: the tamper-evident audit log."""

from __future__ import annotations

import click

from hr_console.cli.common import Ctx


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.pass_obj
def audit_verify(obj: Ctx) -> None:
    """Check that no audit entry was altered, deleted or reordered."""
    from hr_console.services import audit as audit_svc

    store = obj.store()
    try:
        with store.session() as s:
            result = audit_svc.verify(s)
    finally:
        store.dispose()
    if not result.ok:
        raise click.ClickException(
            f"audit log NOT intact at entry {result.first_bad_id}: {result.problem}")
    click.echo(f"audit log intact: {result.entries} entries")



def register(main: click.Group) -> None:
    main.add_command(audit)
