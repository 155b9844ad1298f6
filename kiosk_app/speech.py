"""Read aloud: a message or a notice spoken on the terminal (issue 19), for people who read
French poorly, or not with gloves on and thirty seconds. No Kivy here: text in, WAV out.

The engine is Debian's ``espeak-ng``, run as a program: offline, French and English voices
in the package, nothing leaves the terminal. A terminal without it has no "Listen" button
(``available``). The language spoken is the text's when it can be told from its words
(``guess_language``: a message carries no language on the wire, and a French worker may
well receive an English notice), else the reader's.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import unicodedata
import wave
from pathlib import Path

ENGINE = "espeak-ng"
VOICES = {"fr": "fr", "en": "en-gb"}  # the package's own voices for the two languages
WORDS_PER_MINUTE = 150  # a little slower than espeak-ng's 175: read to people on a noisy floor
MAX_CHARS = 2_000  # a notice's body at most is read; past it the rest is left out
TIMEOUT_S = 30.0

# Short words that are frequent in one language and rare in the other (and French's elided
# j' l' qu' c'): enough to tell a few words of French from English, and to say "cannot
# tell" otherwise.
_FR = frozenset(str.split("""le la les un une des du de et est sont au aux ce cette ces qui que pas
ne je tu il elle nous vous ils elles mon ma mes ton ta votre vos notre nos sur dans avec
pour par en se sa son leur très bien merci bonjour oui non à été être avoir fait
demain aujourd hui j l qu c"""))
_EN = frozenset(str.split("""the a an and is are was were to of in on at for with by from this that
these those it its i you he she we they my your our their not no yes please thanks thank
hello be been have has had do does did will would can today tomorrow"""))
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_FRENCH_LETTERS = re.compile(r"[àâæçéèêëîïôœùûüÿ]", re.IGNORECASE)


class SpeechError(Exception):
    """The text could not be spoken here (no engine, or the engine failed)."""


def available() -> bool:
    """Whether this terminal can read aloud at all (the engine is installed)."""
    return shutil.which(ENGINE) is not None


def guess_language(text: str) -> str | None:
    """"fr" or "en" when the words say so clearly, else None."""
    words = [w.casefold() for w in _WORD.findall(text)]
    fr = sum(w in _FR for w in words) + 2 * len(_FRENCH_LETTERS.findall(text))
    en = sum(w in _EN for w in words)
    if fr > en and fr >= 2:
        return "fr"
    if en > fr and en >= 2:
        return "en"
    return None


def spoken_language(text: str, reader: str) -> str:
    """The language to read ``text`` in: its own when it can be told, else the reader's."""
    lang = guess_language(text) or reader
    return lang if lang in VOICES else "fr"


def speakable(text: str) -> str:
    """``text`` as the engine must get it: words only. espeak-ng reads ``[[...]]`` as
    phonemes even without markup enabled (a message could look like noise on the screen
    and in HR's queue and be spoken as any words at all), and control characters as its
    own embedded commands: brackets are kept apart, control characters dropped, blanks
    folded, and MAX_CHARS at most."""
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    text = " ".join(text.replace("[", "[ ").replace("]", " ]").split())
    return text[:MAX_CHARS]


def synthesize(text: str, language: str, workdir: Path | None = None) -> bytes:
    """``text`` spoken in ``language`` ("fr" or "en"), as a WAV file's bytes (16-bit mono).
    ``workdir``: where the engine writes it meanwhile (the kiosk's own folder, which its
    next start empties should it crash then). Raises SpeechError when there is nothing to
    say or the engine cannot say it."""
    text = speakable(text)
    if not text:
        raise SpeechError("nothing to read")
    exe = shutil.which(ENGINE)
    if exe is None:
        raise SpeechError(f"{ENGINE} is not installed")
    with tempfile.TemporaryDirectory(prefix="relais-speech-", dir=workdir) as tmp:
        out = Path(tmp) / "speech.wav"
        try:
            # The text on stdin, never on the command line: it is whatever a colleague typed.
            subprocess.run([exe, "-v", VOICES.get(language, VOICES["fr"]),
                            "-s", str(WORDS_PER_MINUTE), "-w", str(out), "--stdin"],
                           input=text.encode("utf-8"), capture_output=True, check=True,
                           timeout=TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SpeechError(f"{ENGINE} failed: {exc}") from exc
        data = out.read_bytes() if out.exists() else b""
    if duration(data) <= 0:
        raise SpeechError(f"{ENGINE} said nothing")
    return data


def duration(wav: bytes) -> float:
    """Seconds of sound in a WAV file's bytes (0 for anything that is not one)."""
    try:
        with wave.open(io.BytesIO(wav)) as w:
            return w.getnframes() / float(w.getframerate() or 1)
    except (wave.Error, EOFError):
        return 0.0
