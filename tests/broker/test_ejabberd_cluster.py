"""Relais on a real two-node ejabberd cluster (issue 14, point 4): terminals on node A, the
relay on node B, the same ``%u`` identity model as with Mosquitto, and every login checked by
``relais broker-auth`` against a real home's database (hr_console/cli/ejabberd.py).

Each test asserts what the broker answers (CONNACK, SUBACK and PUBACK reason codes, MQTT 5)
and, for what it refuses, that nothing arrived: a "fence" message sent afterwards on an
allowed topic proves delivery got past the point where the forbidden one would have arrived.

Needs Debian's ejabberd (make test-long installs it); skipped without it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broker_config.ejabberd import (
    EjabberdNode,
    EpmdProcess,
    cluster_members,
    ejabberd_installed,
    kick,
    new_cookie,
    nodes_for,
)
from broker_config.ports import free_ports
from broker_config.process import _accepts
from hr_console import config as config_mod
from hr_console.cli.ejabberd import relay_accounts
from hr_console.config import Settings
from hr_console.relay.mqtt import Relay
from hr_console.services import terminals
from hr_console.store.db import Store
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from relais_wire import topics
from tests.chaos.cluster import Cluster as Site
from tests.chaos.test_scaleout import check_kill_one_of_three, kill_one_of_three
from tests.system_fixture import (
    DemoData,
    expect,
    prepared_home,
)

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


GUIDE = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
RELAIS = [sys.executable, "-m", "hr_console.cli"]


@dataclass
class Cluster:
    cfg: Settings
    demo: DemoData
    a: EjabberdNode  # the terminals' node
    b: EjabberdNode  # the relays' node
    passwords: dict[str, str]  # username -> password: probe terminals and the probing relay
    store: Store
    tmp: Path

    @property
    def relay(self) -> str:
        """The account the probes use (the real relay of the last test is _relay-1)."""
        return self.cfg.relay_account(2)


class Client:
    """A paho MQTT 5 client whose broker answers are read in order from queues."""

    def __init__(self, port: int, username: str, password: str | None, client_id: str,
                 session_expiry: int = 0, clean_start: bool = True) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        c.username_pw_set(username, password)
        c.on_disconnect = lambda _c, _u, _f, rc, _p: self.events.put(("disconnect", rc.value))
        c.on_subscribe = lambda _c, _u, _m, rcs, _p: self.events.put(("suback", [r.value for r in rcs]))
        c.on_publish = lambda _c, _u, _m, rc, _p: self.events.put(("puback", rc.value))
        c.on_message = lambda _c, _u, m: self.messages.put((m.topic, m.payload))
        self.client = c
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = session_expiry
        self.session_present: bool | None = None
        c.on_connect = self._on_connect
        c.connect("127.0.0.1", port, keepalive=30, clean_start=clean_start, properties=props)
        c.loop_start()
        self.connack = self.expect("connack")

    def _on_connect(self, _c: Any, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
        self.session_present = flags.session_present
        self.events.put(("connack", rc.value))

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


def _node_args(node: EjabberdNode, cookie_file: Path) -> list[str]:
    return ["--node", node.name, "--dir", str(node.directory), "--mqtt-port", str(node.mqtt_port),
            "--epmd-port", str(node.epmd_port), "--cookie-file", str(cookie_file)]


def _as_typed(args: list[str]) -> str:
    """A command as docs/deploy.md writes it (``relais --home ...``), for the drift check."""
    return " ".join(["relais", *args])


@contextlib.contextmanager
def running_cluster(cfg: Settings, tmp: Path) -> Iterator[tuple[EjabberdNode, EjabberdNode]]:
    """Two ejabberd nodes serving ``cfg``'s home, run by the guide's own commands:
    ``relais ejabberd run`` for each node, then ``relais ejabberd join`` for the second."""
    tmp.mkdir(parents=True, exist_ok=True)
    cookie_file = tmp / "cookie"
    cookie_file.write_text(new_cookie() + "\n", encoding="ascii")
    cookie_file.chmod(0o600)
    port_a, port_b, epmd_port = free_ports(3)
    a, b = nodes_for(cfg.home, relay_accounts(cfg), tmp / "ejabberd",
                     ["relais-a@localhost", "relais-b@localhost"], [port_a, port_b],
                     epmd_port=epmd_port, cookie=cookie_file.read_text(encoding="ascii").strip())
    # The test's own epmd: `relais ejabberd run` would otherwise start a daemon that outlives it.
    epmd = EpmdProcess(epmd_port, tmp / "ejabberd")
    epmd.start()
    home = ["--home", str(cfg.home)]
    runs: list[subprocess.Popen[bytes]] = []
    try:
        for node in (a, b):
            with (tmp / f"run-{node.name}.out").open("wb") as out:
                runs.append(subprocess.Popen([*RELAIS, *home, "ejabberd", "run",
                                              *_node_args(node, cookie_file)],
                                             stdout=out, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 90
        while not all(_accepts("127.0.0.1", n.mqtt_port) for n in (a, b)):
            assert all(r.poll() is None for r in runs), "a node exited while starting"
            assert time.monotonic() < deadline, "the nodes did not start within 90 s"
            time.sleep(0.2)
        joined = subprocess.run([*RELAIS, *home, "ejabberd", "join", *_node_args(b, cookie_file),
                                 "--seed", a.name], capture_output=True, text=True, check=False)
        assert joined.returncode == 0, joined.stderr
        deadline = time.monotonic() + 60
        while not _accepts("127.0.0.1", b.mqtt_port):  # b restarts its application on joining
            assert time.monotonic() < deadline, "node b did not come back after joining"
            time.sleep(0.2)
        yield a, b
    finally:
        for run in runs:
            run.send_signal(signal.SIGTERM)
        for run in runs:
            try:
                run.wait(40)
            except subprocess.TimeoutExpired:
                run.kill()
                run.wait()
        epmd.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A demo home on SQLite, three probe terminals, and its two-node cluster."""
    tmp = tmp_path_factory.mktemp("ejabberd")
    cfg, demo = prepared_home(tmp, f"sqlite:///{tmp / 'relais.db'}")
    assert demo is not None
    store = Store(cfg.database_url)
    passwords = {cfg.relay_account(2): cfg.server_passwords[cfg.relay_account(2)]}
    with store.session() as s:
        for name in ("probe-1", "probe-2", "probe-3"):
            _row, creds = terminals.enrol(s, name, None, actor="test")
            passwords[creds.username] = creds.password
    try:
        with running_cluster(cfg, tmp / "nodes") as (a, b):
            yield Cluster(cfg, demo, a, b, passwords, store, tmp)
    finally:
        store.dispose()


