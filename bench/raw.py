"""Figure 1, the raw ceiling: a paho QoS 1 publisher -> Mosquitto -> a paho subscriber,
with the bytes of a real text uplink, on the same broker the relay uses (and no relay).

The publisher is a terminal account publishing on its own uplink, as a kiosk does; the
subscriber is the ``_bench`` server account on the loopback listener, as the relay is.
"""

from __future__ import annotations

import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.farm import message_text, parse_text
from bench.stats import latency_ms, summary
from bench.system import RAW_TERMINAL, System
from hr_console.services.broker import BENCH_ACCOUNT
from relais_wire import topics
from relais_wire.envelope import encode, envelope


def _payload(tag: str) -> bytes:
    env = envelope("text", sid=str(uuid.uuid4()), to=1234, text=message_text(tag, time.monotonic()))
    return encode({**env, "seq": 123456})


class _Sink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.expected = 0
        self.last = 0.0
        self.latencies: list[float] = []
        self.done = threading.Event()

    def reset(self, expected: int) -> None:
        with self.lock:
            self.count, self.expected, self.last = 0, expected, 0.0
            self.latencies = []
            self.done.clear()

    def on_message(self, _c, _u, message: mqtt.MQTTMessage) -> None:  # noqa: ANN001
        now = time.monotonic()
        text = message.payload.split(b'"text":"', 1)[-1].decode("utf-8", "replace")
        parsed = parse_text(text)
        with self.lock:
            self.count += 1
            self.last = now
            if parsed is not None:
                self.latencies.append(now - parsed[1])
            if self.count >= self.expected:
                self.done.set()


def _client(client_id: str, password: str, port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(client_id, password)
    connected = threading.Event()
    client.on_connect = lambda *_a: connected.set()
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    if not connected.wait(10):
        raise RuntimeError(f"{client_id} could not connect to the broker")
    return client


def run(system: System, *, runs: int, messages: int, paced_seconds: float,
        rate: float = 100.0) -> dict:
    cfg = system.cfg
    assert cfg is not None
    sink = _Sink()
    sub = _client(BENCH_ACCOUNT, cfg.server_password(BENCH_ACCOUNT), cfg.relay_port)
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.on_message = sink.on_message
    sub.subscribe(topics.uplink(RAW_TERMINAL), qos=1)
    subscribed.wait(10)
    pub = _client(RAW_TERMINAL, system.org.raw_password, cfg.mqtt_port)
    topic = topics.uplink(RAW_TERMINAL)
    size = len(_payload("r0:x:0"))
    throughput, p50, p99, lost = [], [], [], 0
    try:
        for r in range(runs):
            sink.reset(messages)
            started = time.monotonic()
            for i in range(messages):
                pub.publish(topic, _payload(f"s{r}:raw:{i}"), qos=1)
            sink.done.wait(120)
            throughput.append(sink.count / (sink.last - started) if sink.last > started else 0.0)
            lost += messages - sink.count
            n = max(1, int(paced_seconds * rate))
            sink.reset(n)
            started = time.monotonic()
            for i in range(n):
                wait = started + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                pub.publish(topic, _payload(f"p{r}:raw:{i}"), qos=1)
            sink.done.wait(30)
            lost += n - sink.count
            stats = latency_ms(sink.latencies)
            p50.append(stats["p50"])
            p99.append(stats["p99"])
    finally:
        for client in (pub, sub):
            client.disconnect()
            client.loop_stop()
    return summary({
        "throughput_msg_s": throughput, "p50_ms": p50, "p99_ms": p99,
    }, extra={"payload_bytes": size, "messages_per_run": messages, "paced_rate": rate,
              "lost": lost, "runs": runs})
