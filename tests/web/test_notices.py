"""Notices area: compose (photo, target, urgency, acknowledgement, schedule, validity),
list with counts, tracking, reminders, withdrawal; every route x every role; supervisor
scope enforced server side; CSRF; escaping; hostile images; and the whole path with a real
broker, relay and terminal link (HR sends, Karim acknowledges at kiosk-1, HR sees it)."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import struct
import time
import zlib
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from hr_console.config import Settings
from hr_console.services import notice_view
from hr_console.services import notices as notices_svc
from hr_console.store.models import (
    AuditEntry,
    ConsoleUser,
    Downlink,
    Employee,
    Media,
    Notice,
    NoticeReceipt,
    Shift,
    Site,
    Team,
    utcnow,
)
from hr_console.web import create_app
from kiosk_app.link import events as ev
from relais_wire.limits import MAX_PHOTO_BYTES, MAX_PHOTO_SIDE
from tests.system_fixture import DEMO_PASSWORD, expect
from tests.web_fixture import PASSWORD, make_console

ALLOWED = ("admin", "hr", "supervisor")
DENIED = ("auditor",)


# --- helpers ---------------------------------------------------------------------------


def _team(console, name: str) -> int:  # noqa: ANN001
    with console.session() as s:
        return s.execute(select(Team.id).where(Team.name == name)).scalar_one()


def _employee(console, name: str) -> int:  # noqa: ANN001
    with console.session() as s:
        return s.execute(select(Employee.id).where(Employee.name == name)).scalar_one()


def _site(console) -> int:  # noqa: ANN001
    with console.session() as s:
        return s.execute(select(Site.id).where(Site.name == "demo")).scalar_one()


def _shift(console, team: str, name: str = "Matin") -> int:  # noqa: ANN001
    with console.session() as s:
        row = Shift(name=name, team_id=s.execute(select(Team.id).where(Team.name == team)).scalar_one(),
                    start_time=dt.time(6), end_time=dt.time(14))
        s.add(row)
        s.flush()
        return row.id


def _form(target: str, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {"title": "Réunion sécurité", "body": "Salle B à 14h.",
                               "target": target, "priority": "normal"}
    data.update(extra)
    return data


def _send(console, role: str, target: str, **extra: object):  # noqa: ANN001, ANN202
    return console.client(role).post("/notices/new", data=_form(target, **extra),
                                      content_type="multipart/form-data")


def _create(console, target_kind: str = "team", team: str = "Atelier", **kw: object) -> Notice:  # noqa: ANN001
    ref = None if target_kind == "everyone" else (_site(console) if target_kind == "site"
                                                  else _team(console, team))
    with console.session() as s:
        kw.setdefault("title", "Réunion sécurité")
        kw.setdefault("body", "Salle B")
        return notices_svc.create(s, target_kind=target_kind, target_ref=ref, actor="hr", **kw)


def _count(console, model) -> int:  # noqa: ANN001
    with console.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _actions(console) -> list[str]:  # noqa: ANN001
    with console.session() as s:
        return [e.action for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]


def _local(delta: dt.timedelta) -> str:
    """A datetime-local form value on the site's clock (what the console reads)."""
    return (dt.datetime.now(ZoneInfo(Settings.timezone)) + delta).strftime("%Y-%m-%dT%H:%M")


