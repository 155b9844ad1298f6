"""What every command module of the CLI shares: the context object (``Ctx``), one-line
failures, the signal handling of long-running commands, and the hoisting of the root
group's options. Command modules import this module, never the root (``hr_console.cli``),
which imports them: no loop (an import-linter contract, pyproject.toml)."""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Mapping
from typing import Any

import click

from hr_console import config as config_mod
from hr_console.cli.i18n import N_, _, translated
from hr_console.config import Settings

log = logging.getLogger("relais")

# Whatever the caller's umask, what relais creates (the home, database, its -wal/-shm, broker
# files and logs, kiosk outboxes) is for this account alone: messages, photos, PIN hashes.
PRIVATE_UMASK = 0o077


class Ctx:
    def __init__(self, home: str | None, flags: dict[str, Any], verbose: bool = False) -> None:
        self.home = home
        self.flags = flags
        self.verbose = verbose
        self._cfg: Settings | None = None
        self._prepared = False

    @property
    def cfg(self) -> Settings:
        """The home's settings, read once; from here on this process acts as the home's
        owner (``owner``), so every command, whoever runs it, leaves only files the
        services can read."""
        if self._cfg is None:
            from hr_console.cli.owner import WrongUser, act_as_owner, home_of

            try:
                act_as_owner(home_of(self.home))
                self._cfg = config_mod.load(self.home, **self.flags)
            except (ValueError, WrongUser) as exc:
                raise fail(exc) from None
        return self._cfg

    def ready_cfg(self) -> Settings:
        """Settings of an initialised home, or a clear error. The home is brought up to this
        version first (``prepare_home``): any command may be the first to run after an
        upgrade, and one that renders the broker files must not drop the relays' accounts."""
        if not self.cfg.config_path.exists():
            raise click.ClickException(
                _("{home} is not a Relais home yet: run `relais --home {home} init`")
                .format(home=self.cfg.home))
        if not self._prepared:
            self._cfg = prepared(self.cfg)
            self._prepared = True
        return self.cfg

    def store(self):  # noqa: ANN201 - keeps SQLAlchemy out of CLI start-up
        from hr_console.store.db import Store

        return Store(self.ready_cfg().database_url)


# A service refuses in English (services/errors.py: ``message``), with a ``code`` the console
# words in the user's language (hr_console/web). In French, the command line says the same:
# the console's French for the words of that code (below, or the command's own for a code
# whose sense depends on the command), else for the service's message itself when the
# console has it word for word. In English, the service's message, as ever.
REFUSALS: dict[str, str] = {
    "site_exists": N_("A site with this name already exists."),
    "unknown_site": N_("This site does not exist."),
    "unknown_person": N_("This employee does not exist."),
    "bad_name": N_("A terminal name is 1 to 32 lower-case letters, digits or dashes."),
}


