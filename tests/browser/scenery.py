"""Data that makes the console look like a working day, put there the way it gets there in
production: messages and acknowledgements sent from terminal links through the relay, a
notice composed in the console's service layer."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from tests.system_fixture import System, expect

DRAWING = {"w": 400, "h": 300, "strokes": [
    {"c": "#d32f2f", "w": 6, "p": [40, 250, 120, 60, 200, 250, 60, 130, 180, 130]},
    {"c": "#1565c0", "w": 4, "p": [250, 60, 330, 60, 330, 140, 250, 140, 250, 60]},
]}


def photo() -> bytes:
    """A small picture of a pallet on a shelf, drawn here (nothing downloaded)."""
    img = Image.new("RGB", (640, 480), (214, 220, 228))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 360, 640, 480), fill=(120, 110, 100))
    d.rectangle((80, 120, 560, 140), fill=(60, 90, 160))
    d.rectangle((80, 300, 560, 320), fill=(60, 90, 160))
    d.rectangle((180, 200, 420, 300), fill=(190, 150, 90))
    d.line((180, 200, 420, 300), fill=(120, 80, 40), width=6)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def state(link: TerminalLink, msg: str, wanted: str) -> ev.StateChanged:
    return expect(link, ev.StateChanged, lambda e: e.msg == msg and e.state == wanted)


def held_messages(system: System, k1: TerminalLink) -> list[str]:
    """Karim (pre-moderated) writes three messages to Sophie: one with a keyword, a photo
    and a drawing. All three wait in the moderation queue."""
    sophie = system.employee("Sophie Martin")
    sent = [
        k1.send_text(sophie, "Bonjour Sophie, on parle de la grève de jeudi à la pause ?"),
        k1.send_photo(sophie, photo(), "La palette du rayon 4 est abîmée"),
        k1.send_drawing(sophie, DRAWING),
    ]
    for msg in sent:
        state(k1, msg, "held")
    return sent


def acknowledge_all(link: TerminalLink, title: str) -> str:
    arrived = expect(link, ev.NoticeArrived, lambda e: e.notice.get("title") == title)
    uid = arrived.notice["notice"]
    link.acknowledge(uid)
    return uid
