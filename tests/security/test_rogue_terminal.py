"""A rogue terminal, played by the real ``mosquitto_pub`` / ``mosquitto_sub`` / ``mosquitto_rr``
with terminal 1's valid credentials, against a whole installation (broker, relay, database).

Julie Moreau is badged in on kiosk-1, the terminal whose password the attacker holds; Sophie
Martin on kiosk-2 and Karim Benali on kiosk-3 are honest users on honest terminal links. The
attacker tries to read others' traffic, speak on another terminal's topics, claim another
sender, write to someone the policy forbids, and flood. Nothing leaks, nothing is attributed to
anyone but Julie, and Sophie's messages to Karim keep flowing while kiosk-1 floods.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from hr_console.services import broker, directory
from hr_console.store.models import Message, Site, Terminal
from kiosk_app.link import events as ev
from relais_wire import topics
from relais_wire.envelope import encode, envelope
from tests import mosquitto_clients as mc
from tests.security import reporting
from tests.system_fixture import System, expect, expect_none, make_system

ROGUE = "kiosk-1"
FLOOD = 10_000
PROBES = 30  # Sophie -> Karim messages timed, before and during the flood
REPORT: dict[str, Any] = {}


# --- the installation --------------------------------------------------------------------


class Scene:
    """The system plus who is badged where, and a clock on every message Karim receives."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.port = system.cfg.mqtt_port
        self.password = system.demo.terminals[ROGUE]["password"]
        with system.store.session() as s:
            site = s.execute(select(Site).where(Site.name == "demo")).scalar_one()
            _, creds = directory.terminal(s, "kiosk-3", site)
            s.flush()
            broker.apply(s, system.cfg)
        self.arrivals: dict[str, float] = {}  # Karim's received text -> monotonic time
        self.k1 = system.link(ROGUE)
        system.badge_in(self.k1, "Julie Moreau", "4321")
        self.julie_sid = self.k1.sid
        self.k1.stop()  # the attacker takes over terminal 1 and its badge session
        self.k2 = system.link("kiosk-2")
        system.badge_in(self.k2, "Sophie Martin")
        self.k3 = system.link("kiosk-3", creds=creds.as_json(), on_event=self._on_k3)
        system.badge_in(self.k3, "Karim Benali")

    def _on_k3(self, event: ev.Event) -> None:
        if isinstance(event, ev.MessageArrived) and event.message.get("kind") == "text":
            self.arrivals.setdefault(event.message.get("text", ""), time.monotonic())

    def id(self, name: str) -> int:
        return self.system.employee(name)

    def count(self, **where: Any) -> int:
        with self.system.store.session() as s:
            stmt = select(func.count()).select_from(Message)
            for key, value in where.items():
                stmt = stmt.where(getattr(Message, key) == value)
            return s.scalar(stmt) or 0

    # the attacker's tools -----------------------------------------------------------------

    def pub(self, topic: str, payload: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return mc.pub(self.port, ROGUE, self.password, topic, payload, **kw)

    def ask(self, payload: dict[str, Any], *, topic: str | None = None) -> dict[str, Any]:
        """Publish on the rogue's uplink and return the first reply on its downlink."""
        args = [mc._exe("mosquitto_rr"), "-h", "127.0.0.1", "-p", str(self.port), "-u", ROGUE,
                "-P", self.password, "-t", topic or topics.uplink(ROGUE),
                "-e", topics.downlink(ROGUE), "-q", "1", "-W", "10", "-m", encode(payload).decode()]
        out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
        assert out.returncode == 0, f"no reply: {out.stdout}{out.stderr}"
        return json.loads(out.stdout.strip().splitlines()[0])

    def text(self, to: str, words: str, *, seq: int, sid: str | None = None,
             **extra: Any) -> dict[str, Any]:
        return envelope("text", sid=sid or self.julie_sid, seq=seq, to=self.id(to), text=words,
                        **extra)

    def sophie_to_karim(self, words: str) -> str:
        return self.k2.send_text(self.id("Karim Benali"), words)

    def wait_arrived(self, words: list[str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(w in self.arrivals for w in words):
                return
            time.sleep(0.02)
        missing = [w for w in words if w not in self.arrivals]
        raise AssertionError(f"{len(missing)} message(s) never reached Karim: {missing[:5]}")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    tmp = tmp_path_factory.mktemp("rogue")
    system = make_system(tmp, f"sqlite:///{tmp / 'relais.db'}")
    try:
        yield Scene(system)
    finally:
        mc.stop_all()
        system.close()
        if REPORT:
            _report()


def _control(scene: Scene, words: str) -> None:
    """A positive control: honest traffic flows right now (so 'nothing arrived' means
    something)."""
    scene.sophie_to_karim(words)
    scene.wait_arrived([words], timeout=15)


# --- reading -------------------------------------------------------------------------------


def test_rogue_reads_nothing_of_others(scene: Scene) -> None:
    filters = ["#", topics.downlink("kiosk-2"), "relais/v1/t/+/down", "relais/v1/t/+/up",
               "$share/rogue/relais/v1/t/+/up", "$SYS/#", "relais/v1/t/kiosk-3/#"]
    # A client id naming terminal 2 buys nothing: the broker uses the username as client id.
    # Its own downlink first: the one subscription granted (the control below).
    with mc.Sub(scene.port, ROGUE, scene.password, [topics.downlink(ROGUE), *filters],
                client_id="kiosk-2") as spy:
        # Every other filter is refused at once (the broker's subscription check), so the
        # broker keeps none of them: granted, they cost it memory and a check per message.
        granted = [f for f, code in zip(filters, spy.suback[1:], strict=True) if code < 128]
        assert spy.suback[0] == 1 and granted == [], f"the broker granted {granted}"
        for i in range(5):
            _control(scene, f"listen {i}")
        scene.k2.logout()
        expect(scene.k2, ev.LoggedOut)
        scene.system.badge_in(scene.k2, "Sophie Martin")
        # The spy does hear its own downlink (control for the subscription itself).
        scene.system.relays[0].client.publish(topics.downlink(ROGUE), b"own-control", qos=1)
        spy.wait_until(lambda msgs: any(p == "own-control" for _t, p in msgs), "own downlink")
        heard = list(spy.messages)
    foreign = [t for t, _p in heard if topics.terminal_of(t) != ROGUE]
    assert not foreign, f"the rogue read {len(foreign)} message(s) of others: {foreign[:5]}"
    assert scene.k2.connected and scene.k3.connected, "the rogue's client id kicked an honest one"
    REPORT["subscriptions tried (`#`, terminal 2 downlink, wildcards, $share, $SYS)"] = len(filters)
    REPORT["  of which granted by the broker"] = len(granted)
    REPORT["messages of other terminals read by the rogue (leaks)"] = len(foreign)


# --- speaking on others' topics --------------------------------------------------------------


def test_rogue_cannot_speak_on_terminal_2_topics(scene: Scene) -> None:
    sophie_before = scene.count(sender_id=scene.id("Sophie Martin"))
    words = f"forged as Sophie {uuid.uuid4()}"
    forged = envelope("text", sid=scene.k2.sid, seq=999, to=scene.id("Karim Benali"), text=words)
    attempts = {
        topics.uplink("kiosk-2"): encode(forged).decode(),
        topics.downlink("kiosk-3"): encode(envelope("text", **{"from": scene.id("Sophie Martin")},
                                                    msg=str(uuid.uuid4()), text=words)).decode(),
        topics.status("kiosk-2"): "offline",
        "relais/v1/t/kiosk-2/up/extra": encode(forged).decode(),
    }
    refused = 0
    for topic, payload in attempts.items():
        out = scene.pub(topic, payload)
        assert out.returncode == 0, out.stderr  # MQTT 5: the broker refuses in the PUBACK
        refused += "not authorized" in (out.stdout + out.stderr).lower()
    _control(scene, f"after forgery {uuid.uuid4()}")
    expect_none(scene.k3, ev.MessageArrived, lambda e: e.message.get("text") == words, wait=1.0)
    assert words not in scene.arrivals
    assert scene.count(sender_id=scene.id("Sophie Martin")) == sophie_before + 1  # the control
    with scene.system.store.session() as s:
        k2 = s.execute(select(Terminal).where(Terminal.name == "kiosk-2")).scalar_one()
        assert k2.online, "the rogue marked terminal 2 offline"
    REPORT["publishes on other terminals' topics"] = len(attempts)
    REPORT["  of which refused by the broker (PUBACK not authorised)"] = refused
    REPORT["  of which attributed to anyone"] = 0


# --- claiming another sender ----------------------------------------------------------------


def test_payload_claiming_another_sender_is_julies_or_refused(scene: Scene) -> None:
    sophie, julie = scene.id("Sophie Martin"), scene.id("Julie Moreau")
    sophie_before = scene.count(sender_id=sophie)
    claims = [
        scene.text("Karim Benali", "je suis Sophie (from)", seq=1,
                   **{"from": sophie, "sender": sophie, "sender_id": sophie,
                      "employee": {"id": sophie}, "from_name": "Sophie Martin"}),
        scene.text("Karim Benali", "je suis Sophie (terminal)", seq=2, terminal="kiosk-2",
                   user="Sophie Martin"),
    ]
    for env in claims:
        reply = scene.ask(env)
        assert reply["type"] == "state" and reply["msg"] == env["id"], reply
    with scene.system.store.session() as s:
        rows = s.execute(select(Message).where(
            Message.client_id.in_([e["id"] for e in claims]))).scalars().all()
        assert [r.sender_id for r in rows] == [julie] * len(claims)
    # Sophie's live session id, from another terminal: refused, nothing stored.
    stolen = scene.text("Karim Benali", "je suis Sophie (sid)", seq=3, sid=scene.k2.sid)
    reply = scene.ask(stolen)
    assert reply["type"] == "error" and reply["code"] == "no_session" and reply["message"], reply
    # No session at all, or a made-up one.
    for sid in (None, str(uuid.uuid4())):
        env = scene.text("Karim Benali", "sans session", seq=4)
        if sid is None:
            env.pop("sid")
        else:
            env["sid"] = sid
        reply = scene.ask(env)
        assert reply["type"] == "error" and reply["message"], reply
    assert scene.count(sender_id=sophie) == sophie_before
    assert scene.count(client_id=stolen["id"]) == 0
    REPORT["payloads claiming another sender"] = len(claims) + 3
    REPORT["  attributed to the claimed sender"] = 0


def test_writing_to_a_forbidden_contact_is_refused(scene: Scene) -> None:
    amina = scene.id("Amina Diallo")  # logistique: not Julie's team, not HR, not her lead
    env = scene.text("Amina Diallo", "hors de mes contacts", seq=5)
    reply = scene.ask(env)
    assert reply["type"] == "state" and reply["state"] == "refused" and reply["reason"], reply
    unknown = envelope("text", sid=scene.julie_sid, seq=6, to=2**31 - 1, text="personne")
    reply = scene.ask(unknown)
    assert reply["state"] == "refused" and reply["reason"] == "unknown_recipient", reply
    with scene.system.store.session() as s:
        row = s.execute(select(Message).where(Message.client_id == env["id"])).scalar_one()
        assert row.state == "refused" and row.delivered_at is None
    assert scene.count(recipient_id=amina, state="accepted") == 0
    REPORT["messages to a forbidden or unknown contact"] = 2
    REPORT["  delivered"] = 0


# --- flooding --------------------------------------------------------------------------------


def _probe(scene: Scene, label: str, n: int = PROBES, gap: float = 0.1) -> list[float]:
    """Sophie sends ``n`` messages to Karim, one every ``gap`` s; their latencies in ms."""
    sent: dict[str, float] = {}
    for i in range(n):
        words = f"{label} {i} {uuid.uuid4().hex[:6]}"
        sent[words] = time.monotonic()
        scene.sophie_to_karim(words)
        time.sleep(gap)
    scene.wait_arrived(list(sent))
    return [(scene.arrivals[w] - t) * 1000 for w, t in sent.items()]


def _pcts(lat: list[float]) -> tuple[float, float]:
    ordered = sorted(lat)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _flood_lines(scene: Scene, n: int, first_seq: int) -> list[str]:
    karim = scene.id("Karim Benali")
    return [encode(envelope("text", sid=scene.julie_sid, seq=first_seq + i, to=karim,
                            text=f"flood {i}")).decode() for i in range(n)]


def _flood(scene: Scene, n: int) -> None:
    relay = scene.system.relays[0]
    refused_before, handled_before = relay.meter.refused, relay.counters.handled
    julie = scene.id("Julie Moreau")
    stored_before = scene.count(sender_id=julie)
    baseline = _probe(scene, "baseline")
    with scene.system.store.session() as s:  # go on from the terminal's own count
        first_seq = s.execute(select(Terminal.last_seq).where(Terminal.name == ROGUE)).scalar_one() + 1
    lines = _flood_lines(scene, n, first_seq)
    done = threading.Event()
    flood_s: list[float] = []

    def attack() -> None:
        start = time.monotonic()
        out = subprocess.run(
            [mc._exe("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(scene.port), "-u", ROGUE,
             "-P", scene.password, "-t", topics.uplink(ROGUE), "-q", "1", "-l"],
            input="".join(f"{line}\n" for line in lines), capture_output=True, text=True,
            timeout=300, check=False)
        flood_s.append(time.monotonic() - start)
        assert out.returncode == 0, out.stderr
        done.set()

    attacker = threading.Thread(target=attack, daemon=True)
    attacker.start()
    time.sleep(0.2)  # the flood is under way
    during = _probe(scene, "during flood")
    attacker.join(300)
    assert done.is_set(), "the flood did not finish"
    _settle(relay)
    stored = scene.count(sender_id=julie) - stored_before
    refused = relay.meter.refused - refused_before
    base50, base99 = _pcts(baseline)
    flood50, flood99 = _pcts(during)
    allowed = relay.meter.burst + relay.meter.rate * (flood_s[0] + 2.0)
    REPORT.update({
        "flood: messages published by the rogue (one mosquitto_pub -l)": n,
        "flood: seconds to publish them": f"{flood_s[0]:.1f}",
        "flood: meter refusals (first tries and deferred retries)": refused,
        "flood: messages stored (Julie's, held for moderation)": stored,
        "flood: meter limit": f"{relay.meter.rate:.0f}/s, burst {relay.meter.burst:.0f}",
        "kiosk-2 -> kiosk-3 latency before the flood (p50 / p99 ms)": f"{base50:.0f} / {base99:.0f}",
        "kiosk-2 -> kiosk-3 latency during the flood (p50 / p99 ms)": f"{flood50:.0f} / {flood99:.0f}",
        "kiosk-2 -> kiosk-3 messages lost during the flood": 0,
    })
    assert stored <= allowed, f"{stored} flood messages stored, the limit allows {allowed:.0f}"
    reached = refused + relay.counters.handled - handled_before  # Sophie's and receipts too
    REPORT["flood: messages that reached the relay (the rest were dropped on the way)"] = min(
        reached, n)
    if n <= FLOOD:  # within the broker's queue limits every one reaches the relay and is refused
        assert reached >= n, f"only {reached} of {n} flood messages reached the relay"
    # Generous (a shared 2-core machine): the flooder is still owed its burst and rate of
    # real work, but nobody waits for its backlog. Before the relay metered on arrival and
    # served terminals in turn, most of these messages took over a minute.
    # What remains is the broker's single stream to the relay: the flood sits in it ahead of
    # the others' messages until the relay has read (and refused) it, about 1-2 s here.
    assert flood50 <= max(5 * base50, base50 + 4000), (baseline, during)
    assert flood99 <= max(5 * base99, base99 + 6000), (baseline, during)


def _settle(relay: Any, quiet_s: float = 2.0, timeout: float = 180.0) -> None:
    """Wait until the relay has seen nothing new for ``quiet_s`` and holds nothing."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while True:
        seen = relay.meter.refused + relay.counters.handled
        now = time.monotonic()
        if seen != last:
            last, since = seen, now
        elif now - since > quiet_s and not relay._inbox.qsize() and not relay._deferred:
            return
        assert now < deadline, "the relay did not get through the flood"
        time.sleep(0.1)


def test_flood_is_limited_and_others_keep_their_latency(scene: Scene) -> None:
    _flood(scene, FLOOD)


def test_presence_flood_is_limited(scene: Scene) -> None:
    """The rogue's own status topic is allowed by the ACL, and each presence change is a
    database write: 20,000 of them must not back the relay up."""
    relay = scene.system.relays[0]
    n = 2 * FLOOD
    baseline = _probe(scene, "presence baseline", n=10)
    lines = "".join("online\n" if i % 2 else "offline\n" for i in range(n))
    backlog = [0]

    def watch() -> None:
        while not done.is_set():
            backlog[0] = max(backlog[0], relay._inbox.qsize())
            time.sleep(0.01)

    done = threading.Event()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    proc = subprocess.Popen(
        [mc._exe("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(scene.port), "-u", ROGUE,
         "-P", scene.password, "-t", topics.status(ROGUE), "-q", "1", "-l"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    feeder = threading.Thread(target=proc.communicate, args=(lines,), daemon=True)
    feeder.start()
    during = _probe(scene, "presence flood", n=10)
    feeder.join(120)
    _settle(relay)
    done.set()
    watcher.join(5)
    base50, base99 = _pcts(baseline)
    flood50, flood99 = _pcts(during)
    REPORT["presence flood: status messages published"] = n
    REPORT["presence flood: most messages waiting in the relay at once"] = backlog[0]
    REPORT["kiosk-2 -> kiosk-3 latency during the presence flood (p50 / p99 ms)"] = (
        f"{flood50:.0f} / {flood99:.0f}")
    assert backlog[0] <= 500, f"{backlog[0]} presence updates queued in the relay"
    assert flood99 <= max(5 * base99, base99 + 6000), (baseline, during)


@pytest.mark.long
def test_long_flood(scene: Scene) -> None:
    _flood(scene, 10 * FLOOD)


def _report() -> None:
    rows = list(REPORT.items())
    reporting.write(
        "rogue", "Rogue terminal (real mosquitto_pub / mosquitto_sub / mosquitto_rr with "
        "terminal 1's credentials)", rows,
        "Every foreign publish is refused by the broker's ACL (identity is the MQTT username, "
        "docs/architecture.md, decision 1) and never reaches the relay; a payload's own claims "
        "(`from`, `sender`, another terminal's session id) are ignored or refused: the relay "
        "takes the speaker from the terminal's username and its badge session. Latency figures "
        "are from a test run on a shared machine, for comparison within the run only.")
