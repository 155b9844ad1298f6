"""Settings of one Relais home: flags, then ``RELAIS_*`` variables, then ``DIR/relais.toml``.

All state of an installation lives under its home directory, so two homes never share
anything (docs/architecture.md, "Operating contract"). Secrets that must survive
restarts (each server account's broker password, the console's session key, the badge
pepper) are generated once and kept in ``relais.toml``, which is written with mode 0600.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from relais_wire.errors import CodedError

DEFAULT_MQTT_PORT = 18883  # never the system Mosquitto's 1883
DEFAULT_CONSOLE_PORT = 8470
CONFIG_FILE = "relais.toml"
RELAY_INSTANCES = 8  # relay accounts <relay_username>-1 .. -8, each with its own password
SERVER_PASSWORDS = "server_passwords"  # the relais.toml table: broker username -> password
LEGACY_KEYS = ("relay_password",)  # one password once shared by every server account


class SettingsError(CodedError, ValueError):
    """relais.toml or a flag that cannot be used. ``code`` and ``detail`` let an entry point
    say it in its user's language (``hr_console.cli.common.refusal``); the message is the
    English, as before."""


@dataclass(frozen=True)
class Settings:
    home: Path
    db_url: str = ""
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = DEFAULT_MQTT_PORT  # the terminals' listener
    mqtt_bind: str = "127.0.0.1"
    relay_port: int = 0  # the loopback listener for server clients; chosen at init
    console_host: str = "127.0.0.1"
    console_port: int = DEFAULT_CONSOLE_PORT
    relay_username: str = "_relay"
    secret_key: str = ""
    badge_pepper: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_ca: str = ""
    # The site's clock: times the console shows and where "today" begins (the database
    # keeps UTC). An IANA name; the first customers are French.
    timezone: str = "Europe/Paris"
    # Reverse proxies in front of the console (nginx, docs/deploy.md): how many
    # X-Forwarded-For / -Proto / -Host hops to believe. 0: none, the forwarded headers are
    # ignored (anyone can send them), so limits and the audit log see the socket's address.
    trusted_proxies: int = 0
    # What terminals are told, apart from where the relays reach the broker (``mqtt_host``,
    # the loopback listener on ``relay_port``): the broker's name or address as terminals
    # reach it, given at enrolment (empty: the name the terminal used to reach the console,
    # or mqtt_host when the broker listens on loopback only), and the console's address
    # written into a terminal's config by ``terminal add`` (empty: this machine's console
    # port). docs/deploy.md, "Settings".
    public_mqtt_host: str = ""
    public_console_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Each server account's own broker password (never shared: one leaked relay password
    # opens one least-privileged account). Only from relais.toml, never flags or variables.
    server_passwords: dict[str, str] = field(default_factory=dict)

    def relay_account(self, instance: int) -> str:
        """The broker username of relay ``instance`` (1..RELAY_INSTANCES)."""
        return f"{self.relay_username}-{instance}"

    def server_password(self, username: str) -> str:
        """The broker password of a server account, or a clear error naming the fix."""
        try:
            return self.server_passwords[username]
        except KeyError:
            raise SettingsError(
                "no_broker_password", f"no broker password for {username} in "
                f"{self.config_path}: run `relais --home {self.home} init`",
                username=username, path=self.config_path, home=self.home) from None

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def broker_dir(self) -> Path:
        return self.home / "broker"

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.home / 'relais.db').resolve()}"

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)


_INT_FIELDS = {"mqtt_port", "relay_port", "console_port", "trusted_proxies"}
_STORED = [f.name for f in fields(Settings) if f.name not in ("home", "extra", SERVER_PASSWORDS)]


def _public(name: str, value: Any) -> str:
    """A host name or address (``public_mqtt_host``) or an http(s) URL (``public_console_url``),
    or a clear error naming what is expected."""
    text = str(value).strip()
    if not text:
        return ""  # not set: enrolment and `terminal add` fall back (see Settings)
    if name == "public_console_url":
        from urllib.parse import urlsplit

        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError("bad_console_url", "setting public_console_url is the "
                                "console's address as terminals reach it, such as "
                                f"https://relais.usine.local, not {value!r}", value=repr(value))
        return text.rstrip("/")
    if any(c in text for c in "/@ \t") or text.count(":") == 1:
        raise SettingsError("bad_mqtt_host", "setting public_mqtt_host is the broker's name or "
                            "address as terminals reach it, such as relais.usine.local (the "
                            f"port is mqtt_port), not {value!r}", value=repr(value))
    return text.strip("[]")


def _coerce(name: str, value: Any) -> Any:
    if name in ("public_mqtt_host", "public_console_url"):
        return _public(name, value)
    if name == "timezone":
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError("bad_timezone", "setting timezone must be a time zone name "
                                f"such as Europe/Paris, not {value!r}", value=repr(value)) from None
        return str(value)
    if name in _INT_FIELDS:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise SettingsError("not_a_number", f"setting {name} must be a number, not "
                                f"{value!r}", name=name, value=repr(value)) from None
        if name == "trusted_proxies" and not 0 <= number <= 10:
            raise SettingsError("bad_trusted_proxies", "setting trusted_proxies counts the "
                                "reverse proxies in front of the console (0 to 10), not "
                                f"{value!r}", value=repr(value))
        return number
    return str(value)


def load(home: str | Path | None = None, **flags: Any) -> Settings:
    """Settings for ``home`` (flag, else ``RELAIS_HOME``, else ``./var``)."""
    home_path = Path(home or os.environ.get("RELAIS_HOME") or "var").resolve()
    values: dict[str, Any] = {}
    path = home_path / CONFIG_FILE
    if path.exists():
        try:
            stored = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise _bad_toml(path, exc) from None
        values.update({k: v for k, v in stored.items() if k in _STORED})
        extra = {k: v for k, v in stored.items() if k not in _STORED and k != SERVER_PASSWORDS}
        passwords = _server_passwords(stored, path)
    else:
        extra, passwords = {}, {}
    for name in _STORED:
        env = os.environ.get(f"RELAIS_{name.upper()}")
        if env:
            values[name] = env
    for name, value in flags.items():
        if value is not None and name in _STORED:
            values[name] = value
    values = {k: _coerce(k, v) for k, v in values.items()}
    values.update({k: _from_home(home_path, values[k]) for k in TLS_FIELDS if values.get(k)})
    return Settings(home=home_path, extra=extra, server_passwords=passwords, **values)


TLS_FIELDS = ("tls_cert", "tls_key", "tls_ca")


def _bad_toml(path: Path, exc: Exception) -> SettingsError:
    return SettingsError("bad_toml", f"{path} is not valid TOML: {exc}", path=path, error=exc)


def _from_home(home: Path, value: str) -> str:
    """A relative TLS path is relative to the home (how ``save`` writes one inside it), so
    a restored or moved home uses its own files; an absolute one (homes made before, or a
    company CA elsewhere) is kept."""
    return value if os.path.isabs(value) else str(home / value)


def _in_home(home: Path, value: str) -> str:
    """The inverse of ``_from_home``: a path inside the home is written relative to it."""
    try:
        return str(Path(value).relative_to(home))
    except ValueError:
        return value


def _server_passwords(stored: dict[str, Any], path: Path) -> dict[str, str]:
    table = stored.get(SERVER_PASSWORDS, {})
    if not isinstance(table, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in table.items()):
        raise SettingsError("bad_server_passwords", f"{path}: [{SERVER_PASSWORDS}] must map "
                            "broker usernames to passwords", path=path, table=SERVER_PASSWORDS)
    return dict(table)


def _missing_passwords(settings: Settings, accounts: tuple[str, ...]) -> dict[str, str]:
    """A new random password for each server account (every relay instance, plus
    ``accounts``) that has none yet. All relay instances get theirs up front: a relay on
    another machine could not add its own to the broker's password file."""
    names = [settings.relay_account(i) for i in range(1, RELAY_INSTANCES + 1)] + list(accounts)
    return {n: secrets.token_urlsafe(24) for n in names if n not in settings.server_passwords}


