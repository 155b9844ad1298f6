"""Photos the kiosk fetches over the console's kiosk API: a message photo the badge-in sync
carried without its image (``has_image``) and a notice's photo (``photo: true``).

No Kivy: the UI asks with ``fetch(kind, sid, key, done)``; one worker thread makes the
calls (short timeouts) and calls ``done(jpeg)`` on that thread, only on success; the UI
hops back to its own thread. Failures are logged and nothing is delivered, so the screen
keeps what it shows. Results are kept in memory by id for the person badged in; ``clear``
(logout) forgets them and drops whatever is still on its way for that person.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk_app.link.api import KioskApi, KioskApiError

if TYPE_CHECKING:
    from kiosk_app.config import KioskConfig

log = logging.getLogger("relais.kiosk.media")

FETCH_TIMEOUT = 5.0  # seconds per call: a photo that does not come stays a label
MAX_ITEMS = 48  # photos kept per person (a normalised photo is at most 250 KB)
KINDS = ("message", "notice", "clip")  # a message's photo, a notice's, a voice message's clip
# Answers that will not change for this person: not asked again until logout.
_FINAL_CODES = frozenset({"not_found", "bad_response", "no_session", "unauthorised"})

Done = Callable[[bytes], None]


class RemoteMedia:
    def __init__(self, api: KioskApi, *, max_items: int = MAX_ITEMS) -> None:
        self._api = api
        self._max = max_items
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._failed: set[tuple[str, str]] = set()
        self._waiting: dict[tuple[str, str], list[Done]] = {}
        self._generation = 0  # bumped by clear(): older jobs deliver nothing
        self._jobs: queue.Queue[tuple[int, str, str, str] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._closed = False

    @classmethod
    def from_config(cls, cfg: KioskConfig, timeout: float = FETCH_TIMEOUT) -> RemoteMedia | None:
        """None when the kiosk has no ``api_url``: photos then stay labels, as before."""
        if not cfg.api_url:
            return None
        return cls(KioskApi(cfg.api_url, cfg.terminal, cfg.password, timeout=timeout,
                            ca_file=cfg.tls_ca))

    # --- synchronous (the worker, tests) -------------------------------------------------------

    def cached(self, kind: str, key: str) -> bytes | None:
        with self._lock:
            data = self._cache.get((kind, key))
            if data is not None:
                self._cache.move_to_end((kind, key))
            return data

    def get(self, kind: str, sid: str, key: str) -> bytes:
        """The photo, from memory or the console (blocking; raises ``KioskApiError``)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        with self._lock:
            generation = self._generation
        return self._load(generation, kind, sid, key)

    def _load(self, generation: int, kind: str, sid: str, key: str) -> bytes:
        data = self.cached(kind, key)
        if data is not None:
            return data
        if kind == "clip":
            data = self._api.clip(sid, key)
        else:
            data = (self._api.media(sid, key) if kind == "message"
                    else self._api.notice_photo(sid, key))
        self._keep(generation, kind, key, data)
        return data

    def _keep(self, generation: int, kind: str, key: str, data: bytes) -> bool:
        with self._lock:
            if generation != self._generation or self._closed:
                return False  # the person left while it was on its way
            self._cache[(kind, key)] = data
            self._cache.move_to_end((kind, key))
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
            return True

    # --- asynchronous (the UI) -----------------------------------------------------------------

    def fetch(self, kind: str, sid: str, key: str, done: Done) -> bytes | None:
        """The photo at once if it is in memory; otherwise ask the worker, which calls
        ``done(jpeg)`` on its own thread once it has it (never on failure). Asking again for
        a photo already on its way only adds ``done``."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        data = self.cached(kind, key)
        if data is not None:
            return data
        with self._lock:
            if self._closed or not sid or (kind, key) in self._failed:
                return None
            waiting = self._waiting.setdefault((kind, key), [])
            waiting.append(done)
            if len(waiting) == 1:
                self._jobs.put((self._generation, kind, sid, key))
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="remote-media",
                                                daemon=True)
                self._worker.start()
        return None

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            generation, kind, sid, key = job
            with self._lock:
                current = generation == self._generation
            if not current:
                continue
            try:
                data = self._load(generation, kind, sid, key)
            except KioskApiError as exc:
                log.warning("kiosk could not fetch the %s photo %s: %s", kind, key, exc)
                with self._lock:
                    if generation == self._generation:
                        self._waiting.pop((kind, key), None)
                        if exc.code in _FINAL_CODES:
                            self._failed.add((kind, key))
                continue
            except Exception:  # the worker must outlive any one bad answer
                log.exception("kiosk could not fetch the %s photo %s", kind, key)
                with self._lock:
                    if generation == self._generation:
                        self._waiting.pop((kind, key), None)
                continue
            with self._lock:
                if generation != self._generation:
                    continue
                callbacks = self._waiting.pop((kind, key), [])
            for done in callbacks:
                try:
                    done(data)
                except Exception:
                    log.exception("kiosk could not show the %s photo %s", kind, key)

    # --- logout, shutdown -------------------------------------------------------------------------

    def clear(self) -> None:
        """Logout: forget every photo of the person who left and drop what is on its way."""
        with self._lock:
            self._generation += 1
            self._cache.clear()
            self._failed.clear()
            self._waiting.clear()

    def close(self) -> None:
        self.clear()
        with self._lock:
            self._closed = True
            worker = self._worker
        if worker is not None:
            self._jobs.put(None)
            worker.join(timeout=FETCH_TIMEOUT + 1)
        self._api.close()
