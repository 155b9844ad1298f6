"""The report writer keeps every other section as it was."""

from hr_console.bench.report import replace_section


def test_sections_are_rewritten_in_place_and_appended_when_missing(tmp_path):
    doc = tmp_path / "b.md"
    doc.write_text("# Title\n\nintro\n", encoding="utf-8")
    replace_section(doc, "relay", "| a | 1 |")
    replace_section(doc, "kiosk", "cold start 2 s")
    replace_section(doc, "relay", "| a | 2 |")
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nintro\n")
    assert "| a | 2 |" in text and "| a | 1 |" not in text
    assert text.index("BEGIN relay") < text.index("BEGIN kiosk")
    assert text.count("BEGIN relay") == 1 and "cold start 2 s" in text


def test_a_body_with_backslashes_is_kept_verbatim(tmp_path):
    doc = tmp_path / "b.md"
    replace_section(doc, "x", "first")
    replace_section(doc, "x", r"C:\path \1 \g<0>")
    assert r"C:\path \1 \g<0>" in doc.read_text(encoding="utf-8")
