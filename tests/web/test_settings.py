"""Settings: admins change them with validation and an audit trail; HR reads; the
retention purge (service and ``relais purge``)."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from hr_console.services import retention, settings
from hr_console.store.models import (
    AuditEntry,
    Downlink,
    Media,
    Message,
    ModerationDecision,
    utcnow,
)
from tests.web import console_data as cd
from tests.web_fixture import PASSWORD, ROLES, make_console

GOOD = {"retention_days": "90", "keywords": "grève\nsyndicat\n\n Grève \ninsulte",
        "default_moderation": "post", "media_always_held": "y",
        "voice_always_held": "y"}  # ticked on the page by default: a browser posts it


def _audit(console, action: str) -> list[AuditEntry]:  # noqa: ANN001
    with console.session() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)).scalars())


@pytest.mark.parametrize("role", ROLES)
def test_routes_by_role(console, role) -> None:  # noqa: ANN001
    c = console.client(role)
    assert c.get("/settings/").status_code == (200 if role in ("admin", "hr") else 403)
    expected = 302 if role == "admin" else 403
    assert c.post("/settings/", data=GOOD).status_code == expected
    assert c.post("/settings/quick-replies", data={
        "rows-0-icon": "ok", "rows-0-fr": "D'accord", "rows-0-en": "Fine"}).status_code == expected


def test_anonymous_is_sent_to_sign_in(console) -> None:  # noqa: ANN001
    for resp in (console.client().get("/settings/"), console.client().post("/settings/", data=GOOD)):
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_hr_reads_without_save_buttons(console) -> None:  # noqa: ANN001
    page = console.client("hr").get("/settings/").get_data(as_text=True)
    assert "<fieldset disabled" in page and 'class="primary"' not in page
    page = console.client("admin").get("/settings/").get_data(as_text=True)
    assert "<fieldset disabled" not in page and 'class="primary"' in page


def test_admin_changes_are_saved_and_audited(console) -> None:  # noqa: ANN001
    resp = console.client("admin").post("/settings/", data=GOOD)
    assert resp.status_code == 302
    with console.session() as s:
        values = settings.all_settings(s)
    assert values["retention_days"] == 90 and values["default_moderation"] == "post"
    assert values["keywords"] == ["grève", "syndicat", "insulte"]  # blank and duplicate dropped
    assert values["media_always_held"] is True and values["supervisors_moderate_own_teams"] is False
    changes = {e.target: e.detail for e in _audit(console, "settings.change")}
    assert changes["setting:retention_days"] == {"old": 365, "new": 90}
    assert changes["setting:default_moderation"] == {"old": "pre", "new": "post"}
    assert changes["setting:media_always_held"] == {"old": False, "new": True}
    assert "setting:keywords" not in changes  # the same list as before: nothing to record
    assert all(e.actor == "admin" for e in _audit(console, "settings.change"))
    console.client("admin").post("/settings/", data=GOOD)
    assert len(_audit(console, "settings.change")) == 3  # saving again changes nothing


@pytest.mark.parametrize("field, value", [("retention_days", "0"), ("retention_days", "abc"),
                                          ("retention_days", "99999"),
                                          ("default_moderation", "sometimes"),
                                          ("keywords", "ok\nbad\u202eword")])
def test_invalid_values_are_refused_with_a_clear_error(console, field, value) -> None:  # noqa: ANN001
    data = dict(GOOD, **{field: value})
    resp = console.client("admin").post("/settings/", data=data)
    assert resp.status_code == 400
    assert 'class="field-error"' in resp.get_data(as_text=True)
    with console.session() as s:
        assert settings.get(s, "retention_days") == 365
    assert _audit(console, "settings.change") == []


def test_badge_in_and_session_limits_are_set_with_a_clear_range(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    page = c.get("/settings/").get_data(as_text=True)  # the demo admin reads French
    # Before turning "PIN at every badge-in" on, HR sees who could no longer badge in.
    assert "Demander le code à chaque badgeage" in page
    assert "n'ont pas de code et ne peuvent pas badger tant que ceci est activé" in page.replace("&#39;", "'")
    data = dict(GOOD, pin_always="y", session_max_hours="10", session_idle_minutes="20")
    assert c.post("/settings/", data=data).status_code == 302
    with console.session() as s:
        values = settings.all_settings(s)
    assert (values["pin_always"], values["session_max_hours"], values["session_idle_minutes"]) == \
        (True, 10, 20)
    changes = {e.target: e.detail for e in _audit(console, "settings.change")}
    assert changes["setting:session_idle_minutes"] == {"old": 30, "new": 20}
    for field, value in (("session_max_hours", "0"), ("session_max_hours", "25"),
                         ("session_idle_minutes", "2"), ("session_idle_minutes", "x")):
        resp = c.post("/settings/", data=dict(data, **{field: value}))
        assert resp.status_code == 400, (field, value)
        assert 'class="field-error"' in resp.get_data(as_text=True)
    with console.session() as s:
        assert settings.get(s, "session_max_hours") == 10  # nothing changed by a refusal
    c.post("/auth/language", data={"language": "en"})
    assert "Ask for a PIN at every badge-in" in c.get("/settings/").get_data(as_text=True)


def test_quick_replies_edit_add_remove_and_validate(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    with console.session() as s:
        before = settings.get(s, "quick_replies")
    data = {}
    for i, row in enumerate(before):
        data.update({f"rows-{i}-icon": row["icon"], f"rows-{i}-fr": row["fr"], f"rows-{i}-en": row["en"]})
    data["rows-0-fr"] = "OK, c'est noté"
    data["rows-1-remove"] = "y"
    n = len(before)
    data.update({f"rows-{n}-icon": "warning", f"rows-{n}-fr": "Danger", f"rows-{n}-en": "Danger"})
    assert c.post("/settings/quick-replies", data=data).status_code == 302
    with console.session() as s:
        after = settings.get(s, "quick_replies")
    assert after[0] == {"icon": "ok", "fr": "OK, c'est noté", "en": "OK, got it"}
    assert before[1] not in after and after[-1] == {"icon": "warning", "fr": "Danger", "en": "Danger"}
    change = _audit(console, "settings.change")[-1]
    assert change.target == "setting:quick_replies" and change.detail["old"] == before
    bad = dict(data, **{f"rows-{n}-icon": "no-such-icon"})
    resp = c.post("/settings/quick-replies", data=bad)
    assert resp.status_code == 400 and 'class="field-error"' in resp.get_data(as_text=True)
    half = dict(data, **{f"rows-{n}-en": ""})
    assert c.post("/settings/quick-replies", data=half).status_code == 400
    with console.session() as s:
        assert settings.get(s, "quick_replies") == after


def test_script_in_keywords_is_escaped(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    c.post("/settings/", data=dict(GOOD, keywords="<script>alert(1)</script>"))
    page = c.get("/settings/").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_csrf_is_required(tmp_path, db_url) -> None:  # noqa: ANN001
    strict = make_console(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    try:
        c = strict.app.test_client()
        page = c.get("/auth/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        c.post("/auth/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
        assert c.post("/settings/", data=GOOD).status_code == 400
        assert c.post("/settings/quick-replies", data={"rows-0-icon": "ok"}).status_code == 400
        with strict.session() as s:
            assert settings.get(s, "retention_days") == 365
    finally:
        strict.app.extensions["relais_store"].dispose()


# --- retention ---------------------------------------------------------------------------


def _age(console, message_id: int, days: int) -> None:  # noqa: ANN001
    with console.session() as s:
        s.execute(update(Message).where(Message.id == message_id)
                  .values(created_at=utcnow() - dt.timedelta(days=days)))


def test_purge_deletes_old_messages_and_what_hangs_off_them(console) -> None:  # noqa: ANN001
    old_photo = cd.send(console, "Karim Benali", "Sophie Martin", "vieille photo", kind="photo")
    old_text = cd.send(console, "Karim Benali", "Sophie Martin", "vieux")
    new = cd.send(console, "Karim Benali", "Sophie Martin", "récent")
    console.client("hr").post("/moderation/bulk", data={"action": "approve",
                                                        "ids": [old_photo.id, old_text.id, new.id]})
    _age(console, old_photo.id, 400)
    _age(console, old_text.id, 366)
    with console.session() as s:
        counts = retention.purge(console.app.extensions["relais_store"].session, actor="test")
    assert (counts.messages, counts.media, counts.decisions) == (2, 1, 2)
    assert counts.downlinks >= 4  # deliveries and state updates still owed for both
    with console.session() as s:
        assert [m.id for m in s.execute(select(Message)).scalars()] == [new.id]
        assert s.scalar(select(func.count()).select_from(Media)) == 0
        assert s.scalar(select(func.count()).select_from(ModerationDecision)) == 1
        refs = set(s.execute(select(Downlink.ref)).scalars())
        assert old_text.client_id not in refs and new.client_id in refs
    entry = _audit(console, "retention.purge")[-1]
    assert entry.actor == "test" and entry.detail["messages"] == 2 and entry.detail["retention_days"] == 365


def test_purge_follows_the_setting_and_is_due_once_a_day(console) -> None:  # noqa: ANN001
    msg = cd.send(console, "Sophie Martin", "Karim Benali", "dix jours")
    _age(console, msg.id, 10)
    open_session = console.app.extensions["relais_store"].session
    assert retention.purge_if_due(open_session).messages == 0
    with console.session() as s:
        settings.put(s, "retention_days", 7)
    assert retention.purge_if_due(open_session) is None  # already purged today
    later = utcnow() + dt.timedelta(days=1, minutes=1)
    assert retention.purge_if_due(open_session, now=later).messages == 1


def test_purge_command(console) -> None:  # noqa: ANN001
    from hr_console.cli import main

    msg = cd.send(console, "Sophie Martin", "Karim Benali", "ancien")
    _age(console, msg.id, 30)
    home = str(console.cfg.home)
    runner = CliRunner()
    result = runner.invoke(main, ["--home", home, "--db-url", console.cfg.database_url,
                                  "purge", "--days", "20", "--dry-run"])
    assert result.exit_code == 0 and "would delete 1 messages" in result.output
    result = runner.invoke(main, ["--home", home, "--db-url", console.cfg.database_url,
                                  "purge", "--days", "20"])
    assert result.exit_code == 0, result.output
    assert "purged 1 messages" in result.output
    assert _audit(console, "retention.purge")[-1].actor == "cli"
    result = runner.invoke(main, ["--home", home, "purge", "--days", "0"])
    assert result.exit_code != 0


def test_gen_data_command_fills_a_home(console) -> None:  # noqa: ANN001
    from hr_console.cli import main

    home = str(console.cfg.home)
    args = ["--home", home, "--db-url", console.cfg.database_url, "gen-data", "--employees", "60",
            "--messages", "3000", "--held", "25", "--sites", "2"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    with console.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 3000
        assert s.scalar(select(func.count()).select_from(Message).where(Message.state == "held")) == 25
        states = set(s.execute(select(Message.state).distinct()).scalars())
    assert {"read", "delivered", "held", "rejected"} <= states
    c = console.client("hr")
    assert c.get("/moderation/").status_code == 200 and c.get("/dashboard/").status_code == 200
    assert c.get("/dashboard/charts/matrix.svg").status_code == 200
    again = CliRunner().invoke(main, args)
    assert again.exit_code != 0 and "--yes" in again.output


def test_admin_lets_supervisors_manage_their_workgroups(console) -> None:  # noqa: ANN001
    """The switch the workgroups pages read (web.groups): off by default, set from the page,
    audited like the others."""
    with console.session() as s:
        assert settings.get(s, "supervisors_manage_groups") is False
    resp = console.client("admin").post("/settings/", data={**GOOD, "supervisors_manage_groups": "y"})
    assert resp.status_code == 302
    with console.session() as s:
        assert settings.get(s, "supervisors_manage_groups") is True
    changes = {e.target: e.detail for e in _audit(console, "settings.change")}
    assert changes["setting:supervisors_manage_groups"] == {"old": False, "new": True}
    # The fan-out budget of group posts: a whole number, 0 lifting it.
    for bad in ("-1", "abc", "2000000"):
        resp = console.client("admin").post("/settings/",
                                            data={**GOOD, "group_copies_per_minute": bad})
        assert resp.status_code == 400, bad
    assert console.client("admin").post(
        "/settings/", data={**GOOD, "group_copies_per_minute": "0"}).status_code == 302
    with console.session() as s:
        assert settings.get(s, "group_copies_per_minute") == 0
    page = console.client("admin").get("/settings/", headers={"Accept-Language": "fr"})
    assert "Les chefs d&#39;équipe gèrent les groupes" in page.get_data(as_text=True) \
        or "Les chefs d'équipe gèrent les groupes" in page.get_data(as_text=True)


def test_admin_names_who_receives_safety_alerts(console) -> None:  # noqa: ANN001
    """Besides the site's supervisors, the people HR names by employee number (the HR desk
    when nobody is named): checked against the active employees, audited, shown by name."""
    karim, julie = console.demo.employees["Karim Benali"], console.demo.employees["Julie Moreau"]
    c = console.client("admin")
    c.post("/auth/language", data={"language": "en"})
    assert "Nobody named: the HR desk receives them" in c.get("/settings/").get_data(as_text=True)
    resp = c.post("/settings/", data={**GOOD, "safety_alert_recipients": f"{karim}\n#{julie}\n{karim}"})
    assert resp.status_code == 302
    with console.session() as s:
        assert settings.get(s, "safety_alert_recipients") == [karim, julie]
    changes = {e.target: e.detail for e in _audit(console, "settings.change")}
    assert changes["setting:safety_alert_recipients"] == {"old": [], "new": [karim, julie]}
    page = c.get("/settings/").get_data(as_text=True)
    assert f"Karim Benali (#{karim}), Julie Moreau (#{julie})" in page
    # A post without the field (another form, an old page) leaves them as they are.
    assert c.post("/settings/", data=GOOD).status_code == 302
    with console.session() as s:
        assert settings.get(s, "safety_alert_recipients") == [karim, julie]
    for bad, says in (("Karim", "Write employee numbers only"), ("999999", "No active employee"),
                      ("\n".join(str(i) for i in range(1, 60)), "too many")):
        resp = c.post("/settings/", data={**GOOD, "safety_alert_recipients": bad})
        assert resp.status_code == 400 and says in resp.get_data(as_text=True), bad
    with console.session() as s:
        assert settings.get(s, "safety_alert_recipients") == [karim, julie]  # unchanged
    # The employee's page shows the number to type.
    assert f"#{karim}" in c.get(f"/employees/{karim}").get_data(as_text=True)
    assert c.post("/settings/", data={**GOOD, "safety_alert_recipients": ""}).status_code == 302
    with console.session() as s:
        assert settings.get(s, "safety_alert_recipients") == []
