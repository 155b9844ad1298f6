"""The publish form: the four sections of the charter in French and English. The fields only
carry text; services.charter checks it whole (required, length, hidden characters)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField

from hr_console.domain.charter import LANGUAGES, SECTIONS

SECTION_TITLES = {
    "purpose": _l("What Relais is for"),
    "moderation": _l("Moderation"),
    "retention": _l("What is kept and how long"),
    "contact": _l("Whom to ask"),
}
SECTION_HINTS = {
    "purpose": _l("What the terminals' messaging is for: short messages, photos and drawings "
                  "between the colleagues the rules allow, and the shift's notices."),
    "moderation": _l("Who reads messages, before or after they are delivered, and why a "
                     "message may be refused or removed."),
    "retention": _l("How long messages are kept before they are erased, and when they may be "
                    "kept longer (a legal hold for a dispute)."),
    "contact": _l("Whom a worker asks about the charter, or to get their data."),
}
LANGUAGE_NAMES = {"fr": _l("in French"), "en": _l("in English")}


def field_name(lang: str, section: str) -> str:
    """``fr_purpose``: the form field of one section in one language."""
    return f"{lang}_{section}"


class CharterForm(FlaskForm):
    """Eight text areas, ``<lang>_<section>``, labelled "<section title>, in <language>"."""

    def texts(self) -> dict[str, dict[str, str]]:
        """The form as services.charter.publish takes it."""
        return {lang: {s: str(self[field_name(lang, s)].data or "") for s in SECTIONS}
                for lang in LANGUAGES}


for _lang in LANGUAGES:
    for _section in SECTIONS:
        setattr(CharterForm, field_name(_lang, _section), TextAreaField(
            _l("%(section)s, %(language)s", section=SECTION_TITLES[_section],
               language=LANGUAGE_NAMES[_lang])))
