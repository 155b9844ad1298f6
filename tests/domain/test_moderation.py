"""Moderation rules, alone."""

from __future__ import annotations

from hr_console.domain.moderation import effective_mode, keyword_hits, route


def test_mode_precedence() -> None:
    assert effective_mode("none", "pre", "post") == "none"
    assert effective_mode(None, "post", "pre") == "post"
    assert effective_mode(None, None, "none") == "none"
    assert effective_mode(None, None, "bogus") == "pre"  # fails safe


def test_keywords_are_whole_words_accent_and_case_blind() -> None:
    words = ["grève", "syndicat", "mot de passe"]
    assert keyword_hits("On fait GREVE demain", words) == ["grève"]
    assert keyword_hits("les syndicats", words) == []  # not a whole word
    assert keyword_hits("mon Mot de Passe est", words) == ["mot de passe"]
    assert keyword_hits("rien à signaler", words) == []
    assert keyword_hits("anything", ["", "  "]) == []


def test_routing() -> None:
    assert route("none", [], "text", False).state == "accepted"
    assert route("none", ["grève"], "text", False).state == "held"  # a hit always holds
    assert route("pre", [], "text", False).state == "held"
    post = route("post", [], "text", False)
    assert post.state == "accepted" and post.reviewable
    assert route("none", [], "photo", True).state == "held"
    assert route("none", [], "drawing", True).state == "held"
    assert route("none", [], "text", True).state == "accepted"
