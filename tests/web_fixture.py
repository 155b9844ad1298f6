"""The console on a real database with demo data, and test clients signed in per role."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hr_console.config import Settings
from hr_console.web import create_app
from tests.system_fixture import DEMO_PASSWORD, prepared_home

ROLES = ("admin", "hr", "supervisor", "auditor")
PASSWORD = DEMO_PASSWORD


@dataclass
class Console:
    app: Flask
    cfg: Settings
    demo: Any
    _clients: dict[str, FlaskClient] = field(default_factory=dict)

    def client(self, role: str | None = None) -> FlaskClient:
        """A client signed in as the demo user of ``role`` (None: anonymous)."""
        if role is None:
            return self.app.test_client()
        if role not in self._clients:
            c = self.app.test_client()
            resp = c.post("/auth/login", data={"username": role, "password": PASSWORD})
            assert resp.status_code == 302, f"sign-in as {role} failed"
            self._clients[role] = c
        return self._clients[role]

    def session(self):  # noqa: ANN201
        return self.app.extensions["relais_store"].session()


def make_console(tmp_path: Path, db_url: str, *, settings: dict[str, Any] | None = None,
                 **config: Any) -> Console:
    """``settings``: Relais settings to change (``trusted_proxies``...); ``config``: Flask's."""
    cfg, demo = prepared_home(tmp_path, db_url)
    if settings:
        cfg = dataclasses.replace(cfg, **settings)
    app = create_app(cfg, {"TESTING": True, "WTF_CSRF_ENABLED": False,
                           "RATELIMIT_ENABLED": False, **config})
    return Console(app, cfg, demo)


@pytest.fixture
def console(tmp_path: Path, db_url: str) -> Iterator[Console]:
    c = make_console(tmp_path, db_url)
    yield c
    c.app.extensions["relais_store"].dispose()