# What relais.toml and the broker can say (``config.SettingsError``; ``BrokerError``,
# ``BrokerSettingError`` and ``ReloadError`` of ``broker_config.errors``): their English is
# the exception's message, these are its words for the translation, with the exception's
# details in the braces. The IT person setting a home up reads them first.
SETTINGS_ERRORS: dict[str, str] = {
    "no_broker_password": N_("no broker password for {username} in {path}: run "
                             "`relais --home {home} init`"),
    "bad_console_url": N_("setting public_console_url is the console's address as terminals "
                          "reach it, such as https://relais.usine.local, not {value}"),
    "bad_mqtt_host": N_("setting public_mqtt_host is the broker's name or address as "
                        "terminals reach it, such as relais.usine.local (the port is "
                        "mqtt_port), not {value}"),
    "bad_timezone": N_("setting timezone must be a time zone name such as Europe/Paris, not "
                       "{value}"),
    "not_a_number": N_("setting {name} must be a number, not {value}"),
    "bad_trusted_proxies": N_("setting trusted_proxies counts the reverse proxies in front of "
                              "the console (0 to 10), not {value}"),
    "bad_toml": N_("{path} is not valid TOML: {error}"),
    "bad_server_passwords": N_("{path}: [{table}] must map broker usernames to passwords"),
}
BROKER_ERRORS: dict[str, str] = {
    "not_installed": N_("mosquitto is not installed (Debian: apt-get install mosquitto)"),
    # The broker's subscription check, built on this machine (broker_config.plugin).
    "no_compiler": N_("no C compiler to build the broker's subscription check (Debian: "
                      "apt-get install gcc mosquitto-dev libmosquitto-dev)"),
    "plugin_not_built": N_("the broker's subscription check could not be built ({error}): "
                           "Debian: apt-get install gcc mosquitto-dev libmosquitto-dev"),
    "already_running": N_("broker already running"),
    "no_configuration": N_("no broker configuration at {path}: render it"),
    "runs_already": N_("the broker of {folder} already runs (pid {pid})"),
    "exited": N_("mosquitto ({conf}) exited with status {status} while starting"),
    "not_ready": N_("mosquitto ({conf}) did not accept connections within {seconds}s"),
    # A running broker told to take new files (a terminal added, revoked, renamed).
    "cannot_signal": N_("cannot tell the broker (pid {pid}) to reload: it runs as another "
                        "user; restart it as the owner of {folder}"),
    "broker_stopped": N_("the broker (pid {pid}) stopped; see {log}"),
    "no_reload": N_("the broker (pid {pid}) did not reload within {seconds} s; see {log}"),
    "reload_refused": N_("the broker did not take its new files: {error}; see {log}"),
    "reload_refused_more": N_("the broker did not take its new files: {error} (and {more} "
                              "more); see {log}"),
    # The broker's settings and an ejabberd node's (``relais ejabberd ...``).
    "bad_port": N_("{name} must be a TCP port (1-65535), got {port}"),
    "same_ports": N_("the terminals' port and the relays' port must differ (both are {port})"),
    "tls_pair": N_("the TLS certificate and its key must be given together"),
    "tls_ca_alone": N_("a TLS CA needs the certificate and its key"),
    "bad_bind": N_("the terminals' listening address {value} is not valid"),
    "bad_user": N_("the user the broker runs as, {value}, is not valid"),
    "line_break": N_("{name} must not contain line breaks or NUL: {value}"),
    "bad_node_name": N_("an Erlang node name looks like relais-a@localhost, not {value}"),
    "bad_cookie": N_("the cluster's cookie must be at least 20 letters or digits"),
    "bad_extauth": N_("ejabberd runs the password check as {value}, and splits it on spaces: "
                      "put the home and the Python environment in folders without spaces"),
    "bad_relay_account": N_("relay accounts start with '_' (a terminal name never does)"),
    "bad_interface": N_("the address other nodes reach this one on must be an IPv4 address, "
                        "not {value}"),
    "bad_account": N_("not a broker account name: {value}"),
    "no_erlang": N_("Erlang is not installed (Debian: apt-get install ejabberd)"),
    "epmd_failed": N_("epmd did not start on port {port}"),
    "node_running": N_("ejabberd node {node} already runs"),
    "no_node_configuration": N_("no ejabberd configuration at {path}: render it"),
    "port_taken": N_("port {port} is already taken"),
    "node_exited": N_("ejabberd node {node} exited with status {status} while starting"),
    "node_not_ready": N_("ejabberd node {node} did not accept MQTT connections within "
                         "{seconds}s"),
    "join_failed": N_("ejabberd node {node} could not join {seed}: {output}"),
    "not_joined": N_("ejabberd node {node} did not show {seed} in its cluster within "
                     "{seconds}s (members: {members})"),
    "kick_failed": N_("could not close the sessions of {user} on {node}: {output}"),
}
RELAY_ERRORS: dict[str, str] = {
    "relay_unreachable": N_("the relay could not connect to the broker on {host}:{port} as "
                            "{name}"),
}
_CODED = {**SETTINGS_ERRORS, **BROKER_ERRORS, **RELAY_ERRORS}


def refusal(exc: Exception, wording: Mapping[str, str] | None = None) -> str:
    """A service's refusal (or any failure) as one line in the user's language, its details
    in the braces of its wording (a broker that did not start: that line, then its log as it
    is)."""
    message = getattr(exc, "message", None) or str(exc)
    code = getattr(exc, "code", None)
    said = None
    if isinstance(code, str):
        said = (wording or {}).get(code) or REFUSALS.get(code) or _CODED.get(code)
    line = translated(said) if said else None
    if line is not None:
        try:
            line = line.format(**(getattr(exc, "detail", None) or {}))
        except (KeyError, IndexError, ValueError):
            line = None  # a catalogue out of step with the code: the English, whole
    tail = getattr(exc, "tail", "")
    return (line or translated(message) or message) + (f"\n{tail}" if tail else "")