def _jpeg(size: tuple[int, int] = (640, 480), *, noise: bool = False, quality: int = 90,
          exif: Image.Exif | None = None) -> bytes:
    if noise:
        img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        img = Image.new("RGB", size, (200, 80, 40))
        img.paste((20, 90, 200), (0, 0, size[0] // 2, size[1] // 3))  # top-left marker
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, **({"exif": exif} if exif is not None else {}))
    return buf.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a lying header)."""
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _png_bomb(side: int = 8000) -> bytes:
    """A real, valid PNG of side x side grey pixels: about 64 MB once decoded, tens of KB
    on disk (below Pillow's own bomb limit, above ours)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    raw = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


# --- every route x every role ------------------------------------------------------------


def _user_id(console, username: str) -> int | None:  # noqa: ANN001
    with console.session() as s:
        return s.scalar(select(ConsoleUser.id).where(ConsoleUser.username == username))


def _routes(console, author: str = "hr") -> list[tuple[str, str, dict | None]]:  # noqa: ANN001
    """Every route of the area, on a notice ``author`` wrote to Atelier (the demo
    supervisor's team) that has a photo; the POSTs come last, withdrawal at the very end."""
    atelier = _team(console, "Atelier")
    author_id = _user_id(console, author)
    with console.session() as s:
        media = Media(sha256="x" * 64, mime="image/jpeg", data=_jpeg((32, 32)))
        s.add(media)
        s.flush()
        n = notices_svc.create(s, title="Avec photo", body="", target_kind="team",
                               target_ref=atelier, ack_required=True, actor=author,
                               user_id=author_id, media_id=media.id)
        nid = n.id
    return [
        ("GET", "/notices/", None),
        ("GET", "/notices/new", None),
        ("GET", f"/notices/{nid}", None),
        ("GET", f"/notices/{nid}/photo", None),
        ("POST", "/notices/new", _form(f"team:{atelier}")),
        ("POST", f"/notices/{nid}/remind", {}),
        ("POST", f"/notices/{nid}/withdraw", {}),
    ]


@pytest.mark.parametrize("role", ALLOWED)
def test_every_route_is_open_to_senders(console, role: str) -> None:  # noqa: ANN001
    client = console.client(role)
    for method, path, data in _routes(console, role):  # a supervisor acts on their own
        resp = client.get(path) if method == "GET" else client.post(path, data=data)
        expected = 200 if method == "GET" else 302
        assert resp.status_code == expected, f"{role} {method} {path}: {resp.status_code}"
    actions = _actions(console)
    assert {"notice.create", "notice.remind", "notice.withdraw"} <= set(actions)


@pytest.mark.parametrize("role", DENIED)
def test_every_route_is_forbidden_to_other_roles(console, role: str) -> None:  # noqa: ANN001
    client = console.client(role)
    routes = _routes(console)
    for method, path, data in routes:
        resp = client.get(path) if method == "GET" else client.post(path, data=data)
        assert resp.status_code == 403, f"{role} {method} {path}: {resp.status_code}"
    assert _count(console, Notice) == 1  # only the one _routes made
    with console.session() as s:
        assert all(n.valid_until is None for n in s.execute(select(Notice)).scalars())
    assert "notice.remind" not in _actions(console)


def test_every_route_sends_anonymous_to_sign_in(console) -> None:  # noqa: ANN001
    client = console.client()
    routes = _routes(console)
    for method, path, data in routes:
        resp = client.get(path) if method == "GET" else client.post(path, data=data)
        assert resp.status_code == 302, f"anonymous {method} {path}"
        assert "/auth/login" in resp.headers["Location"]
    assert _count(console, Notice) == 1


def test_the_menu_shows_notices_to_senders_only(console) -> None:  # noqa: ANN001
    for role in ALLOWED:
        page = console.client(role).get("/notices/").get_data(as_text=True)
        assert 'href="/notices/"' in page
    # The auditor cannot open the page, and its other pages do not offer it.
    assert console.client("auditor").get("/notices/").status_code == 403


# --- CSRF ---------------------------------------------------------------------------------


def test_post_routes_refuse_a_missing_csrf_token(tmp_path, db_url) -> None:  # noqa: ANN001
    strict = make_console(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    try:
        client = strict.app.test_client()
        token = _csrf(client.get("/auth/login").get_data(as_text=True))
        resp = client.post("/auth/login", data={"username": "hr", "password": PASSWORD,
                                                "csrf_token": token})
        assert resp.status_code == 302
        n = _create(strict)
        atelier = _team(strict, "Atelier")
        before = _actions(strict)
        for path, data in (("/notices/new", _form(f"team:{atelier}")),
                           (f"/notices/{n.id}/remind", {}), (f"/notices/{n.id}/withdraw", {})):
            assert client.post(path, data=data).status_code == 400, path
            bad = {**data, "csrf_token": "forged"}
            assert client.post(path, data=bad).status_code == 400, path
        assert _actions(strict) == before
        assert _count(strict, Notice) == 1
        with strict.session() as s:
            assert s.get(Notice, n.id).valid_until is None
        # Positive control: the same request with the page's token goes through.
        page = client.get("/notices/new").get_data(as_text=True)
        resp = client.post("/notices/new", data={**_form(f"team:{atelier}"), "csrf_token": _csrf(page)})
        assert resp.status_code == 302
        assert _count(strict, Notice) == 2
    finally:
        strict.app.extensions["relais_store"].dispose()


# --- composing -----------------------------------------------------------------------------


def test_hr_sends_an_urgent_notice_which_always_asks_for_acknowledgement(console) -> None:  # noqa: ANN001
    atelier = _team(console, "Atelier")
    resp = _send(console, "hr", f"team:{atelier}", priority="urgent", title="Alerte incendie")
    assert resp.status_code == 302
    with console.session() as s:
        n = s.execute(select(Notice)).scalar_one()
        assert n.urgent and n.ack_required and n.published_at is not None
        assert n.target_kind == "team" and n.target_ref == atelier
        assert n.created_by == s.execute(select(ConsoleUser.id).where(ConsoleUser.username == "hr")).scalar()
        reached = {r.employee_id for r in s.execute(select(NoticeReceipt)).scalars()}
        queued = {d.employee_id for d in s.execute(select(Downlink).where(Downlink.ref == n.uid)).scalars()}
    atelier_people = {_employee(console, x) for x in ("Sophie Martin", "Karim Benali", "Julie Moreau")}
    assert reached == queued == atelier_people
    entry = [e for e in _audit(console) if e.action == "notice.create"][0]
    assert entry.actor == "hr" and entry.detail["urgent"] is True


def _audit(console) -> list[AuditEntry]:  # noqa: ANN001
    with console.session() as s:
        return list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())


@pytest.mark.parametrize("target", ["everyone", "site", "team", "shift"])
def test_hr_reaches_everyone_a_site_a_team_or_a_shift(console, target: str) -> None:  # noqa: ANN001
    value = {"everyone": "everyone", "site": f"site:{_site(console)}",
             "team": f"team:{_team(console, 'Logistique')}",
             "shift": f"shift:{_shift(console, 'Logistique')}"}[target]
    assert _send(console, "hr", value).status_code == 302
    with console.session() as s:
        n = s.execute(select(Notice)).scalar_one()
        reached = set(s.execute(select(NoticeReceipt.employee_id)).scalars())
        everybody = set(s.execute(select(Employee.id)).scalars())
        logistique = set(s.execute(select(Employee.id).join(Team, Team.id == Employee.team_id)
                                   .where(Team.name == "Logistique")).scalars())
    assert n.target_kind == target
    assert reached == (logistique if target in ("team", "shift") else everybody)


def test_scheduled_notice_waits_for_its_time(console) -> None:  # noqa: ANN001
    atelier = _team(console, "Atelier")
    resp = _send(console, "hr", f"team:{atelier}", valid_from=_local(dt.timedelta(hours=3)),
                 valid_until=_local(dt.timedelta(days=2)))
    assert resp.status_code == 302
    with console.session() as s:
        n = s.execute(select(Notice)).scalar_one()
        assert n.published_at is None
        assert n.valid_from > utcnow() + dt.timedelta(hours=2)
        assert n.valid_until > n.valid_from
        assert notices_svc.publish_due(s) == 0
        assert s.scalar(select(func.count()).select_from(Downlink)) == 0
    page = console.client("hr").get("/notices/").get_data(as_text=True)
    assert "Programmée" in page  # French by default: "Scheduled"
    detail = console.client("hr").get(f"/notices/{n.id}").get_data(as_text=True)
    assert "elle atteindrait 3 personnes" in detail
    with console.session() as s:  # its time comes: the relay's timer publishes it
        s.get(Notice, n.id).valid_from = utcnow() - dt.timedelta(seconds=1)
    with console.session() as s:
        assert notices_svc.publish_due(s) == 3
        assert s.get(Notice, n.id).published_at is not None


def test_a_notice_scheduled_for_a_deleted_shift_does_not_hold_up_the_others(console) -> None:  # noqa: ANN001
    """Its shift deleted before its time: it reaches nobody, and the notice due beside it goes
    out (an error used to stop every due notice at each of the relay's rounds)."""
    atelier = _team(console, "Atelier")
    with console.session() as s:
        shift = Shift(name="Nuit", team_id=atelier, start_time=dt.time(22), end_time=dt.time(6))
        s.add(shift)
        s.flush()
        later = utcnow() + dt.timedelta(hours=1)
        gone = notices_svc.create(s, title="Nuit", body="", target_kind="shift",
                                  target_ref=shift.id, valid_from=later).id
        kept = notices_svc.create(s, title="Atelier", body="", target_kind="team",
                                  target_ref=atelier, valid_from=later).id
    with console.session() as s:
        s.delete(s.get(Shift, shift.id))
        for nid in (gone, kept):
            s.get(Notice, nid).valid_from = utcnow() - dt.timedelta(seconds=1)
    with console.session() as s:
        assert notices_svc.publish_due(s) == 3  # the team's three, nobody for the shift
    with console.session() as s:
        assert s.get(Notice, gone).published_at is not None  # done with, not retried
        assert s.get(Notice, kept).published_at is not None
        assert notices_svc.publish_due(s) == 0
        assert not s.scalars(select(NoticeReceipt).where(NoticeReceipt.notice_id == gone)).all()


def test_validity_window_must_make_sense(console) -> None:  # noqa: ANN001
    atelier = _team(console, "Atelier")
    resp = _send(console, "hr", f"team:{atelier}", valid_from=_local(dt.timedelta(hours=5)),
                 valid_until=_local(dt.timedelta(hours=1)))
    assert resp.status_code == 400
    assert "La fin d&#39;affichage doit venir après le début" in resp.get_data(as_text=True)
    resp = _send(console, "hr", f"team:{atelier}", valid_until=_local(-dt.timedelta(hours=1)))
    assert resp.status_code == 400
    assert _count(console, Notice) == 0 and "notice.create" not in _actions(console)


def test_bad_form_input_is_refused_and_changes_nothing(console) -> None:  # noqa: ANN001
    atelier = _team(console, "Atelier")
    cases = [
        _form(f"team:{atelier}", title=""),
        _form(f"team:{atelier}", title="x" * 121),
        _form(f"team:{atelier}", title="Caché\u202eevil"),
        _form(f"team:{atelier}", body="nul\x00"),
        _form("team:abc"),
        _form("planet:1"),
        _form("team:99999"),
        _form(f"team:{atelier}", valid_from="demain"),
    ]
    for data in cases:
        resp = console.client("hr").post("/notices/new", data=data)
        assert resp.status_code == 400, data
    assert _count(console, Notice) == 0 and _count(console, Media) == 0


def test_title_and_text_are_escaped(console) -> None:  # noqa: ANN001
    atelier = _team(console, "Atelier")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    resp = _send(console, "hr", f"team:{atelier}", title=evil, body=f"Bonjour {evil}")
    assert resp.status_code == 302
    for path in ("/notices/", resp.headers["Location"]):
        page = console.client("hr").get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_pages_speak_english_to_english_users(console) -> None:  # noqa: ANN001
    with console.session() as s:
        s.execute(select(ConsoleUser).where(ConsoleUser.username == "hr")).scalar_one().language = "en"
    page = console.client("hr").get("/notices/new").get_data(as_text=True)
    assert "New notice" in page and "Send the notice" in page
    with console.session() as s:
        s.execute(select(ConsoleUser).where(ConsoleUser.username == "admin")).scalar_one().language = "fr"
    page = console.client("admin").get("/notices/new").get_data(as_text=True)
    assert "Nouvelle annonce" in page and "Envoyer l'annonce" in page


# --- photos ---------------------------------------------------------------------------------


def test_photo_is_oriented_resized_stripped_and_small(console) -> None:  # noqa: ANN001
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held upright: rotate 90 degrees to show it
    exif[0x010F] = "SecretCam"  # Make
    exif[0x013B] = "Photographer Name"  # Artist
    raw = _jpeg((2400, 1600), noise=True, quality=92, exif=exif)
    assert len(raw) > MAX_PHOTO_BYTES and b"SecretCam" in raw
    atelier = _team(console, "Atelier")
    resp = _send(console, "hr", f"team:{atelier}", photo=(io.BytesIO(raw), "IMG_0001.JPG"))
    assert resp.status_code == 302
    with console.session() as s:
        n = s.execute(select(Notice)).scalar_one()
        media = s.get(Media, n.media_id)
    assert media.mime == "image/jpeg" and len(media.data) <= MAX_PHOTO_BYTES
    assert b"SecretCam" not in media.data and b"Photographer" not in media.data
    img = Image.open(io.BytesIO(media.data))
    assert img.format == "JPEG"
    assert img.height > img.width  # orientation applied to the pixels
    assert max(img.size) <= MAX_PHOTO_SIDE
    assert len(img.getexif()) == 0 and "icc_profile" not in img.info
    photo = console.client("hr").get(f"/notices/{n.id}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert photo.data == media.data
    # The notice tells kiosks there is a photo to fetch.
    assert notices_svc.wire_view(n)["photo"] is True


def test_png_with_transparency_becomes_a_jpeg(console) -> None:  # noqa: ANN001
    buf = io.BytesIO()
    Image.new("RGBA", (300, 200), (255, 0, 0, 0)).save(buf, "PNG")
    atelier = _team(console, "Atelier")
    resp = _send(console, "hr", f"team:{atelier}", photo=(io.BytesIO(buf.getvalue()), "plan.png"))
    assert resp.status_code == 302
    with console.session() as s:
        data = s.execute(select(Media.data)).scalar_one()
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and img.size == (300, 200) and img.mode == "RGB"


def _hostile() -> dict[str, bytes]:
    good = _jpeg((800, 600), noise=True)
    gif = io.BytesIO()
    Image.new("P", (10, 10)).save(gif, "GIF")
    return {
        "truncated_jpeg": good[: len(good) // 2],
        "header_only_jpeg": good[:200],
        "lying_png_header": _png_claiming(30000, 30000),
        "bomb_under_pillow_limit": _png_claiming(9000, 9000),
        "real_png_bomb": _png_bomb(8000),
        "not_an_image": b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\nendobj\n" * 20,
        "script_named_jpg": b"<script>alert(1)</script>",
        "gif": gif.getvalue(),
    }


@pytest.mark.parametrize("kind", list(_hostile()))
def test_hostile_images_are_refused_and_nothing_is_stored(console, kind: str) -> None:  # noqa: ANN001
    data = _hostile()[kind]
    atelier = _team(console, "Atelier")
    resp = _send(console, "hr", f"team:{atelier}", photo=(io.BytesIO(data), "photo.jpg"))
    assert resp.status_code == 400, kind
    page = resp.get_data(as_text=True)
    assert "Photo refusée" in page, kind
    assert _count(console, Notice) == 0 and _count(console, Media) == 0
    assert _count(console, Downlink) == 0 and _count(console, NoticeReceipt) == 0
    assert "notice.create" not in _actions(console)


# --- supervisor scope ---------------------------------------------------------------------------


def test_supervisor_compose_form_offers_only_their_teams(console) -> None:  # noqa: ANN001
    own_shift = _shift(console, "Atelier", "Matin atelier")
    other_shift = _shift(console, "Logistique", "Nuit logistique")
    page = console.client("supervisor").get("/notices/new").get_data(as_text=True)
    targets = page.split('id="target"')[1].split("</select>")[0]  # not the reminder's select
    values = set(re.findall(r'<option[^>]*value="([^"]+)"', targets))
    assert values == {f"team:{_team(console, 'Atelier')}", f"shift:{own_shift}"}
    hr_values = set(re.findall(r'<option[^>]*value="([^"]+)"',
                               console.client("hr").get("/notices/new").get_data(as_text=True)))
    assert {"everyone", f"site:{_site(console)}", f"shift:{other_shift}"} <= hr_values


def test_supervisor_cannot_send_beyond_their_teams(console) -> None:  # noqa: ANN001
    other_shift = _shift(console, "Logistique")
    for target in (f"team:{_team(console, 'Logistique')}", f"team:{_team(console, 'Ressources humaines')}",
                   f"site:{_site(console)}", "everyone", f"shift:{other_shift}", "team:99999"):
        resp = _send(console, "supervisor", target)
        assert resp.status_code == 403, target
    assert _count(console, Notice) == 0 and _count(console, Downlink) == 0
    # Their own team and its shifts are fine.
    assert _send(console, "supervisor", f"team:{_team(console, 'Atelier')}").status_code == 302
    assert _send(console, "supervisor", f"shift:{_shift(console, 'Atelier')}").status_code == 302
    assert _count(console, Notice) == 2


def test_supervisor_tracks_only_their_teams_notices(console) -> None:  # noqa: ANN001
    own = _create(console, title="Pour l'atelier")
    other = _create(console, team="Logistique", title="Pour la logistique")
    everyone = _create(console, "everyone", title="Pour tout le monde")
    sup = console.client("supervisor")
    listing = sup.get("/notices/").get_data(as_text=True)
    assert "Pour l&#39;atelier" in listing
    assert "Pour la logistique" not in listing and "Pour tout le monde" not in listing
    assert sup.get(f"/notices/{own.id}").status_code == 200
    for n in (other, everyone):
        assert sup.get(f"/notices/{n.id}").status_code == 403
        assert sup.post(f"/notices/{n.id}/remind").status_code == 403
        assert sup.post(f"/notices/{n.id}/withdraw").status_code == 403
    with console.session() as s:
        assert s.get(Notice, other.id).valid_until is None
    assert "notice.remind" not in _actions(console) and "notice.withdraw" not in _actions(console)
    assert sup.get("/notices/99999").status_code == 404
    # HR sees all three.
    listing = console.client("hr").get("/notices/").get_data(as_text=True)
    assert all(t in listing for t in ("Pour l&#39;atelier", "Pour la logistique", "Pour tout le monde"))


def test_supervisor_without_a_team_cannot_compose(console) -> None:  # noqa: ANN001
    with console.session() as s:
        for team in s.execute(select(Team)).scalars():
            team.supervisor_id = None
    sup = console.client("supervisor")
    assert sup.get("/notices/new").status_code == 302
    assert "Vous n&#39;encadrez aucune équipe" in sup.get("/notices/").get_data(as_text=True)
    assert _send(console, "supervisor", f"team:{_team(console, 'Atelier')}").status_code == 302
    assert _count(console, Notice) == 0


# --- list, tracking, reminders, withdrawal ---------------------------------------------------


def _receipts(console, uid: str, states: dict[str, str]) -> None:  # noqa: ANN001
    ids = {name: _employee(console, name) for name in states}
    with console.session() as s:
        for name, status in states.items():
            assert notices_svc.receipt(s, ids[name], uid, status)


def test_counts_and_tracking_show_who_has_and_has_not(console) -> None:  # noqa: ANN001
    n = _create(console, ack_required=True, title="Port des EPI")
    _receipts(console, n.uid, {"Karim Benali": "acknowledged", "Sophie Martin": "seen"})
    row = re.search(rf'<tr data-notice="{n.id}">(.*?)</tr>',
                    console.client("hr").get("/notices/").get_data(as_text=True), re.S).group(1)
    assert re.search(r'data-count="reached">\s*2 / 3', row)
    assert re.search(r'data-count="seen">\s*2<', row)
    assert re.search(r'data-count="acknowledged">\s*1<', row)
    page = console.client("supervisor").get(f"/notices/{n.id}").get_data(as_text=True)
    karim, sophie, julie = (_employee(console, x) for x in ("Karim Benali", "Sophie Martin", "Julie Moreau"))
    assert f'data-employee="{karim}" data-state="acknowledged"' in page
    assert f'data-employee="{sophie}" data-state="seen"' in page
    assert f'data-employee="{julie}" data-state="waiting"' in page
    pending, done = page.split('id="done"')
    assert f'data-employee="{karim}"' in done and f'data-employee="{karim}"' not in pending
    assert f'data-employee="{sophie}"' in pending and f'data-employee="{julie}"' in pending
    with console.session() as s:
        t = notices_svc.tracking(s, notices_svc.EVERYTHING, n.id)
    assert t.summary.counts == notices_svc.Counts(audience=3, reached=2, seen=2, acknowledged=1)
    assert {p.employee_id for p in t.pending} == {sophie, julie}
    assert {p.employee_id for p in t.done} == {karim}


def test_reminder_requeues_for_those_who_have_not_acknowledged(console) -> None:  # noqa: ANN001
    n = _create(console, ack_required=True, user_id=_user_id(console, "supervisor"))
    _receipts(console, n.uid, {"Karim Benali": "acknowledged", "Sophie Martin": "seen"})
    karim, sophie, julie = (_employee(console, x) for x in ("Karim Benali", "Sophie Martin", "Julie Moreau"))
    with console.session() as s:  # Karim's and Sophie's terminals confirmed their copy
        for d in s.execute(select(Downlink).where(Downlink.employee_id.in_([karim, sophie]))).scalars():
            s.delete(d)
    resp = console.client("supervisor").post(f"/notices/{n.id}/remind")
    assert resp.status_code == 302
    with console.session() as s:
        rows = list(s.execute(select(Downlink).where(Downlink.ref == n.uid)).scalars())
        sent = notice_view.expand(s, [d.payload for d in rows])  # as the relay sends them
    # Sophie gets a reminder; Julie's undelivered copy is replaced, not doubled; not Karim.
    assert sorted(d.employee_id for d in rows) == sorted([sophie, julie])
    assert all(d.kind == "notice" and d.payload["reminder"] is True for d in rows)
    assert all(p["notice"] == n.uid and p["ack_required"] is True and p["reminder"] is True
               and notice_view.REF not in p for p in sent)
    entry = [e for e in _audit(console) if e.action == "notice.remind"][0]
    assert entry.actor == "supervisor" and entry.detail["count"] == 2
    page = console.client("supervisor").get(f"/notices/{n.id}").get_data(as_text=True)
    assert "Relance envoyée à 2 personnes." in page


def test_a_reminder_to_many_is_audited_by_its_count(console, monkeypatch) -> None:  # noqa: ANN001
    """Past ``AUDIT_NAMES_MAX`` people the audit line gives the count only (each receipt
    still counts its reminder): a notice to everyone reminded wrote 50,000 ids in one line."""
    monkeypatch.setattr(notices_svc, "AUDIT_NAMES_MAX", 2)
    n = _create(console)
    assert console.client("hr").post(f"/notices/{n.id}/remind").status_code == 302
    entry = [e for e in _audit(console) if e.action == "notice.remind"][0]
    assert entry.detail["count"] == 3 and "employees" not in entry.detail
    with console.session() as s:
        assert s.scalar(select(func.sum(NoticeReceipt.reminders))
                        .join(Notice, Notice.id == NoticeReceipt.notice_id)
                        .where(Notice.uid == n.uid)) == 3
    monkeypatch.setattr(notices_svc, "AUDIT_NAMES_MAX", 3)
    assert console.client("hr").post(f"/notices/{n.id}/remind").status_code == 302
    entry = [e for e in _audit(console) if e.action == "notice.remind"][-1]
    assert len(entry.detail["employees"]) == 3


def test_reminder_with_nobody_left_changes_nothing(console) -> None:  # noqa: ANN001
    n = _create(console)  # no acknowledgement asked: "done" means seen
    _receipts(console, n.uid, {x: "seen" for x in ("Karim Benali", "Sophie Martin", "Julie Moreau")})
    before = _count(console, Downlink)
    assert console.client("hr").post(f"/notices/{n.id}/remind").status_code == 302
    assert _count(console, Downlink) == before and "notice.remind" not in _actions(console)


def test_withdraw_stops_showing_and_drops_pending_copies(console) -> None:  # noqa: ANN001
    n = _create(console, ack_required=True)
    karim = _employee(console, "Karim Benali")
    with console.session() as s:
        assert [x["notice"] for x in notices_svc.for_employee(s, karim)] == [n.uid]
    assert console.client("hr").post(f"/notices/{n.id}/withdraw").status_code == 302
    with console.session() as s:
        row = s.get(Notice, n.id)
        assert row.valid_until is not None and row.valid_until <= utcnow()
        assert notices_svc.for_employee(s, karim) == []
        assert s.scalar(select(func.count()).select_from(Downlink).where(Downlink.ref == n.uid)) == 0
    page = console.client("hr").get(f"/notices/{n.id}").get_data(as_text=True)
    assert "Terminée" in page and "Retirer</button>" not in page
    # Withdrawn: no reminder, no second withdrawal.
    console.client("hr").post(f"/notices/{n.id}/remind")
    console.client("hr").post(f"/notices/{n.id}/withdraw")
    assert _count(console, Downlink) == 0
    assert _actions(console).count("notice.withdraw") == 1
    assert "notice.remind" not in _actions(console)


def test_withdrawn_scheduled_notice_never_goes_out(console) -> None:  # noqa: ANN001
    n = _create(console, valid_from=utcnow() + dt.timedelta(hours=1))
    assert console.client("hr").post(f"/notices/{n.id}/withdraw").status_code == 302
    with console.session() as s:
        s.get(Notice, n.id).valid_from = utcnow() - dt.timedelta(minutes=1)
    with console.session() as s:
        assert notices_svc.publish_due(s) == 0
        assert s.get(Notice, n.id).published_at is None
    assert _count(console, Downlink) == 0


# --- the whole system: console -> relay -> kiosk -> relay -> console -------------------------


def _wait(check, what: str, timeout: float = 15.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.2)


def test_urgent_notice_from_the_console_is_acknowledged_at_a_kiosk(system) -> None:  # noqa: ANN001
    link = system.link("kiosk-1")
    system.badge_in(link, "Karim Benali")
    karim = system.employee("Karim Benali")
    app = create_app(system.cfg, {"TESTING": True, "WTF_CSRF_ENABLED": False})
    try:
        client = app.test_client()
        login = client.post("/auth/login", data={"username": "hr", "password": DEMO_PASSWORD})
        assert login.status_code == 302
        with system.store.session() as s:
            atelier = s.execute(select(Team.id).where(Team.name == "Atelier")).scalar_one()
        resp = client.post("/notices/new", data={
            "title": "Exercice d'évacuation à 14h", "body": "Rassemblement parking nord.",
            "target": f"team:{atelier}", "priority": "urgent"})
        assert resp.status_code == 302
        notice_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])

        arrived = expect(link, ev.NoticeArrived,
                         lambda e: e.notice.get("title") == "Exercice d'évacuation à 14h")
        assert arrived.notice["urgent"] is True and arrived.notice["ack_required"] is True
        uid = arrived.notice["notice"]

        # Not acknowledged yet: HR reminds, the kiosk gets the notice again.
        page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
        assert f'data-employee="{karim}" data-state="acknowledged"' not in page
        assert client.post(f"/notices/{notice_id}/remind").status_code == 302
        again = expect(link, ev.NoticeArrived,
                       lambda e: e.notice.get("notice") == uid and e.notice.get("reminder"))
        assert again.notice["title"] == arrived.notice["title"]

        link.acknowledge(uid)

        def acknowledged() -> bool:
            html = client.get(f"/notices/{notice_id}").get_data(as_text=True)
            return f'data-employee="{karim}" data-state="acknowledged"' in html

        _wait(acknowledged, "Karim's acknowledgement on the tracking page")
        with system.store.session() as s:
            row = s.execute(select(NoticeReceipt).where(NoticeReceipt.notice_id == notice_id,
                                                        NoticeReceipt.employee_id == karim)).scalar_one()
            assert row.delivered_at and row.seen_at and row.acknowledged_at
            t = notices_svc.tracking(s, notices_svc.EVERYTHING, notice_id)
            assert t.summary.counts.acknowledged == 1 and t.summary.counts.audience == 3
            assert {p.employee_id for p in t.done} == {karim}
            actions = [e.action for e in s.execute(select(AuditEntry)).scalars()]
            assert "notice.create" in actions and "notice.remind" in actions
    finally:
        app.extensions["relais_store"].dispose()


def test_a_notice_to_everyone_lists_its_people_a_page_at_a_time(console, monkeypatch) -> None:  # noqa: ANN001
    """A notice to a whole company: each list on its page is a page of people in name order,
    its total is the whole list's, and each list turns its pages without moving the other."""
    from hr_console.web.notices import routes as notice_routes

    monkeypatch.setattr(notice_routes, "PEOPLE_PER_PAGE", 4)
    with console.session() as s:
        team = s.get(Employee, _employee(console, "Karim Benali")).team_id
        s.add_all([Employee(name=f"Zoé Renfort {i:02d}", team_id=team, language="fr")
                   for i in range(9)])
    n = _create(console, target_kind="everyone", ack_required=True, title="Évacuation")
    with console.session() as s:
        everyone = s.scalar(select(func.count()).select_from(NoticeReceipt)
                            .where(NoticeReceipt.notice_id == n.id))
    _receipts(console, n.uid, {"Karim Benali": "acknowledged", "Sophie Martin": "acknowledged"})
    c = console.client("hr")

    def lists(query: str = "") -> tuple[list[str], list[str], str]:
        page = c.get(f"/notices/{n.id}{query}").get_data(as_text=True)
        pending, done = page.split('id="done"')
        rows = re.compile(r'data-employee="(\d+)"')
        return rows.findall(pending), rows.findall(done), page

    pending, done, page = lists()
    assert len(pending) == 4 and len(done) == 2
    assert f'data-total="pending">{everyone - 2}<' in page and 'data-total="done">2<' in page
    seen = list(pending)
    for p in range(2, 5):  # every pending person once, over the pages, the done list kept
        more, kept_done, page = lists(f"?pending={p}&done=1")
        assert kept_done == done
        seen += more
    assert len(seen) == len(set(seen)) == everyone - 2
    assert lists("?pending=999")[0] == lists(f"?pending={-(-(everyone - 2) // 4)}")[0]  # the last
    assert lists("?pending=x")[0] == pending  # not a page: the first
    with console.session() as s:
        t = notices_svc.tracking(s, notices_svc.EVERYTHING, n.id)  # the service, all at once
    assert len(t.pending) == everyone - 2 and t.pending_page.pages == 1


def test_the_list_reuses_the_counts_of_ended_notices_and_a_notices_page_counts_afresh(
        console, monkeypatch) -> None:  # noqa: ANN001
    """The list of notices does not count every receipt of every ended notice at each view
    (200 notices to 50,000 people each): an ended notice's counts are a few minutes old at
    most there; its own page counts them now."""
    n = _create(console, ack_required=True, title="Consigne ancienne")
    _receipts(console, n.uid, {"Karim Benali": "acknowledged"})
    with console.session() as s:
        s.get(Notice, n.id).valid_until = utcnow() - dt.timedelta(hours=1)
    c = console.client("hr")

    def acknowledged_in_list() -> str:
        row = re.search(rf'<tr data-notice="{n.id}">(.*?)</tr>',
                        c.get("/notices/").get_data(as_text=True), re.S).group(1)
        return re.search(r'data-count="acknowledged">\s*(\d+)<', row).group(1)

    assert acknowledged_in_list() == "1"
    with console.session() as s:  # a late acknowledgement
        s.execute(update(NoticeReceipt).where(NoticeReceipt.notice_id == n.id)
                  .values(acknowledged_at=utcnow()))
    assert acknowledged_in_list() == "1"  # remembered
    page = c.get(f"/notices/{n.id}").get_data(as_text=True)
    assert 'data-count="acknowledged">3<' in page  # its own page: now
    monkeypatch.setattr(notices_svc, "ENDED_COUNTS_TTL_S", 0)
    assert acknowledged_in_list() == "3"
