"""Application factory: configuration from the Relais settings (or a test's mapping)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from hr_console.config import Settings
from hr_console.store.db import Store


def create_app(cfg: Settings, test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=cfg.secret_key, RELAIS=cfg)
    if test_config:
        app.config.update(test_config)
    app.extensions["relais_store"] = Store(cfg.database_url)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