def test_the_commands_are_the_guides() -> None:
    """The recipe in docs/deploy.md is what the fixture runs (paths aside)."""
    guide = re.sub(r"\s+", " ", GUIDE.read_text(encoding="utf-8").replace("\\\n", " "))
    for fragment in ("relais --home /var/lib/relais ejabberd run --node relais-a@",
                     "relais --home /var/lib/relais ejabberd join --node relais-b@",
                     "--seed relais-a@", "relais --home /var/lib/relais ejabberd kick",
                     "--epmd-port 4370 --cookie-file /etc/relais/ejabberd.cookie",
                     "--cookie-file /etc/relais/ejabberd.cookie --tls",
                     "systemctl disable --now ejabberd", "apt-get install -y ejabberd"):
        assert fragment in guide, f"docs/deploy.md no longer says: {fragment}"


def test_two_nodes_form_one_cluster(cluster: Cluster) -> None:
    assert sorted(cluster_members(cluster.a)) == sorted([cluster.a.name, cluster.b.name])
    assert sorted(cluster_members(cluster.b)) == sorted([cluster.a.name, cluster.b.name])


def test_a_message_goes_terminal_to_relay_to_terminal_across_nodes(cluster: Cluster) -> None:
    relay = _connect(cluster, cluster.b, cluster.relay)
    t1 = _connect(cluster, cluster.a, "probe-1")
    t2 = _connect(cluster, cluster.a, "probe-2")
    try:
        assert (relay.connack, t1.connack, t2.connack) == (0, 0, 0)
        # Per terminal (what relays owning partitions will do) and with plain wildcards.
        assert relay.subscribe(topics.uplink("probe-1")) == 1
        assert relay.subscribe(topics.ALL_STATUS) == 1
        assert t2.subscribe(topics.downlink("probe-2")) == 1
        assert t1.subscribe(f"{topics.downlink('probe-1')}/#") == 1  # also covers .../down

        assert t1.publish(topics.status("probe-1"), b"online", retain=True) == 0
        assert relay.message() == (topics.status("probe-1"), b"online")
        assert t1.publish(topics.uplink("probe-1"), b"hello probe-2") == 0
        assert relay.message() == (topics.uplink("probe-1"), b"hello probe-2")
        assert relay.publish(topics.downlink("probe-2"), b"from probe-1: hello") == 0
        assert t2.message() == (topics.downlink("probe-2"), b"from probe-1: hello")
        assert relay.publish(f"{topics.downlink('probe-1')}/receipt", b"delivered") == 0
        assert t1.message() == (f"{topics.downlink('probe-1')}/receipt", b"delivered")

        # A wildcard uplink subscription works too (one relay for everything).
        assert relay.subscribe(topics.ALL_UPLINKS) == 1
        assert t2.publish(topics.uplink("probe-2"), b"reply") == 0
        assert relay.message() == (topics.uplink("probe-2"), b"reply")
    finally:
        for c in (relay, t1, t2):
            c.close()


