"""Access-request exports being built and waiting for download (services.person_export).

The console has no task queue: each export runs in a thread of the console process and
reports into a ``Progress`` the page polls. The ZIP is written under the home
(``<home>/exports/``, 0700; each file 0600), belongs to the console user who asked for it,
is removed as its download starts, and after a day in any case (``sweep``, at every
use of the registry, also takes the files a stopped console left behind).

An export can weigh hundreds of megabytes and the home is on the database's disk: a console
user runs one export at a time, the console at most ``MAX_RUNNING``, and none starts when the
home's disk has less free space than ``MIN_FREE_BYTES`` or ``MIN_FREE_SHARE`` of its size
(``Refused``, nothing started)."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask

from hr_console.config import Settings
from hr_console.services import person_export
from hr_console.store.db import Store

log = logging.getLogger("relais.console")

MAX_RUNNING = 2  # exports built at once by the whole console
MIN_FREE_BYTES = 1 << 30  # 1 GiB
MIN_FREE_SHARE = 0.10  # of the disk's size


class Refused(Exception):
    """No export started: ``code`` is "yours_running", "too_many" or "disk_full"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Job:
    id: str
    owner: int
    employee_id: int
    name: str
    path: Path
    progress: person_export.Progress = field(default_factory=person_export.Progress)
    created: float = field(default_factory=time.time)
    downloaded: bool = False

    @property
    def state(self) -> str:
        if self.progress.error:
            return "failed"
        if self.downloaded:
            return "downloaded"
        return "ready" if self.progress.finished else "running"


class Exports:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self.max_running = MAX_RUNNING
        self.min_free_bytes = MIN_FREE_BYTES
        self.min_free_share = MIN_FREE_SHARE

    def _expire(self) -> None:
        person_export.sweep(self.directory)
        limit = time.time() - person_export.TTL_S
        for jid in [j for j, job in self._jobs.items()
                    if job.created < limit and job.state != "running"]:
            self._jobs[jid].path.unlink(missing_ok=True)
            del self._jobs[jid]

    def job(self, owner: int, job_id: str) -> Job | None:
        with self._lock:
            self._expire()
            job = self._jobs.get(job_id)
            return job if job is not None and job.owner == owner else None

    def mine(self, owner: int) -> list[Job]:
        with self._lock:
            self._expire()
            return sorted((j for j in self._jobs.values() if j.owner == owner),
                          key=lambda j: j.created, reverse=True)

    def _low_disk(self) -> bool:
        """The home's disk (the database's too) has less free space than the margin."""
        usage = shutil.disk_usage(self.directory)
        return usage.free < max(self.min_free_bytes, self.min_free_share * usage.total)

    def start(self, owner: int, employee_id: int, name: str, store: Store, cfg: Settings, *,
              actor: str, language: str) -> Job:
        """Start an export in a thread; ``Refused`` (nothing started) when this user already
        has one running, the console runs ``max_running``, or the disk is short of space."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        job_id = secrets.token_urlsafe(12)
        job = Job(job_id, owner, employee_id, name, self.directory / f"{job_id}.zip")
        with self._lock:
            self._expire()
            running = [j for j in self._jobs.values() if j.state == "running"]
            if any(j.owner == owner for j in running):
                raise Refused("yours_running")
            if len(running) >= self.max_running:
                raise Refused("too_many")
            if self._low_disk():
                raise Refused("disk_full")
            self._jobs[job.id] = job

        def run() -> None:
            try:
                person_export.export(store, employee_id, job.path, actor=actor,
                                     language=language, home=cfg.home, timezone=cfg.timezone,
                                     via="console", progress=job.progress)
            except Exception:  # reported on the progress page; the details go to the log
                log.exception("access-request export of employee %s failed", employee_id)

        threading.Thread(target=run, name=f"person-export-{job.id}", daemon=True).start()
        return job

    def downloaded(self, job: Job) -> None:
        """Called as the download starts (the view holds the file open): it goes at once."""
        with self._lock:
            job.downloaded = True
            job.path.unlink(missing_ok=True)


def exports(app: Flask) -> Exports:
    reg = app.extensions.get("relais_person_exports")
    if reg is None:
        cfg: Settings = app.config["RELAIS"]
        reg = app.extensions.setdefault("relais_person_exports", Exports(cfg.home / "exports"))
    return reg
