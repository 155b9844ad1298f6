"""``relais user``: console users."""

from __future__ import annotations

import click

from hr_console.cli.common import Ctx, fail


@click.group()
def user() -> None:
    """Console users."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "hr", "supervisor", "auditor"]), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--language", type=click.Choice(["fr", "en"]), default="fr")
@click.pass_obj
def user_add(obj: Ctx, username: str, role: str, password: str, language: str) -> None:
    """Create a console user."""
    from hr_console.services import directory
    from hr_console.services.errors import ServiceError

    store = obj.store()
    try:
        with store.session() as s:
            directory.console_user(s, username, password, role, language=language, actor="cli")
    except ServiceError as exc:
        raise fail(exc) from None
    finally:
        store.dispose()
    click.echo(f"console user {username} ({role}) created")



def register(main: click.Group) -> None:
    main.add_command(user)
