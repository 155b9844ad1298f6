"""Safety alerts in the console (issue 16): the dashboard shows the open ones first, with the
sound the kiosk plays for urgent notices; the list page marks one handled, by whom and when,
audited; once handled it leaves the dashboard. French and English."""

from __future__ import annotations

from sqlalchemy import select

from hr_console.services import safety
from hr_console.store.models import AuditEntry, ConsoleUser, SafetyAlert, Terminal


def _raise(console, pictogram: str = "fire", text: str = "Fumée ligne 3") -> int:  # noqa: ANN001
    with console.session() as s:
        term = s.execute(select(Terminal).where(Terminal.name == "kiosk-1")).scalar_one()
        karim = console.demo.employees["Karim Benali"]
        return safety.raise_alert(s, term, "0f8fad5b-d9cb-469f-a165-70867728950e", pictogram,
                                  text, karim).alert.id


def test_dashboard_shows_open_alerts_with_a_sound(console) -> None:  # noqa: ANN001
    hr = console.client("hr")
    assert 'id="safety-alerts"' not in hr.get("/dashboard/").get_data(as_text=True)
    _raise(console)
    page = hr.get("/dashboard/").get_data(as_text=True)
    assert 'id="safety-alerts"' in page and "Incendie" in page and "Fumée ligne 3" in page
    assert "Karim Benali" in page and "kiosk-1" in page
    assert 'data-sound="/safety/sound.wav"' in page and "safety.js" in page
    sound = hr.get("/safety/sound.wav")
    assert sound.status_code == 200 and sound.mimetype == "audio/wav"
    assert sound.data[:4] == b"RIFF"
    hr.post("/auth/language", data={"language": "en", "next": "/"})
    page = hr.get("/dashboard/").get_data(as_text=True)
    assert "1 open safety alert" in page and "Fire" in page


def test_marking_handled_records_who_and_leaves_the_dashboard(console) -> None:  # noqa: ANN001
    alert_id = _raise(console, "fall", "")
    sup = console.client("supervisor")
    listing = sup.get("/safety/").get_data(as_text=True)
    assert "Chute" in listing and "Marquer comme traitée" in listing
    resp = sup.post(f"/safety/{alert_id}/handled")
    assert resp.status_code == 302
    with console.session() as s:
        row = s.get(SafetyAlert, alert_id)
        who = s.execute(select(ConsoleUser.id).where(ConsoleUser.username == "supervisor")
                        ).scalar_one()
        assert row.handled_at is not None and row.handled_by == who
        [entry] = s.execute(select(AuditEntry).where(AuditEntry.action == "safety.handled")
                            ).scalars().all()
        assert entry.actor == "supervisor" and entry.target == f"safety_alert:{alert_id}"
    # A second press changes nothing: the first who handled it stays.
    console.client("hr").post(f"/safety/{alert_id}/handled")
    with console.session() as s:
        assert s.get(SafetyAlert, alert_id).handled_by == who
        assert len(s.execute(select(AuditEntry).where(AuditEntry.action == "safety.handled")
                             ).scalars().all()) == 1
    assert "par supervisor" in sup.get("/safety/").get_data(as_text=True)
    assert 'id="safety-alerts"' not in console.client("hr").get("/dashboard/").get_data(
        as_text=True)
    assert console.client("hr").post("/safety/999999/handled").status_code == 404


def _jpeg_with_exif() -> bytes:
    import io

    from PIL import Image

    exif = Image.Exif()
    exif[0x010E] = "quai 2"
    buf = io.BytesIO()
    Image.new("RGB", (1600, 1200), (30, 120, 200)).save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def test_an_alert_photo_shows_to_the_roles_that_see_alerts(console) -> None:  # noqa: ANN001
    import io

    from PIL import Image

    with console.session() as s:
        term = s.execute(select(Terminal).where(Terminal.name == "kiosk-1")).scalar_one()
        with_photo = safety.raise_alert(s, term, "16fd2706-8baf-433b-82eb-8c7fada847da",
                                        "machine", "Presse 4", console.demo.employees[
                                            "Karim Benali"], image=_jpeg_with_exif()).alert.id
    without = _raise(console, "fall", "")
    for role in ("hr", "supervisor", "admin"):
        client = console.client(role)
        page = client.get("/safety/").get_data(as_text=True)
        # A thumbnail linking to the full-size photo for the alert that has one, only.
        assert f'href="/safety/{with_photo}/photo"' in page
        assert f'<img src="/safety/{with_photo}/photo"' in page
        assert f"/safety/{without}/photo" not in page
        assert "Photo du danger" in page  # its alternative text, in French
        if role == "hr":  # the dashboard's open alerts
            dash = client.get("/dashboard/").get_data(as_text=True)
            assert f'<img src="/safety/{with_photo}/photo"' in dash
        resp = client.get(f"/safety/{with_photo}/photo")
        assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
        assert resp.headers["Cache-Control"] == "private, no-store"
        with Image.open(io.BytesIO(resp.data)) as img:  # the normalised copy, not the upload
            assert max(img.size) <= 1280 and not img.getexif()
        assert client.get(f"/safety/{without}/photo").status_code == 404
    auditor = console.client("auditor")
    assert auditor.get(f"/safety/{with_photo}/photo").status_code == 403
    hr = console.client("hr")
    hr.post("/auth/language", data={"language": "en", "next": "/"})
    assert "Photo of the danger" in hr.get("/safety/").get_data(as_text=True)
