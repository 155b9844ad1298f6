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


@click.command("kiosk-enrol")
@click.argument("console_url")
@click.argument("code")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="/etc/relais-kiosk",
              show_default=True, help="Directory for config.json, the CA and the outbox.")
@click.option("--site", default="", help="Site name shown on the idle screen.")
@click.option("--ca", "ca_file", type=click.Path(dir_okay=False, exists=True),
              help="CA certificate to trust for the console's HTTPS (when not a public one).")
@click.option("--fullscreen/--windowed", default=True, show_default=True)
def kiosk_enrol(console_url: str, code: str, out_dir: str, site: str, ca_file: str | None,
                fullscreen: bool) -> None:
    """On a new terminal: exchange the one-time CODE shown in the console for this
    terminal's credentials and write a ready kiosk configuration (then run
    `relais kiosk --config DIR/config.json`)."""
    import json
    import os
    from pathlib import Path

    from kiosk_app import config as kiosk_config
    from kiosk_app.link.api import KioskApiError, check_enrol_url, enrol

    if not console_url.startswith(("http://", "https://")):
        raise click.ClickException("the console address starts with http:// or https://")
    try:  # the answer holds the terminal's password and its CA: HTTPS, or loopback only
        check_enrol_url(console_url)
    except KioskApiError as exc:
        raise click.ClickException(exc.message) from None
    try:
        answer = enrol(console_url, code.strip(), ca_file=ca_file)
    except KioskApiError as exc:
        raise click.ClickException(f"enrolment refused: {exc.message}") from None
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    data = {"terminal": answer["username"], "password": answer["password"],
            "mqtt_host": answer.get("mqtt_host") or "127.0.0.1",
            "mqtt_port": int(answer.get("mqtt_port") or 1883),
            "api_url": console_url.rstrip("/"), "site": site, "fullscreen": fullscreen}
    if answer.get("tls_ca_pem"):
        ca_path = folder / "relais-ca.pem"
        ca_path.write_text(answer["tls_ca_pem"], encoding="ascii")
        data["tls_ca"] = str(ca_path.resolve())
    kiosk_config.from_mapping(data, folder)  # what we write is what `relais kiosk` accepts
    path = folder / "config.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    click.echo(f"terminal {data['terminal']} enrolled; configuration in {path}")
    click.echo(f"start it with: relais kiosk --config {path}")
