"""The shift settings of issue 16 on the settings page: the grace period around shifts, the
off-shift notice (off by default) and its words in French and English. Admins change them
(audited with old and new values), HR only reads, bad values are refused with a clear error
and change nothing. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from hr_console.services import settings
from hr_console.store.models import AuditEntry

GOOD = {"retention_days": "365", "keywords": "grève\nsyndicat\ninsulte",
        "default_moderation": "pre"}
WORDS = {"off_shift_notice_fr": "Hors temps de travail : rien n'est compté.",
         "off_shift_notice_en": "Not working time: nothing is counted."}


def _changes(console) -> dict[str, dict]:  # noqa: ANN001
    with console.session() as s:
        return {e.target: e.detail for e in s.execute(select(AuditEntry).where(
            AuditEntry.action == "settings.change").order_by(AuditEntry.id)).scalars()}


def test_defaults_and_the_page_in_french_and_english(console) -> None:  # noqa: ANN001
    with console.session() as s:
        assert settings.get(s, "off_shift_notice") is False
        assert settings.get(s, "shift_grace_minutes") == 15
    c = console.client("admin")
    page = c.get("/settings/").get_data(as_text=True)
    assert "Ce temps n&#39;est pas compté comme du temps de travail." in page  # the default text
    assert "Afficher un avis, à accepter, aux personnes qui badgent en dehors de leur poste" in page
    c.post("/auth/language", data={"language": "en"})
    page = c.get("/settings/").get_data(as_text=True)
    assert "This time is not counted as working time." in page
    assert "Minutes before and after a shift that still count as on shift" in page
    c.post("/auth/language", data={"language": "fr"})


def test_admin_turns_the_notice_on_with_its_words_audited(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    resp = c.post("/settings/", data=dict(GOOD, shift_grace_minutes="30", off_shift_notice="y",
                                          **WORDS))
    assert resp.status_code == 302
    with console.session() as s:
        assert settings.get(s, "shift_grace_minutes") == 30
        assert settings.get(s, "off_shift_notice") is True
        assert settings.get(s, "off_shift_notice_text") == {
            "fr": WORDS["off_shift_notice_fr"], "en": WORDS["off_shift_notice_en"]}
    changes = _changes(console)
    assert changes["setting:shift_grace_minutes"] == {"old": 15, "new": 30}
    assert changes["setting:off_shift_notice"] == {"old": False, "new": True}
    assert changes["setting:off_shift_notice_text"]["new"]["en"] == WORDS["off_shift_notice_en"]
    # A post without the texts leaves them; without the box, the notice goes off again.
    assert c.post("/settings/", data=GOOD).status_code == 302
    with console.session() as s:
        assert settings.get(s, "off_shift_notice") is False
        assert settings.get(s, "off_shift_notice_text")["fr"] == WORDS["off_shift_notice_fr"]
        assert settings.get(s, "shift_grace_minutes") == 30


def test_bad_values_are_refused_and_change_nothing(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    for extra in ({"shift_grace_minutes": "241"}, {"shift_grace_minutes": "-1"},
                  {"shift_grace_minutes": "quinze"},
                  dict(WORDS, off_shift_notice_fr=""),
                  dict(WORDS, off_shift_notice_en="   "),
                  dict(WORDS, off_shift_notice_fr="Hors\u202e poste"),
                  dict(WORDS, off_shift_notice_en="x" * 501)):
        resp = c.post("/settings/", data=dict(GOOD, off_shift_notice="y", **extra))
        assert resp.status_code == 400, extra
        assert 'class="field-error"' in resp.get_data(as_text=True), extra
    with console.session() as s:
        assert settings.get(s, "off_shift_notice") is False
        assert settings.get(s, "shift_grace_minutes") == 15
    assert _changes(console) == {}


def test_hr_and_others_cannot_change_them(console) -> None:  # noqa: ANN001
    for role in ("hr", "supervisor", "auditor"):
        resp = console.client(role).post("/settings/", data=dict(GOOD, off_shift_notice="y"))
        assert resp.status_code == 403, role
    with console.session() as s:
        assert settings.get(s, "off_shift_notice") is False
    assert _changes(console) == {}
