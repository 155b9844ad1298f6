"""A site's time zone (issue 16: shifts are read in it): set and cleared from the teams page
by admins and HR, validated with zoneinfo, audited; bad input is refused with a clear error
and changes nothing. French and English. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from hr_console.store.models import Site
from tests.web.people_support import Route, audit_actions, audit_count, check_roles, text


def _site(console) -> tuple[int, str | None]:  # noqa: ANN001
    with console.session() as s:
        row = s.execute(select(Site).where(Site.name == "demo")).scalar_one()
        return row.id, row.timezone


def test_set_shown_cleared_and_audited(console) -> None:  # noqa: ANN001
    c = console.client("hr")
    site, zone = _site(console)
    assert zone is None
    assert "Fuseau horaire : celui de l’installation" in text(c.get("/teams/"))
    since = audit_count(console)
    resp = c.post(f"/teams/sites/{site}/timezone", data={f"zone{site}-timezone": " America/Cayenne "})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"#site-{site}")
    assert _site(console)[1] == "America/Cayenne"
    assert "Fuseau horaire : America/Cayenne" in text(c.get("/teams/"))
    c.post(f"/teams/sites/{site}/timezone", data={f"zone{site}-timezone": "America/Cayenne"})
    c.post(f"/teams/sites/{site}/timezone", data={f"zone{site}-timezone": ""})
    assert _site(console)[1] is None
    assert [(a, t, d) for _x, a, t, d in audit_actions(console, since)] == [
        ("site.timezone", f"site:{site}", {"old": None, "new": "America/Cayenne"}),
        ("site.timezone", f"site:{site}", {"old": "America/Cayenne", "new": None})]
    c.post("/auth/language", data={"language": "en"})
    assert "Time zone: the installation's" in text(c.get("/teams/"))
    c.post("/auth/language", data={"language": "fr"})


def test_bad_zones_change_nothing(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    site, _zone = _site(console)
    before = audit_count(console)
    for bad in ("Europe/Pariss", "Mars/Olympus", "../../etc/passwd", "/etc/localtime",
                "UTC; DROP TABLE sites", "x" * 65, "Europe/Paris\u202e", "<script>"):
        resp = c.post(f"/teams/sites/{site}/timezone", data={f"zone{site}-timezone": bad},
                      follow_redirects=True)
        assert "Un fuseau horaire est un nom comme Europe/Paris." in text(resp), bad
    assert _site(console)[1] is None and audit_count(console) == before
    assert c.post("/teams/sites/999999/timezone",
                  data={"zone999999-timezone": "Europe/Paris"}).status_code == 404


def test_only_admin_and_hr(console) -> None:  # noqa: ANN001
    site, _zone = _site(console)
    check_roles(console, [Route("POST", f"/teams/sites/{site}/timezone",
                                {f"zone{site}-timezone": "Europe/Paris"})],
                allowed=("admin", "hr"))
