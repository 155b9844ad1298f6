"""The command line's tests read its English (its French is tests/cli/test_cli_french.py's,
which sets the locale it wants): a developer's French shell must not fail them."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def english_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """LANGUAGE, the first locale variable gettext reads, and one that changes nothing else
    (encodings, number formats) for the processes the tests start."""
    monkeypatch.setenv("LANGUAGE", "C")
