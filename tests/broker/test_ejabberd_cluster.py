"""Relais on a real two-node ejabberd cluster (issue 14, point 4): terminals on node A, the
relay on node B, the same ``%u`` identity model as with Mosquitto, and every login checked by
``relais broker-auth`` against a real home's database (hr_console/cli_ejabberd.py).

Each test asserts what the broker answers (CONNACK, SUBACK and PUBACK reason codes, MQTT 5)
and, for what it refuses, that nothing arrived: a "fence" message sent afterwards on an
allowed topic proves delivery got past the point where the forbidden one would have arrived.

Needs Debian's ejabberd (make test-long installs it); skipped without it.
"""

from __future__ import annotations

import queue
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broker_config.ejabberd import (
    EjabberdNode,
    EjabberdProcess,
    EpmdProcess,
    cluster_members,
    ejabberd_installed,
    kick,
    new_cookie,
    nodes_for,
    render,
)
from broker_config.process import free_port
from hr_console import config as config_mod
from hr_console.cli import initialise
from hr_console.cli_ejabberd import relay_accounts
from hr_console.config import Settings
from hr_console.services import terminals
from hr_console.store.db import Store
from relais_wire import topics

pytestmark = [
    pytest.mark.long,
    pytest.mark.skipif(not ejabberd_installed(),
                       reason="ejabberd is not installed (apt-get install ejabberd)"),
]

WAIT = 10.0  # generous: two cores shared with other suites
NOT_AUTHORIZED = 0x87
NO_MATCHING_SUBSCRIBERS = 0x10
SESSION_TAKEN_OVER = 0x8E
SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E


@dataclass
class Cluster:
    cfg: Settings
    a: EjabberdNode  # the terminals' node
    b: EjabberdNode  # the relays' node
    passwords: dict[str, str]  # username -> password, terminals and the first relay
    store: Store

    @property
    def relay(self) -> str:
        return self.cfg.relay_account(1)


