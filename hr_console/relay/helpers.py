"""What the relay's helper processes (the PIN checks, the voice re-encoding) run first.

They are ``ProcessPoolExecutor`` workers: each waits for its next job on a pipe whose
writing end it holds itself, so a relay killed outright (SIGKILL, the OOM killer) left them
waiting for ever, idle but holding their memory, two or three more at every restart of a
relay that crashes in a loop. Each now notices that its relay is gone (it has been given
another parent) within a second, and exits.
"""

from __future__ import annotations

import os
import threading
import time

PARENT_CHECK_S = 1.0


def start(niceness: int, relay: int) -> None:
    """The pool's initializer (``initargs=(niceness, os.getpid())`` in the relay): below
    the relay's priority, and gone with the relay, even one that died before this ran."""
    os.nice(niceness)
    if os.getppid() != relay:
        os._exit(0)
    threading.Thread(target=_leave_with, args=(relay,), name="relais-parent-watch",
                     daemon=True).start()


def _leave_with(parent: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:
            os._exit(0)  # nothing of the relay's to finish: its jobs died with it
