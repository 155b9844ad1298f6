"""The bad-input corpus (tests/data/make_corpus.py): hostile images through both photo
normalisers, malformed payloads through the wire parser and through the real broker to the
relay. Each is refused with a clear error, quickly, in bounded memory, and nothing is stored;
the unusual-but-legitimate pictures come out as bare JPEGs.

Plus property-based fuzzing of both photo normalisers (the wire parser and the drawing parser
are fuzzed in tests/wire/test_fuzz.py, 1,000 examples each).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import queue
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image
from sqlalchemy import func, select

from broker_config.render import MAX_PACKET_SIZE
from hr_console.relay.meter import Meter
from hr_console.relay.mqtt import Relay
from hr_console.services import photos
from hr_console.services.errors import Invalid
from hr_console.store.models import BadgeSession, Downlink, Media, Message, utcnow
from kiosk_app.link.client import TerminalLink
from kiosk_app.media import PhotoError, normalise_photo
from relais_wire import topics
from relais_wire.envelope import WireError, decode_uplink, encode, envelope
from relais_wire.limits import MAX_PHOTO_BYTES
from tests.data import make_corpus
from tests.security import reporting
from tests.security.corpus_runner import check_clean
from tests.system_fixture import System, make_system

ROOT = Path(__file__).resolve().parents[2]
SECONDS_PER_INPUT = 5.0  # generous: a shared 2-core machine; real figures go to the report
MAX_RSS_MB = 900  # the whole normaliser process, C allocations included (a 20 MP photo: ~300)
MAX_PY_PEAK_MB = 80  # Python-side allocations while one input is handled
REPORT: dict[str, Any] = {}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated at run time into a cache (a 41 MB image and a 10 MB payload are in it)."""
    folder = tmp_path_factory.mktemp("corpus")
    make_corpus.build(folder)
    return folder


def _index(corpus: Path) -> dict[str, list[dict[str, Any]]]:
    return json.loads((corpus / "corpus.json").read_text())


def _counts(system: System) -> dict[str, int]:
    with system.store.session() as s:
        return {model.__name__: s.scalar(select(func.count()).select_from(model)) or 0
                for model in (Message, Media, Downlink, BadgeSession)}


# --- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["kiosk", "server"])
def test_every_image_is_refused_clearly_or_comes_out_bare(corpus: Path, which: str) -> None:
    out = subprocess.run([sys.executable, "-m", "tests.security.corpus_runner", str(corpus), which],
                         capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) >= 50
    wrong = []
    for r in rows:
        if r["outcome"] == "crash":
            wrong.append(f"{r['name']}: crashed with {r['error']}")
        elif r["want"] != "either" and r["outcome"] != r["want"]:
            wrong.append(f"{r['name']}: {r['outcome']} ({r.get('code')}), expected {r['want']}")
        elif r["outcome"] == "refuse" and not (r["code"] and r["message"] and r["message_fr"]):
            wrong.append(f"{r['name']}: refused without a clear error")
        elif r["outcome"] == "clean" and r["problems"]:
            wrong.append(f"{r['name']}: output not bare: {r['problems']}")
        if r["seconds"] > SECONDS_PER_INPUT:
            wrong.append(f"{r['name']}: took {r['seconds']:.1f} s")
        if r["py_peak_mb"] > MAX_PY_PEAK_MB:
            wrong.append(f"{r['name']}: Python peak {r['py_peak_mb']:.0f} MB")
    rss = max(r["rss_mb"] for r in rows)
    assert not wrong, "\n".join(wrong)
    assert rss <= MAX_RSS_MB, f"the {which} normaliser process peaked at {rss:.0f} MB"
    refused = [r for r in rows if r["outcome"] == "refuse"]
    REPORT[f"images through the {which} normaliser"] = (
        f"{len(rows)} tried, {len(refused)} refused, {len(rows) - len(refused)} cleaned, "
        f"0 crashes; slowest {max(r['seconds'] for r in rows):.2f} s, "
        f"peak RSS {rss:.0f} MB")
    REPORT[f"{which} refusal codes"] = ", ".join(
        f"{code} {sum(r.get('code') == code for r in refused)}"
        for code in sorted({r["code"] for r in refused}))


