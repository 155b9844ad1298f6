"""Failures of the broker's configuration and processes that a person reads (the IT person at
``relais broker``, ``relais ejabberd ...``, ``relais terminal add``): each carries a stable
``code`` and its details, so that an entry point says it in its user's language; the message
is the English. ``tail`` is a program's own log (Mosquitto's, ejabberd's), shown as it is."""

from __future__ import annotations

from relais_wire.errors import CodedError


class BrokerError(CodedError, RuntimeError):
    """A broker (Mosquitto, an ejabberd node, the cluster's epmd) could not be started,
    joined or asked something."""


class BrokerSettingError(CodedError, ValueError):
    """A broker or node setting it cannot run with (a port, a node name, a path)."""


class ReloadError(CodedError, RuntimeError):
    """A running broker was told to reload and did not take the new files (one line: why)."""