def test_a_terminal_cannot_read_another_terminals_downlink(cluster: Cluster) -> None:
    relay = _connect(cluster, cluster.b, cluster.relay)
    rogue = _connect(cluster, cluster.a, "probe-1")
    try:
        for topic in (topics.downlink("probe-2"), f"{topics.PREFIX}/t/+/down", "#",
                      topics.ALL_UPLINKS, topics.status("probe-2")):
            assert rogue.subscribe(topic) >= 0x80, topic
        assert rogue.subscribe(topics.downlink("probe-1")) == 1
        # 0x10 "no matching subscribers": none of the refused filters was registered anywhere
        # in the cluster (kiosk-2 is not connected; its earlier session ended with it).
        assert relay.publish(topics.downlink("probe-2"), b"for probe-2 only") == NO_MATCHING_SUBSCRIBERS
        assert relay.publish(topics.downlink("probe-1"), b"fence") == 0
        assert rogue.message() == (topics.downlink("probe-1"), b"fence")
        assert rogue.messages.empty()
    finally:
        relay.close()
        rogue.close()


def test_a_terminal_cannot_speak_as_another_or_as_the_relay(cluster: Cluster) -> None:
    relay = _connect(cluster, cluster.b, cluster.relay)
    rogue = _connect(cluster, cluster.a, "probe-1", client_id="probe-2")  # client id proves nothing
    try:
        assert relay.subscribe(topics.ALL_UPLINKS) == 1
        assert relay.subscribe(topics.ALL_STATUS) == 1
        for topic in (topics.uplink("probe-2"), topics.status("probe-2"), topics.downlink("probe-2"),
                      topics.downlink("probe-1"), "$SYS/x", "relais/v2/anything"):
            assert rogue.publish(topic, b"forged") >= 0x80, topic
        # The relay account cannot forge a terminal either.
        assert relay.publish(topics.uplink("probe-2"), b"forged by relay") >= 0x80
        assert rogue.publish(topics.uplink("probe-1"), b"fence") == 0
        assert relay.message() == (topics.uplink("probe-1"), b"fence")
        assert relay.messages.empty()
    finally:
        relay.close()
        rogue.close()


def test_wrong_or_missing_credentials_are_refused(cluster: Cluster) -> None:
    p = cluster.passwords
    for node, user, password in (
        (cluster.a, "probe-1", p["probe-1"] + "x"),
        (cluster.a, "probe-1", p["probe-2"]),  # another terminal's password
        (cluster.a, "probe-1", ""),
        (cluster.a, "nobody", "x"),
        (cluster.b, cluster.relay, p[cluster.relay] + "x"),
        (cluster.b, cluster.cfg.relay_account(9), p[cluster.relay]),  # not a relay instance
        (cluster.b, "kiosk-1@elsewhere", p["probe-1"]),  # another ejabberd host
    ):
        c = Client(node.mqtt_port, user, password, f"bad-{time.monotonic_ns()}")
        try:
            assert c.connack >= 0x80, (user, password)
        finally:
            c.close()
    # A terminal's good password works on either node: the cluster is one broker.
    for node in (cluster.a, cluster.b):
        c = _connect(cluster, node, "probe-1")
        try:
            assert c.connack == 0
        finally:
            c.close()


