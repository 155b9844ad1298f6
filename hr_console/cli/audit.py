"""``relais audit``: the tamper-evident audit log."""

from __future__ import annotations

import click

from hr_console.cli.common import Ctx
from hr_console.cli.i18n import Group, _, _l, ngettext


@click.group(cls=Group, help=_l("The tamper-evident audit log."))
def audit() -> None:
    pass


def _anchors(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list:
    from hr_console.services.audit import Anchor

    try:
        return [Anchor.parse(v) for v in values]
    except ValueError:
        raise click.BadParameter(_("write an anchor as its entry number, a colon and at "
                                   "least 20 hexadecimal digits, as `relais audit verify` "
                                   "shows it: 1234:9f3a2c718b0e44d1c07a")) from None


@audit.command("verify", help=_l("Check that no audit entry was altered, deleted or reordered."))
@click.option("--anchor", "anchors", multiple=True, callback=_anchors, metavar="POS:HASH",
              help=_l("An anchor noted earlier (shown by this command and in the works "
                      "council report): fails if what it covers was rewritten or cut, "
                      "even with every hash recomputed. Can be given several times."))
@click.pass_obj
def audit_verify(obj: Ctx, anchors: list) -> None:
    from hr_console.services import audit as audit_svc
    from hr_console.store.db import read_snapshot

    store = obj.store()
    try:  # one snapshot (entries, heads, openings agree), and no lock a relay would wait on
        with read_snapshot(store) as s:
            walked, failed = audit_svc.verify_anchored(s, anchors)
            result = failed or walked
    finally:
        store.dispose()
    if not result.ok and result.first_bad_id is None:
        raise click.ClickException(_("audit log NOT intact: {problem}").format(
            problem=result.problem_in(_)))
    if not result.ok:
        raise click.ClickException(_("audit log NOT intact at entry {entry}: {problem}").format(
            entry=result.first_bad_id, problem=result.problem_in(_)))
    click.echo(ngettext("audit log intact: {entries} entries in {chains} chain",
                        "audit log intact: {entries} entries in {chains} chains",
                        result.chains).format(entries=result.entries, chains=result.chains))
    for anchor in anchors:
        click.echo(_("anchor {anchor} holds").format(anchor=anchor))
    now = audit_svc.anchor_of(walked)
    if now is not None:
        click.echo(_("anchor now: {anchor} (note it outside this server: `--anchor {anchor}` "
                     "later fails if anything it covers is rewritten, even by someone who "
                     "can write the database)").format(anchor=now))
        if walked.unsealed:
            click.echo(ngettext(
                "{n} entry of the terminals' chains is not sealed in main yet: this anchor "
                "does not cover it; one noted after the next seal (a running relay seals "
                "every minute) does",
                "{n} entries of the terminals' chains are not sealed in main yet: this anchor "
                "does not cover them; one noted after the next seal (a running relay seals "
                "every minute) does", walked.unsealed).format(n=walked.unsealed))


def register(main: click.Group) -> None:
    main.add_command(audit)
