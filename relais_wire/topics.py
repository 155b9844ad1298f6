"""Every MQTT topic name Relais uses, built in one place.

The terminal's MQTT username is its name and the only identity the relay trusts
(the broker ACL is keyed on ``%u``), so names are restricted to characters that can
never form a wildcard or a level separator.
"""

from __future__ import annotations

import re

PREFIX = "relais/v1"
SHARE_GROUP = "relais"
RELAY_USER_PREFIX = "_"  # terminal names may not start with it: reserved for server clients

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def valid_terminal_name(name: str) -> bool:
    """A terminal name is lower-case letters, digits and dashes, 1 to 32 long."""
    return bool(_NAME.fullmatch(name))  # not match: '$' would allow a trailing newline


def check_terminal_name(name: str) -> str:
    if not valid_terminal_name(name):
        raise ValueError(
            f"invalid terminal name {name!r}: use 1-32 lower-case letters, digits or dashes, "
            "starting with a letter or digit"
        )
    return name


def uplink(terminal: str) -> str:
    """Terminal -> relay. The only topic a terminal may publish messages on."""
    return f"{PREFIX}/t/{check_terminal_name(terminal)}/up"


def downlink(terminal: str) -> str:
    """Relay -> terminal. The only topic a terminal may read."""
    return f"{PREFIX}/t/{check_terminal_name(terminal)}/down"


def status(terminal: str) -> str:
    """Retained presence (``online`` / ``offline``), also the terminal's last will."""
    return f"{PREFIX}/t/{check_terminal_name(terminal)}/status"


ALL_UPLINKS = f"{PREFIX}/t/+/up"
ALL_STATUS = f"{PREFIX}/t/+/status"
SHARED_UPLINKS = f"$share/{SHARE_GROUP}/{ALL_UPLINKS}"

ONLINE = b"online"
OFFLINE = b"offline"


def terminal_of(topic: str) -> str | None:
    """The terminal name in an uplink/downlink/status topic, or None if it is not ours."""
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != PREFIX or parts[2] != "t":
        return None
    if parts[4] not in ("up", "down", "status") or not valid_terminal_name(parts[3]):
        return None
    return parts[3]
