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
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor

from hr_console.services import voice
from relais_wire.envelope import Voice, WireError, decode_uplink

log = logging.getLogger("relais.relay.voices")

NICE = 10  # below the worker, the broker and the database; above the PIN checks (19)


class VoiceDesk:
    def __init__(self, wake: Callable[[], None], *, processes: int = 1) -> None:
        self._wake = wake
        self._processes = processes
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._pending: set[str] = set()
        self._in_place: set[str] = set()  # the pool failed them: the worker makes them
        self.made = 0

    def waiting(self, payload: bytes) -> bool:
        """Whether this uplink is a voice message whose clip is still being made (its
        making is started here if it was not). Anything else, or anything the wire
        refuses, is not waited for: the batch handles or refuses it as usual."""
        if b'"voice"' not in payload:
            return False
        try:
            env = decode_uplink(payload)
        except WireError:
            return False
        if not isinstance(env.body, Voice):
            return False
        data = env.body.audio
        k = voice.key(data)
        if voice.prepared.has(k):
            return False
        with self._lock:
            if k in self._in_place:
                self._in_place.discard(k)
                return False
            if k in self._pending:
                return True
            self._pending.add(k)
            pool = self._pool = self._pool or ProcessPoolExecutor(
                max_workers=self._processes, mp_context=multiprocessing.get_context("spawn"),
                initializer=os.nice, initargs=(NICE,))
        try:
            future = pool.submit(voice.outcome, data)
        except RuntimeError:  # the relay is stopping
            with self._lock:
                self._pending.discard(k)
            return False
        future.add_done_callback(lambda f: self._done(k, f))
        return True

    def _done(self, k: str, future: Future) -> None:
        try:
            result = future.result()
        except Exception as err:  # a pool process died: the worker makes it in place
            log.warning("re-encoding a voice message failed in its process: %s", err)
            result = None
        with self._lock:
            if result is None:
                self._in_place.add(k)
            self._pending.discard(k)
        if result is not None:
            voice.prepared.put(k, result)
            self.made += 1
        self._wake()

    def stop(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