def test_a_terminals_queue_follows_it_to_the_other_node(cluster: Cluster) -> None:
    """A terminal with a persistent session (as kiosks have) that comes back on the other node
    finds what was queued for it while it was away: the session is the cluster's, not a
    node's (it lives in the memory of the node that held it, so losing that node loses it:
    decision 2's resends cover that)."""
    down = topics.downlink("probe-1")
    relay = _connect(cluster, cluster.b, cluster.relay)
    first = Client(cluster.a.mqtt_port, "probe-1", cluster.passwords["probe-1"], "probe-1",
                   session_expiry=3600)
    try:
        assert first.subscribe(f"{down}/#") == 1
        first.close()
        assert relay.publish(down, b"queued while away") == 0  # 0: the session subscribes
        back = Client(cluster.b.mqtt_port, "probe-1", cluster.passwords["probe-1"], "probe-1",
                      session_expiry=0, clean_start=False)
        try:
            assert (back.connack, back.session_present) == (0, True)
            assert back.message() == (down, b"queued while away")
        finally:
            back.close()
    finally:
        relay.close()


def test_kick_closes_an_accounts_sessions_anywhere_in_the_cluster(cluster: Cluster) -> None:
    live = _connect(cluster, cluster.a, "probe-2", client_id="probe-2")
    live.client.reconnect_delay_set(60, 60)  # its retry would not race the count below
    try:
        assert kick(cluster.b, "probe-2") == 1  # from the other node: the session table is shared
        assert live.expect("disconnect") == SESSION_TAKEN_OVER
        assert kick(cluster.a, "probe-2") == 0
    finally:
        live.close()


def test_a_revoked_terminal_is_cut_off_and_refused(cluster: Cluster) -> None:
    """ejabberd checks a password at login only: ``relais ejabberd run`` watches the database
    and closes the connections of a terminal that lost its login (DISCONNECT 0x8E), then
    every new login is refused, on both nodes."""
    live = _connect(cluster, cluster.a, "probe-3", client_id="probe-3")
    assert live.connack == 0
    assert live.subscribe(f"{topics.downlink('probe-3')}/#") == 1
    live.client.reconnect_delay_set(60, 60)  # so that its retry does not race the checks below
    with cluster.store.session() as s:
        from sqlalchemy import select

        from hr_console.store.models import Terminal

        row = s.execute(select(Terminal).where(Terminal.name == "probe-3")).scalar_one()
        terminals.revoke(s, row, "test")
    try:
        assert live.expect("disconnect") == SESSION_TAKEN_OVER  # within WAIT: looks every 2 s
    finally:
        live.close()
    for node in (cluster.a, cluster.b):
        after = Client(node.mqtt_port, "probe-3", cluster.passwords["probe-3"], "probe-3")
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


def test_the_relay_and_kiosks_of_relais_run_on_the_cluster(cluster: Cluster) -> None:
    """Relais itself, unchanged: the relay (per-partition subscriptions, no ``$share``) on
    node B, two kiosks' terminal links on node A; a message is accepted, delivered, read."""
    cfg = dataclasses.replace(cluster.cfg, mqtt_host="127.0.0.1", relay_port=cluster.b.mqtt_port)
    relay = Relay(cfg, cluster.store, instance=1)
    relay.start()
    links = []
    try:
        for name in ("kiosk-1", "kiosk-2"):
            link = TerminalLink(terminal=name, password=cluster.demo.terminals[name]["password"],
                                host="127.0.0.1", port=cluster.a.mqtt_port,
                                outbox_path=cluster.tmp / f"outbox-{name}.db")
            links.append(link)
            link.start()
            assert link.wait_connected(15), f"{name} could not connect to node A"
        k1, k2 = links
        for link, name in ((k1, "Sophie Martin"), (k2, "Karim Benali")):
            link.login(cluster.demo.badges[name], None)
            expect(link, ev.LoginOk)
            expect(link, ev.Synced)
        sophie, karim = (cluster.demo.employees[n] for n in ("Sophie Martin", "Karim Benali"))
        msg = k1.send_text(karim, "Bonjour Karim, par le cluster.")
        for state in ("accepted", "delivered"):
            expect(k1, ev.StateChanged, lambda e, s=state: e.msg == msg and e.state == s)
        arrived = expect(k2, ev.MessageArrived, lambda e: e.message["msg"] == msg)
        assert arrived.message["text"] == "Bonjour Karim, par le cluster."
        assert arrived.message["from"] == sophie
        k2.mark_read(msg)
        expect(k1, ev.StateChanged, lambda e: e.msg == msg and e.state == "read")
        assert k1.outbox.pending_count() == 0
    finally:
        for link in links:
            link.stop()
        relay.stop()




