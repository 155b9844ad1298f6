"""Nobody where they don't belong: a terminal reads only its own downlink and status and
speaks only on its own uplink and status, whatever client id it claims (docs/architecture.md,
decision 1).

Mosquitto grants any subscription and filters on delivery, so these tests assert what
arrives. A "fence" message, published after the forbidden one to a topic the subscriber may
read, proves delivery got past the point where the forbidden message would have arrived.
"""

from __future__ import annotations

from relais_wire import topics
from tests.broker_fixture import RunningBroker
from tests.mosquitto_clients import SUB_TIMED_OUT, Sub, pub


def _pub(broker: RunningBroker, username: str, topic: str, payload: str = "x", **kw: object) -> int:
    port, password = broker.port_for(username), broker.passwords[username]
    return pub(port, username, password, topic, payload, **kw).returncode  # type: ignore[arg-type]


def _sub(broker: RunningBroker, username: str, topics_: str | list[str], **kw: object) -> Sub:
    return Sub(broker.port_for(username), username, broker.passwords[username], topics_, **kw)  # type: ignore[arg-type]


def test_anonymous_connections_are_refused(broker: RunningBroker) -> None:
    for port in (broker.terminal_port, broker.relay_port):
        for v5 in (True, False):
            result = pub(port, None, None, topics.uplink("t1"), v5=v5)
            assert result.returncode != 0, result
            assert "not authori" in (result.stderr + result.stdout).lower()
    # A username that exists but no password is no better.
    assert pub(broker.terminal_port, "t1", None, topics.uplink("t1")).returncode != 0


def test_wrong_password_is_refused(broker: RunningBroker) -> None:
    for user in ("t1", "_relay"):
        port = broker.port_for(user)
        wrong = broker.passwords[user] + "x"
        assert pub(port, user, wrong, topics.uplink("t1")).returncode != 0
        assert pub(port, user, broker.passwords[user], topics.uplink("t1")).returncode == 0
    # Another account's password does not open this one.
    assert pub(broker.terminal_port, "t1", broker.passwords["t2"], topics.uplink("t1")).returncode != 0
    assert pub(broker.terminal_port, "nobody", "x", topics.uplink("t1")).returncode != 0


def test_a_terminal_cannot_read_another_terminals_downlink(broker: RunningBroker) -> None:
    with (
        _sub(broker, "t2", topics.downlink("t2")) as t2,
        _sub(broker, "t1", topics.downlink("t2"), count=1, wait=2) as t1_rogue,
    ):
        assert _pub(broker, "_relay", topics.downlink("t2"), "for t2 only") == 0
        assert t2.wait_messages(1) == [(topics.downlink("t2"), "for t2 only")]
        assert t1_rogue.wait_exit() == SUB_TIMED_OUT
        assert t1_rogue.messages == []


def test_a_terminal_reads_its_downlink_and_below(broker: RunningBroker) -> None:
    """``relais/v1/t/%u/down/#`` in the ACL also covers the exact ``.../down`` topic."""
    down = topics.downlink("t2")
    with _sub(broker, "t2", f"{down}/#") as t2:
        assert _pub(broker, "_relay", down, "a") == 0
        assert _pub(broker, "_relay", f"{down}/media/42", "b") == 0
        assert t2.wait_messages(2) == [(down, "a"), (f"{down}/media/42", "b")]
    with _sub(broker, "t2", down, count=1) as t2_exact:
        assert _pub(broker, "_relay", down, "c") == 0
        assert t2_exact.wait_exit() == 0
        assert t2_exact.messages == [(down, "c")]


def test_wildcard_subscription_sees_none_of_another_terminals_traffic(
    broker: RunningBroker,
) -> None:
    # t2's retained presence exists before t1 subscribes: retained messages are filtered too.
    assert _pub(broker, "t2", topics.status("t2"), "online", retain=True) == 0
    fence = topics.downlink("t1")
    with _sub(broker, "t1", ["#", "$SYS/#"]) as t1:
        assert _pub(broker, "t2", topics.uplink("t2"), "t2 speaks") == 0
        assert _pub(broker, "t2", topics.status("t2"), "online", retain=True) == 0
        assert _pub(broker, "_relay", topics.downlink("t2"), "to t2") == 0
        assert _pub(broker, "_relay", f"{topics.downlink('t2')}/x", "to t2 below") == 0
        assert _pub(broker, "_relay", "relais/v1/other", "server only") == 0
        assert _pub(broker, "_relay", fence, "fence") == 0
        assert t1.wait_messages(1) == [(fence, "fence")]
        assert t1.messages == [(fence, "fence")]


