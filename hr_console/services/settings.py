"""Settings HR changes from the console, stored in the database so every relay sees them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hr_console.store.models import Setting

DEFAULTS: dict[str, Any] = {
    "retention_days": 365,
    "keywords": [],
    "default_moderation": "pre",
    "media_always_held": False,
    "badge_max_failures": 5,
    "badge_lock_minutes": 15,
    "supervisors_moderate_own_teams": False,
    "quick_replies": [
        {"icon": "ok", "fr": "OK, bien reçu", "en": "OK, got it"},
        {"icon": "thumb", "fr": "J'arrive", "en": "On my way"},
        {"icon": "clock", "fr": "Dans 5 minutes", "en": "In 5 minutes"},
        {"icon": "help", "fr": "J'ai besoin d'aide", "en": "I need help"},
        {"icon": "no", "fr": "Pas possible", "en": "Not possible"},
    ],
}


def get(session: Session, key: str) -> Any:
    row = session.get(Setting, key)
    return DEFAULTS.get(key) if row is None else row.value


def put(session: Session, key: str, value: Any) -> None:
    if key not in DEFAULTS:
        raise KeyError(f"unknown setting {key!r}")
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value


def all_settings(session: Session) -> dict[str, Any]:
    values = dict(DEFAULTS)
    values.update({row.key: row.value for row in session.query(Setting) if row.key in DEFAULTS})
    return values
