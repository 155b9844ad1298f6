"""``relais user``: console users."""

from __future__ import annotations

import click

from hr_console.cli.common import Ctx, fail
from hr_console.cli.i18n import N_, Group, Option, _, _l


@click.group(cls=Group, help=_l("Console users."))
def user() -> None:
    pass


@user.command("add", help=_l("Create a console user."))
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "hr", "supervisor", "auditor"]), required=True)
@click.option("--password", cls=Option, prompt=_l("Password"), hide_input=True,
              confirmation_prompt=True)
@click.option("--language", type=click.Choice(["fr", "en"]), default="fr")
@click.pass_obj
def user_add(obj: Ctx, username: str, role: str, password: str, language: str) -> None:
    from hr_console.services import directory
    from hr_console.services.errors import ServiceError

    store = obj.store()
    try:
        with store.session() as s:
            directory.console_user(s, username, password, role, language=language, actor="cli")
    except ServiceError as exc:
        raise fail(exc, {"name_taken": N_("A console user with this name already exists.")}) from None
    finally:
        store.dispose()
    click.echo(_("console user {username} ({role}) created").format(username=username, role=role))



def register(main: click.Group) -> None:
    main.add_command(user)
