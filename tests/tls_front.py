"""HTTPS in front of a console served by waitress, as nginx does on a site: a small TLS
terminator on a free loopback port, with the certificate and key ``relais init --tls``
made, passing the bytes on to the console's plain-HTTP port."""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

from click.testing import CliRunner

from hr_console import config as config_mod
from hr_console.cli import main
from hr_console.web import create_app
from tests.web_fixture import Console


def _pump(client: ssl.SSLSocket, upstream: socket.socket, seen: list[bytes] | None) -> None:
    sel = selectors.DefaultSelector()
    sel.register(client, selectors.EVENT_READ, upstream)
    sel.register(upstream, selectors.EVENT_READ, client)
    try:
        while True:
            for key, _ in sel.select(timeout=30):
                src: socket.socket = key.fileobj  # type: ignore[assignment]
                data = src.recv(65536)
                while isinstance(src, ssl.SSLSocket) and src.pending():
                    data += src.recv(65536)
                if not data:
                    return
                if seen is not None and src is client:
                    seen.append(data)
                key.data.sendall(data)
    except OSError:
        return
    finally:
        sel.close()
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.close()


def _serve(listener: socket.socket, ctx: ssl.SSLContext, backend: tuple[str, int],
           stop: threading.Event, seen: list[bytes] | None) -> None:
    while not stop.is_set():
        try:
            raw, _ = listener.accept()
        except OSError:
            return
        try:
            raw.settimeout(10)
            client = ctx.wrap_socket(raw, server_side=True)
            client.settimeout(None)
        except (OSError, ssl.SSLError):  # a client that refused our certificate: its right
            with contextlib.suppress(OSError):
                raw.close()
            continue
        upstream = socket.create_connection(backend, timeout=10)
        upstream.settimeout(None)
        threading.Thread(target=_pump, args=(client, upstream, seen), daemon=True).start()


@contextlib.contextmanager
def tls_front(backend_url: str, certfile: str, keyfile: str, *,
              seen: list[bytes] | None = None) -> Iterator[int]:
    """Serve TLS on 127.0.0.1 (a free port, yielded) in front of ``backend_url``; ``seen``
    collects what clients sent once decrypted (what an impostor in the middle would read)."""
    parts = urlsplit(backend_url)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certfile, keyfile)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    thread = threading.Thread(target=_serve, name="tls-front", daemon=True,
                              args=(listener, ctx, (parts.hostname, parts.port), stop, seen))
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way
        listener.close()
        thread.join(timeout=5)


def init_tls(console: Console, hosts: tuple[str, ...] = ("localhost",)) -> Console:
    """``relais init --tls --tls-host …`` on the home of a test console, as an admin runs
    it, and the same console again with the settings that wrote (its CA in HOME/tls)."""
    cfg = console.cfg
    flags = ["--home", str(cfg.home), "--db-url", cfg.database_url, "--mqtt-port",
             str(cfg.mqtt_port), "--console-port", str(cfg.console_port)]
    result = CliRunner().invoke(main, [*flags, "init", "--tls",
                                       *(arg for h in hosts for arg in ("--tls-host", h))])
    assert result.exit_code == 0, (result.output, result.exception)
    tls_cfg = config_mod.load(cfg.home, db_url=cfg.database_url, mqtt_port=cfg.mqtt_port,
                              console_port=cfg.console_port)
    assert tls_cfg.tls_ca and tls_cfg.tls_cert and tls_cfg.tls_key
    console.app.extensions["relais_store"].dispose()
    app = create_app(tls_cfg, {"TESTING": True, "WTF_CSRF_ENABLED": False,
                               "RATELIMIT_ENABLED": False})
    return Console(app, tls_cfg, console.demo)