def fail(exc: Exception, wording: Mapping[str, str] | None = None) -> click.ClickException:
    """Any failure as one line (a missing extra says which one to install); ``wording``:
    the command's words for codes of a service's refusals (``refusal``)."""
    if isinstance(exc, ModuleNotFoundError):
        return missing_extra(exc)
    return click.ClickException(refusal(exc, wording))


# What each extra brings (pyproject.toml): a terminal installs relais[kiosk] and never gets the
# server's stack, so a server command there says what to install instead of a traceback.
_SERVER_MODULES = ("flask", "flask_", "sqlalchemy", "alembic", "psycopg", "waitress", "wtforms",
                   "cryptography", "babel", "limits")


def missing_extra(exc: ModuleNotFoundError) -> click.ClickException:
    """One line naming the extra that provides the module this command could not import."""
    root = (exc.name or "").split(".")[0]
    if root == "kivy":
        return click.ClickException(
            _("the kiosk needs Kivy: pip install 'relais[kiosk]' ({error})").format(error=exc))
    if root.startswith(_SERVER_MODULES):
        return click.ClickException(_("this command runs on the server, which needs "
                                      "pip install 'relais[server]' ({error})").format(error=exc))
    return click.ClickException(str(exc))


def prepared(cfg: Settings) -> Settings:
    """``home.prepare_home`` with a one-line failure."""
    from hr_console.cli.home import prepare_home

    try:
        return prepare_home(cfg)
    except (OSError, ValueError) as exc:
        raise fail(exc) from None


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT end a long-running command through ``stop`` (its finally blocks
    then stop what it started)."""
    def handler(_sig, _frame) -> None:  # noqa: ANN001
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def settle_heap() -> None:
    """Once a long-running process has started: what start-up allocated (modules, mapped
    classes, compiled statements, hundreds of thousands of objects) is moved out of the
    garbage collector's reach (``gc.freeze``). Every full collection walked all of it: in
    the relay, a 65-90 ms pause a few times a minute under load, during which no message
    moved (the tail of docs/benchmarks.md's figure 2); after it, 5-25 ms. Process-wide, so
    called by the commands that own their process, never by the Relay class (tests run
    many relays in one process)."""
    gc.collect()
    gc.freeze()


def obj_store(cfg: Settings, *, relay: bool = False):  # noqa: ANN201
    """``relay``: the store a relay commits through, which checkpoints SQLite's log in a
    thread of its own rather than in its commits (``store.checkpoints``)."""
    from hr_console.store.db import Store

    return Store(cfg.database_url, wal_autocheckpoint=not relay)


def _option_names(command: click.Command, ctx: click.Context) -> dict[str, bool]:
    """Every spelling of the command's options -> whether it takes a value."""
    names: dict[str, bool] = {}
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            for name in (*param.opts, *param.secondary_opts):
                names[name] = not (param.is_flag or param.count)
    return names


def hoist_common_options(group: click.Group, ctx: click.Context, args: list[str]) -> list[str]:
    """``relais up --home DIR`` as ``relais --home DIR up``: the form a newcomer types. The
    main group's options found after the command move in front of it, unless the command
    (or a group on the way to it) has an option of that name itself, which then wins."""
    common = _option_names(group, ctx)
    front: list[str] = []
    i = 0
    while i < len(args) and args[i].startswith("-"):  # options already in front
        takes = common.get(args[i].split("=", 1)[0], False) and "=" not in args[i]
        i += 2 if takes else 1
    if i >= len(args):
        return args
    head, rest = args[:i], args[i:]
    # The command named, through nested groups, as far as names resolve.
    command: click.Command | None = group
    own: dict[str, bool] = {}
    for token in rest:
        if token.startswith("-") or not isinstance(command, click.Group):
            break
        command = command.get_command(ctx, token)
        if command is None:
            return args  # click says which command is unknown
        own.update(_option_names(command, ctx))
    kept: list[str] = []
    j = 0
    while j < len(rest):
        token = rest[j]
        if token == "--":
            kept.extend(rest[j:])
            break
        name = token.split("=", 1)[0]
        if name in common and name not in own and name != "--help":
            takes = common[name] and "=" not in token
            front.extend(rest[j:j + 2] if takes else [token])
            j += 2 if takes else 1
            continue
        kept.append(token)
        j += 1
    return head + front + kept

