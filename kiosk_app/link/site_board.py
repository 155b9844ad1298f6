"""The idle screen's board: the current notices for this terminal's site or for everyone,
and whether HR lets the idle screen raise a safety alert without a badge-in, asked from the
console's kiosk API as the terminal alone (nobody badged in).

No Kivy: the UI asks with ``refresh(done)`` (every minute while idle); one worker thread
makes the call (short timeout) and calls ``done(board)`` (a ``Board``) on that thread, only
on success, and only when it changed since the last delivery (``force`` delivers anyway);
the UI hops back to its own thread. A failure is logged once per kind of failure and
delivers nothing, so the screen keeps what it shows; when the console refuses the terminal
(``unauthorised``) the board is emptied and the alert button goes, since neither can be
checked any more. Asking again while a call is on its way does not queue a second call.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kiosk_app.link.api import KioskApi, KioskApiError

if TYPE_CHECKING:
    from kiosk_app.config import KioskConfig

log = logging.getLogger("relais.kiosk.board")

FETCH_TIMEOUT = 5.0  # seconds: a board that does not come keeps what it showed
POLL_SECONDS = 60.0  # how often the idle screen asks

Notices = list[dict[str, Any]]


@dataclass(frozen=True)
class Board:
    """What the idle screen shows from the console: ``notices`` ({uid, title, urgent,
    excerpt}) and ``alert_on_idle`` (the "Danger / accident" button without a badge-in)."""

    notices: Notices = field(default_factory=list)
    alert_on_idle: bool = False


EMPTY = Board()
Done = Callable[[Board], None]


class SiteBoard:
    def __init__(self, api: KioskApi) -> None:
        self._api = api
        self._lock = threading.Lock()
        self._jobs: queue.Queue[tuple[Done, bool] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._pending = False
        self._closed = False
        self._last: Board | None = None  # what was last delivered
        self._last_error: str | None = None

    @classmethod
    def from_config(cls, cfg: KioskConfig, timeout: float = FETCH_TIMEOUT) -> SiteBoard | None:
        """None when the kiosk has no ``api_url``: the idle screen then shows no notices."""
        if not cfg.api_url:
            return None
        return cls(KioskApi(cfg.api_url, cfg.terminal, cfg.password, timeout=timeout,
                            ca_file=cfg.tls_ca))

    def fetch(self) -> Board:
        """The board now (blocking; raises ``KioskApiError``)."""
        notices, alert_on_idle = self._api.site_board()
        return Board(notices, alert_on_idle)

    def refresh(self, done: Done, *, force: bool = False) -> bool:
        """Ask the worker for the board; ``done(board)`` is called on the worker's thread
        when it came and differs from the last delivery (or ``force``). False when nothing
        was asked (closed, or a call is already on its way)."""
        with self._lock:
            if self._closed or self._pending:
                return False
            self._pending = True
            self._jobs.put((done, force))
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="site-board", daemon=True)
                self._worker.start()
        return True

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            done, force = job
            deliver: Board | None = None
            try:
                board = self.fetch()
            except KioskApiError as exc:
                if exc.code != self._last_error:
                    log.warning("kiosk could not fetch the site notices: %s", exc)
                self._last_error = exc.code
                if exc.code == "unauthorised" and self._last is not None \
                        and self._last != EMPTY:
                    deliver = EMPTY
            except Exception:  # the worker must outlive any one bad answer
                log.exception("kiosk could not fetch the site notices")
            else:
                if self._last_error is not None:
                    log.info("kiosk fetches the site notices again")
                self._last_error = None
                if force or board != self._last:
                    deliver = board
            with self._lock:
                self._pending = False
                closed = self._closed
            if deliver is None or closed:
                continue
            self._last = deliver
            try:
                done(deliver)
            except Exception:
                log.exception("kiosk could not show the site notices")

    def forget(self) -> None:
        """The next board that comes is delivered even if unchanged: the UI has changed what
        it shows on its own (an alert the relay refused turned the button off)."""
        with self._lock:
            self._last = None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            worker = self._worker
        if worker is not None:
            self._jobs.put(None)
            worker.join(timeout=FETCH_TIMEOUT + 1)
        self._api.close()