def test_hostile_images_through_the_console_store_nothing(corpus: Path, tmp_path: Path) -> None:
    """``photos.store`` (notice pictures) in a real database: a refusal adds no row."""
    system = make_system(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}", relay=False)
    try:
        refused = stored = 0
        for entry in _index(corpus)["images"]:
            data = (corpus / "images" / entry["name"]).read_bytes()
            before = _counts(system)["Media"]
            try:
                with system.store.session() as s:
                    row = photos.store(s, data)
                    assert not check_clean(row.data), entry["name"]
                stored += 1
                assert _counts(system)["Media"] == before + 1
            except Invalid as exc:
                refused += 1
                assert exc.code and exc.message
                assert _counts(system)["Media"] == before, f"{entry['name']} left a row"
        assert refused >= 40
    finally:
        system.close()
    REPORT["images through the console's photo store"] = (
        f"{refused} refused with 0 rows, {stored} stored bare")


@pytest.mark.parametrize("normalise", [normalise_photo, photos.normalise], ids=["kiosk", "server"])
def test_16_bit_grey_keeps_its_tones(normalise: Any) -> None:
    """A 16-bit greyscale PNG (a scanner's) is scaled to 8 bits, not clipped to white."""
    img = Image.new("I;16", (200, 150))
    img.putdata([(x * 300) % 65536 for x in range(200 * 150)])
    buf = io.BytesIO()
    img.save(buf, "PNG")
    out = Image.open(io.BytesIO(normalise(buf.getvalue()))).convert("L")
    mean = sum(out.getdata()) / (out.width * out.height)
    assert 100 < mean < 160, mean


# --- payloads ----------------------------------------------------------------------------------


def test_every_payload_is_refused_by_the_parser(corpus: Path) -> None:
    entries = _index(corpus)["payloads"]
    assert len(entries) >= 200
    wrong, codes = [], {}
    slowest = peak = 0.0
    for entry in entries:
        data = (corpus / "payloads" / entry["name"]).read_bytes()
        tracemalloc.start()
        start = time.process_time()  # CPU: a busy machine must not fail it
        try:
            decode_uplink(data)
            wrong.append(f"{entry['name']}: accepted")
            continue
        except WireError as err:
            codes[err.code] = codes.get(err.code, 0) + 1
            if entry["code"] and err.code != entry["code"]:
                wrong.append(f"{entry['name']}: {err.code}, expected {entry['code']}")
            if not err.message or (err.field and err.field.split(".")[0].split("[")[0]
                                   not in err.message):
                wrong.append(f"{entry['name']}: unclear error {err.code} {err.message!r}")
        finally:
            elapsed = time.process_time() - start
            py_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        slowest, peak = max(slowest, elapsed), max(peak, py_peak)
        if elapsed > 1.0:
            wrong.append(f"{entry['name']}: took {elapsed:.2f} s")
        if py_peak > MAX_PY_PEAK_MB:
            wrong.append(f"{entry['name']}: {py_peak:.0f} MB while parsing")
    assert not wrong, "\n".join(wrong)
    REPORT["payloads through the wire parser"] = (
        f"{len(entries)} tried, {len(entries)} refused, 0 accepted; slowest {slowest * 1000:.0f} ms, "
        f"Python peak {peak:.0f} MB")
    REPORT["parser refusal codes"] = ", ".join(f"{k} {v}" for k, v in sorted(codes.items()))


