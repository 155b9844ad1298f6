"""Failures of the broker's configuration and processes that a person reads (the IT person at
``relais broker``, ``relais ejabberd ...``, ``relais terminal add``): each carries a stable
``code`` and its details, so that an entry point says it in its user's language; the message
is the English. ``tail`` is a program's own log (Mosquitto's, ejabberd's), shown as it is."""

from __future__ import annotations


class CodedError(Exception):
    """A failure an entry point words from its ``code``, with ``detail`` in the braces of
    that wording; ``message`` is the English, and ``str()`` the English then ``tail``."""

    def __init__(self, code: str, message: str, *, tail: str = "", **detail: object) -> None:
        super().__init__(message + (f"\n{tail}" if tail else ""))
        self.code = code
        self.message = message
        self.tail = tail
        self.detail = detail


class BrokerError(CodedError, RuntimeError):
    """A broker (Mosquitto, an ejabberd node, the cluster's epmd) could not be started,
    joined or asked something."""


class BrokerSettingError(CodedError, ValueError):
    """A broker or node setting it cannot run with (a port, a node name, a path)."""


class ReloadError(CodedError, RuntimeError):
    """A running broker was told to reload and did not take the new files (one line: why)."""
