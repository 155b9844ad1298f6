"""Voice messages re-encoded beside the worker, before their transaction.

Decoding and encoding a minute of sound again (``services.voice``) takes a few hundred
milliseconds of CPU: in the worker's batch every other terminal's messages would wait for
it. So the worker asks ``waiting`` about each uplink before it commits a batch: a voice
message whose clip is not made yet is sent to a process of its own (low priority, started
at the first voice message) and waits in the worker's deferred queue; the worker goes on
with everything else. When the clip is made (``services.voice.prepared``), the deferred
uplink comes back and its transaction finds it there. The terminal's later messages wait
behind it as they wait behind any earlier seq (``handlers._overtakes``), so per-terminal
order holds; a relay that dies meanwhile acked nothing it had not committed, and the
kiosk's outbox sends the message again.

A clip may not take more than ``CLIP_CPU_S`` of its process's CPU: a terminal's password can
be read off its disk, and a clip made to keep FFmpeg busy (or a decoder bug) would otherwise
hold the one process, and so every voice message of the company, for ever. The kernel stops
it (``signal.ITIMER_PROF``, whose signal ends a process that does not catch it, even inside
FFmpeg's C code). The process says which clip it is making in a shared slot, so when it
dies the blame goes to that clip alone: the clips queued behind it are made again in a new
process, never refused for another's fault.

A clip is made only for a message its transaction would store: ``wanted``
(``handlers.clip_wanted``) first reads whether the session may speak and the person may be
written to, so a terminal's password alone buys no decoding. What a session the terminal
hosted can still send, clips the decoder refuses (never stored, so they spend none of an
ended session's late items), is bounded per terminal by the CPU they took
(``REFUSED_CPU_S``), apart for the person badged in and for late items of sessions that
ended: past it, such clips are answered ``rate_limited`` by their batch (the terminal's
mark moves, its later messages do not wait) and the kiosk sends them again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from enum import Enum

from hr_console.relay import helpers
from hr_console.services import voice
from relais_wire.envelope import Envelope, Voice, WireError, decode_uplink

log = logging.getLogger("relais.relay.voices")

NICE = 10  # below the worker, the broker and the database; above the PIN checks (19)
# Clips being made at once, all terminals together: past it a voice message is turned away
# as "rate_limited" (its kiosk sends it again), so a terminal sending clip after clip costs
# the relay a bounded queue and a bounded share of a core, never the worker's time.
MAX_PENDING = 8
# A clip whose making killed its process this many times is refused (FFmpeg does not
# survive it, or it passed CLIP_CPU_S); never tried in the relay's own process.
CRASHES_REFUSED = 2
# The CPU a clip's making may take: a minute of speech takes about half a second on the
# development machine (docs/benchmarks.md, figure 12), so this is a far slower server, not
# a clip; what passes it is taken as a decoder kept busy on purpose.
CLIP_CPU_S = 30.0
_CRASHED = ("bad_audio", "the audio cannot be decoded")
# A terminal whose clips were refused by the decoder (or killed its process) after this much
# of the process's CPU within the window has its next clips turned away as "rate_limited"
# until it passes (its kiosk sends them again): a kiosk records what it sends, so only a
# terminal's password in other hands makes clips FFmpeg refuses, and with a session the
# terminal hosted it could otherwise have kept the one process busy, 30 s a clip, with
# clips that are never stored and so spend none of a session's late items. Each refusal
# counts at least REFUSED_MIN_CPU_S: a stream of cheap ones is bounded too.
REFUSED_CPU_S = 60.0
REFUSED_WINDOW_S = 3600.0
REFUSED_MIN_CPU_S = 1.0


class Turn(Enum):
    """What the worker does with an uplink (``VoiceDesk.turn``)."""

    GO = "go"  # not a clip, a clip refused by the wire, or one whose clip is made: handle it
    WAIT = "wait"  # its clip is being made: wait for it, free
    DEFER = "defer"  # its terminal has another clip being made: wait as any deferred uplink
    BUSY = "busy"  # too many clips being made: turned away, the kiosk sends it again
    # Its budget of refused clips is spent (REFUSED_CPU_S): answered rate_limited by its
    # batch (``voice.turned_away``), which moves the terminal's mark.
    REFUSE = "refuse"


class VoiceDesk:
    def __init__(self, wake: Callable[[], None],
                 wanted: Callable[[str, Envelope], str | None] | None = None) -> None:
        """``wanted(terminal, envelope)``: None when the message's transaction would not use
        its clip (refused before it), else the budget it is counted in
        (``handlers.clip_wanted``); no ``wanted``: every clip is made, counted by terminal."""
        self._wake = wake
        self._wanted = wanted
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._pending: dict[str, str] = {}  # clip key -> its terminal
        self._budget_of: dict[str, str] = {}  # clip key -> the budget it is counted in
        self._crashes: dict[str, int] = {}  # clip key -> processes it killed
        # Which clip the process is making (its serial; 0: none), written by the process:
        # one process, so one slot.
        self._spawn = multiprocessing.get_context("spawn")
        self._making = self._spawn.Value("q", 0, lock=False)
        self._serial = 0
        self.made = 0
        self.turned_away = 0
        self.killed = 0  # processes that died making a clip (crashed, or past CLIP_CPU_S)
        self.unwanted = 0  # clips not made: their message is refused before its clip
        self.check_failed = 0  # ``wanted`` raised: the clip was made, as before the check
        # Per budget (``wanted``'s), the CPU its refused clips took: (monotonic time, seconds).
        self._refused: dict[str, deque[tuple[float, float]]] = {}

    def turn(self, terminal: str, payload: bytes) -> tuple[Turn, str | None]:
        """What to do with this uplink now, and its clip's key (for ``Turn.REFUSE``); a
        clip's making is started here. Anything the wire refuses goes on, to be refused by
        the batch as usual."""
        # A glance first: a voice message says so, or hides it in a \u escape (the kiosk
        # writes UTF-8 and never escapes a letter; an attacker may, "\u0076oice").
        if b'"voice"' not in payload and b"\\u" not in payload:
            return Turn.GO, None
        try:
            env = decode_uplink(payload)
        except WireError:
            return Turn.GO, None
        if not isinstance(env.body, Voice):
            return Turn.GO, None
        data = env.body.audio
        k = voice.key(data)
        if voice.prepared.has(k):
            return Turn.GO, None
        with self._lock:
            if self._crashes.get(k, 0) >= CRASHES_REFUSED:  # refused, then forgotten: again
                voice.prepared.put(k, _CRASHED)
                return Turn.GO, None
            if k in self._pending:
                return Turn.WAIT, None
            if terminal in self._pending.values():
                return Turn.DEFER, None  # one clip of a terminal at a time; its order holds anyway
        # Asked only for a clip about to be made (the worker alone adds to _pending, so
        # what was read above still holds, or has only become freer).
        budget = self._is_wanted(terminal, env)
        if budget is None:
            self.unwanted += 1
            return Turn.GO, None  # the batch refuses it before it asks for the clip
        with self._lock:
            if self._over_budget(budget):
                self.turned_away += 1
                return Turn.REFUSE, k
            if len(self._pending) >= MAX_PENDING:
                self.turned_away += 1
                return Turn.BUSY, None
            self._pending[k] = terminal
            self._budget_of[k] = budget
            self._serial += 1
            serial = self._serial
            pool = self._pool = self._pool or ProcessPoolExecutor(
                max_workers=1, mp_context=self._spawn, initializer=_start,
                initargs=(NICE, os.getpid(), self._making))
        try:
            future = pool.submit(_make, serial, data, CLIP_CPU_S)
        except (RuntimeError, BrokenProcessPool):  # stopping, or a process died: anew next time
            with self._lock:
                self._pending.pop(k, None)
                self._budget_of.pop(k, None)
                if self._pool is pool:
                    self._pool = None
            return Turn.BUSY, None
        future.add_done_callback(lambda f: self._done(k, serial, pool, f))
        return Turn.WAIT, None

    def _is_wanted(self, terminal: str, env: Envelope) -> str | None:
        """``wanted``, and the terminal's own budget whenever it cannot say (the clip is
        made, counted in ``check_failed``). A
        message it turns away goes to its batch; should the batch want the clip after all
        (what the snapshot read has changed since), the uplink is deferred and asked about
        again at its next try, so it waits a retry, never for a clip nobody makes."""
        if self._wanted is None:
            return terminal
        try:
            return self._wanted(terminal, env)
        except Exception:
            self.check_failed += 1
            log.exception("could not check a voice message before making its clip; made")
            return terminal

    def _over_budget(self, budget: str) -> bool:
        """Whether the refused clips counted in ``budget`` took ``REFUSED_CPU_S`` of the
        process's CPU within ``REFUSED_WINDOW_S`` (under ``_lock``)."""
        spent = self._refused.get(budget)
        if not spent:
            return False
        horizon = time.monotonic() - REFUSED_WINDOW_S
        while spent and spent[0][0] < horizon:
            spent.popleft()
        return sum(cpu for _at, cpu in spent) >= REFUSED_CPU_S

    def _spend(self, budget: str, cpu: float) -> None:
        """A clip counted in ``budget`` was refused (or killed its process) after ``cpu``
        seconds of CPU, counted at least ``REFUSED_MIN_CPU_S`` (under ``_lock``)."""
        if len(self._refused) > 10_000:  # a bound, whatever is sent
            self._refused.clear()
        spent = self._refused.setdefault(budget, deque())
        spent.append((time.monotonic(), max(cpu, REFUSED_MIN_CPU_S)))

    def _done(self, k: str, serial: int, pool: ProcessPoolExecutor, future: Future) -> None:
        result: voice.Clip | voice.Refusal | None
        cpu: float | None = None  # the CPU it took, when the process answered
        try:
            result, cpu = future.result()
        except CancelledError:  # the pool was shut down under it: made again next time
            result = None
        except Exception as err:  # its process died: FFmpeg crashed, or CLIP_CPU_S passed
            with self._lock:
                if self._pool is pool:  # a broken pool takes nothing more: a new one
                    self._pool = None
                # Every clip in the pool fails with it; only the one it was making is to
                # blame (the slot still names it), the others are made again.
                culprit = self._making.value == serial
                if culprit:
                    self._making.value = 0
                    if len(self._crashes) > 1000:  # a bound, whatever is sent
                        self._crashes.clear()
                    self._crashes[k] = self._crashes.get(k, 0) + 1
                    self.killed += 1
                    budget = self._budget_of.get(k)
                    if budget is not None:
                        self._spend(budget, CLIP_CPU_S)  # all it may have taken
                result = _CRASHED if self._crashes.get(k, 0) >= CRASHES_REFUSED else None
            if culprit:
                log.warning("a voice message's re-encoding process died making it (%s): "
                            "%s", "refused" if result else "made again", err)
            pool.shutdown(wait=False, cancel_futures=True)
        if result is not None:
            voice.prepared.put(k, result)
            self.made += 1
        with self._lock:
            self._pending.pop(k, None)
            budget = self._budget_of.pop(k, None)
            if isinstance(result, tuple) and budget is not None and cpu is not None:
                self._spend(budget, cpu)  # refused by the decoder (a crash was counted)
        self._wake()

    def stop(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# --- in the desk's process -----------------------------------------------------------

_making_slot = None  # the desk's shared slot, in its process


def _start(niceness: int, relay: int, making) -> None:  # noqa: ANN001 - a shared ctypes value
    """The process's initializer: ``helpers.start``, the slot, and FFmpeg loaded now, so
    that the first clip's CPU is the clip's own."""
    global _making_slot
    helpers.start(niceness, relay)
    # The timer's signal must end the process: a relay started with SIGPROF ignored or
    # blocked (its parent's choice, inherited through exec) would make the limit nothing.
    signal.signal(signal.SIGPROF, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGPROF})
    _making_slot = making
    import av  # noqa: F401


def _make(serial: int, data: bytes, cpu_s: float) -> tuple[voice.Clip | voice.Refusal, float]:
    """One clip, named in the slot while it is made, within ``cpu_s`` of CPU (past it the
    kernel's SIGPROF ends the process, C code included), and the CPU it took."""
    if _making_slot is not None:
        _making_slot.value = serial
    signal.setitimer(signal.ITIMER_PROF, cpu_s)
    start = time.process_time()
    try:
        return voice.outcome(data), time.process_time() - start
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        if _making_slot is not None:
            _making_slot.value = 0