class Client:
    """A paho MQTT 5 client whose broker answers are read in order from queues."""

    def __init__(self, port: int, username: str, password: str | None, client_id: str) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        c.username_pw_set(username, password)
        c.on_connect = lambda _c, _u, _f, rc, _p: self.events.put(("connack", rc.value))
        c.on_disconnect = lambda _c, _u, _f, rc, _p: self.events.put(("disconnect", rc.value))
        c.on_subscribe = lambda _c, _u, _m, rcs, _p: self.events.put(("suback", [r.value for r in rcs]))
        c.on_publish = lambda _c, _u, _m, rc, _p: self.events.put(("puback", rc.value))
        c.on_message = lambda _c, _u, m: self.messages.put((m.topic, m.payload))
        self.client = c
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        self.connack = self.expect("connack")

    def expect(self, kind: str) -> Any:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                got, value = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {kind} within {WAIT:g}s") from None
            if got == kind:
                return value
            if got == "disconnect" and kind != "disconnect":
                raise AssertionError(f"disconnected (reason {value:#x}) while waiting for {kind}")

    def subscribe(self, topic: str) -> int:
        self.client.subscribe(topic, qos=1)
        return int(self.expect("suback")[0])

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int:
        self.client.publish(topic, payload, qos=1, retain=retain)
        return int(self.expect("puback"))

    def message(self) -> tuple[str, bytes]:
        try:
            return self.messages.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no message within {WAIT:g}s") from None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _connect(cluster: Cluster, node: EjabberdNode, username: str, password: str | None = None,
             client_id: str | None = None) -> Client:
    pw = cluster.passwords[username] if password is None else password
    return Client(node.mqtt_port, username, pw, client_id or f"{username}-{time.monotonic_ns()}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with tempfile.TemporaryDirectory(prefix="relais-ejabberd-") as tmp:
        home = Path(tmp) / "home"
        cfg = initialise(config_mod.load(home, relay_port=free_port(), mqtt_port=free_port()))
        store = Store(cfg.database_url)
        passwords = {cfg.relay_account(1): cfg.server_passwords[cfg.relay_account(1)]}
        with store.session() as s:
            for name in ("kiosk-1", "kiosk-2", "kiosk-3"):
                _row, creds = terminals.enrol(s, name, None, actor="test")
                passwords[creds.username] = creds.password
        a, b = nodes_for(cfg.home, relay_accounts(cfg), Path(tmp) / "ejabberd",
                         ["relais-a@localhost", "relais-b@localhost"], [free_port(), free_port()],
                         epmd_port=free_port(), cookie=new_cookie())
        epmd = EpmdProcess(a.epmd_port, Path(tmp) / "ejabberd")
        procs = [EjabberdProcess(a), EjabberdProcess(b)]
        epmd.start()
        try:
            for proc in procs:
                render(proc.node)
                proc.start()
            procs[1].join(a)
            yield Cluster(cfg, a, b, passwords, store)
        finally:
            for proc in reversed(procs):
                proc.stop()
            epmd.stop()
            store.dispose()


def test_two_nodes_form_one_cluster(cluster: Cluster) -> None:
    assert sorted(cluster_members(cluster.a)) == sorted([cluster.a.name, cluster.b.name])
    assert sorted(cluster_members(cluster.b)) == sorted([cluster.a.name, cluster.b.name])


def test_a_message_goes_terminal_to_relay_to_terminal_across_nodes(cluster: Cluster) -> None:
    relay = _connect(cluster, cluster.b, cluster.relay)
    t1 = _connect(cluster, cluster.a, "kiosk-1")
    t2 = _connect(cluster, cluster.a, "kiosk-2")
    try:
        assert (relay.connack, t1.connack, t2.connack) == (0, 0, 0)
        # Per terminal (what relays owning partitions will do) and with plain wildcards.
        assert relay.subscribe(topics.uplink("kiosk-1")) == 1
        assert relay.subscribe(topics.ALL_STATUS) == 1
        assert t2.subscribe(topics.downlink("kiosk-2")) == 1
        assert t1.subscribe(f"{topics.downlink('kiosk-1')}/#") == 1  # also covers .../down

        assert t1.publish(topics.status("kiosk-1"), b"online", retain=True) == 0
        assert relay.message() == (topics.status("kiosk-1"), b"online")
        assert t1.publish(topics.uplink("kiosk-1"), b"hello kiosk-2") == 0
        assert relay.message() == (topics.uplink("kiosk-1"), b"hello kiosk-2")
        assert relay.publish(topics.downlink("kiosk-2"), b"from kiosk-1: hello") == 0
        assert t2.message() == (topics.downlink("kiosk-2"), b"from kiosk-1: hello")
        assert relay.publish(f"{topics.downlink('kiosk-1')}/receipt", b"delivered") == 0
        assert t1.message() == (f"{topics.downlink('kiosk-1')}/receipt", b"delivered")

        # A wildcard uplink subscription works too (one relay for everything).
        assert relay.subscribe(topics.ALL_UPLINKS) == 1
        assert t2.publish(topics.uplink("kiosk-2"), b"reply") == 0
        assert relay.message() == (topics.uplink("kiosk-2"), b"reply")
    finally:
        for c in (relay, t1, t2):
            c.close()


def test_a_terminal_cannot_read_another_terminals_downlink(cluster: Cluster) -> None:
    relay = _connect(cluster, cluster.b, cluster.relay)
    rogue = _connect(cluster, cluster.a, "kiosk-1")
    try:
        for topic in (topics.downlink("kiosk-2"), f"{topics.PREFIX}/t/+/down", "#",
                      topics.ALL_UPLINKS, topics.status("kiosk-2")):
            assert rogue.subscribe(topic) >= 0x80, topic
        assert rogue.subscribe(topics.downlink("kiosk-1")) == 1
        # 0x10 "no matching subscribers": none of the refused filters was registered anywhere
        # in the cluster (kiosk-2 is not connected; its earlier session ended with it).
        assert relay.publish(topics.downlink("kiosk-2"), b"for kiosk-2 only") == NO_MATCHING_SUBSCRIBERS
        assert relay.publish(topics.downlink("kiosk-1"), b"fence") == 0
        assert rogue.message() == (topics.downlink("kiosk-1"), b"fence")
        assert rogue.messages.empty()
    finally:
        relay.close()
        rogue.close()


def test_a_terminal_cannot_speak_as_another_or_as_the_relay(cluster: Cluster) -> None:
    relay = _connect(cluster, cluster.b, cluster.relay)
    rogue = _connect(cluster, cluster.a, "kiosk-1", client_id="kiosk-2")  # client id proves nothing
    try:
        assert relay.subscribe(topics.ALL_UPLINKS) == 1
        assert relay.subscribe(topics.ALL_STATUS) == 1
        for topic in (topics.uplink("kiosk-2"), topics.status("kiosk-2"), topics.downlink("kiosk-2"),
                      topics.downlink("kiosk-1"), "$SYS/x", "relais/v2/anything"):
            assert rogue.publish(topic, b"forged") >= 0x80, topic
        # The relay account cannot forge a terminal either.
        assert relay.publish(topics.uplink("kiosk-2"), b"forged by relay") >= 0x80
        assert rogue.publish(topics.uplink("kiosk-1"), b"fence") == 0
        assert relay.message() == (topics.uplink("kiosk-1"), b"fence")
        assert relay.messages.empty()
    finally:
        relay.close()
        rogue.close()


def test_wrong_or_missing_credentials_are_refused(cluster: Cluster) -> None:
    p = cluster.passwords
    for node, user, password in (
        (cluster.a, "kiosk-1", p["kiosk-1"] + "x"),
        (cluster.a, "kiosk-1", p["kiosk-2"]),  # another terminal's password
        (cluster.a, "kiosk-1", ""),
        (cluster.a, "nobody", "x"),
        (cluster.b, cluster.relay, p[cluster.relay] + "x"),
        (cluster.b, cluster.cfg.relay_account(9), p[cluster.relay]),  # not a relay instance
        (cluster.b, "kiosk-1@elsewhere", p["kiosk-1"]),  # another ejabberd host
    ):
        c = Client(node.mqtt_port, user, password, f"bad-{time.monotonic_ns()}")
        try:
            assert c.connack >= 0x80, (user, password)
        finally:
            c.close()
    # A terminal's good password works on either node: the cluster is one broker.
    for node in (cluster.a, cluster.b):
        c = _connect(cluster, node, "kiosk-1")
        try:
            assert c.connack == 0
        finally:
            c.close()


def test_a_revoked_terminal_is_cut_off_and_refused(cluster: Cluster) -> None:
    """ejabberd checks a password at login only: the open connection is closed by ``kick``
    (DISCONNECT 0x8E), then every new login is refused, on both nodes."""
    live = _connect(cluster, cluster.a, "kiosk-3", client_id="kiosk-3")
    assert live.connack == 0
    assert live.subscribe(f"{topics.downlink('kiosk-3')}/#") == 1
    live.client.reconnect_delay_set(60, 60)  # so that its retry does not race the checks below
    with cluster.store.session() as s:
        from sqlalchemy import select

        from hr_console.store.models import Terminal

        row = s.execute(select(Terminal).where(Terminal.name == "kiosk-3")).scalar_one()
        terminals.revoke(s, row, "test")
    assert kick(cluster.b, "kiosk-3") == 1  # from the other node: the session table is shared
    assert live.expect("disconnect") == SESSION_TAKEN_OVER
    live.close()
    assert kick(cluster.a, "kiosk-3") == 0
    for node in (cluster.a, cluster.b):
        after = Client(node.mqtt_port, "kiosk-3", cluster.passwords["kiosk-3"], "kiosk-3")
        try:
            assert after.connack == NOT_AUTHORIZED
        finally:
            after.close()


def test_shared_subscriptions_are_not_supported(cluster: Cluster) -> None:
    """ejabberd 23.01 closes the connection on a ``$share/`` SUBSCRIBE: relays must subscribe
    per terminal or with plain wildcards (what today's relay does is refused)."""
    relay = _connect(cluster, cluster.b, cluster.relay)
    try:
        relay.client.subscribe(topics.SHARED_UPLINKS, qos=1)
        assert relay.expect("disconnect") == SHARED_SUBSCRIPTIONS_NOT_SUPPORTED
    finally:
        relay.close()
