"""Imports in progress: previews waiting for confirmation and the jobs writing them.

Kept in the console process (one per home, see ``relais up``): a preview holds the file's
rows, badge numbers and PINs included, only in memory and only until it is confirmed,
cancelled or ``PREVIEW_TTL_S`` old. A job runs in a thread and reports progress that the
page polls."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from flask import Flask

from hr_console.services import employees_io
from hr_console.store.db import Store

PREVIEW_TTL_S = 30 * 60
JOB_TTL_S = 6 * 3600


@dataclass
class Preview:
    owner: int
    plan: employees_io.ImportPlan
    created: float = field(default_factory=time.monotonic)


@dataclass
class Job:
    id: str
    owner: int
    filename: str
    result: employees_io.ImportResult = field(default_factory=employees_io.ImportResult)
    crashed: str = ""
    created: float = field(default_factory=time.monotonic)

    @property
    def state(self) -> str:
        if self.crashed or self.result.stopped_at is not None:
            return "failed"
        return "done" if self.result.finished else "running"


class Imports:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._previews: dict[str, Preview] = {}
        self._jobs: dict[str, Job] = {}

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, p in self._previews.items() if now - p.created > PREVIEW_TTL_S]:
            del self._previews[token]
        for jid in [j for j, job in self._jobs.items()
                    if job.result.finished and now - job.created > JOB_TTL_S]:
            del self._jobs[jid]

    def keep(self, owner: int, plan: employees_io.ImportPlan) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._expire()
            self._previews[token] = Preview(owner, plan)
        return token

    def preview(self, owner: int, token: str) -> Preview | None:
        with self._lock:
            self._expire()
            p = self._previews.get(token)
            return p if p is not None and p.owner == owner else None

    def drop(self, owner: int, token: str) -> Preview | None:
        with self._lock:
            p = self._previews.get(token)
            if p is None or p.owner != owner:
                return None
            return self._previews.pop(token)

    def job(self, owner: int, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job if job is not None and job.owner == owner else None

    def start(self, owner: int, plan: employees_io.ImportPlan, store: Store, pepper: str,
              actor: str) -> Job:
        job = Job(secrets.token_urlsafe(12), owner, plan.filename)
        job.result.total = len(plan.valid_rows)
        job.result.pins_total = plan.pins
        with self._lock:
            self._jobs[job.id] = job

        def run() -> None:
            try:
                employees_io.run_import(store.session, plan, pepper, actor, job.result)
            except Exception as exc:  # reported on the progress page
                job.crashed = type(exc).__name__
                job.result.finished = True

        threading.Thread(target=run, name=f"employee-import-{job.id}", daemon=True).start()
        return job


def imports(app: Flask) -> Imports:
    reg = app.extensions.get("relais_employee_imports")
    if reg is None:
        reg = app.extensions.setdefault("relais_employee_imports", Imports())
    return reg
