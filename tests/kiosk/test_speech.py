"""Read aloud's engine (``kiosk_app.speech``) with the real espeak-ng: what it says is a real
WAV of the expected length and loudness, in the language chosen from the text's words; a
colleague's text is never taken for a command; a terminal without the engine says so."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk_app import speech
from tests.kiosk.listen_walk import audio_facts

needs_engine = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is missing: `make test` installs it")

FR = "Le quai deux est fermé jusqu'à quatorze heures, merci de passer par le quai trois."
EN = "Dock two is closed until two in the afternoon, please use dock three instead."


@needs_engine
@pytest.mark.parametrize(("text", "lang"), [(FR, "fr"), (EN, "en")])
def test_a_text_is_spoken_as_a_real_audio_file(tmp_path: Path, text: str, lang: str) -> None:
    wav = speech.synthesize(text, lang)
    (tmp_path / "said.wav").write_bytes(wav)
    facts = audio_facts(tmp_path / "said.wav")
    words = len(text.split())
    assert 0.25 * words <= facts["seconds"] <= 0.8 * words, facts
    assert facts["rms"] > 500 and (facts["width"], facts["channels"]) == (2, 1), facts
    assert speech.duration(wav) == pytest.approx(facts["seconds"], abs=0.01)


@needs_engine
def test_the_two_voices_differ() -> None:
    """The same words in the French and the English voice are not the same sound."""
    assert speech.synthesize("Bonjour Amina", "fr") != speech.synthesize("Bonjour Amina", "en")


@needs_engine
def test_a_colleagues_text_is_read_never_run(tmp_path: Path) -> None:
    """Whatever was typed goes to the engine on its standard input, as words."""
    flag = tmp_path / "ran"
    for text in (f"$(touch {flag})", f"`touch {flag}`", f"; touch {flag}", f"--stdout -w {flag}",
                 f"-v en -w {flag}"):
        assert speech.duration(speech.synthesize(text, "fr")) > 0.5
    assert not flag.exists()


@needs_engine
def test_phoneme_brackets_and_control_characters_are_read_as_text() -> None:
    """espeak-ng takes ``[[...]]`` as phonemes even without markup: a message that looks like
    noise on the screen (and in HR's queue) would be spoken as any words at all. What the
    engine gets has its brackets apart; its phonemes (``-x``) never hold the injected ones."""
    injected = "bonjour [[h@lOU w'3:ld]] fin"

    def phonemes(text: str) -> str:
        return subprocess.run(["espeak-ng", "-q", "-x", "-v", "fr", "--stdin"],
                              input=text.encode(), capture_output=True, check=True).stdout.decode()

    assert "h@lO" in phonemes(injected)  # the engine's behaviour this guards against
    assert "[[" not in speech.speakable(injected)
    assert "h@lO" not in phonemes(speech.speakable(injected))
    assert speech.speakable("a\x01b\x1b[31mc\u200ed\nnext") == "a b [ 31mc d next"


@needs_engine
def test_a_very_long_text_is_cut_not_refused() -> None:
    """Past MAX_CHARS the rest is left out: a notice's body is read, not a novel."""
    short = speech.duration(speech.synthesize("mot " * (speech.MAX_CHARS // 4), "fr"))
    long = speech.duration(speech.synthesize("mot " * (speech.MAX_CHARS * 3), "fr"))
    assert long == pytest.approx(short, rel=0.05)


def test_nothing_to_say_is_an_error() -> None:
    for blank in ("", "   ", "\n\t"):
        with pytest.raises(speech.SpeechError):
            speech.synthesize(blank, "fr")


def test_a_terminal_without_the_engine_has_no_voice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert not speech.available()
    with pytest.raises(speech.SpeechError, match="espeak-ng is not installed"):
        speech.synthesize(FR, "fr")


@pytest.mark.parametrize(("text", "reader", "spoken"), [
    (FR, "en", "fr"),  # a French text is read in French, whoever reads it
    (EN, "fr", "en"),
    ("Machine 4 : 05:40", "en", "en"),  # cannot tell: the reader's language
    ("OK", "fr", "fr"),
    ("Arrivé", "en", "fr"),  # French letters tell
    ("Thanks, on my way", "fr", "en"),
    ("Merci, j'arrive", "en", "fr"),
    (EN, "de", "en"),
    ("12 34", "de", "fr"),  # a reader's language without a voice: French, the default
])
def test_the_language_spoken(text: str, reader: str, spoken: str) -> None:
    assert speech.spoken_language(text, reader) == spoken


@given(st.text(max_size=300), st.sampled_from(["fr", "en", "", "xx"]))
def test_the_language_is_always_one_with_a_voice(text: str, reader: str) -> None:
    assert speech.guess_language(text) in (None, "fr", "en")
    assert speech.spoken_language(text, reader) in speech.VOICES


def test_not_a_wav_has_no_duration() -> None:
    for junk in (b"", b"RIFF", b"RIFF\x00\x00\x00\x00WAVE", b"\xff" * 100):
        assert speech.duration(junk) == 0.0