def with_secrets(settings: Settings, accounts: tuple[str, ...] = ()) -> Settings:
    """Fill in the secrets and the relay port that a new home needs, keeping existing ones.
    ``accounts``: server accounts beyond the relays that this home needs (e.g. ``_bench``)."""
    from broker_config.ports import free_port

    changes: dict[str, Any] = {}
    new = _missing_passwords(settings, accounts)
    if new or any(k in settings.extra for k in LEGACY_KEYS):
        changes[SERVER_PASSWORDS] = {**settings.server_passwords, **new}
        changes["extra"] = {k: v for k, v in settings.extra.items() if k not in LEGACY_KEYS}
    if not settings.secret_key:
        changes["secret_key"] = secrets.token_hex(32)
    if not settings.badge_pepper:
        changes["badge_pepper"] = secrets.token_hex(32)
    if not settings.relay_port:
        # Not the terminals' or the console's port, which nothing listens on yet at init.
        changes["relay_port"] = free_port(avoid={settings.mqtt_port, settings.console_port})
    return replace(settings, **changes)


def save(settings: Settings) -> None:
    """Write the persistent settings (not the ones that came from the environment only)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    data = {name: getattr(settings, name) for name in _STORED}
    data = {k: v for k, v in data.items() if v not in ("", None)}
    data.update({k: _in_home(settings.home, data[k]) for k in TLS_FIELDS if k in data})
    if data.get("db_url", "") == "":
        data.pop("db_url", None)
    data.update(settings.extra)
    if settings.server_passwords:
        data[SERVER_PASSWORDS] = dict(settings.server_passwords)
    _write(settings.config_path, data)


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(data, fh)
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Serialise read-modify-write of relais.toml between processes of one home (a broker,
    relays and a console started together on an upgraded home must agree on one password
    each). relais.toml itself is replaced on write, so the lock is a file beside it."""
    fd = os.open(home / f"{CONFIG_FILE}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def upgrade_secrets(settings: Settings) -> Settings | None:
    """Give an existing home the secrets this version needs (a home made when all server
    accounts shared ``relay_password`` gets one password per account), written into
    relais.toml under a lock, leaving every other line as it is (flags and ``RELAIS_*``
    variables of this run are not recorded). None when nothing was missing."""
    if not _missing_passwords(settings, ()) and not any(k in settings.extra for k in LEGACY_KEYS):
        return None
    with _locked(settings.home):
        path = settings.config_path
        try:
            stored = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise _bad_toml(path, exc) from None
        current = replace(settings, server_passwords=_server_passwords(stored, path))
        passwords = {**current.server_passwords, **_missing_passwords(current, ())}
        stored = {k: v for k, v in stored.items() if k not in LEGACY_KEYS}
        stored[SERVER_PASSWORDS] = passwords
        _write(path, stored)
    extra = {k: v for k, v in settings.extra.items() if k not in LEGACY_KEYS}
    return replace(settings, server_passwords=passwords, extra=extra)
