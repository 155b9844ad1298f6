"""Changing the installation's settings from the console: validation with clear errors,
and one audit entry per changed key with its old and new values.

The values are read by the relay (``services.settings.get``) on every message, so a
change applies to the next message without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hr_console.domain.moderation import MODES
from hr_console.services import audit, settings
from hr_console.services.errors import Invalid
from hr_console.store.models import Employee
from relais_wire.envelope import WireError, clean_text

EDITABLE = ("retention_days", "keywords", "default_moderation", "media_always_held",
            "supervisors_moderate_own_teams", "supervisors_manage_groups", "quick_replies", "pin_always",
            "session_max_hours", "session_idle_minutes", "group_copies_per_minute",
            "safety_alert_recipients", "safety_alert_on_idle", "shift_grace_minutes",
            "off_shift_notice", "off_shift_notice_text", "read_urgent_aloud",
            "voice_always_held")
RETENTION_MIN, RETENTION_MAX = 1, 3650
# Badge sessions: a day at most (a session is one shift), an idle limit a kiosk's own
# inactivity logout always comes before.
SESSION_HOURS_MIN, SESSION_HOURS_MAX = 1, 24
SESSION_IDLE_MIN, SESSION_IDLE_MAX = 5, 240
# Copies of group posts one author may cause in a minute before their posts wait for HR
# (messaging's fan-out budget); 0 lifts it.
GROUP_COPIES_MIN, GROUP_COPIES_MAX = 0, 1_000_000
# Minutes around a shift that still count as on shift (domain.shifts: under a day).
SHIFT_GRACE_MIN, SHIFT_GRACE_MAX = 0, 240
MAX_OFF_SHIFT_NOTICE_CHARS = 500
_WHOLE_NUMBERS = {
    "retention_days": (RETENTION_MIN, RETENTION_MAX, "days"),
    "session_max_hours": (SESSION_HOURS_MIN, SESSION_HOURS_MAX, "hours"),
    "session_idle_minutes": (SESSION_IDLE_MIN, SESSION_IDLE_MAX, "minutes"),
    "group_copies_per_minute": (GROUP_COPIES_MIN, GROUP_COPIES_MAX, "copies"),
    "shift_grace_minutes": (SHIFT_GRACE_MIN, SHIFT_GRACE_MAX, "minutes"),
}
MAX_ALERT_RECIPIENTS = 50  # the HSE officer, the nurse, the site managers: not a crowd
MAX_KEYWORDS = 500
MAX_KEYWORD_CHARS = 60
MAX_QUICK_REPLIES = 12
MAX_QUICK_REPLY_CHARS = 60


def pictograms() -> list[str]:
    """Icon keys a kiosk can draw: the pictograms shipped in ``assets/pictograms``."""
    import assets

    folder = Path(assets.__file__).parent / "pictograms"
    return sorted(p.stem for p in folder.glob("*.png"))


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str  # English; the console translates by ``code``
    detail: str = ""


class SettingsInvalid(Invalid):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("invalid_settings", "; ".join(e.message for e in errors))
        self.errors = errors


def _text(value: str, field: str, max_chars: int, errors: list[FieldError]) -> str | None:
    try:
        return clean_text(value or "", field, max_chars).strip()
    except WireError as exc:
        errors.append(FieldError(field, exc.code, exc.message, value[:40] if value else ""))
        return None


def validate(values: dict[str, Any]) -> dict[str, Any]:
    """Normalised values, or ``SettingsInvalid`` listing every problem at once."""
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in EDITABLE:
            errors.append(FieldError(key, "unknown", f"{key} is not an editable setting"))
        elif key in _WHOLE_NUMBERS:
            lo, hi, unit = _WHOLE_NUMBERS[key]
            try:
                number = int(str(value).strip())
            except (TypeError, ValueError):
                errors.append(FieldError(key, "not_a_number", f"{key} must be a whole number of {unit}"))
                continue
            if not lo <= number <= hi:
                errors.append(FieldError(key, "out_of_range", f"{key} must be from {lo} to {hi} {unit}"))
                continue
            out[key] = number
        elif key == "keywords":
            lines = value.splitlines() if isinstance(value, str) else list(value)
            words: list[str] = []
            seen: set[str] = set()
            for line in lines:
                word = _text(line, key, MAX_KEYWORD_CHARS, errors) if line.strip() else None
                if word and word.casefold() not in seen:
                    seen.add(word.casefold())
                    words.append(word)
            if len(words) > MAX_KEYWORDS:
                errors.append(FieldError(key, "too_many", f"at most {MAX_KEYWORDS} keywords"))
            out[key] = words
        elif key == "default_moderation":
            if value not in MODES:
                errors.append(FieldError(key, "bad_mode", "moderation mode must be pre, post or none"))
                continue
            out[key] = value
        elif key in ("media_always_held", "supervisors_moderate_own_teams",
                     "supervisors_manage_groups", "pin_always", "off_shift_notice",
                     "safety_alert_on_idle", "read_urgent_aloud", "voice_always_held"):
            out[key] = bool(value)
        elif key == "quick_replies":
            out[key] = _quick_replies(value, errors)
        elif key == "safety_alert_recipients":
            out[key] = _employee_ids(key, value, errors)
        elif key == "off_shift_notice_text":
            out[key] = _both_languages(key, value, MAX_OFF_SHIFT_NOTICE_CHARS, errors)
    if errors:
        raise SettingsInvalid(errors)
    return out


def _both_languages(key: str, value: Any, max_chars: int, errors: list[FieldError]
                    ) -> dict[str, str]:
    """{"fr": ..., "en": ...}: a person reads it in their language, so both are needed."""
    value = value if isinstance(value, dict) else {}
    out: dict[str, str] = {}
    for lang in ("fr", "en"):
        raw = value.get(lang)
        if not isinstance(raw, str) or not raw.strip():
            errors.append(FieldError(f"{key}.{lang}", "empty", f"{key} needs a {lang} text"))
            continue
        text = _text(raw, f"{key}.{lang}", max_chars, errors)
        if text:
            out[lang] = text
    return out


def _employee_ids(key: str, value: Any, errors: list[FieldError]) -> list[int]:
    """Employee numbers, one a line (or a list), in order, each once."""
    items = value.split() if isinstance(value, str) else list(value or [])
    ids: list[int] = []
    for item in items:
        text = str(item).strip().lstrip("#")
        if not (text.isascii() and text.isdigit()) or len(text) > 12:
            errors.append(FieldError(key, "not_an_employee_number",
                                     f"{str(item)[:20]!r} is not an employee number",
                                     str(item)[:20]))
        elif int(text) not in ids:
            ids.append(int(text))
    if len(ids) > MAX_ALERT_RECIPIENTS:
        errors.append(FieldError(key, "too_many", f"at most {MAX_ALERT_RECIPIENTS} people"))
    return ids


def _check_people(session: Session, clean: dict[str, Any]) -> None:
    """The people a setting names exist and are active (else nobody would get the alert)."""
    ids = clean.get("safety_alert_recipients") or []
    if not ids:
        return
    active = set(session.execute(select(Employee.id).where(
        Employee.id.in_(ids), Employee.active.is_(True))).scalars())
    missing = [i for i in ids if i not in active]
    if missing:
        raise SettingsInvalid([FieldError(
            "safety_alert_recipients", "unknown_employee",
            f"no active employee numbered {', '.join(map(str, missing))}",
            ", ".join(map(str, missing)))])


def _quick_replies(rows: Any, errors: list[FieldError]) -> list[dict[str, str]]:
    icons = set(pictograms())
    out: list[dict[str, str]] = []
    for i, row in enumerate(rows or []):
        icon = str(row.get("icon") or "").strip()
        fr, en = str(row.get("fr") or ""), str(row.get("en") or "")
        if not icon and not fr.strip() and not en.strip():
            continue  # an empty row of the editor
        where = f"quick_replies.{i}"
        if icon not in icons:
            errors.append(FieldError(where, "bad_icon", f"unknown icon {icon[:30]!r}", icon[:30]))
        fr_c = _text(fr, f"{where}.fr", MAX_QUICK_REPLY_CHARS, errors)
        en_c = _text(en, f"{where}.en", MAX_QUICK_REPLY_CHARS, errors)
        if fr_c and en_c:
            out.append({"icon": icon, "fr": fr_c, "en": en_c})
    if not out and not errors:
        errors.append(FieldError("quick_replies", "empty", "keep at least one quick reply"))
    if len(out) > MAX_QUICK_REPLIES:
        errors.append(FieldError("quick_replies", "too_many", f"at most {MAX_QUICK_REPLIES} quick replies"))
    return out


def update(session: Session, values: dict[str, Any], *, actor: str) -> dict[str, tuple[Any, Any]]:
    """Validate and store ``values``; returns {key: (old, new)} for what actually changed,
    each change audited as ``settings.change`` with both values."""
    clean = validate(values)
    _check_people(session, clean)
    changed: dict[str, tuple[Any, Any]] = {}
    for key, new in clean.items():
        old = settings.get(session, key)
        if old == new:
            continue
        settings.put(session, key, new)
        audit.record(session, actor, "settings.change", f"setting:{key}", old=old, new=new)
        changed[key] = (old, new)
    return changed
