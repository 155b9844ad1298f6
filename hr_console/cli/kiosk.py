"""``relais kiosk``: run the touch app of a terminal.

``--terminal NAME`` reads ``HOME/kiosks/NAME/config.json`` (written for the demo's terminals
only: a real terminal's password is shown once and kept nowhere on the server) and keeps the
outbox beside it; ``--config FILE`` is how a real terminal runs, with the file its enrolment
produced. Kivy is imported only here, when the command runs, and nothing of the server's stack
is imported by this module, so a terminal installs ``relais[kiosk]`` alone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import click

from hr_console.cli.common import fail
from hr_console.cli.i18n import N_, Command, _, _l

# What a kiosk's configuration file can get wrong (``kiosk_app.config.ConfigError``'s codes),
# in the words of the IT person setting a terminal up; the English is the error's message.
KIOSK_CONFIG: dict[str, str] = {
    "unknown_settings": N_("unknown kiosk setting(s): {names}"),
    "setting_required": N_("the kiosk setting '{key}' is required"),
    "wrong_type": N_("the kiosk setting '{key}' has the wrong type"),
    "bad_terminal": N_("terminal: a terminal name is 1 to 32 lower-case letters, digits or "
                       "dashes, starting with a letter or digit, not {value}"),
    "bad_language": N_("language must be one of {languages}"),
    "bad_api_url": N_("api_url must start with http:// or https://"),
    "bad_mqtt_port": N_("mqtt_port must be between 1 and 65535"),
    "bad_idle": N_("idle_timeout must be at least 5 s and idle_warning shorter than it"),
    "small_screen": N_("width and height must be at least 320x240"),
    "no_configuration": N_("no kiosk configuration at {path}"),
    "unreadable": N_("cannot read the kiosk configuration {path}: {error}"),
    "not_an_object": N_("{path} must hold a JSON object"),
    "not_a_demo_terminal": N_("terminal {terminal} has no kiosk configuration in {home} (only "
                              "the demo's terminals do): a real terminal runs `relais kiosk "
                              "--config FILE` after `relais kiosk-enrol`"),
    "insecure_url": N_("refusing to enrol over anything but HTTPS beyond this machine (the "
                       "answer carries the terminal's password and the CA it will trust): use "
                       "the console's https:// address, with --ca-fingerprint as the console "
                       "shows it next to the code"),
}


def _size(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(_("use WIDTHxHEIGHT, for example 800x480")) from None
    return w, h


@click.command("kiosk", cls=Command, help=_l("Run the kiosk touch app for one terminal."))
@click.option("--terminal", help=_l("An enrolled terminal of this home (demo, tests)."))
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help=_l("The kiosk's configuration file (a real terminal)."))
@click.option("--size", help=_l("Window size, WIDTHxHEIGHT (default from the config, 800x480)."))
@click.option("--fullscreen/--windowed", default=None, help=_l("Fill the screen (a real terminal)."))
@click.option("--language", type=click.Choice(["fr", "en"]), default=None,
              help=_l("Language of the idle screen (default from the config, fr)."))
@click.pass_obj
def kiosk(obj: Any, terminal: str | None, config_file: str | None, size: str | None,
          fullscreen: bool | None, language: str | None) -> None:
    from kiosk_app import config as kiosk_config

    if bool(terminal) == bool(config_file):
        raise click.ClickException(_("give either --terminal NAME or --config FILE"))
    dims = _size(size)
    overrides: dict[str, Any] = {"fullscreen": fullscreen, "language": language,
                                 "width": dims[0] if dims else None,
                                 "height": dims[1] if dims else None}
    flags = getattr(obj, "flags", {}) or {}
    if flags.get("mqtt_port"):
        overrides["mqtt_port"] = flags["mqtt_port"]
    if flags.get("console_port") and terminal:
        from hr_console.cli.home import console_url

        overrides["api_url"] = console_url(obj.cfg)  # the console of this very home
    if terminal:  # a kiosk of this home shows this home's time zone, as enrolment gives it
        overrides["timezone"] = obj.cfg.timezone
    try:
        if terminal:
            cfg = kiosk_config.for_terminal(obj.cfg.home, terminal, **overrides)
        else:
            cfg = kiosk_config.load(config_file, **overrides)
    except kiosk_config.ConfigError as exc:
        raise fail(exc, KIOSK_CONFIG) from None
    from importlib.util import find_spec

    if find_spec("kivy") is None:  # imported late, by the app itself: say it before it starts
        raise click.ClickException(_("the kiosk needs Kivy: pip install 'relais[kiosk]'"))
    from kiosk_app.ui.launch import run

    run(cfg)


def _fix(code: str, url: str, ca_file: str | None, fingerprint: str | None) -> str:
    """What the IT person does about an enrolment that failed for ``code``."""
    host = urlsplit(url).hostname or _("the server")
    if code == "untrusted_certificate":
        if ca_file:
            return _("{ca} is not the CA that signed it: give the server's HOME/tls/ca.pem, "
                     "or --ca-fingerprint with the fingerprint shown next to the code").format(
                ca=ca_file)
        if fingerprint:
            return _("the console's HTTPS certificate is not signed by the site's CA: nginx must "
                     "use HOME/tls/server.pem (if it does, this address is not your console: do "
                     "not enrol)")
        return _("give --ca-fingerprint SHA256 with the CA fingerprint shown next to the code "
                 "(or --ca FILE with the server's HOME/tls/ca.pem)")
    fixes = {
        "name_mismatch": _("use the name the certificate was made for in the address, or add "
                           "{host} to it on the server: relais init --tls --tls-host {host} "
                           "(then reload nginx)"),
        "certificate_expired": _("check this terminal's date and time, then renew the "
                                 "server's certificate (relais init --tls --tls-host NAME)"),
        "no_tls": _("give the address nginx serves over HTTPS (https://NAME, port 443)"),
        "tls_failed": _("check that the address is the console's HTTPS address (nginx)"),
        "unknown_host": _("check the name {host}, or give the server's IP address instead"),
        "timeout": _("check the address, the port and any firewall between this terminal and "
                     "the server"),
        "unreachable": _("check the address and port, this terminal's network, and that nginx "
                         "and the console are running on the server"),
        "fingerprint_mismatch": _("check the fingerprint you typed against the console; if "
                                  "it is right, {host} is not your console: do not enrol"),
        "bad_fingerprint": _("copy it as the console shows it (AB:CD:…, 32 pairs)"),
        "no_ca": _("enrol without --ca-fingerprint (the console's certificate is then a public "
                   "one), or run relais init --tls on the server"),
        "not_found": _("check the address: {url} is not a Relais console"),
        "rate_limited": "",
    }
    if code.startswith("http_"):
        return _("check the address: {url} answered HTTP {status}, not as a Relais "
                 "console").format(url=url, status=code[5:])
    return fixes.get(code, "").format(host=host, url=url)


@click.command("kiosk-enrol", cls=Command, help=_l(
    "On a new terminal: exchange the one-time CODE shown in the console for this terminal's "
    "credentials and write a ready kiosk configuration (then run "
    "`relais kiosk --config DIR/config.json`)."))
@click.argument("console_url")
@click.argument("code")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="/etc/relais-kiosk",
              show_default=True, help=_l("Directory for config.json, the CA and the outbox."))
@click.option("--site", default="", help=_l("Site name shown on the idle screen."))
@click.option("--ca-fingerprint", "ca_fingerprint", metavar="SHA256",
              help=_l("The CA fingerprint shown next to the code: the CA is fetched from the "
                      "console, checked against it, and trusted (no file to copy)."))
@click.option("--ca", "ca_file", type=click.Path(dir_okay=False, exists=True),
              help=_l("CA certificate to trust for the console's HTTPS (when not a public one)."))
@click.option("--fullscreen/--windowed", default=True, show_default=True)
def kiosk_enrol(console_url: str, code: str, out_dir: str, site: str, ca_fingerprint: str | None,
                ca_file: str | None, fullscreen: bool) -> None:
    import json
    import os
    from pathlib import Path

    from kiosk_app import config as kiosk_config
    from kiosk_app.link.api import KioskApiError, check_enrol_url, enrol

    if not console_url.startswith(("http://", "https://")):
        raise click.ClickException(_("the console address starts with http:// or https://"))
    if ca_file and ca_fingerprint:
        raise click.ClickException(_("give --ca FILE or --ca-fingerprint SHA256, not both"))
    try:  # the answer holds the terminal's password and its CA: HTTPS, or loopback only
        check_enrol_url(console_url)
    except KioskApiError as exc:
        raise fail(exc, KIOSK_CONFIG) from None
    try:
        answer = enrol(console_url, code.strip(), ca_file=ca_file, ca_fingerprint=ca_fingerprint)
    except KioskApiError as exc:
        said = exc.message.rstrip(".")
        if exc.status is not None and exc.code in ("bad_code", "code_expired", "rate_limited",
                                                   "bad_request"):
            raise click.ClickException(
                _("enrolment refused: {reason}").format(reason=exc.message)) from None
        fix = _fix(exc.code, console_url, ca_file, ca_fingerprint)
        raise click.ClickException(_("enrolment failed: {reason}").format(reason=said)
                                   + (f": {fix}" if fix else "")) from None
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    data = {"terminal": answer["username"], "password": answer["password"],
            "mqtt_host": answer.get("mqtt_host") or "127.0.0.1",
            "mqtt_port": int(answer.get("mqtt_port") or 1883),
            "api_url": console_url.rstrip("/"), "site": site, "fullscreen": fullscreen}
    if isinstance(answer.get("timezone"), str) and answer["timezone"]:
        data["timezone"] = answer["timezone"]
    ca_pem = answer.get("ca_pem") or answer.get("tls_ca_pem")
    if ca_pem:  # the CA checked against the fingerprint, else the one the console sent
        ca_path = folder / "relais-ca.pem"
        ca_path.write_text(ca_pem, encoding="ascii")
        data["tls_ca"] = str(ca_path.resolve())
    try:  # what we write is what `relais kiosk` accepts
        kiosk_config.from_mapping(data, folder)
    except kiosk_config.ConfigError as exc:  # the console's answer, not the person's doing
        raise fail(exc, KIOSK_CONFIG) from None
    path = folder / "config.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    click.echo(_("terminal {name} enrolled; configuration in {path}").format(
        name=data["terminal"], path=path))
    click.echo(_("start it with: relais kiosk --config {path}").format(path=path))


def register(main: click.Group) -> None:
    main.add_command(kiosk)
    main.add_command(kiosk_enrol)
