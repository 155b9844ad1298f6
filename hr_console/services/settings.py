"""Settings HR changes from the console, stored in the database so every relay sees them.

Freshness: the console reads them fresh every time. The relay reads all of them in one
query at most once per batch (one transaction of up to ``BATCH_MAX`` uplinks, see
``store.db.open_batch_cache``): a change the console has committed is applied to every
uplink of every batch that begins after that commit, i.e. within one batch, well under a
second; an uplink already in a batch that began before is handled with the values of before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hr_console.store.db import batch_cache
from hr_console.store.models import Setting

DEFAULTS: dict[str, Any] = {
    "retention_days": 365,
    "keywords": [],
    "default_moderation": "pre",
    "media_always_held": False,
    # Voice messages wait for HR whatever the moderation mode: no keyword filter hears them.
    "voice_always_held": True,
    "badge_max_failures": 5,
    "badge_lock_minutes": 15,
    "supervisors_moderate_own_teams": False,
    # Supervisors create and edit workgroups made only of their own teams (web.groups).
    "supervisors_manage_groups": False,
    # Copies of group posts one author may have the relay write in a minute before their
    # next posts wait for HR (messaging: the fan-out budget); 0: no limit.
    "group_copies_per_minute": 5000,
    # Every badge-in asks for a PIN before the badge is looked up (for weak badges: the
    # answer to a guessed badge number then says nothing about it).
    "pin_always": False,
    # A badge session ends on the server after this long, or this long without any use,
    # whatever the terminal does: a shift and its overtime; far above the kiosk's own
    # inactivity logout, which the server cannot trust.
    "session_max_hours": 12,
    "session_idle_minutes": 30,
    # Safety alerts (services.safety): employee ids who receive every alert beside the site's
    # supervisors (HSE, nurse); empty: the HR desk does. On the idle screen, without a
    # badge-in, only when HR allows it (the terminal alone is then audited).
    "safety_alert_recipients": [],
    "safety_alert_on_idle": False,
    # Shifts (services.shifts): minutes before a shift's start and after its end that still
    # count as on shift (on-shift-only contact rules); the full-screen notice a person who
    # badges in outside their shift accepts before going on (audited), and its words.
    "shift_grace_minutes": 15,
    "off_shift_notice": False,
    "off_shift_notice_text": {"fr": "Ce temps n'est pas compté comme du temps de travail.",
                              "en": "This time is not counted as working time."},
    # Terminals read an urgent notice aloud by themselves when it opens full screen (the
    # kiosk's "Listen", kiosk_app.speech); off: only when someone taps "Listen".
    "read_urgent_aloud": False,
    "quick_replies": [
        {"icon": "ok", "fr": "OK, bien reçu", "en": "OK, got it"},
        {"icon": "thumb", "fr": "J'arrive", "en": "On my way"},
        {"icon": "clock", "fr": "Dans 5 minutes", "en": "In 5 minutes"},
        {"icon": "help", "fr": "J'ai besoin d'aide", "en": "I need help"},
        {"icon": "no", "fr": "Pas possible", "en": "Not possible"},
    ],
}


def get(session: Session, key: str) -> Any:
    cache = batch_cache(session)
    if cache is not None and key in DEFAULTS:
        values = cache.get(_CACHE_KEY)
        if values is None:
            values = cache[_CACHE_KEY] = _load(session)
        return values[key]
    row = session.get(Setting, key)
    return DEFAULTS.get(key) if row is None else row.value


_CACHE_KEY = "settings"


def _load(session: Session) -> dict[str, Any]:
    """Every setting in one query (the rows HR never changed read as their defaults)."""
    values = dict(DEFAULTS)
    values.update(session.execute(
        select(Setting.key, Setting.value).where(Setting.key.in_(list(DEFAULTS)))).tuples().all())
    return values


def put(session: Session, key: str, value: Any) -> None:
    if key not in DEFAULTS:
        raise KeyError(f"unknown setting {key!r}")
    cache = batch_cache(session)
    if cache is not None:
        cache.pop(_CACHE_KEY, None)
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value


def all_settings(session: Session) -> dict[str, Any]:
    values = dict(DEFAULTS)
    values.update({row.key: row.value for row in session.query(Setting) if row.key in DEFAULTS})
    return values