@pytest.mark.pg
def test_scale_out_on_the_cluster_three_relays_one_killed(
        tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/chaos/test_scaleout.py's scenario on the cluster instead of one Mosquitto:
    three ``relais relay`` processes on node B share the partitions, three terminal
    processes on node A send 150 messages, one relay is killed for good mid-run; nothing
    lost, duplicated or reordered."""
    site = Site(tmp_path, pg_url, interval=0.1)
    store = Store(pg_url)
    try:
        with running_cluster(site.system.cfg, tmp_path / "nodes") as (a, b):
            for m in site.members:
                m.port = a.mqtt_port
            monkeypatch.setenv("RELAIS_RELAY_PORT", str(b.mqtt_port))  # `relais relay` reads it
            out = kill_one_of_three(site, store)
            site.close()
            # Each went through the node it was meant to (not the home's Mosquitto).
            for node, users in ((b, [site.system.cfg.relay_account(i) for i in (1, 2, 3)]),
                                (a, [m.terminal for m in site.members])):
                log = node.log_path.read_text(encoding="utf-8", errors="replace")
                for user in users:
                    assert f"Opened MQTT session for {user}@relais/" in log, (node.name, user)
    finally:
        store.dispose()
        site.close()
    print(out)
    check_kill_one_of_three(out)


def test_the_terminals_node_speaks_tls_with_the_homes_certificate(tmp_path: Path) -> None:
    """``relais ejabberd run --tls``: the listener is TLS from the first byte with the
    certificate ``relais init --tls`` made; terminals trust the home's CA, as with Mosquitto."""
    home = tmp_path / "home"
    made = subprocess.run([*RELAIS, "--home", str(home), "init", "--tls", "--tls-host", "127.0.0.1"],
                          capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    cfg = config_mod.load(home)
    store = Store(cfg.database_url)
    try:
        with store.session() as s:
            _row, creds = terminals.enrol(s, "tls-1", None, actor="test")
    finally:
        store.dispose()
    cookie_file = tmp_path / "cookie"
    cookie_file.write_text(new_cookie(), encoding="ascii")
    cookie_file.chmod(0o600)
    port, epmd_port = free_ports(2)
    (node,) = nodes_for(cfg.home, relay_accounts(cfg), tmp_path, ["relais-t@localhost"], [port],
                        epmd_port=epmd_port, cookie=cookie_file.read_text(encoding="ascii"))
    epmd = EpmdProcess(epmd_port, tmp_path)
    epmd.start()
    run = subprocess.Popen([*RELAIS, "--home", str(home), "ejabberd", "run", "--tls",
                            *_node_args(node, cookie_file)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not _accepts("127.0.0.1", port):
            assert run.poll() is None and time.monotonic() < deadline, "the node did not start"
            time.sleep(0.2)
        assert "tls: true" in node.config_path.read_text(encoding="utf-8")

        def connack(tls_ca: str | None) -> int | None:
            got: queue.Queue[int] = queue.Queue()
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="tls-1", protocol=mqtt.MQTTv5)
            c.username_pw_set("tls-1", creds.password)
            if tls_ca is not None:
                c.tls_set(ca_certs=tls_ca)
            c.on_connect = lambda _c, _u, _f, rc, _p: got.put(rc.value)
            try:
                c.connect("127.0.0.1", port, keepalive=30)
            except OSError:  # the TLS handshake failed
                return None
            c.loop_start()
            try:
                return got.get(timeout=5)
            except queue.Empty:
                return None
            finally:
                c.disconnect()
                c.loop_stop()

        assert connack(cfg.tls_ca) == 0
        assert connack(None) is None  # plain MQTT gets no CONNACK from a TLS listener
        other_ca = tmp_path / "other-ca.pem"
        other_ca.write_bytes(Path("/etc/ssl/certs/ca-certificates.crt").read_bytes())
        assert connack(str(other_ca)) is None  # a server the terminal cannot verify
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(40)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait()
        epmd.stop()