class RawTerminal:
    """Terminal 1's real credentials on a raw MQTT client: publish, read the replies."""

    def __init__(self, system: System, name: str = "kiosk-1") -> None:
        # The broker takes the username as client id: a running link of that terminal and
        # this client would keep taking the identity from each other (a reply then reaches
        # either), so a test stops the link first.
        assert not any(link.terminal == name and link.connected and not link._stop.is_set()
                       for link in system.links), \
            f"stop {name}'s link before taking its password on a raw client"
        self.name = name
        self.inbox: queue.Queue[bytes] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(name, system.demo.terminals[name]["password"])
        self.client.on_message = lambda _c, _u, m: self.inbox.put(m.payload)
        self.client.connect("127.0.0.1", system.cfg.mqtt_port)
        self.client.subscribe(topics.downlink(name), qos=1)
        self.client.loop_start()
        time.sleep(0.3)  # the SUBACK

    def ask(self, payload: bytes, timeout: float = 10.0) -> dict[str, Any]:
        self.client.publish(topics.uplink(self.name), payload, qos=1).wait_for_publish(10)
        return json.loads(self.inbox.get(timeout=timeout))

    def answers(self, ids: set[str], timeout: float = 20.0) -> dict[str, str]:
        """The answers to the uplinks ``ids`` as they come: each one's state, or its error's
        code (other replies, a logout kept for the terminal, are passed over)."""
        got: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while len(got) < len(ids) and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                reply = json.loads(self.inbox.get(timeout=0.5))
                if reply.get("ref") in ids:
                    got[reply["ref"]] = reply.get("state") or reply.get("code")
        return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def ended_long_ago(system: System, link: TerminalLink, name: str, days: int = 30) -> str:
    """``name`` badged in on ``link``, logged out ``days`` ago, the link stopped so that its
    password can be taken by a ``RawTerminal``: that session's id."""
    system.badge_in(link, name)
    sid = link.sid
    link.logout()
    with system.store.session() as s:
        s.get(BadgeSession, sid).ended_at = utcnow() - dt.timedelta(days=days)
    link.stop()
    return sid


def _sophie_on_a_raw_kiosk_1(system: System) -> tuple[str, RawTerminal]:
    """Sophie's session on kiosk-1, then kiosk-1's credentials on a raw client."""
    link = system.link("kiosk-1")
    system.badge_in(link, "Sophie Martin")
    sid = link.sid
    link.stop()
    return sid, RawTerminal(system)


@pytest.fixture
def relay_system(tmp_path: Path) -> Iterator[System]:
    """A whole installation whose relay meter is wide open: the corpus is not a flood."""
    system = make_system(tmp_path, f"sqlite:///{tmp_path / 'relais.db'}", relay=False)
    relay = Relay(system.cfg, system.store, meter=Meter(rate=10_000, burst=10_000))
    relay.start()
    system.relays.append(relay)
    try:
        yield system
    finally:
        system.close()


def test_every_payload_is_refused_through_broker_and_relay(corpus: Path, relay_system: System) -> None:
    system = relay_system
    term = RawTerminal(system)
    entries = _index(corpus)["payloads"]
    before = _counts(system)
    wrong, by_broker, by_relay = [], 0, 0
    try:
        for entry in entries:
            data = (corpus / "payloads" / entry["name"]).read_bytes()
            if len(data) > MAX_PACKET_SIZE - 1024:
                by_broker += 1  # the broker refuses the packet: checked below, nothing stored
                continue
            expected = _parser_code(data)
            start = time.perf_counter()
            try:
                reply = term.ask(data)
            except queue.Empty:
                wrong.append(f"{entry['name']}: no reply")
                continue
            if reply.get("type") != "error" or reply.get("code") != expected or not reply.get("message"):
                wrong.append(f"{entry['name']}: {reply}, expected error {expected}")
            if time.perf_counter() - start > SECONDS_PER_INPUT:
                wrong.append(f"{entry['name']}: answered after {time.perf_counter() - start:.1f} s")
            by_relay += 1
    finally:
        term.close()
    big = _oversize_through_broker(system)
    after = _counts(system)
    assert not wrong, "\n".join(wrong[:30])
    assert after == before, f"rows changed: {before} -> {after}"
    assert big == 0
    REPORT["payloads through the broker to the relay"] = (
        f"{by_relay} answered with the parser's error code, {by_broker} over the broker's "
        f"packet limit dropped by the broker; rows stored 0")


