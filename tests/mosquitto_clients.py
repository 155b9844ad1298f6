"""Drive the real ``mosquitto_pub`` / ``mosquitto_sub`` clients from tests.

Independent clients keep broker tests honest (no shared client library with the code under
test). ``Sub`` runs ``mosquitto_sub -d`` so a test can wait for the SUBACK before publishing,
and for messages by count: tests assert counts and states, never sleep.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType

TIMEOUT = 15.0  # generous upper bound for anything that should happen at once
SUB_TIMED_OUT = 27  # mosquitto_sub's exit status when -W expires
_MSG = "MSG "
# Every started Sub until stopped. A client left running reconnects every second, possibly to a
# later test's broker on a reused port, where it would log out that test's client of the same name.
_LIVE: set[Sub] = set()


def stop_all() -> None:
    """Stop every mosquitto_sub still running (test teardown, interpreter exit)."""
    for sub in list(_LIVE):
        sub.stop()


atexit.register(stop_all)


def _exe(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: install Debian's mosquitto-clients")
    return found


def _line_buffered() -> list[str]:
    stdbuf = shutil.which("stdbuf")
    return [stdbuf, "-oL", "-eL"] if stdbuf else []


def _common(
    port: int,
    username: str | None,
    password: str | None,
    *,
    client_id: str | None,
    v5: bool,
    host: str,
    cafile: Path | None,
) -> list[str]:
    args = ["-h", host, "-p", str(port)]
    if username is not None:
        args += ["-u", username]
    if password is not None:
        args += ["-P", password]
    if client_id is not None:
        args += ["-i", client_id]
    if v5:
        args += ["-V", "mqttv5"]
    if cafile is not None:
        args += ["--cafile", str(cafile)]
    return args


def pub(
    port: int,
    username: str | None,
    password: str | None,
    topic: str,
    payload: str | None = "x",
    *,
    qos: int = 1,
    retain: bool = False,
    client_id: str | None = None,
    v5: bool = True,
    host: str = "127.0.0.1",
    cafile: Path | None = None,
    file: Path | None = None,
    lines: Sequence[str] | None = None,
    extra: Iterable[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Publish once (``payload``), a file (``file``) or one message per line (``lines``).

    Returns the finished process: returncode 0 means connected and published (with QoS 1,
    acknowledged). A refused publish under MQTT 5 still exits 0 but prints a warning.
    """
    args = [_exe("mosquitto_pub"), *_common(
        port, username, password, client_id=client_id, v5=v5, host=host, cafile=cafile
    )]
    args += ["-t", topic, "-q", str(qos)]
    if retain:
        args.append("-r")
    stdin: str | None = None
    if lines is not None:
        args.append("-l")
        stdin = "".join(f"{line}\n" for line in lines)
    elif file is not None:
        args += ["-f", str(file)]
    elif payload is not None:
        args += ["-m", payload]
    else:
        args.append("-n")
    args += list(extra)
    return subprocess.run(
        args, input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


class Sub:
    """A running ``mosquitto_sub``; messages arrive in ``messages`` as (topic, text) pairs.

    ``text`` is the payload, or what ``fmt`` says after the topic (``%l`` = payload length).
    Use as a context manager: entering waits for the SUBACK, leaving stops the process.
    """

    def __init__(
        self,
        port: int,
        username: str | None,
        password: str | None,
        topics: str | Sequence[str],
        *,
        qos: int = 1,
        count: int | None = None,
        wait: int | None = None,
        client_id: str | None = None,
        v5: bool = True,
        persistent: bool = False,
        session_expiry: int | None = None,
        exit_on_suback: bool = False,
        fmt: str = "%p",
        host: str = "127.0.0.1",
        cafile: Path | None = None,
        extra: Iterable[str] = (),
    ) -> None:
        topic_list = [topics] if isinstance(topics, str) else list(topics)
        # Line-buffered: the debug lines (SUBACK) would otherwise sit in stdio's pipe buffer.
        args = [*_line_buffered(), _exe("mosquitto_sub"), "-d", *_common(
            port, username, password, client_id=client_id, v5=v5, host=host, cafile=cafile
        )]
        for topic in topic_list:
            args += ["-t", topic]
        args += ["-q", str(qos), "-F", f"{_MSG}%t {fmt}"]
        if count is not None:
            args += ["-C", str(count)]
        if wait is not None:
            args += ["-W", str(wait)]
        if persistent:
            args.append("-c")
        if session_expiry is not None:
            args += ["-x", str(session_expiry)]
        if exit_on_suback:
            args.append("-E")
        args += list(extra)
        self.args = args
        self.output: list[str] = []
        self.messages: list[tuple[str, str]] = []
        self._subscribed = False
        self._cond = threading.Condition()
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Sub:
        self._proc = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        _LIVE.add(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.rstrip("\n")
            with self._cond:
                self.output.append(line)
                if line.startswith(_MSG):
                    topic, _, text = line[len(_MSG) :].partition(" ")
                    self.messages.append((topic, text))
                elif "received SUBACK" in line:
                    self._subscribed = True
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def stop(self) -> None:
        """Terminate (if still running) and collect everything it printed."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            # mosquitto_sub may sit out a SIGTERM while it reconnects: don't wait long.
            self._proc.wait(2.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._reader is not None:
            self._reader.join(TIMEOUT)
        _LIVE.discard(self)

    def kill(self) -> None:
        """SIGKILL: the broker sees the connection drop without a DISCONNECT (last will)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self.stop()

    def __enter__(self) -> Sub:
        self.start()
        try:
            self.wait_subscribed()
        except BaseException:
            self.stop()  # __exit__ won't run: never leave a client behind
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- waiting ---------------------------------------------------------------------------

    def _describe(self) -> str:
        return f"{' '.join(self.args)}\n" + "\n".join(self.output[-30:])

    def _wait_for(self, done: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not done():
                reader_done = self._reader is None or not self._reader.is_alive()
                if reader_done:
                    raise AssertionError(f"mosquitto_sub ended before {what}:\n{self._describe()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}:\n{self._describe()}")
                self._cond.wait(min(left, 0.2))

    def wait_subscribed(self, timeout: float = TIMEOUT) -> None:
        """Block until the broker acknowledged the subscription."""
        self._wait_for(lambda: self._subscribed, "the SUBACK", timeout)

    @property
    def suback(self) -> list[int]:
        """The SUBACK's reason codes, one per topic in order (1: granted QoS 1; 135: not
        authorised), as ``mosquitto_sub -d`` prints them just after "received SUBACK"."""
        def line() -> str | None:
            return next((x for x in self.output if x.startswith("Subscribed (mid: ")), None)

        self._wait_for(lambda: line() is not None, "the SUBACK's reason codes", TIMEOUT)
        with self._cond:
            return [int(code) for code in (line() or "").split(":", 2)[2].split(",")]

    def wait_messages(self, n: int, timeout: float = TIMEOUT) -> list[tuple[str, str]]:
        """Block until at least ``n`` messages arrived; return them all."""
        self._wait_for(lambda: len(self.messages) >= n, f"{n} message(s)", timeout)
        with self._cond:
            return list(self.messages)

    def wait_until(
        self, done: Callable[[list[tuple[str, str]]], bool], what: str, timeout: float = TIMEOUT
    ) -> list[tuple[str, str]]:
        """Block until ``done(messages so far)``; return the messages."""
        self._wait_for(lambda: done(self.messages), what, timeout)
        with self._cond:
            return list(self.messages)

    def wait_output(self, done: Callable[[list[str]], bool], what: str, timeout: float = TIMEOUT) -> None:
        """Block until ``done(every line printed so far)``."""
        self._wait_for(lambda: done(self.output), what, timeout)

    def wait_exit(self, timeout: float = TIMEOUT) -> int:
        """Block until the process exits by itself (-C, -W, -E or a broker disconnect)."""
        assert self._proc is not None, "not started"
        try:
            code = self._proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"mosquitto_sub still running:\n{self._describe()}") from exc
        if self._reader is not None:
            self._reader.join(TIMEOUT)
        return code
