"""A kiosk's settings, read from one JSON file (no Kivy, no server).

The file is what enrolment produces (``relais terminal add`` and the demo data write
``{terminal, password, mqtt_host, mqtt_port, tls_ca, api_url}`` to
``HOME/kiosks/NAME/config.json``), plus optional kiosk-only settings with sensible defaults.
``api_url`` is the console's kiosk API (photos the badge-in sync did not carry, notice
photos); without it the kiosk works as before and shows those photos as a label. Unknown
keys are refused so a typo ("idle_timout") does not silently keep the default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from relais_wire import topics
from relais_wire.errors import CodedError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
LANGUAGES = ("fr", "en")


class ConfigError(CodedError, ValueError):
    """A kiosk configuration that cannot be used; the message says which setting and why,
    in English, and the code and details let ``relais kiosk`` say it in French too."""


@dataclass(frozen=True)
class KioskConfig:
    terminal: str
    password: str
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    tls_ca: str | None = None
    api_url: str | None = None  # the console, e.g. http://127.0.0.1:8470 (kiosk API)
    language: str = "fr"  # shown before anyone badges in, and after logout
    idle_timeout: float = 60.0  # seconds without a touch before the automatic logout
    idle_warning: float = 15.0  # the warning shows this many seconds before it
    image_folder: str | None = None  # photos to pick from where there is no camera
    camera: bool = False  # use the camera (Kivy's provider) when one is present
    # Voice messages (kiosk_app.voice): "auto" (the terminal's input device if it has one,
    # else no button), "none", or a WAV file heard as a microphone (tests, trying it out).
    microphone: str = "auto"
    site: str = ""  # the site name shown on the idle screen
    outbox: str | None = None  # default: outbox.db beside the config file
    fullscreen: bool = False
    width: int = 800
    height: int = 480
    sound: bool = True
    timezone: str | None = None  # the site's (from enrolment); None: the terminal's own

    def outbox_path(self, config_dir: Path | None = None) -> Path:
        if self.outbox:
            return Path(self.outbox)
        return (config_dir or Path.cwd()) / "outbox.db"

    def images(self) -> Path:
        return Path(self.image_folder) if self.image_folder else ASSETS / "demo_photos"


_TYPES: dict[str, type | tuple[type, ...]] = {
    "terminal": str, "password": str, "mqtt_host": str, "mqtt_port": int,
    "tls_ca": (str, type(None)), "api_url": (str, type(None)), "language": str,
    "idle_timeout": (int, float), "idle_warning": (int, float),
    "image_folder": (str, type(None)), "camera": bool, "microphone": str, "site": str,
    "outbox": (str, type(None)), "fullscreen": bool, "width": int, "height": int, "sound": bool,
    "timezone": (str, type(None)),
}


def from_mapping(data: dict[str, Any], base_dir: Path | None = None) -> KioskConfig:
    known = {f.name for f in fields(KioskConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError("unknown_settings", f"unknown kiosk setting(s): {', '.join(unknown)}",
                          names=", ".join(unknown))
    for key in ("terminal", "password"):
        if not data.get(key):
            raise ConfigError("setting_required", f"the kiosk setting '{key}' is required",
                              key=key)
    for key, value in data.items():
        expected = _TYPES[key]
        if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
            raise ConfigError("wrong_type", f"the kiosk setting '{key}' has the wrong type",
                              key=key)
    cfg = KioskConfig(**data)
    _check_name(cfg.terminal)
    if cfg.language not in LANGUAGES:
        raise ConfigError("bad_language", f"language must be one of {', '.join(LANGUAGES)}",
                          languages=", ".join(LANGUAGES))
    if cfg.api_url and not cfg.api_url.startswith(("http://", "https://")):
        raise ConfigError("bad_api_url", "api_url must start with http:// or https://")
    if not 1 <= cfg.mqtt_port <= 65535:
        raise ConfigError("bad_mqtt_port", "mqtt_port must be between 1 and 65535")
    if cfg.idle_timeout < 5 or not 0 < cfg.idle_warning < cfg.idle_timeout:
        raise ConfigError("bad_idle", "idle_timeout must be at least 5 s and idle_warning "
                          "shorter than it")
    if cfg.width < 320 or cfg.height < 240:
        raise ConfigError("small_screen", "width and height must be at least 320x240")
    if base_dir is not None:
        cfg = _resolve(cfg, base_dir)
    return cfg


def _resolve(cfg: KioskConfig, base_dir: Path) -> KioskConfig:
    """Relative paths in a config file are relative to that file's folder."""
    changes: dict[str, Any] = {"outbox": str(cfg.outbox_path(base_dir))}
    for key in ("tls_ca", "image_folder"):
        value = getattr(cfg, key)
        if value and not Path(value).is_absolute():
            changes[key] = str(base_dir / value)
    if changes["outbox"] and not Path(changes["outbox"]).is_absolute():
        changes["outbox"] = str(base_dir / changes["outbox"])
    return replace(cfg, **changes)


def load(path: str | Path, **overrides: Any) -> KioskConfig:
    """Read a kiosk config file; ``overrides`` (not None) win over the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("no_configuration", f"no kiosk configuration at {path}",
                          path=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError("unreadable", f"cannot read the kiosk configuration {path}: {exc}",
                          path=path, error=exc) from None
    if not isinstance(data, dict):
        raise ConfigError("not_an_object", f"{path} must hold a JSON object", path=path)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return from_mapping(data, path.parent.absolute())


def _check_name(name: str) -> None:
    try:
        topics.check_terminal_name(name)
    except ValueError as exc:
        raise ConfigError("bad_terminal", f"terminal: {exc}", value=repr(name)) from None


def for_terminal(home: str | Path, terminal: str, **overrides: Any) -> KioskConfig:
    """The config of a terminal enrolled in a Relais home (demo, tests)."""
    _check_name(terminal)
    path = Path(home) / "kiosks" / terminal / "config.json"
    if not path.exists():
        raise ConfigError("not_a_demo_terminal",
                          f"terminal {terminal!r} has no kiosk configuration in {home} (only "
                          f"the demo's terminals do): a real terminal runs `relais kiosk "
                          f"--config FILE` after `relais kiosk-enrol`",
                          terminal=repr(terminal), home=home)
    return load(path, **overrides)
