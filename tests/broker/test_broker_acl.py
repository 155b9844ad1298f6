"""Nobody where they don't belong: a terminal subscribes to its own downlink and nothing
else, and speaks only on its own uplink and status, whatever client id it claims
(docs/architecture.md, decision 1).

Mosquitto's ACL grants any subscription and filters on delivery; the subscription check
(broker_config.plugin) refuses a terminal every other filter, which the SUBACK says (reason
135). What arrives is asserted too: a "fence" message, published after the forbidden one to a
topic the subscriber may read, proves delivery got past the point where the forbidden message
would have arrived.
"""

from __future__ import annotations

import psutil

from relais_wire import topics
from tests.broker_fixture import OBSERVER, RunningBroker
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


REFUSED = 135  # SUBACK reason code: not authorised


def test_a_terminal_cannot_read_another_terminals_downlink(broker: RunningBroker) -> None:
    with (
        _sub(broker, "t2", topics.downlink("t2")) as t2,
        _sub(broker, "t1", [topics.downlink("t1"), topics.downlink("t2")]) as t1_rogue,
    ):
        assert t1_rogue.suback == [1, REFUSED]
        assert _pub(broker, "_relay", topics.downlink("t2"), "for t2 only") == 0
        assert _pub(broker, "_relay", topics.downlink("t1"), "fence") == 0
        assert t2.wait_messages(1) == [(topics.downlink("t2"), "for t2 only")]
        assert t1_rogue.wait_messages(1) == [(topics.downlink("t1"), "fence")]
        assert t1_rogue.messages == [(topics.downlink("t1"), "fence")]


def test_a_terminal_subscribes_to_its_own_downlink_and_nothing_else(
    broker: RunningBroker,
) -> None:
    """With a terminal's password read off a kiosk's disk, a subscription to millions of
    filters took the broker's memory (it exited, and every terminal's link with it) and made
    every message slow: a terminal's SUBSCRIBE is refused for anything but its downlink."""
    # t2's retained presence exists before t1 subscribes.
    assert _pub(broker, "t2", topics.status("t2"), "online", retain=True) == 0
    down = topics.downlink("t1")
    refused = ["#", "$SYS/#", "+/+/+/+/+", f"{down}/#", f"{down}/x", topics.status("t1"),
               topics.uplink("t1"), topics.ALL_UPLINKS, topics.SHARED_UPLINKS,
               f"$share/g/{topics.downlink('t2')}", "relais/v1/t/t1", "relais/v1/t/+/down",
               "x" * 300 + "/" + "y/" * 100 + "z"]
    for v5 in (True, False):
        with _sub(broker, "t1", [down, *refused], v5=v5) as t1:
            assert t1.suback == ([1] + [REFUSED] * len(refused) if v5
                                 else [1] + [128] * len(refused))  # MQTT 3.1.1: 0x80 failure
            assert _pub(broker, "t2", topics.uplink("t2"), "t2 speaks") == 0
            assert _pub(broker, "t2", topics.status("t2"), "online", retain=True) == 0
            assert _pub(broker, "_relay", topics.downlink("t2"), "to t2") == 0
            assert _pub(broker, "_relay", f"{down}/x", "below") == 0
            assert _pub(broker, "_relay", down, "fence") == 0
            assert t1.wait_messages(1) == [(down, "fence")]
            assert t1.messages == [(down, "fence")]


def test_refused_filters_cost_the_broker_no_memory(broker: RunningBroker) -> None:
    """Refused filters are kept nowhere: 5,000 long ones (2 MB) in a session the broker
    keeps leave its memory as it was (granted, they took about 4.5 times their size), and it
    goes on delivering."""
    proc = psutil.Process(broker.process.pid)
    filters = [f"{topics.downlink('t1')}/{i}/" + "x" * 400 for i in range(5000)]
    with _sub(broker, "t2", topics.downlink("t2")) as t2:
        before = proc.memory_info().rss
        for chunk in range(0, len(filters), 500):
            with _sub(broker, "t1", filters[chunk:chunk + 500], client_id="t1",
                      persistent=True, session_expiry=3600) as rogue:
                assert rogue.suback == [REFUSED] * 500
        grown = proc.memory_info().rss - before
        assert grown < 2 * 2**20, f"the broker grew by {grown} bytes"
        assert _pub(broker, "_relay", topics.downlink("t2"), "still here") == 0
        assert t2.wait_messages(1) == [(topics.downlink("t2"), "still here")]


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
    with _sub(broker, OBSERVER, topics.status("t2"), count=1, wait=1) as t2_status:
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


def test_a_terminals_retained_status_is_kept_for_the_relays(broker: RunningBroker) -> None:
    assert _pub(broker, "t1", topics.status("t1"), "online", retain=True) == 0
    with _sub(broker, "_relay", topics.status("t1"), count=1) as relay:
        assert relay.wait_exit() == 0
        assert relay.messages == [(topics.status("t1"), "online")]


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
