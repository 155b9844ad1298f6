"""Settings of one Relais home: flags, then ``RELAIS_*`` variables, then ``DIR/relais.toml``.

All state of an installation lives under its home directory, so two homes never share
anything (DESIGN.md, "Running it"). Secrets that must survive restarts (the relay's broker
password, the console's session key, the badge pepper) are generated once and kept in
``relais.toml``, which is written with mode 0600.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

DEFAULT_MQTT_PORT = 18883  # never the system Mosquitto's 1883
DEFAULT_CONSOLE_PORT = 8470
CONFIG_FILE = "relais.toml"


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
    relay_password: str = ""
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
    extra: dict[str, Any] = field(default_factory=dict)

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
_STORED = [f.name for f in fields(Settings) if f.name not in ("home", "extra")]


def _coerce(name: str, value: Any) -> Any:
    if name == "timezone":
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"setting timezone must be a time zone name such as Europe/Paris, "
                             f"not {value!r}") from None
        return str(value)
    if name in _INT_FIELDS:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"setting {name} must be a number, not {value!r}") from None
        if name == "trusted_proxies" and not 0 <= number <= 10:
            raise ValueError(f"setting trusted_proxies counts the reverse proxies in front of "
                             f"the console (0 to 10), not {value!r}")
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
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML: {exc}") from None
        values.update({k: v for k, v in stored.items() if k in _STORED})
        extra = {k: v for k, v in stored.items() if k not in _STORED}
    else:
        extra = {}
    for name in _STORED:
        env = os.environ.get(f"RELAIS_{name.upper()}")
        if env:
            values[name] = env
    for name, value in flags.items():
        if value is not None and name in _STORED:
            values[name] = value
    values = {k: _coerce(k, v) for k, v in values.items()}
    return Settings(home=home_path, extra=extra, **values)


def with_secrets(settings: Settings) -> Settings:
    """Fill in the secrets and the relay port that a new home needs, keeping existing ones."""
    from broker_config.process import free_port

    changes: dict[str, Any] = {}
    if not settings.relay_password:
        changes["relay_password"] = secrets.token_urlsafe(24)
    if not settings.secret_key:
        changes["secret_key"] = secrets.token_hex(32)
    if not settings.badge_pepper:
        changes["badge_pepper"] = secrets.token_hex(32)
    if not settings.relay_port:
        changes["relay_port"] = free_port()
    return replace(settings, **changes)


def save(settings: Settings) -> None:
    """Write the persistent settings (not the ones that came from the environment only)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    data = {name: getattr(settings, name) for name in _STORED}
    data = {k: v for k, v in data.items() if v not in ("", None)}
    if data.get("db_url", "") == "":
        data.pop("db_url", None)
    data.update(settings.extra)
    tmp = settings.config_path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(data, fh)
    os.replace(tmp, settings.config_path)
