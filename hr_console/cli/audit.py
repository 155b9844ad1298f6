"""``relais audit``: the tamper-evident audit log."""

from __future__ import annotations

import click

from hr_console.cli.common import Ctx
from hr_console.cli.i18n import Group, _, _l, ngettext


@click.group(cls=Group, help=_l("The tamper-evident audit log."))
def audit() -> None:
    pass


@audit.command("verify", help=_l("Check that no audit entry was altered, deleted or reordered."))
@click.pass_obj
def audit_verify(obj: Ctx) -> None:
    from hr_console.services import audit as audit_svc
    from hr_console.store.db import read_snapshot

    store = obj.store()
    try:  # one snapshot (entries, heads, openings agree), and no lock a relay would wait on
        with read_snapshot(store) as s:
            result = audit_svc.verify(s)
    finally:
        store.dispose()
    if not result.ok:
        raise click.ClickException(_("audit log NOT intact at entry {entry}: {problem}").format(
            entry=result.first_bad_id, problem=result.problem_in(_)))
    click.echo(ngettext("audit log intact: {entries} entries in {chains} chain",
                        "audit log intact: {entries} entries in {chains} chains",
                        result.chains).format(entries=result.entries, chains=result.chains))



def register(main: click.Group) -> None:
    main.add_command(audit)
