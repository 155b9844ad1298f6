"""A real Mosquitto for tests: rendered by broker_config, on free ports, in a temporary home.

Every test that needs a broker uses ``start_broker`` or the ``broker`` fixture (exposed in
tests/conftest.py), so all of them exercise the configuration production uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from broker_config import (
    RELAY_GRANTS,
    Account,
    BrokerProcess,
    BrokerSettings,
    free_port,
    hash_password,
    new_password,
    reload,
    render,
)
from tests.mosquitto_clients import stop_all

DEFAULT_TERMINALS = ("t1", "t2")
DEFAULT_SERVER_ACCOUNTS = ("_relay", "_relay-2", "_observer")
# A test-only witness that reads the whole tree, so a test can show that a forbidden publish
# landed nowhere (the relays themselves read only uplinks and status).
OBSERVER = "_observer"
_PORT_ATTEMPTS = 5


def _accounts(passwords: dict[str, str], *, servers: bool) -> list[Account]:
    """Terminals get no grants (the %u patterns); server accounts a relay's, the observer
    read access to everything."""
    def grants(name: str) -> tuple[tuple[str, str], ...]:
        if not servers:
            return ()
        return (("read", "#"),) if name == OBSERVER else RELAY_GRANTS

    return [Account(name, hash_password(pw), grants(name)) for name, pw in passwords.items()]


def render_accounts(
    settings: BrokerSettings, terminals: dict[str, str], server_accounts: dict[str, str]
) -> None:
    """Render ``settings`` with these username -> plaintext password maps."""
    render(settings, _accounts(server_accounts, servers=True), _accounts(terminals, servers=False))


def start_broker(
    directory: Path,
    terminals: dict[str, str],
    server_accounts: dict[str, str],
    **settings_options: object,
) -> BrokerProcess:
    """Render a broker into ``directory`` on free ports and start it.

    ``settings_options`` go to BrokerSettings (e.g. TLS files). A free port can be taken by
    someone else between asking and binding, so a failed start is retried on new ports.
    """
    last: RuntimeError | None = None
    for _ in range(_PORT_ATTEMPTS):
        relay_port = free_port()
        terminal_port = free_port()
        while terminal_port == relay_port:
            terminal_port = free_port()
        settings = BrokerSettings(
            directory=directory,
            terminal_port=terminal_port,
            relay_port=relay_port,
            **settings_options,  # type: ignore[arg-type]
        )
        render_accounts(settings, terminals, server_accounts)
        process = BrokerProcess(settings)
        try:
            process.start()
        except RuntimeError as exc:
            if "Address already in use" not in str(exc):
                raise
            last = exc
            continue
        return process
    assert last is not None
    raise last


@dataclass
class RunningBroker:
    """What a test needs to talk to the broker, and to change its accounts while it runs."""

    process: BrokerProcess
    terminals: dict[str, str]
    server_accounts: dict[str, str]
    passwords: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.passwords = {**self.server_accounts, **self.terminals}

    @property
    def settings(self) -> BrokerSettings:
        return self.process.settings

    @property
    def terminal_port(self) -> int:
        return self.settings.terminal_port

    @property
    def relay_port(self) -> int:
        return self.settings.relay_port

    def port_for(self, username: str) -> int:
        """Server accounts use the loopback listener, terminals theirs."""
        return self.relay_port if username.startswith("_") else self.terminal_port

    def set_accounts(
        self,
        terminals: dict[str, str] | None = None,
        server_accounts: dict[str, str] | None = None,
    ) -> bool:
        """Re-render with new accounts and SIGHUP the broker (what enrolment/revocation do)."""
        if terminals is not None:
            self.terminals = dict(terminals)
        if server_accounts is not None:
            self.server_accounts = dict(server_accounts)
        self.__post_init__()
        render_accounts(self.settings, self.terminals, self.server_accounts)
        return reload(self.settings)

    def restart(self) -> None:
        """Clean stop (Mosquitto saves its persistence snapshot) and start on the same ports."""
        self.process.stop()
        self.process.start()

    def stop(self) -> None:
        self.process.stop()


def start_running_broker(
    directory: Path,
    terminals: tuple[str, ...] = DEFAULT_TERMINALS,
    server_accounts: tuple[str, ...] = DEFAULT_SERVER_ACCOUNTS,
) -> RunningBroker:
    """Start a broker with fresh random passwords for these names."""
    term_pw = {name: new_password() for name in terminals}
    server_pw = {name: new_password() for name in server_accounts}
    process = start_broker(directory, term_pw, server_pw)
    return RunningBroker(process, term_pw, server_pw)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RunningBroker]:
    """A running broker with terminals t1, t2, relay accounts _relay and _relay-2 and the
    test-only _observer.

    Two relay accounts because identity is the username (use_username_as_clientid): a second
    connection with the same username, even from a test, disconnects the first.
    """
    running = start_running_broker(tmp_path / "broker")
    try:
        yield running
    finally:
        stop_all()  # clients first: a leftover one would reconnect to a later broker's port
        running.stop()
