"""How a name is searched: folded, so that what a gloved finger types on keys without
accents finds it. One function for the console's database column (``employees.
search_name``) and for the kiosk narrowing an answer it already holds."""

from __future__ import annotations

import unicodedata

# Letters Unicode does not decompose into a base and an accent, spelt as a keyboard without
# them types them: "laetitia" finds Lætitia, "yildiz" Yıldız (the kiosk's French keys have
# no æ, œ nor ı). A change here needs a migration that folds the stored names again.
LETTERS = str.maketrans({"æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "ı": "i",
                         "đ": "d", "ð": "d", "þ": "th"})


def fold(text: str | None) -> str:
    """Lower case without accents: 'Élodie' finds 'elodie', 'Lætitia' 'laetitia'."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(LETTERS)