def _parser_code(data: bytes) -> str:
    try:
        decode_uplink(data)
    except WireError as err:
        return err.code
    raise AssertionError("the corpus holds a valid payload")


def _oversize_through_broker(system: System) -> int:
    """A 10 MB publish: the broker drops it (and the client); the relay never sees it. Returns
    how many messages the relay handled meanwhile."""
    relay = system.relays[0]
    handled = relay.counters.handled + relay.counters.errors
    term = RawTerminal(system)
    try:
        term.client.publish(topics.uplink("kiosk-1"), b"{" + b" " * (2 * MAX_PACKET_SIZE) + b"}", qos=1)
        time.sleep(1.0)
    finally:
        term.close()
    return relay.counters.handled + relay.counters.errors - handled


def test_hostile_photos_through_the_relay(corpus: Path, relay_system: System) -> None:
    """Every corpus image the wire lets through (JPEG magic, under 250 KB) sent as a photo by
    a badged-in person: the relay re-encodes it like a console upload, or refuses it and
    stores nothing."""
    system = relay_system
    sid, term = _sophie_on_a_raw_kiosk_1(system)
    karim = system.employee("Karim Benali")
    refused = cleaned = 0
    wrong = []
    try:
        seq = 1
        for entry in _index(corpus)["images"]:
            data = (corpus / "images" / entry["name"]).read_bytes()
            if not data.startswith(b"\xff\xd8\xff") or len(data) > MAX_PHOTO_BYTES:
                continue
            before = _counts(system)
            env = envelope("photo", sid=sid, seq=seq, to=karim,
                           image=base64.b64encode(data).decode(), caption=entry["name"][:100])
            seq += 1
            reply = term.ask(encode(env))
            after = _counts(system)
            if reply.get("type") == "error":
                refused += 1
                if not (reply.get("code") and reply.get("message")) or after != before:
                    wrong.append(f"{entry['name']}: {reply} rows {before} -> {after}")
                if entry["server"] == "clean":
                    wrong.append(f"{entry['name']}: refused, expected clean")
            else:
                cleaned += 1
                with system.store.session() as s:
                    msg = s.execute(select(Message).where(Message.client_id == env["id"])).scalar_one()
                    media = s.get(Media, msg.media_id)
                    problems = check_clean(media.data)
                if problems or entry["server"] == "refuse":
                    wrong.append(f"{entry['name']}: stored {problems}, expected {entry['server']}")
    finally:
        term.close()
    assert not wrong, "\n".join(wrong)
    assert refused >= 5 and cleaned >= 5
    REPORT["corpus JPEGs sent as photo messages through the relay"] = (
        f"{refused + cleaned} sent, {refused} refused with 0 rows, {cleaned} stored re-encoded bare")


def test_photos_to_someone_she_may_not_write_to_are_refused_unopened(
        corpus: Path, relay_system: System) -> None:
    """Whoever holds kiosk-1's password sends Sophie's session's photos to Amina, whom the
    contact rules keep her from writing to: each is refused on the rules, before any decode,
    and no picture is kept (they cost the worker a decode and the database a picture each:
    226 MB in 35 s). A corpus image that would not even decode is refused the same way."""
    system = relay_system
    sid, term = _sophie_on_a_raw_kiosk_1(system)
    amina = system.employee("Amina Diallo")
    bomb = next(e["name"] for e in _index(corpus)["images"] if e["server"] == "refuse"
                and (corpus / "images" / e["name"]).read_bytes().startswith(b"\xff\xd8\xff")
                and (corpus / "images" / e["name"]).stat().st_size <= MAX_PHOTO_BYTES)
    noise = io.BytesIO()
    Image.effect_noise((400, 300), 80).convert("RGB").save(noise, "JPEG", quality=90)
    assert len(noise.getvalue()) <= MAX_PHOTO_BYTES
    before = _counts(system)
    replies = []
    try:
        for seq, data in enumerate((noise.getvalue(), (corpus / "images" / bomb).read_bytes(),
                                    noise.getvalue()), 1):
            env = envelope("photo", sid=sid, seq=seq, to=amina,
                           image=base64.b64encode(data).decode(), caption="")
            replies.append(term.ask(encode(env)))
    finally:
        term.close()
    assert [(r.get("type"), r.get("state")) for r in replies] == [("state", "refused")] * 3, replies
    after = _counts(system)
    assert after["Media"] == before["Media"]  # no picture kept for a refused message
    assert after["Downlink"] == before["Downlink"]
    with system.store.session() as s:
        stored = s.execute(select(Message.state, Message.media_id).where(
            Message.sender_id == system.employee("Sophie Martin"))).all()
    assert stored and all(state == "refused" and media is None for state, media in stored)


