"""``relais kiosk``: run the touch app of a terminal.

``--terminal NAME`` reads ``HOME/kiosks/NAME/config.json`` (written by ``relais terminal
add`` and the demo data) and keeps the outbox beside it; ``--config FILE`` is how a real
terminal runs, with the file its enrolment produced. Kivy is imported only here, when the
command runs, so the rest of the CLI starts without it.
"""

from __future__ import annotations

from typing import Any

import click


def _size(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter("use WIDTHxHEIGHT, for example 800x480") from None
    return w, h


@click.command("kiosk")
@click.option("--terminal", help="An enrolled terminal of this home (demo, tests).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="The kiosk's configuration file (a real terminal).")
@click.option("--size", help="Window size, WIDTHxHEIGHT (default from the config, 800x480).")
@click.option("--fullscreen/--windowed", default=None, help="Fill the screen (a real terminal).")
@click.option("--language", type=click.Choice(["fr", "en"]), default=None,
              help="Language of the idle screen (default from the config, fr).")
@click.pass_obj
def kiosk(obj: Any, terminal: str | None, config_file: str | None, size: str | None,
          fullscreen: bool | None, language: str | None) -> None:
    """Run the kiosk touch app for one terminal."""
    from kiosk_app import config as kiosk_config

    if bool(terminal) == bool(config_file):
        raise click.ClickException("give either --terminal NAME or --config FILE")
    dims = _size(size)
    overrides: dict[str, Any] = {"fullscreen": fullscreen, "language": language,
                                 "width": dims[0] if dims else None,
                                 "height": dims[1] if dims else None}
    flags = getattr(obj, "flags", {}) or {}
    if flags.get("mqtt_port"):
        overrides["mqtt_port"] = flags["mqtt_port"]
    if flags.get("console_port") and terminal:
        from hr_console.cli import _console_url

        overrides["api_url"] = _console_url(obj.cfg)  # the console of this very home
    try:
        if terminal:
            cfg = kiosk_config.for_terminal(obj.cfg.home, terminal, **overrides)
        else:
            cfg = kiosk_config.load(config_file, **overrides)
    except kiosk_config.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        from kiosk_app.ui.launch import run
    except ImportError as exc:
        raise click.ClickException(f"the kiosk needs Kivy: pip install 'relais[kiosk]' ({exc})") from None
    run(cfg)
