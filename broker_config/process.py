"""Run a Mosquitto broker from a rendered configuration (``relais up``, tests, chaos tests)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from broker_config.errors import BrokerError
from broker_config.render import BrokerSettings, log_since, log_size, read_pid

_POLL = 0.05
_RUNNING = b" running\n"  # Mosquitto's "mosquitto version 2.0.11 running", once its signals are set
_TAIL_BYTES = 4000


def mosquitto_executable() -> str:
    """Debian installs the broker in /usr/sbin, which is not on every user's PATH."""
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise BrokerError("not_installed",
                          "mosquitto is not installed (Debian: apt-get install mosquitto)")
    return found


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - _TAIL_BYTES))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies (Linux ``PR_SET_PDEATHSIG``),
    so even a SIGKILLed ``relais broker`` never leaves a Mosquitto holding its ports."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def terminate(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, so the process can save and close cleanly; SIGKILL if it has not exited
    after ``timeout`` seconds. The broker processes (Mosquitto, ejabberd) stop this way."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()


class BrokerProcess:
    """One ``mosquitto -c conf`` child process. ``render`` the settings before ``start``.

    ``tie_to_parent``: the broker gets SIGTERM when the thread that started it ends (only
    for a process that starts it from its main thread and lives as long: ``relais broker``).
    """

    def __init__(self, settings: BrokerSettings, log_path: Path | None = None, *,
                 tie_to_parent: bool = False) -> None:
        self.settings = settings
        # Mosquitto's stdout/stderr: config errors are printed there before its own log opens.
        self.log_path = log_path if log_path is not None else settings.directory / "mosquitto.out"
        self.tie_to_parent = tie_to_parent
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _failure(self, code: str, reason: str, **detail: object) -> BrokerError:
        parts = []
        for path in (self.log_path, self.settings.log_path):
            tail = _tail(path).strip()
            if tail:
                parts.append(f"--- {path} (tail) ---\n{tail}")
        return BrokerError(code, f"mosquitto ({self.settings.conf_path}) {reason}",
                           tail="\n".join(parts), conf=self.settings.conf_path, **detail)

    def _keep_pid_file(self, text: bytes | None) -> None:
        """A broker that failed to start removes the pid file on its way out, even when it
        named another broker still running: put it back, or add/revoke could no longer reload."""
        if text is None or self.settings.pid_path.exists():
            return
        with contextlib.suppress(OSError):
            self.settings.pid_path.write_bytes(text)
        if read_pid(self.settings) is None:
            with contextlib.suppress(OSError):
                self.settings.pid_path.unlink()

    def start(self, timeout: float = 10.0) -> None:
        """Spawn the broker and return once it accepts connections.

        Raises RuntimeError with the broker's log tail if it exits or is not ready in time,
        and refuses at once (one line) when this home's broker already runs.
        """
        if self.running:
            raise BrokerError("already_running", "broker already running")
        if not self.settings.conf_path.is_file():
            raise BrokerError("no_configuration", "no broker configuration at "
                              f"{self.settings.conf_path}: render it",
                              path=self.settings.conf_path)
        other = read_pid(self.settings)
        if other is not None:
            raise BrokerError("runs_already", f"the broker of {self.settings.directory} already "
                              f"runs (pid {other})", folder=self.settings.directory, pid=other)
        try:
            pid_text: bytes | None = self.settings.pid_path.read_bytes()
        except OSError:
            pid_text = None
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log_from = log_size(self.settings.log_path)
        with self.log_path.open("ab") as out:
            self._proc = subprocess.Popen(
                [mosquitto_executable(), "-c", str(self.settings.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.settings.directory,
                # Its own session: a Ctrl-C meant for `relais up` is handled there, in order.
                start_new_session=True,
                preexec_fn=_die_with_parent if self.tie_to_parent else None,  # noqa: PLW1509
            )
        # Mosquitto opens its listeners in the conf's order, the relay's plain loopback one
        # last (render_conf): once it accepts, every listener is open. Probing the terminals'
        # listener instead would make a TLS one log "unexpected eof" at every start.
        # And once it says it runs: it opens its listeners before it sets its signal
        # handlers, so a reload (SIGHUP) sent as soon as a port accepts was lost, or killed
        # it (a test restarting the broker and reloading it at once, under load in CI).
        deadline = time.monotonic() + timeout
        while not (_accepts("127.0.0.1", self.settings.relay_port)
                   and _RUNNING in log_since(self.settings.log_path, log_from)):
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._proc = None
                self._keep_pid_file(pid_text)
                raise self._failure("exited", f"exited with status {code} while starting",
                                    status=code)
            if time.monotonic() > deadline:
                self.kill()
                self._keep_pid_file(pid_text)
                raise self._failure("not_ready", f"did not accept connections within "
                                    f"{timeout:g}s", seconds=f"{timeout:g}")
            time.sleep(_POLL)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (Mosquitto saves its persistence snapshot), then SIGKILL after ``timeout``."""
        proc, self._proc = self._proc, None
        if proc is not None:
            terminate(proc, timeout)

    def kill(self) -> None:
        """SIGKILL: no snapshot is saved (chaos tests)."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        proc.wait()
        self._proc = None

    def __enter__(self) -> BrokerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