# --- fuzzing the photo normalisers ----------------------------------------------------------------

FUZZ = settings(max_examples=1000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _seed_images() -> list[bytes]:
    img = Image.new("RGB", (24, 16), (10, 200, 30))
    out = []
    for fmt, kw in (("JPEG", {}), ("PNG", {}), ("GIF", {}), ("WEBP", {}), ("BMP", {}),
                    ("TIFF", {}), ("JPEG", {"progressive": True})):
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        out.append(buf.getvalue())
    return out


SEEDS = _seed_images()


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    """A small valid image with a few bytes flipped, inserted, removed, or cut short."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "header"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[at:]
        else:  # the header, where sizes and counts live
            pos = draw(st.integers(0, min(40, max(0, len(data) - 1))))
            if data:
                data[pos] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF]))
    return bytes(data)


INPUTS = st.binary(max_size=512) | mutated_images()
# Inputs the fuzzing once found, tried at every run: a GIF cut inside its second frame's
# header made the kiosk's normaliser raise struct.error, a TIFF whose next directory is
# garbage TypeError, instead of refusing them (both while counting frames).
FOUND = [
    b"GIF87a\x00\x00\x00\x00\x00\x00\x00,\x00\x01\x00\x00\x01\x00\x08\x00\x00\x00\x00\x01\x00,",
    bytes.fromhex(
        "49492a00080000000a00000104000100000018000000010104000100000010000000020103000300"
        "00008600000003010300010000000100000006010300010000000200000011010400010000008c00"
        "00001501030001000000030000001601040001000000100000001701040001000000800400001c01"
        "0300010000000100000001000000080008000800") + b"\n\xc8\x1e" * 384,
]


@FUZZ
@given(INPUTS)
@example(FOUND[0])
@example(FOUND[1])
def test_fuzz_kiosk_normaliser(data: bytes) -> None:
    try:
        out = normalise_photo(data)
    except PhotoError as exc:
        assert exc.code and exc.message("fr") and exc.message("en")
        return
    assert not check_clean(out)


@FUZZ
@given(INPUTS)
@example(FOUND[0])
@example(FOUND[1])
def test_fuzz_server_normaliser(data: bytes) -> None:
    try:
        out = photos.normalise(data)
    except Invalid as exc:
        assert exc.code and exc.message
        return
    assert not check_clean(out)


# --- report ------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _write_report() -> Iterator[None]:
    yield
    if not REPORT:
        return
    rows = list(REPORT.items())
    rows.append(("hypothesis examples per photo normaliser (arbitrary and mutated images)",
                 FUZZ.max_examples))
    reporting.write(
        "corpus", "Bad input corpus (tests/data/make_corpus.py)", rows,
        "Generated at test time (deterministic, nothing downloaded). Pictures that are unusual "
        "but legitimate (CMYK, 16-bit, animated, wrong extension, metadata, polyglot trailers) "
        "are re-encoded from their pixels, everything else is refused; zero-width and "
        "direction-changing characters are refused like the wire contract does, right-to-left "
        "letters are ordinary text. The wire parser and the drawing parser are fuzzed in "
        "tests/wire/test_fuzz.py (1,000 examples each).")
