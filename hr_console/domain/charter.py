"""The messaging charter's shape: what a version says, in which languages, and how long.

A charter tells the people who use the terminals what HR does with their messages before
they use them (French labour law asks for it, the CNIL expects it): why messages are
moderated, who moderates, what is kept and how long, whom to ask. Each version holds the
four sections in French and English; a worker accepts one version, and a new version asks
every worker again. Pure rules, no storage (services.charter keeps the versions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from relais_wire import limits
from relais_wire.envelope import WireError, clean_text

LANGUAGES = ("fr", "en")
SECTIONS = ("purpose", "moderation", "retention", "contact")


@dataclass(frozen=True)
class Problem:
    """What is wrong with a draft: the field (``fr.purpose``) and a code the forms translate."""

    field: str
    code: str  # empty | too_long | bad_text


def cleaned(texts: Mapping[str, Mapping[str, str]]
            ) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """The draft's sections cleaned as the wire cleans a message (NFC, control bytes
    refused), and every missing, too long or unprintable one, in both languages: a charter
    is published whole, so a worker never reads an empty paragraph."""
    out: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    found: list[Problem] = []
    for lang in LANGUAGES:
        for section in SECTIONS:
            name = f"{lang}.{section}"
            raw = (texts.get(lang) or {}).get(section)
            try:
                text = clean_text(str(raw or ""), name, limits.MAX_CHARTER_SECTION_CHARS,
                                  allow_empty=True).strip()
            except WireError as err:
                found.append(Problem(name, err.code))
                continue
            if not text:
                found.append(Problem(name, "empty"))
            out[lang][section] = text
    return out, found


def in_language(texts: Mapping[str, Mapping[str, str]], language: str) -> dict[str, str]:
    """The sections a worker reads: in their language, French where it is missing."""
    chosen = texts.get(language) or {}
    french = texts.get("fr") or {}
    return {s: str(chosen.get(s) or french.get(s) or "") for s in SECTIONS}


def starting_text(retention_days: int, moderation: str) -> dict[str, dict[str, str]]:
    """A first draft HR edits rather than a blank form: the installation's own retention
    and moderation filled in, the rest to be completed (the HR desk's name, the CSE)."""
    held = {"pre": ("avant d'être remis", "before they are delivered"),
            "post": ("après leur remise", "after they are delivered")}.get(
        moderation, ("", ""))
    fr_mod = (f"Le service RH lit les messages entre collègues {held[0]} et peut en refuser "
              "un en donnant la raison. Les photos et dessins sont vérifiés de la même façon."
              if held[0] else "Le service RH peut retirer un message en donnant la raison.")
    en_mod = (f"HR reads messages between colleagues {held[1]} and may refuse one, giving "
              "the reason. Photos and drawings are checked the same way."
              if held[1] else "HR may retract a message, giving the reason.")
    return {
        "fr": {
            "purpose": "Relais permet d'échanger de courts messages, photos et dessins avec les "
                       "collègues autorisés et de lire les consignes de poste.",
            "moderation": fr_mod,
            "retention": f"Les messages sont conservés {retention_days} jours, puis effacés, "
                         "sauf décision de conservation pour un litige.",
            "contact": "Pour toute question ou pour obtenir vos données : le service RH.",
        },
        "en": {
            "purpose": "Relais lets you exchange short messages, photos and drawings with the "
                       "colleagues you may write to, and read your shift's notices.",
            "moderation": en_mod,
            "retention": f"Messages are kept {retention_days} days, then erased, unless a "
                         "dispute requires keeping them.",
            "contact": "For any question, or to get your data: the HR department.",
        },
    }
