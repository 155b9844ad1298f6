"""``relais export-person``: an employee's access request (GDPR art. 15) from the shell,
for the IT person answering it without the console (services.person_export)."""

from __future__ import annotations

from pathlib import Path

import click

from hr_console.cli.common import Ctx, fail, refusal
from hr_console.cli.i18n import Command, _, _l


@click.command("export-person", cls=Command, help=_l(
    "Write everything held about employee EMPLOYEE_ID to OUT (a new ZIP: JSON per kind of "
    "data, a readable report.html, the photos). Readable by this account only; audited."))
@click.argument("employee_id", type=click.IntRange(1))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--language", type=click.Choice(["fr", "en"]), default="fr", show_default=True,
              help=_l("The language of the readable report (report.html)."))
@click.pass_obj
def export_person(obj: Ctx, employee_id: int, out: Path, language: str) -> None:
    from hr_console.services import person_export
    from hr_console.services.errors import ServiceError

    if out.exists() or out.is_symlink():
        raise click.ClickException(_("{out} already exists: give the name of a new file").format(out=out))
    if not out.parent.is_dir():
        raise click.ClickException(_("{folder} is not a folder").format(folder=out.parent))
    cfg = obj.ready_cfg()
    store = obj.store()
    try:
        result = person_export.export(store, employee_id, out, actor="cli", language=language,
                                      home=cfg.home, timezone=cfg.timezone, via="cli")
    except ServiceError as exc:
        raise click.ClickException(_("employee {id}: {reason}").format(
            id=employee_id, reason=refusal(exc))) from None
    except OSError as exc:
        raise fail(exc) from None
    finally:
        store.dispose()
    counts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in result.counts.items())
    click.echo(_("wrote {out} ({size} bytes, {photos} photos, {voice} voice messages) in "
                 "{seconds:.1f} s: {counts}").format(
        out=out, size=result.size, photos=result.photos, voice=result.voice,
        seconds=result.seconds, counts=counts))


def register(main: click.Group) -> None:
    main.add_command(export_person)