def test_a_terminal_cannot_speak_on_another_terminals_topics(broker: RunningBroker) -> None:
    """Only t1's own uplink reaches the relays' shared subscription; forged t2 traffic does not."""
    with (
        _sub(broker, "_relay", [topics.SHARED_UPLINKS, topics.ALL_STATUS]) as relay,
        _sub(broker, "t2", topics.downlink("t2")) as t2,
    ):
        for v5 in (True, False):
            _pub(broker, "t1", topics.uplink("t2"), "forged uplink", v5=v5)
            _pub(broker, "t1", topics.status("t2"), "forged status", v5=v5, retain=True)
            _pub(broker, "t1", topics.downlink("t2"), "forged downlink", v5=v5)
        assert _pub(broker, "t1", topics.uplink("t1"), "own uplink") == 0
        assert _pub(broker, "t1", topics.status("t1"), "online", retain=True) == 0
        got = relay.wait_messages(2)
        assert got == [(topics.uplink("t1"), "own uplink"), (topics.status("t1"), "online")]
        # Fence for t2: the relay may write t2's downlink; nothing forged came before it.
        assert _pub(broker, "_relay-2", topics.downlink("t2"), "fence") == 0
        assert t2.wait_messages(1) == [(topics.downlink("t2"), "fence")]
    # Nothing forged was retained on t2's status either.
    with _sub(broker, "t2", topics.status("t2"), count=1, wait=1) as t2_status:
        assert t2_status.wait_exit() == SUB_TIMED_OUT
        assert t2_status.messages == []


def test_a_terminal_writes_nothing_but_its_uplink_and_status(broker: RunningBroker) -> None:
    """Not its own downlink (that would forge relay messages), not below its uplink, not
    anywhere else in the tree the relay reads."""
    with _sub(broker, "_observer", "#") as relay:
        for topic in (
            topics.downlink("t1"),
            f"{topics.uplink('t1')}/extra",
            "relais/v1/t/t1",
            "relais/v1/broadcast",
            f"{topics.status('t1')}/x",
        ):
            _pub(broker, "t1", topic, "forbidden")
        assert _pub(broker, "t1", topics.uplink("t1"), "fence") == 0
        assert relay.wait_messages(1) == [(topics.uplink("t1"), "fence")]


def test_a_terminal_reads_its_own_retained_status(broker: RunningBroker) -> None:
    assert _pub(broker, "t1", topics.status("t1"), "online", retain=True) == 0
    with _sub(broker, "t1", topics.status("t1"), count=1) as t1:
        assert t1.wait_exit() == 0
        assert t1.messages == [(topics.status("t1"), "online")]


def test_client_id_of_another_terminal_gives_nothing(broker: RunningBroker) -> None:
    """use_username_as_clientid: t1 claiming client id "t2" is still t1, and t2 stays online."""
    with (
        _sub(broker, "t2", topics.downlink("t2")) as t2,
        _sub(broker, "t1", [topics.downlink("t2"), topics.downlink("t1")], client_id="t2") as rogue,
    ):
        assert _pub(broker, "_relay", topics.downlink("t2"), "for t2") == 0
        assert _pub(broker, "_relay", topics.downlink("t1"), "fence") == 0
        assert rogue.wait_messages(1) == [(topics.downlink("t1"), "fence")]
        assert rogue.messages == [(topics.downlink("t1"), "fence")]
        # The real t2 was not kicked off by the claimed id and got its message.
        assert t2.wait_messages(1) == [(topics.downlink("t2"), "for t2")]
        assert t2.running


def test_same_username_twice_replaces_the_first_connection(broker: RunningBroker) -> None:
    """Identity is the username: a second login as t1, whatever its client id, takes over and
    disconnects the first. So each relay process needs its own server account, and two
    clients sharing one (both auto-reconnecting) would keep kicking each other out."""
    with _sub(broker, "t1", topics.downlink("t1")) as first:
        assert _pub(broker, "t1", topics.uplink("t1"), "hello", client_id="something-else") == 0

        def reconnected(lines: list[str]) -> bool:
            return sum("sending CONNECT" in line for line in lines) >= 2

        first.wait_output(reconnected, "the first t1 connection to be dropped and reconnect")
    log = broker.settings.log_path.read_text()
    assert "Client t1 already connected, closing old connection." in log


def test_last_will_only_on_own_status(broker: RunningBroker) -> None:
    with _sub(broker, "_relay", topics.ALL_STATUS) as relay:
        for name, will_topic in (("t1", topics.status("t2")), ("t2", topics.status("t2"))):
            client = _sub(
                broker,
                name,
                topics.downlink(name),
                extra=["--will-topic", will_topic, "--will-payload", f"offline from {name}",
                       "--will-qos", "1"],
            ).start()
            client.wait_subscribed()
            client.kill()  # no DISCONNECT: the broker publishes the will
        got = relay.wait_messages(1)
        assert got == [(topics.status("t2"), "offline from t2")]
