"""Nothing lost in the broker: offline terminals' QoS 1 messages wait in their session, a burst
larger than Mosquitto's default queue limit is kept whole, and photo-sized payloads pass."""

from __future__ import annotations

from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from relais_wire import topics
from tests.broker_fixture import RunningBroker
from tests.mosquitto_clients import Sub, pub

SESSION = 3600


def _open_session(broker: RunningBroker, name: str) -> None:
    """Connect once with a persistent MQTT 5 session and subscribe, then go offline."""
    sub = Sub(
        broker.terminal_port, name, broker.passwords[name], topics.downlink(name),
        client_id=name, persistent=True, session_expiry=SESSION, exit_on_suback=True,
    ).start()
    assert sub.wait_exit() == 0, sub.output


def _reconnect(broker: RunningBroker, name: str, count: int | None, fmt: str = "%p") -> Sub:
    return Sub(
        broker.terminal_port, name, broker.passwords[name], topics.downlink(name),
        client_id=name, persistent=True, session_expiry=SESSION, count=count, wait=60, fmt=fmt,
    ).start()


def _relay_pub(broker: RunningBroker, topic: str, **kw: object) -> int:
    return pub(broker.relay_port, "_relay", broker.passwords["_relay"], topic, **kw).returncode  # type: ignore[arg-type]


def test_qos1_to_an_offline_terminal_is_delivered_on_reconnect(broker: RunningBroker) -> None:
    _open_session(broker, "t1")
    down = topics.downlink("t1")
    for i in range(5):
        assert _relay_pub(broker, down, payload=f"m{i}") == 0
    t1 = _reconnect(broker, "t1", count=5)
    assert t1.wait_exit() == 0, t1.output
    assert t1.messages == [(down, f"m{i}") for i in range(5)]
    # QoS 1 is at least once: mosquitto_sub -C can close before its last PUBACKs leave, so a
    # resumed session may see a redelivery (dup flag) first. Never a loss, never a stranger.
    again = _reconnect(broker, "t1", count=None)
    try:
        assert _relay_pub(broker, down, payload="next") == 0
        got = again.wait_until(lambda msgs: (down, "next") in msgs, "the new message")
    finally:
        again.stop()
    assert got[-1] == (down, "next")
    assert set(got[:-1]) <= {(down, f"m{i}") for i in range(5)}


def test_a_burst_beyond_the_default_queue_limit_is_kept_whole(broker: RunningBroker) -> None:
    """Mosquitto's default max_queued_messages is 1000, past which it drops silently."""
    n = 2500
    _open_session(broker, "t2")
    assert _relay_pub(broker, topics.downlink("t2"), lines=[f"{i}" for i in range(n)]) == 0
    t2 = _reconnect(broker, "t2", count=n)
    assert t2.wait_exit(timeout=60) == 0, t2.output[-5:]
    assert [int(p) for _, p in t2.messages] == list(range(n))


def test_queued_messages_survive_a_clean_broker_restart(broker: RunningBroker) -> None:
    _open_session(broker, "t1")
    down = topics.downlink("t1")
    for i in range(3):
        assert _relay_pub(broker, down, payload=f"kept {i}") == 0
    broker.restart()
    assert broker.settings.persistence_path.is_file()
    t1 = _reconnect(broker, "t1", count=3)
    assert t1.wait_exit() == 0, t1.output
    assert t1.messages == [(down, f"kept {i}") for i in range(3)]


def test_photo_sized_payloads_pass_and_oversized_are_refused(
    broker: RunningBroker, tmp_path: Path
) -> None:
    photo, too_big = tmp_path / "photo.bin", tmp_path / "big.bin"
    photo.write_bytes(b"\x89PNG" + bytes(512 * 1024))
    too_big.write_bytes(bytes(1024 * 1024 + 1))
    down = topics.downlink("t1")
    with Sub(broker.terminal_port, "t1", broker.passwords["t1"], down, fmt="%l") as t1:
        # MQTT 3.1.1: the broker disconnects the publisher ("oversize packet"). MQTT 5 clients
        # learn the limit from CONNACK and mosquitto_pub drops the message itself.
        assert _relay_pub(broker, down, file=too_big, v5=False) != 0
        _relay_pub(broker, down, file=too_big, v5=True)
        assert _relay_pub(broker, down, file=photo) == 0
        assert t1.wait_messages(1) == [(down, str(512 * 1024 + 4))]
        assert t1.messages == [(down, str(512 * 1024 + 4))]
    # The terminal side too: its uplink takes a photo.
    with Sub(broker.relay_port, "_relay", broker.passwords["_relay"], topics.SHARED_UPLINKS,
             fmt="%l") as relay:
        assert pub(broker.terminal_port, "t1", broker.passwords["t1"], topics.uplink("t1"),
                   file=photo).returncode == 0
        assert relay.wait_messages(1) == [(topics.uplink("t1"), str(512 * 1024 + 4))]


def test_a_terminal_that_never_takes_its_downlinks_cannot_take_the_brokers_memory(
        broker: RunningBroker) -> None:
    """Whoever holds a terminal's password keeps its session and never acknowledges, while
    its downlink fills (sync replies it asks for, photo copies): the broker keeps what one
    client may queue and drops the rest (the relay's resends bring it again), instead of
    growing until it refuses the relays. Another terminal's messages still pass."""
    import psutil

    from broker_config.render import MAX_QUEUED_BYTES

    _open_session(broker, "t1")  # offline: everything for it is queued
    pid = broker.process.pid
    assert pid is not None
    before = psutil.Process(pid).memory_info().rss
    relay = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="_relay", protocol=mqtt.MQTTv5)
    relay.username_pw_set("_relay", broker.passwords["_relay"])
    relay.connect("127.0.0.1", broker.relay_port)
    relay.loop_start()
    try:
        payload = b"x" * (256 * 1024)  # a sync reply's or a photo copy's size
        sent = 4 * MAX_QUEUED_BYTES // len(payload)
        for _ in range(sent):
            relay.publish(topics.downlink("t1"), payload, qos=1).wait_for_publish(10)
        grown = psutil.Process(pid).memory_info().rss - before
        # Four times the cap offered; what stayed is about the cap (and the broker's own).
        assert grown < 2 * MAX_QUEUED_BYTES, grown
        with Sub(broker.terminal_port, "t2", broker.passwords["t2"], topics.downlink("t2")) as t2:
            relay.publish(topics.downlink("t2"), b"still here", qos=1).wait_for_publish(10)
            assert t2.wait_messages(1) == [(topics.downlink("t2"), "still here")]
    finally:
        relay.disconnect()
        relay.loop_stop()
    t1 = _reconnect(broker, "t1", count=None, fmt="%l")
    try:
        kept = t1.wait_until(lambda msgs: len(msgs) >= 8, "the queued copies")
    finally:
        t1.stop()
    assert 8 <= len(kept) <= MAX_QUEUED_BYTES // len(payload) + 1, len(kept)
