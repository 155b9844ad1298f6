"""Enrolment, revocation and rotation take effect on a running broker with render + reload."""

from __future__ import annotations

from broker_config import new_password
from relais_wire import topics
from tests.broker_fixture import RunningBroker
from tests.mosquitto_clients import Sub, pub


def _connect_ok(broker: RunningBroker, name: str, password: str | None = None) -> bool:
    password = broker.passwords[name] if password is None else password
    return pub(broker.terminal_port, name, password, topics.uplink(name)).returncode == 0


def test_revoked_terminal_is_disconnected_and_new_one_admitted(broker: RunningBroker) -> None:
    t1_pw, t2_pw = broker.passwords["t1"], broker.passwords["t2"]
    t2 = Sub(broker.terminal_port, "t2", t2_pw, topics.downlink("t2")).start()
    t1 = Sub(broker.terminal_port, "t1", t1_pw, topics.downlink("t1")).start()
    try:
        t2.wait_subscribed()
        t1.wait_subscribed()
        assert not _connect_ok(broker, "t3", "not yet")

        t3_pw = new_password()
        assert broker.set_accounts(terminals={"t1": t1_pw, "t3": t3_pw}) is True

        # The connected t2 is dropped; mosquitto_sub's reconnect is then refused, so it exits.
        assert t2.wait_exit() != 0
        assert any("not authori" in line.lower() for line in t2.output), t2.output
        assert not _connect_ok(broker, "t2", t2_pw)
        # The new terminal connects; the untouched one kept its connection and subscription.
        assert _connect_ok(broker, "t3", t3_pw)
        assert t1.running
        assert pub(broker.relay_port, "_relay", broker.passwords["_relay"],
                   topics.downlink("t1"), "still here").returncode == 0
        assert t1.wait_messages(1) == [(topics.downlink("t1"), "still here")]
        assert t1.running
    finally:
        t1.stop()
        t2.stop()


def test_rotated_password_drops_the_old_one(broker: RunningBroker) -> None:
    old = broker.passwords["t1"]
    with Sub(broker.terminal_port, "t1", old, topics.downlink("t1")) as t1:
        new = new_password()
        assert broker.set_accounts(terminals={**broker.terminals, "t1": new})
        assert t1.wait_exit() != 0
    assert not _connect_ok(broker, "t1", old)
    assert _connect_ok(broker, "t1", new)
    assert _connect_ok(broker, "t2")


def test_revoked_server_account_is_disconnected(broker: RunningBroker) -> None:
    with Sub(broker.relay_port, "_relay-2", broker.passwords["_relay-2"], topics.ALL_STATUS) as gone:
        assert broker.set_accounts(server_accounts={"_relay": broker.passwords["_relay"]})
        assert gone.wait_exit() != 0
    assert pub(broker.relay_port, "_relay", broker.passwords["_relay"],
               topics.downlink("t1")).returncode == 0
