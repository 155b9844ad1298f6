"""The console served for real in a test: waitress in a thread, as ``relais console`` does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from waitress.server import create_server

from hr_console.web.app import server_options


@contextmanager
def served(app: Flask, port: int = 0, threads: int = 4) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (``port`` 0: a free one) and yield its base URL.

    ``server.run()`` cannot be stopped from another thread (closing its sockets under a
    running select() fails with EBADF), so the loop here checks a flag between rounds."""
    server = create_server(app, host="127.0.0.1", port=port, threads=threads,
                           **server_options(app.config["RELAIS"]))  # as `relais console`
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=serve, name="console-under-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
        app.extensions["relais_store"].dispose()
