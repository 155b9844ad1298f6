"""Where a command's log goes, and how much of it.

Every command logs to stderr at INFO (``--verbose`` or ``RELAIS_LOG=debug``: DEBUG).
``relais up`` keeps the terminal for what a person watches: where the parts listen, the
demo's logins, then one line per event (``EVENTS``: a kiosk opened, a terminal connected,
a message held for HR) and any warning; the rest goes to ``HOME/logs/relais.log``, and each
demo kiosk's output to ``HOME/logs/NAME.log``. ``--verbose`` puts everything back on the
terminal (the files are still written)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The logger of the lines `relais up` shows on the terminal (here and in its kiosks).
EVENTS = "relais.events"


def level(verbose: bool) -> int:
    """DEBUG with ``--verbose`` or ``RELAIS_LOG=debug``; else ``RELAIS_LOG``'s level
    (info, warning, error), INFO by default."""
    wanted = os.environ.get("RELAIS_LOG", "").strip().upper()
    if verbose or wanted == "DEBUG":
        return logging.DEBUG
    return {"WARNING": logging.WARNING, "ERROR": logging.ERROR}.get(wanted, logging.INFO)


def verbose_wanted(verbose: bool) -> bool:
    return level(verbose) == logging.DEBUG


def setup(verbose: bool) -> None:
    """The log of any command: stderr, at ``level``. Left alone when the process already
    has handlers (a test's capture, an embedding program)."""
    lvl = level(verbose)
    logging.basicConfig(level=lvl, format=FORMAT)
    logging.getLogger("alembic").setLevel(logging.DEBUG if lvl == logging.DEBUG else logging.WARNING)


class _Watched(logging.Filter):
    """What stays on the terminal of a quiet ``relais up``: events and warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == EVENTS or record.levelno >= logging.WARNING


class _Short(logging.Formatter):
    """An event as a person reads it (``17:31:51 kiosk-1: terminal connected``); anything
    else with its level and logger, as in the file."""

    def __init__(self) -> None:
        super().__init__(FORMAT)
        self._event = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return self._event.format(record) if record.name == EVENTS else super().format(record)


def quiet_terminal(log_file: Path, verbose: bool) -> None:
    """``relais up``: everything to ``log_file``; on the terminal, unless verbose, only
    events and warnings."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setFormatter(logging.Formatter(FORMAT))
    if not verbose_wanted(verbose):
        for handler in root.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                handler.addFilter(_Watched())
                handler.setFormatter(_Short())
    root.addHandler(to_file)


def event(message: str, *args: object) -> None:
    """One line a person watching ``relais up`` wants to see."""
    logging.getLogger(EVENTS).info(message, *args)
