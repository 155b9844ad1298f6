"""``relais site add NAME`` and ``relais site list``: a site is where terminals stand and
teams work, and ``relais terminal add NAME --site SITE`` needs it to exist first (the
console's Teams page makes them too). Both go through the services the console uses, so a
site made here is audited and named by the same rules.

Registered on the root group by ``register(main)`` (``hr_console/cli/__init__.py``).
"""

from __future__ import annotations

import json
from typing import Any

import click

from hr_console.cli.common import fail
from hr_console.cli.i18n import N_, Group, _, _l


@click.group("site", cls=Group, help=_l("Create and list the sites terminals and teams belong to."))
def site() -> None:
    pass


@site.command("add", help=_l("Create the site NAME (then: relais terminal add TERMINAL --site NAME)."))
@click.argument("name")
@click.option("--timezone", "zone", default=None,
              help=_l("The zone its shifts are read in (Europe/Paris); default: the "
                      "installation's."))
@click.pass_obj
def site_add(obj: Any, name: str, zone: str | None) -> None:
    from hr_console.services import directory
    from hr_console.services.errors import ServiceError

    store = obj.store()
    try:
        with store.session() as s:
            row = directory.create_site(s, name, actor="cli")
            if zone:
                directory.set_site_timezone(s, row, zone, actor="cli")
            site_id, site_name = row.id, row.name
    except ServiceError as exc:
        raise fail(exc) from None
    finally:
        store.dispose()
    click.echo(_("site {name!r} created (id {id})").format(name=site_name, id=site_id))


@site.command("list", help=_l("Every site with its active terminals and active employees "
                               "(members of its teams)."))
@click.option("--json", "as_json", is_flag=True, help=_l("One JSON object per site, for scripts."))
@click.pass_obj
def site_list(obj: Any, as_json: bool) -> None:
    from hr_console.services import teams

    store = obj.store()
    try:
        with store.session() as s:
            rows = [{"id": r.id, "name": r.name, "terminals": r.terminals,
                     "employees": sum(t.members for t in r.teams)} for r in teams.overview(s)]
    finally:
        store.dispose()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo(_("no site yet: relais site add NAME"))
        return
    name, terminals, employees = _("name"), _("terminals"), _("employees")  # column heads
    width = max(len(name), *(len(r["name"]) for r in rows))
    click.echo(f"{'id':>4}  {name:<{width}}  {terminals:>9}  {employees:>9}")
    for r in rows:
        click.echo(f"{r['id']:>4}  {r['name']:<{width}}  {r['terminals']:>9}  {r['employees']:>9}")


@site.command("timezone", help=_l("Read the site NAME's shifts in ZONE (Europe/Paris); without "
                                   "ZONE, in the installation's (the ``timezone`` setting). "
                                   "Audited."))
@click.argument("name")
@click.argument("zone", required=False, default="")
@click.pass_obj
def site_timezone(obj: Any, name: str, zone: str) -> None:
    from hr_console.services import directory
    from hr_console.services.errors import ServiceError

    store = obj.store()
    try:
        with store.session() as s:
            row = directory.site_by_name(s, name)
            directory.set_site_timezone(s, row, zone, actor="cli")
            now = row.timezone
    except ServiceError as exc:
        raise fail(exc, {"not_found": N_("This site does not exist.")}) from None
    finally:
        store.dispose()
    where = now or _("the installation's time zone")
    click.echo(_("site {name!r}: shifts read in {where}").format(name=name, where=where))


def register(main: click.Group) -> None:
    main.add_command(site)
