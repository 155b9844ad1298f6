"""Messages for the console tests, made the way the relay makes them (``messaging.receive``
from a badge session), so states, moderation modes and downlinks are the real ones."""

from __future__ import annotations

import io
import uuid
from typing import Any

from PIL import Image
from sqlalchemy import select

from hr_console.services import messaging
from hr_console.store.models import BadgeSession, Downlink, Employee, Message, Terminal
from relais_wire.drawing import parse_drawing
from relais_wire.envelope import DrawingMessage, Photo, Text, Voice
from tests.wire.hostile_audio import clip

DRAWING = {"w": 200, "h": 100, "strokes": [{"c": "#d62728", "w": 6, "p": [10, 10, 100, 50, 190, 90]},
                                           {"c": "#1f77b4", "w": 3, "p": [20, 80]}]}


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 20)).save(buf, "JPEG")
    return buf.getvalue()


def _speaker(s: Any, demo: Any, sender: str) -> BadgeSession:
    """The sender's open badge session, opened on kiosk-1 if they have none."""
    sender_id = demo.employees[sender]
    speaker = s.execute(select(BadgeSession).where(BadgeSession.employee_id == sender_id,
                                                   BadgeSession.ended_at.is_(None))).scalar()
    if speaker is None:
        terminal = s.execute(select(Terminal).where(Terminal.name == "kiosk-1")).scalar_one()
        speaker = BadgeSession(id=str(uuid.uuid4()), employee_id=sender_id,
                               terminal_id=terminal.id)
        s.add(speaker)
        s.flush()
    return speaker


def _received(console: Any, sender: str, kind: str, body: Any) -> Message:
    """``body`` from ``sender`` through the relay's own use case (``messaging.receive``)."""
    with console.session() as s:
        out = messaging.receive(s, _speaker(s, console.demo, sender), str(uuid.uuid4()), kind,
                                body, sent_ts=0, seq=None)
        msg = s.get(Message, out.message_id)
        s.expunge(msg)
        return msg


def send(console: Any, sender: str, recipient: str, text: str = "Bonjour", *,
         kind: str = "text") -> Message:
    """``sender`` (a demo name) sends to ``recipient`` through the relay's own use case."""
    recipient_id = console.demo.employees[recipient]
    if kind == "photo":
        body: Any = Photo(to=recipient_id, image=jpeg(), caption=text)
    elif kind == "drawing":
        body = DrawingMessage(to=recipient_id, drawing=parse_drawing(DRAWING))
    elif kind == "voice":
        body = Voice(to=recipient_id, audio=clip(1.5), duration_ms=1500)
    else:
        body = Text(to=recipient_id, text=text)
    return _received(console, sender, kind, body)


def post(console: Any, sender: str, group_id: int, text: str) -> Message:
    """``sender`` posts a text to a workgroup through the relay's own use case."""
    return _received(console, sender, "text", Text(to=None, text=text, group=group_id))


def set_mode(console: Any, name: str, mode: str | None) -> None:
    with console.session() as s:
        s.get(Employee, console.demo.employees[name]).moderation_mode = mode


def message(console: Any, message_id: int) -> Message:
    with console.session() as s:
        msg = s.get(Message, message_id)
        s.expunge(msg)
        return msg


def downlinks(console: Any, employee: str, kind: str | None = None) -> list[dict]:
    with console.session() as s:
        stmt = select(Downlink).where(Downlink.employee_id == console.demo.employees[employee])
        if kind:
            stmt = stmt.where(Downlink.kind == kind)
        return [d.payload for d in s.execute(stmt.order_by(Downlink.created_at)).scalars()]
