"""Drives the real kiosk App under Xvfb against a real Mosquitto and relay.

Run by tests/kiosk/test_ui_walk.py, one process per window size (Kivy opens one window per
process), as::

    xvfb-run -a -s "-screen 0 1280x800x24" python -m tests.kiosk.ui_walk \
        --size 800x480 --result out.json --shots build/screenshots/kiosk

It starts a whole system (tests.system_fixture.make_system), puts a cuttable TCP relay
(NetCut) between the kiosk and the broker, and walks the app with real touches
(``UnitTestTouch`` through the window, so a hidden or covered button cannot be pressed) and
badge reads (keyboard events, as a reader types). Every step is recorded; the JSON result
holds the steps, counts, states and timings the test asserts on, and the error if any. What
the relay and the database did is read back from them (the other terminal's link, the
tables), never assumed.

Walks (``--walks``, in order): ``fr`` (Sophie: unknown badge, PIN lockout, urgent notice,
Home, quick reply, photo viewer, AZERTY keyboard, photo folder with a hostile file, drawing,
a keyword-held message refused by HR, notices, automatic logout, same badge twice,
"Terminer"), ``offline`` (the same with the network cut, then reconnected, and a message
typed just before an automatic logout), ``en`` (Amina, English: held, approved, refused and
withdrawn messages, QWERTY, offline), ``groups`` (workgroups in both languages:
tests/kiosk/group_walk.py), ``alert`` (tests/kiosk/alert_walk.py), ``alert_idle`` (the alert
button on the idle screen, with the console served: tests/kiosk/alert_idle_walk.py),
``supervisor`` (a team lead's broadcast and tracking, with the console served:
tests/kiosk/supervisor_walk.py),
``charter`` (the messaging charter at badge-in and "How my messages are handled":
tests/kiosk/charter_walk.py), ``listen`` (read aloud: tests/kiosk/listen_walk.py), ``voice``
(voice messages: tests/kiosk/voice_walk.py),
``bench`` (figures for tests/kiosk/bench_kiosk.py).
The inactivity timeout is long while walking and short (``--away-timeout``) only when the
walk steps away, so a slow frame on a loaded machine is never taken for a person leaving.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import dataclasses
import json
import logging
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

T0 = time.perf_counter()


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--size", default="800x480")
    p.add_argument("--result", required=True)
    p.add_argument("--shots", default="")
    p.add_argument("--walks", default="fr,offline,en")
    p.add_argument("--idle-timeout", type=float, default=120.0,
                   help="while walking; walking away uses --away-timeout")
    p.add_argument("--away-timeout", type=float, default=10.0)
    return p.parse_args()


# --- the system behind the kiosk ----------------------------------------------------------------


def _images(folder: Path) -> None:
    """An image folder as a terminal without a camera has: two photos (one EXIF-rotated
    12 MP camera shot) and a file that pretends to be a photo."""
    from tests.kiosk import photos

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "quai.jpg").write_bytes(photos.jpeg(photos.camera_like((4000, 3000)), orientation=6,
                                                  gps=True))
    demo = Path(__file__).resolve().parents[2] / "assets" / "demo_photos" / "machine.jpg"
    (folder / "machine.jpg").write_bytes(demo.read_bytes())
    (folder / "zz-piege.png").write_bytes(photos.png_header_bomb())
    old = time.time() - 3600
    os.utime(folder / "zz-piege.png", (old, old))


class Backstage:
    """What happens away from the kiosk: colleagues on the other terminal, HR, notices."""

    def __init__(self, tmp: Path) -> None:
        from tests.system_fixture import make_system

        for attempt in range(3):  # another test may take a "free" port before the broker binds it
            where = tmp / f"try{attempt}"
            where.mkdir(parents=True, exist_ok=True)
            try:
                self.system = make_system(where, f"sqlite:///{where / 'relais.db'}")
                break
            except RuntimeError as exc:
                if "Address already in use" not in str(exc) or attempt == 2:
                    raise
        self.other = self.system.link("kiosk-2")

    def employee(self, name: str) -> int:
        return self.system.employee(name)

    def badge(self, name: str) -> str:
        return self.system.demo.badges[name]

    def other_badge_in(self, name: str) -> Any:
        return self.system.badge_in(self.other, name)

    def send_from_other(self, to: str, *, text: str = "", photo: bytes | None = None,
                        drawing: dict | None = None) -> str:
        to_id = self.employee(to)
        if photo is not None:
            return self.other.send_photo(to_id, photo)
        if drawing is not None:
            return self.other.send_drawing(to_id, drawing)
        return self.other.send_text(to_id, text)

    def approve_held(self) -> int:
        """HR approves everything held (the demo's Atelier team is pre-moderated)."""
        from sqlalchemy import select

        from hr_console.services import messaging
        from hr_console.store.models import Message

        with self.system.store.session() as s:
            ids = s.execute(select(Message.id).where(Message.state == "held")).scalars().all()
            for mid in ids:
                messaging.approve(s, mid, actor="hr")
        return len(ids)

    def notice(self, title: str, body: str, *, urgent: bool = False, ack: bool = False) -> str:
        from hr_console.services import directory, notices

        with self.system.store.session() as s:
            site = directory.site_by_name(s, "demo")
            n = notices.create(s, title=title, body=body, target_kind="site", target_ref=site.id,
                               urgent=urgent, ack_required=ack, actor="supervisor")
            return n.uid

    def acknowledged(self, name: str, uid: str) -> bool:
        from sqlalchemy import select

        from hr_console.store.models import Notice, NoticeReceipt

        with self.system.store.session() as s:
            row = s.execute(select(NoticeReceipt).join(Notice, Notice.id == NoticeReceipt.notice_id)
                            .where(Notice.uid == uid,
                                   NoticeReceipt.employee_id == self.employee(name))).scalar_one()
            return row.acknowledged_at is not None

    def message_states(self, sender: str) -> dict[str, str]:
        from sqlalchemy import select

        from hr_console.store.models import Message

        with self.system.store.session() as s:
            rows = s.execute(select(Message.client_id, Message.state)
                             .where(Message.sender_id == self.employee(sender))).all()
            return {r[0]: r[1] for r in rows}

    def reject_held(self, reason: str) -> int:
        """HR refuses everything held, with a reason the sender reads on the kiosk."""
        from sqlalchemy import select

        from hr_console.services import messaging
        from hr_console.store.models import Message

        with self.system.store.session() as s:
            ids = s.execute(select(Message.id).where(Message.state == "held")).scalars().all()
            for mid in ids:
                messaging.reject(s, mid, reason, actor="hr")
        return len(ids)

    def retract(self, client_id: str, reason: str = "") -> None:
        """HR takes back a message already delivered."""
        from sqlalchemy import select

        from hr_console.services import messaging
        from hr_console.store.models import Message

        with self.system.store.session() as s:
            mid = s.execute(select(Message.id).where(Message.client_id == client_id)).scalar_one()
            messaging.retract(s, mid, reason, actor="hr")

    def lock(self, name: str, minutes: int = 15) -> None:
        """The badge locked by earlier wrong PINs (the real lockout is walked in French)."""
        import datetime as dt

        from hr_console.store.models import Employee, utcnow

        with self.system.store.session() as s:
            row = s.get(Employee, self.employee(name))
            row.locked_until, row.failed_logins = utcnow() + dt.timedelta(minutes=minutes), 0

    def unlock(self, name: str) -> None:
        from hr_console.store.models import Employee

        with self.system.store.session() as s:
            row = s.get(Employee, self.employee(name))
            row.locked_until, row.failed_logins = None, 0

    def make_terminal_wait(self, terminal: str, seconds: int) -> None:
        """The terminal has just had too many unknown badges or wrong PINs."""
        import datetime as dt

        from sqlalchemy import select

        from hr_console.services import sessions, throttle
        from hr_console.store.models import Terminal, Throttle, utcnow

        with self.system.store.session() as s:
            term = s.execute(select(Terminal).where(Terminal.name == terminal)).scalar_one()
            key = sessions.throttle_key(term)
            throttle.clear(s, key)
            s.add(Throttle(key=key, failures=9, last_failure_at=utcnow(),
                           wait_until=utcnow() + dt.timedelta(seconds=seconds)))

    def forget_misses(self, terminal: str) -> None:
        from sqlalchemy import select

        from hr_console.services import sessions, throttle
        from hr_console.store.models import Terminal

        with self.system.store.session() as s:
            term = s.execute(select(Terminal).where(Terminal.name == terminal)).scalar_one()
            throttle.clear(s, sessions.throttle_key(term))

    def serve_console(self) -> str:
        """The console on this system's database, for the kiosk API; its base URL."""
        from hr_console.web import create_app
        from tests.served import served

        app = create_app(self.system.cfg, {"TESTING": True, "RATELIMIT_ENABLED": False})
        self._console = served(app)
        return self._console.__enter__()

    def close(self) -> None:
        console = getattr(self, "_console", None)
        if console is not None:
            console.__exit__(None, None, None)
        self.system.close()


# --- the driver ---------------------------------------------------------------------------------


class WalkFailed(AssertionError):
    pass


class Driver:
    def __init__(self, app: Any, back: Backstage, cut: Any, size: str, shots: Path | None) -> None:
        self.app, self.back, self.cut, self.size, self.shots = app, back, cut, size, shots
        self.result: dict[str, Any] = {"size": size, "steps": [], "shots": [], "checks": {}}
        self.lang = "fr"
        self.away = 6.0
        self.met_at = 0.0
        self.t: Callable[[str], str] = lambda s: s

    # --- time and frames ---

    async def frames(self, n: int = 2) -> None:
        for _ in range(n):
            await asyncio.sleep(1 / 50)

    async def until(self, what: str, cond: Callable[[], Any], timeout: float = 20.0,
                    present: bool = False) -> Any:
        """Wait for ``cond``; ``present``: the person stays at the terminal meanwhile (a touch
        on their name every few seconds), so a long wait is not an automatic logout."""
        deadline = time.monotonic() + timeout
        nudge = time.monotonic() + 2
        while time.monotonic() < deadline:
            value = cond()
            if value:
                self.met_at = time.perf_counter()
                await self.frames(2)
                return value
            if present and time.monotonic() > nudge and self.app.kiosk.session is not None:
                await self.tap(self.app.root.ids.person)
                nudge = time.monotonic() + 2
            await asyncio.sleep(0.05)
        raise WalkFailed(f"timed out after {timeout}s waiting for: {what} "
                         f"(screen {self.app.current}, online {self.app.kiosk.online})")

    def step(self, text: str, **data: Any) -> None:
        self.result["steps"].append({"t": round(time.perf_counter() - T0, 2), "step": text, **data})
        print(f"[{time.perf_counter() - T0:6.1f}s] {text}", flush=True)

    def check(self, name: str, value: Any) -> None:
        self.result["checks"][name] = value

    # --- finding and pressing real widgets ---

    def screen(self, name: str | None = None) -> Any:
        return self.app.sm.get_screen(name or self.app.current)

    def walk_widgets(self, root: Any = None) -> Iterator[Any]:
        from kivy.core.window import Window

        # The current screen first: right after a switch it may not be in the window yet.
        stack = [root] if root is not None else list(Window.children) + [self.app.sm.current_screen]
        while stack:
            w = stack.pop()
            yield w
            stack.extend(w.children)

    def find(self, pred: Callable[[Any], bool], root: Any = None, what: str = "") -> Any:
        for w in self.walk_widgets(root):
            if pred(w):
                return w
        raise WalkFailed(f"no such widget: {what} on {self.app.current}")

    def key(self, kb: Any, ch: str) -> Any:
        return self.find(lambda w: type(w).__name__ == "KeyButton" and w.key == ch, root=kb,
                         what=f"key {ch!r}")

    def button(self, text: str, root: Any = None) -> Any:
        from kiosk_app.ui.widgets import IconButton

        try:
            return self.find(lambda w: isinstance(w, IconButton) and w.text == text
                             and w.get_root_window() is not None and w.opacity > 0, root)
        except WalkFailed:
            raise WalkFailed(f"no visible button {text!r} on {self.app.current}") from None

    def _visible(self, w: Any) -> None:
        if w.disabled:
            raise WalkFailed(f"{w} is disabled")
        node = w
        while node is not None and node is not node.parent:
            if getattr(node, "opacity", 1) == 0:
                raise WalkFailed(f"{w} is hidden")
            node = node.parent

    async def recycled(self, rv: Any, what: str, **fields: Any) -> Any:
        """The widget showing the row of RecycleView ``rv`` whose data has these ``fields``,
        scrolled into view first: a recycled list makes widgets only for the rows in view."""
        index = next((i for i, row in enumerate(rv.data)
                      if all(row.get(k) == v for k, v in fields.items())), None)
        if index is None:
            raise WalkFailed(f"no such row: {what} on {self.app.current}")
        for _ in range(5):
            view = rv.view_adapter.get_visible_view(index)
            if view is not None:
                return view
            content, where = rv.children[0].height, rv.layout_manager.view_opts[index]
            hidden = content - rv.height
            if hidden > 0:  # the row's centre in the middle of the view
                middle = where["pos"][1] + where["size"][1] / 2 - rv.height / 2
                rv.scroll_y = max(0.0, min(1.0, middle / hidden))
            await self.frames(3)
        raise WalkFailed(f"row {what} never came into view on {self.app.current}")

    async def scroll_into_view(self, w: Any) -> None:
        from kivy.uix.scrollview import ScrollView

        node = w.parent
        while node is not None and node is not node.parent:
            if isinstance(node, ScrollView):
                x, y = w.to_window(*w.center)
                left, bottom = node.to_window(node.x, node.y)
                if not (left <= x <= left + node.width and bottom <= y <= bottom + node.height):
                    node.scroll_to(w, padding=10, animate=False)
                    await self.frames(3)
            node = node.parent

    async def tap(self, w: Any, what: str = "") -> None:
        from kivy.tests.common import UnitTestTouch

        self._visible(w)
        await self.scroll_into_view(w)
        x, y = w.to_window(*w.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        await self.frames(1)
        touch.touch_up()
        await self.frames(2)
        if what:
            self.step(f"tap {what}")

    async def drag(self, points: list[tuple[float, float]]) -> None:
        from kivy.tests.common import UnitTestTouch

        touch = UnitTestTouch(*points[0])
        touch.touch_down()
        for i, (x, y) in enumerate(points[1:]):
            touch.touch_move(x, y)
            if i % 8 == 7:  # a finger moves faster than a software-rendered frame
                await asyncio.sleep(0)
        touch.touch_up()
        await self.frames(1)

    async def badge(self, code: str) -> None:
        """As a badge reader does: the characters, then Enter, in a few milliseconds."""
        from kivy.core.window import Window

        for ch in code:
            Window.dispatch("on_textinput", ch)
        Window.dispatch("on_key_down", 13, 40, None, [])
        Window.dispatch("on_key_up", 13, 40)
        await self.frames(1)
        self.step(f"badge {code}")

    async def shot(self, name: str) -> None:
        await self.frames(4)
        self.inspect(name)
        if not self.shots:
            return
        path = self.shots / f"kiosk-{self.size}-{self.lang}-{name}.png"
        self.app.screenshot(path)
        self.result["shots"].append(path.name)

    def on_glass(self) -> Iterator[Any]:
        """The widgets a person can see now: in the window, not hidden, not off the edge."""
        from kivy.core.window import Window

        for w in self.walk_widgets():
            try:
                self._visible(w)
            except WalkFailed:
                continue
            if w.get_root_window() is None or w.width <= 1 or w.height <= 1:
                continue
            x, y = w.to_window(*w.center)
            if 0 <= x <= Window.width and 0 <= y <= Window.height:
                yield w

    def inspect(self, name: str) -> None:
        """What a person would complain about on this screen: a touch target under 48 dp,
        a word of the interface cut short with an ellipsis."""
        from kivy.metrics import dp
        from kivy.uix.behaviors import ButtonBehavior
        from kivy.uix.label import Label

        from kiosk_app.ui import theme

        small, cut, seen = [], [], 0
        for w in self.on_glass():
            seen += 1
            if isinstance(w, ButtonBehavior) and min(w.size) < dp(theme.TARGET) - 0.5:
                small.append(f"{type(w).__name__} {getattr(w, 'text', '')!r} "
                             f"{int(w.width)}x{int(w.height)}")
            if isinstance(w, Label) and w.shorten and w.text and w.text_size[0]:
                need = w._label.get_extents(w.text.split("\n")[0])[0]
                if need > w.text_size[0] + 1:
                    cut.append(w.text)
        key = f"{self.lang}-{name}"
        self.result.setdefault("small_targets", {})[key] = small
        self.result.setdefault("cut_texts", {})[key] = cut
        self.result.setdefault("inspected", {})[key] = seen

    def texts(self) -> list[str]:
        """Every text on the window, screens not shown included."""
        from kivy.uix.label import Label

        out = []
        for screen in self.app.sm.screens:
            out += [w.text for w in self.walk_widgets(screen) if isinstance(w, Label) and w.text]
        out += [w.text for w in self.walk_widgets() if isinstance(w, Label) and w.text]
        return out

    # --- walking away ---

    async def walk_away(self, shot: str = "") -> tuple[float, float]:
        """Nobody touches the glass: the warning, then the automatic logout. The timeout is
        short only now (a loaded test machine can take seconds per frame elsewhere);
        returns the seconds to the warning and to the logout."""
        k, watch = self.app.kiosk, self.app.kiosk.watch
        normal = watch.timeout, watch.warning
        warned: list[float] = []

        def on_warning(_k: Any, on: bool) -> None:
            if on and not warned:
                warned.append(time.perf_counter())

        k.bind(warning=on_warning)
        watch.timeout, watch.warning = self.away, self.away / 2
        t0 = time.perf_counter()
        try:
            await self.until("the logout warning", lambda: k.warning or k.session is None,
                             self.away + 20)
            if shot and k.warning:
                await self.shot(shot)
            await self.until("automatic logout", lambda: k.session is None
                             and self.app.current == "idle", self.away + 20)
        finally:
            watch.timeout, watch.warning = normal
            k.unbind(warning=on_warning)
        if not warned:
            raise WalkFailed("logged out without a warning first")
        return round(warned[0] - t0, 1), round(time.perf_counter() - t0, 1)

    # --- network ---

    async def offline(self) -> None:
        self.cut.cut()
        await self.until("the kiosk sees it is offline", lambda: not self.app.kiosk.online, 20)
        self.step("network cut")

    async def online(self) -> None:
        self.cut.restore()
        await self.until("the kiosk is back online", lambda: self.app.kiosk.online, 30,
                         present=True)
        self.step("network back")


# --- the walks ------------------------------------------------------------------------------------


def _circle(cx: float, cy: float, r: float, n: int = 40) -> list[tuple[float, float]]:
    return [(cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n))
            for i in range(n + 1)]


async def _draw_something(d: Driver) -> None:
    pad = d.screen("drawing").ids.pad
    x0, y0 = pad.to_window(pad.x, pad.y)
    w, h = pad.width, pad.height
    await d.drag(_circle(x0 + w * 0.35, y0 + h * 0.5, min(w, h) * 0.3))
    await d.tap(d.find(lambda s: getattr(s, "value", None) == "#d32f2f"
                       and s.__class__.__name__ == "Swatch"), "red")
    await d.drag([(x0 + w * (0.55 + 0.02 * i), y0 + h * (0.2 + 0.03 * i)) for i in range(20)])
    await d.drag([(x0 + w * 0.1, y0 + h * 0.9), (x0 + w * 0.9, y0 + h * 0.1)])
    await d.tap(d.button(d.t("Undo")), "undo")
    await d.drag([(x0 + w * 0.6, y0 + h * 0.75), (x0 + w * 0.85, y0 + h * 0.75),
                  (x0 + w * 0.78, y0 + h * 0.85)])


def _arrived(back: Backstage, link_events: list, msg_id: str) -> Any:
    return next((e for e in link_events if getattr(e, "message", {}).get("msg") == msg_id), None)


class Inbox:
    """Everything the other terminal received, collected from its event queue."""

    def __init__(self, link: Any) -> None:
        self.link = link
        self.events: list[Any] = []

    def poll(self) -> list[Any]:
        import queue

        while True:
            try:
                self.events.append(self.link.events.get_nowait())
            except queue.Empty:
                return self.events

    def message(self, msg_id: str) -> dict | None:
        from kiosk_app.link import events as ev

        for e in self.poll():
            if isinstance(e, ev.MessageArrived) and e.message.get("msg") == msg_id:
                return e.message
        return None

    def texts(self) -> list[str]:
        from kiosk_app.link import events as ev

        return [e.message.get("text", "") for e in self.poll() if isinstance(e, ev.MessageArrived)]


def _t(lang: str) -> Callable[[str], str]:
    from kiosk_app.ui.i18n import catalogue

    return catalogue(lang).gettext


async def walk_fr(d: Driver) -> None:
    """Badge in, read, answer with a quick reply, photo, drawing, urgent notice, notices,
    auto-logout, same badge twice: Sophie, in French."""
    app, back, k = d.app, d.back, d.app.kiosk
    d.lang, d.t = "fr", _t("fr")
    karim_in = back.other_badge_in("Karim Benali")
    assert karim_in is not None
    inbox = Inbox(back.other)
    from kiosk_app import media

    back.send_from_other("Sophie Martin", text="Bonjour Sophie, la palette du quai 2 est abîmée. "
                         "Je la mets de côté ?")
    back.send_from_other("Sophie Martin", photo=media.normalise_photo(
        (Path(__file__).resolve().parents[2] / "assets/demo_photos/palette.jpg").read_bytes()))
    back.send_from_other("Sophie Martin", drawing={"w": 400, "h": 300, "strokes": [
        {"c": "#1565c0", "w": 8, "p": [40, 250, 120, 60, 200, 250]},
        {"c": "#d32f2f", "w": 12, "p": [260, 80, 360, 220]}, {"c": "#d32f2f", "w": 12,
                                                              "p": [360, 80, 260, 220]}]})
    await d.until("Karim's messages are held", lambda: len(back.message_states("Karim Benali")) == 3)
    back.approve_held()
    urgent = back.notice("Exercice incendie à 14 h", "Exercice d'évacuation à 14 h 00. Arrêtez "
                         "les machines au signal et rejoignez le point de rassemblement B.",
                         urgent=True)
    epi = back.notice("Nouvelles consignes EPI", "À partir de lundi, les lunettes de protection "
                      "sont obligatoires sur toutes les lignes.", ack=True)
    back.notice("Cantine fermée vendredi", "La cantine sera fermée vendredi midi pour travaux.")
    d.check("photo_source_bytes", len((Path(__file__).resolve().parents[2]
                                        / "assets/demo_photos/palette.jpg").read_bytes()))

    await d.until("idle", lambda: app.current == "idle")
    await d.shot("idle")

    # An unknown badge: a clear message, nothing else.
    await d.badge("0000042")
    await d.until("unknown badge message", lambda: d.screen("idle").notice_key == "bad_badge")
    d.check("unknown_badge_message", d.screen("idle").message_text("bad_badge"))

    # Julie has a PIN: the pad; wrong PINs until the badge locks.
    await d.badge(back.badge("Julie Moreau"))
    await d.until("PIN pad", lambda: app.current == "pin")
    await d.shot("pin")
    pad = d.screen("pin").ids.pad
    failures = 0
    while app.current != "locked" and failures < 8:
        for digit in "9999":
            await d.tap(d.find(lambda w, dg=digit: type(w).__name__ == "PinKey" and w.text == dg, root=pad))
        await d.tap(d.button("OK", d.screen("pin")))
        failures += 1
        await d.until("an answer to the PIN",
                      lambda: (d.screen("pin").error == "bad_pin" and not k.busy) or app.current == "locked")
        if failures == 1:
            await d.shot("pin-error")
    d.check("pin_failures_to_lock", failures)
    d.check("locked_until", d.screen("locked").until)
    await d.shot("locked")
    await d.tap(d.button("OK", d.screen("locked")), "OK on locked")
    await d.until("idle after locked", lambda: app.current == "idle")

    # The terminal had too many misses: whoever badges next is asked to wait, with a countdown.
    back.make_terminal_wait("kiosk-1", 40)
    await d.badge(back.badge("Sophie Martin"))
    await d.until("wait message", lambda: d.screen("idle").notice_key == "wait")
    d.check("wait_message", d.screen("idle").message_text("wait", d.screen("idle").wait_left))
    await d.shot("idle-wait")
    back.forget_misses("kiosk-1")
    d.screen("idle").say("")

    # Sophie badges in: the urgent notice first, then Home, then a quick reply.
    taps0 = app.taps
    t_badge = time.perf_counter()
    await d.badge(back.badge("Sophie Martin"))
    await d.until("urgent notice", lambda: app.current == "urgent")
    d.check("badge_to_first_screen_s", round(time.perf_counter() - t_badge, 3))
    d.check("name_on_top_bar", app.root.ids.person.text)
    await d.shot("urgent")
    await d.tap(d.screen("urgent").ids.ack, "J'ai lu")
    await d.until("home", lambda: app.current == "home")
    await d.until("Karim's messages on Home", lambda: k.session.conversation(
        back.employee("Karim Benali")).last is not None)
    await d.until("the urgent acknowledgement reached the relay", lambda: back.acknowledged(
        "Sophie Martin", urgent))
    d.check("home_unread", k.session.unread_total())
    await d.shot("home")
    row = await d.recycled(d.screen("home").ids.list, "Karim's row",
                           contact_id=back.employee("Karim Benali"))
    d.check("home_row_unread", row.unread)
    await d.tap(row, "Karim's conversation")
    await d.until("conversation", lambda: app.current == "conversation")
    replies = d.screen("conversation").ids.replies.children[::-1]
    d.check("quick_replies", [b.text for b in replies])
    await d.tap(replies[0], "quick reply")
    d.check("taps_badge_to_quick_reply", app.taps - taps0)
    quick = next(m for m in reversed(list(k.session.messages.values())) if m.mine)
    await d.until("quick reply delivered", lambda: quick.state in ("delivered", "read"), present=True)
    await d.until("Karim's kiosk got it", lambda: inbox.message(quick.id), present=True)
    d.check("quick_reply_text_received", inbox.message(quick.id)["text"])
    await d.until("Karim's messages marked read", lambda: all(
        v == "read" for v in back.message_states("Karim Benali").values()), present=True)
    back.other.mark_read(quick.id)
    await d.until("read by Karim", lambda: quick.state == "read", present=True)
    await d.shot("conversation")

    # The photo Karim sent, enlarged.
    thumb = d.find(lambda w: w.__class__.__name__ == "PhotoThumb" and w.texture is not None,
                   d.screen("conversation"))
    await d.tap(thumb, "photo thumbnail")
    await d.until("viewer", lambda: app.current == "viewer")
    await d.shot("viewer")
    await d.tap(d.screen("viewer").ids.close, "close")

    # Typing on the AZERTY keyboard.
    await d.tap(d.screen("conversation").ids.write, "Écrire")
    await d.until("compose", lambda: app.current == "compose")
    kb = d.screen("compose").ids.keyboard
    d.check("keyboard_first_row", "".join(kb.rows[0][:6]))
    for ch in "merci":
        await d.tap(d.key(kb, ch))
    await d.tap(d.key(kb, " "))
    for ch in "çà":
        await d.tap(d.key(kb, ch))
    d.check("typed", d.screen("compose").text)
    await d.shot("compose")
    await d.tap(d.screen("compose").ids.send, "Envoyer")
    await d.until("conversation", lambda: app.current == "conversation")

    # A photo from the image folder: the trap first, then a real one.
    await d.tap(d.screen("conversation").ids.photo, "Photo")
    await d.until("photo grid", lambda: app.current == "photos")
    await d.until("thumbnails", lambda: len(d.screen("photos").ids.grid.children) == 3 and all(
        t.texture is not None for t in d.screen("photos").ids.grid.children))
    await d.shot("photos")
    trap = d.find(lambda w: getattr(w, "path", "").endswith("zz-piege.png"))
    await d.tap(trap, "the broken file")
    await d.until("a clear refusal", lambda: d.screen("photos").error)
    d.check("photo_error", d.screen("photos").ids.error.text)
    await d.shot("photo-error")
    big = d.find(lambda w: getattr(w, "path", "").endswith("quai.jpg"))
    t_photo = time.perf_counter()
    await d.tap(big, "the 12 MP photo")
    await d.until("preview", lambda: d.screen("photos").mode == "preview")
    d.check("photo_prepare_s", round(time.perf_counter() - t_photo, 3))
    d.check("photo_sent_bytes", len(d.screen("photos").jpeg))
    await d.shot("photo-preview")
    await d.tap(d.screen("photos").ids.send, "Envoyer la photo")
    await d.until("conversation", lambda: app.current == "conversation")
    photo_msg = next(m for m in reversed(list(k.session.messages.values())) if m.kind == "photo")
    await d.until("photo delivered", lambda: photo_msg.state in ("delivered", "read"), present=True)
    got = await d.until("Karim got the photo", lambda: inbox.message(photo_msg.id), present=True)
    received = base64.b64decode(got.get("image", ""))
    d.check("photo_received_bytes", len(received))
    d.check("photo_received_jpeg", received[:3] == b"\xff\xd8\xff")

    # A drawing.
    await d.tap(d.screen("conversation").ids.drawing, "Dessin")
    await d.until("drawing", lambda: app.current == "drawing")
    await _draw_something(d)
    d.check("drawing_strokes", len(d.screen("drawing").ids.pad.strokes))
    await d.shot("drawing")
    sent_drawing = d.screen("drawing").ids.pad.to_drawing()
    d.check("drawing_payload_bytes", len(json.dumps(sent_drawing, separators=(",", ":"))))
    await d.tap(d.screen("drawing").ids.send, "Envoyer le dessin")
    await d.until("conversation", lambda: app.current == "conversation")
    drawing_msg = next(m for m in reversed(list(k.session.messages.values())) if m.kind == "drawing")
    await d.until("drawing delivered", lambda: drawing_msg.state in ("delivered", "read"), present=True)
    got = await d.until("Karim got the drawing", lambda: inbox.message(drawing_msg.id), present=True)
    d.check("drawing_received_equal", got["drawing"] == sent_drawing)
    await d.shot("conversation-sent")

    # A word on HR's keyword list: held even for Sophie, then refused with a reason.
    await d.tap(d.screen("conversation").ids.write, "Écrire")
    await d.until("compose", lambda: app.current == "compose")
    for ch in "grève":
        await d.tap(d.key(d.screen("compose").ids.keyboard, ch))
    await d.tap(d.screen("compose").ids.send, "Envoyer (mot surveillé)")
    await d.until("conversation", lambda: app.current == "conversation")
    flagged = next(m for m in reversed(list(k.session.messages.values())) if m.mine)
    await d.until("held by the keyword filter", lambda: flagged.state == "held", present=True)
    d.check("keyword_state", _state_text(d, flagged.id))
    await d.shot("conversation-held")
    back.reject_held("Parlez-en à votre responsable.")
    await d.until("refused by HR", lambda: flagged.state == "rejected", present=True)
    d.check("keyword_refused", _state_text(d, flagged.id))
    d.check("keyword_in_db", back.message_states("Sophie Martin").get(flagged.id))
    d.check("keyword_not_at_karim", inbox.message(flagged.id) is None)
    await d.shot("conversation-refused")

    # Notices: list, detail, acknowledge.
    await d.tap(d.screen("conversation").ids.back, "Retour")
    await d.tap(d.screen("home").ids.new_message, "Nouveau message")
    await d.until("contacts", lambda: app.current == "contacts")
    d.check("contacts", sorted(c["text"].split("\n")[0] for c in d.screen("contacts").ids.grid.data
                               if c["contact_id"]))
    await d.shot("contacts")
    await d.tap(d.button(d.t("Back")), "Retour")
    await d.tap(d.screen("home").ids.notices, "Avis")
    await d.until("notices", lambda: app.current == "notices")
    await d.shot("notices")
    row = d.find(lambda w: w.__class__.__name__ == "NoticeRow" and w.uid == epi)
    await d.tap(row, "notice EPI")
    await d.until("notice", lambda: app.current == "notice")
    await d.shot("notice")
    await d.tap(d.screen("notice").ids.ack, "J'ai lu")
    await d.until("EPI acknowledged in the database",
                  lambda: back.acknowledged("Sophie Martin", epi), present=True)
    d.check("notice_acknowledged", True)

    # Walk away: the warning, then the automatic logout, and nothing of Sophie left.
    personal = ["Sophie", "Karim", "palette", "Merci", "EPI", "incendie", "Exercice"]
    warned, gone = await d.walk_away("logout-warning")
    d.check("away_timeout_s", d.away)
    d.check("warning_after_s", warned)
    d.check("auto_logout_after_s", gone)
    d.check("idle_message_after_auto_logout", d.screen("idle").notice_key)
    await d.frames(3)
    leaks = [t for t in d.texts() if any(p.lower() in t.lower() for p in personal)]
    d.check("leaks_after_auto_logout", leaks)
    d.check("link_sid_after_logout", back.system and app.kiosk.link.sid)
    d.check("sounds", list(k.sounds.played))

    # The same badge twice: in, then out.
    await d.badge(back.badge("Sophie Martin"))
    await d.until("home again", lambda: app.current == "home")
    await d.badge(back.badge("Sophie Martin"))
    await d.until("logged out by the same badge", lambda: k.session is None and app.current == "idle")
    d.check("same_badge_logs_out", True)

    # Terminer.
    await d.badge(back.badge("Sophie Martin"))
    await d.until("home again", lambda: app.current == "home")
    await d.tap(app.root.ids.logout, "Terminer")
    await d.until("logged out by Terminer", lambda: k.session is None and app.current == "idle")
    d.check("terminer_logs_out", True)
    d.check("karim_texts", inbox.texts())
    d.check("db_sophie_states", sorted(set(back.message_states("Sophie Martin").values())
                                       - {"rejected"}))
    d.inbox = inbox


async def walk_offline(d: Driver) -> None:
    """The same walk while the network is down: everything waits in the outbox and leaves
    when the link returns; nothing is lost, not even a message typed just before an
    automatic logout."""
    app, back, k = d.app, d.back, d.app.kiosk
    d.lang, d.t = "fr", _t("fr")
    inbox: Inbox = getattr(d, "inbox", None) or Inbox(back.other)
    if not back.other.sid:
        back.other_badge_in("Karim Benali")
    ack_uid = back.notice("Livraison retardée", "Le camion de 10 h arrive à 11 h 30.", ack=True)
    await d.badge(back.badge("Sophie Martin"))
    await d.until("home", lambda: app.current == "home")
    await d.until("the new notice is there", lambda: ack_uid in k.session.notices)
    await d.offline()
    await d.shot("offline")
    karim = back.employee("Karim Benali")
    await d.tap(await d.recycled(d.screen("home").ids.list, "Karim's row", contact_id=karim),
                "Karim's conversation")
    await d.until("conversation", lambda: app.current == "conversation")
    await d.tap(d.screen("conversation").ids.replies.children[-2], "quick reply (offline)")
    await d.tap(d.screen("conversation").ids.write, "Écrire")
    kb = d.screen("compose").ids.keyboard
    for ch in "ok":
        await d.tap(d.key(kb, ch))
    await d.tap(d.screen("compose").ids.send, "Envoyer (offline)")
    await d.tap(d.screen("conversation").ids.photo, "Photo (offline)")
    await d.until("thumbnails", lambda: len(d.screen("photos").ids.grid.children) == 3)
    await d.tap(d.find(lambda w: getattr(w, "path", "").endswith("machine.jpg")), "a photo")
    await d.until("preview", lambda: d.screen("photos").mode == "preview")
    await d.tap(d.screen("photos").ids.send, "Envoyer la photo (offline)")
    await d.tap(d.screen("conversation").ids.drawing, "Dessin (offline)")
    await _draw_something(d)
    await d.tap(d.screen("drawing").ids.send, "Envoyer le dessin (offline)")
    await d.until("conversation", lambda: app.current == "conversation")
    sent = [m for m in k.session.messages.values() if m.mine and m.state == "outbox"]
    d.check("offline_outbox_states", [m.state for m in sent])
    d.check("offline_outbox_kinds", sorted(m.kind for m in sent))
    d.check("offline_outbox_count", k.link.outbox.pending_count())
    await d.shot("conversation-offline")
    await d.tap(d.screen("conversation").ids.back, "Retour")
    await d.tap(d.screen("home").ids.notices, "Avis")
    await d.tap(d.find(lambda w: w.__class__.__name__ == "NoticeRow" and w.uid == ack_uid), "notice")
    await d.tap(d.screen("notice").ids.ack, "J'ai lu (offline)")
    await d.online()
    ids = [m.id for m in sent]
    await d.until("all offline messages delivered", lambda: all(
        k.session.messages[i].state in ("delivered", "read") for i in ids), 60, present=True)
    await d.until("Karim got them all", lambda: all(inbox.message(i) for i in ids), 30, present=True)
    await d.until("the offline acknowledgement arrived", lambda: back.acknowledged(
        "Sophie Martin", ack_uid), 30, present=True)
    d.check("offline_delivered", len(ids))
    in_db = back.message_states("Sophie Martin")
    d.check("offline_db_states", sorted({in_db.get(i, "missing") for i in ids}))
    d.check("offline_ack_arrived", True)

    # Typed offline, then the person walks away: the message still leaves later.
    await d.offline()
    await d.tap(d.button(d.t("Back")), "Retour")
    await d.tap(d.screen("notices").ids.get("back") or d.button(d.t("Back")), "Retour")
    await d.until("home", lambda: app.current == "home")
    await d.tap(await d.recycled(d.screen("home").ids.list, "Karim's row", contact_id=karim),
                "Karim's conversation")
    await d.tap(d.screen("conversation").ids.replies.children[-3], "quick reply before leaving")
    last_id = next(m.id for m in reversed(list(k.session.messages.values())) if m.mine)
    await d.walk_away()
    d.check("outbox_after_logout_offline", k.link.outbox.pending_count())
    await d.online()
    await d.until("the message typed before the logout arrived", lambda: inbox.message(last_id), 60)
    await d.until("the outbox is empty", lambda: k.link.outbox.pending_count() == 0, 30)
    d.check("late_message_arrived", True)
    d.check("duplicates_at_karim", len(inbox.texts()) - len(set(
        e.message["msg"] for e in inbox.poll() if hasattr(e, "message"))))


async def walk_en(d: Driver) -> None:
    """The same screens in English (Amina, whose language is English), and the states a sent
    message can end in: waiting for HR, approved and delivered, refused with HR's reason; and
    a message HR withdraws after delivery."""
    app, back, k = d.app, d.back, d.app.kiosk
    from kiosk_app import media
    from kiosk_app.ui.i18n import tr

    d.lang, d.t = "en", _t("en")
    k.config = dataclasses.replace(k.config, language="en")
    tr.switch("en")
    back.other_badge_in("Thomas Petit")
    inbox = Inbox(back.other)
    root = Path(__file__).resolve().parents[2]
    back.send_from_other("Amina Diallo", text="Hi Amina, can you check dock 3 before the truck "
                         "arrives?")
    back.send_from_other("Amina Diallo", photo=media.normalise_photo(
        (root / "assets/demo_photos/fuite.jpg").read_bytes()))
    back.send_from_other("Amina Diallo", drawing={"w": 400, "h": 300, "strokes": [
        {"c": "#2e7d32", "w": 10, "p": [50, 150, 150, 250, 350, 50]}]})
    forklift = back.notice("Forklift inspection today", "Every forklift is inspected before "
                           "10:00. Report any fault to your team lead.", urgent=True)
    glasses = back.notice("Safety glasses", "From Monday, safety glasses are required on every "
                          "line.", ack=True)
    await d.until("idle", lambda: app.current == "idle")
    await d.shot("idle")

    # The PIN pad, a wrong PIN, cancel; then a badge that is locked.
    back.unlock("Julie Moreau")
    await d.badge(back.badge("Julie Moreau"))
    await d.until("PIN pad", lambda: app.current == "pin")
    await d.shot("pin")
    pad = d.screen("pin").ids.pad
    for digit in "1111":
        await d.tap(d.find(lambda w, dg=digit: type(w).__name__ == "PinKey" and w.text == dg,
                           root=pad))
    await d.tap(d.button("OK", d.screen("pin")), "OK (wrong PIN)")
    await d.until("wrong PIN", lambda: d.screen("pin").error == "bad_pin" and not k.busy)
    await d.shot("pin-error")
    await d.tap(d.button(d.t("Cancel"), d.screen("pin")), "Cancel")
    await d.until("idle after cancel", lambda: app.current == "idle")
    back.lock("Julie Moreau")
    await d.badge(back.badge("Julie Moreau"))
    await d.until("locked", lambda: app.current == "locked")
    d.check("en_locked_until", d.screen("locked").until)
    await d.shot("locked")
    await d.tap(d.button(d.t("OK"), d.screen("locked")), "OK")
    await d.until("idle after locked", lambda: app.current == "idle")
    back.unlock("Julie Moreau")

    # Amina: urgent notice(s) first, then Home.
    taps0 = app.taps
    await d.badge(back.badge("Amina Diallo"))
    await d.until("urgent notice", lambda: app.current == "urgent")
    d.check("en_language_after_badge", tr.lang)
    d.check("en_name_on_top_bar", app.root.ids.person.text)
    await d.shot("urgent")
    acks = 0
    while app.current == "urgent" and acks < 5:
        await d.tap(d.screen("urgent").ids.ack, "I have read it")
        acks += 1
    await d.until("home", lambda: app.current == "home")
    thomas = back.employee("Thomas Petit")
    await d.until("Thomas's messages", lambda: len(k.session.conversation(thomas).messages) >= 3)
    await d.until("forklift acknowledged in the database",
                  lambda: back.acknowledged("Amina Diallo", forklift), present=True)
    d.check("en_home_unread", k.session.unread_total())
    await d.shot("home")

    # A quick reply: Amina's team is moderated, so it waits for HR, then HR approves.
    await d.tap(await d.recycled(d.screen("home").ids.list, "Thomas's row", contact_id=thomas),
                "Thomas's conversation")
    await d.until("conversation", lambda: app.current == "conversation")
    await d.tap(d.screen("conversation").ids.replies.children[-1], "quick reply")
    d.check("en_taps_badge_to_quick_reply", app.taps - taps0)
    d.check("en_urgent_acks", acks)
    quick = next(m for m in reversed(list(k.session.messages.values())) if m.mine)
    d.check("en_quick_reply_text", quick.text)
    await d.until("waiting for HR", lambda: quick.state == "held", present=True)
    d.check("en_state_held", _state_text(d, quick.id))
    await d.shot("conversation-held")
    d.check("en_approved", back.approve_held())
    await d.until("delivered", lambda: quick.state in ("delivered", "read"), present=True)
    await d.until("Thomas's kiosk got it", lambda: inbox.message(quick.id), present=True)
    d.check("en_quick_reply_received", inbox.message(quick.id)["text"])
    await d.shot("conversation")

    # The photo Thomas sent, enlarged.
    await d.tap(d.find(lambda w: w.__class__.__name__ == "PhotoThumb" and w.texture is not None,
                       d.screen("conversation")), "photo")
    await d.until("viewer", lambda: app.current == "viewer")
    await d.shot("viewer")
    await d.tap(d.screen("viewer").ids.close, "Close")
    await d.until("conversation", lambda: app.current == "conversation")

    # Typed on the QWERTY keyboard; HR refuses it with a reason Amina reads.
    await d.tap(d.screen("conversation").ids.write, "Write")
    await d.until("compose", lambda: app.current == "compose")
    kb = d.screen("compose").ids.keyboard
    d.check("en_keyboard_first_row", "".join(kb.rows[0][:6]))
    for ch in "thanks":
        await d.tap(d.key(kb, ch))
    await d.shot("compose")
    await d.tap(d.screen("compose").ids.send, "Send")
    await d.until("conversation", lambda: app.current == "conversation")
    typed = next(m for m in reversed(list(k.session.messages.values())) if m.mine)
    await d.until("typed message held", lambda: typed.state == "held", present=True)
    back.reject_held("Please ask your team lead in person.")
    await d.until("refused by HR", lambda: typed.state == "rejected", present=True)
    d.check("en_state_rejected", _state_text(d, typed.id))
    d.check("en_rejected_in_db", back.message_states("Amina Diallo").get(typed.id))
    await d.shot("conversation-refused")

    # HR withdraws a message Thomas sent: it leaves Amina's screen.
    wrong = back.send_from_other("Amina Diallo", text="Wrong dock, sorry: ignore this one.")
    await d.until("Thomas's second message", lambda: wrong in k.session.messages, present=True)
    await d.until("shown", lambda: "Wrong dock" in " ".join(d.texts()), present=True)
    back.retract(wrong, "sent by mistake")
    await d.until("withdrawn from the screen", lambda: wrong not in k.session.messages
                  and "Wrong dock" not in " ".join(d.texts()), present=True)
    d.check("en_retracted_gone", True)

    # A photo from the folder (the trap refused), a drawing; HR approves both.
    await d.tap(d.screen("conversation").ids.photo, "Photo")
    await d.until("photo grid", lambda: app.current == "photos")
    await d.until("thumbnails", lambda: len(d.screen("photos").ids.grid.children) == 3 and all(
        t.texture is not None for t in d.screen("photos").ids.grid.children))
    await d.shot("photos")
    await d.tap(d.find(lambda w: getattr(w, "path", "").endswith("zz-piege.png")), "the trap")
    await d.until("a clear refusal", lambda: d.screen("photos").error)
    d.check("en_photo_error", d.screen("photos").ids.error.text)
    await d.shot("photo-error")
    await d.tap(d.find(lambda w: getattr(w, "path", "").endswith("machine.jpg")), "a photo")
    await d.until("preview", lambda: d.screen("photos").mode == "preview")
    await d.shot("photo-preview")
    await d.tap(d.screen("photos").ids.send, "Send photo")
    await d.until("conversation", lambda: app.current == "conversation")
    await d.tap(d.screen("conversation").ids.drawing, "Drawing")
    await d.until("drawing", lambda: app.current == "drawing")
    await _draw_something(d)
    await d.shot("drawing")
    await d.tap(d.screen("drawing").ids.send, "Send drawing")
    await d.until("conversation", lambda: app.current == "conversation")
    media_msgs = [m for m in k.session.conversation(thomas).messages
                  if m.mine and m.kind in ("photo", "drawing")]
    await d.until("photo and drawing held", lambda: all(m.state == "held" for m in media_msgs),
                  present=True)
    back.approve_held()
    await d.until("photo and drawing delivered", lambda: all(
        m.state in ("delivered", "read") for m in media_msgs), 30, present=True)
    await d.until("Thomas got them", lambda: all(inbox.message(m.id) for m in media_msgs),
                  present=True)
    d.check("en_media_received", sorted(inbox.message(m.id)["kind"] for m in media_msgs))
    await d.shot("conversation-sent")

    # New message, notices.
    await d.tap(d.screen("conversation").ids.back, "Back")
    await d.until("home", lambda: app.current == "home")
    await d.tap(d.screen("home").ids.new_message, "New message")
    await d.until("contacts", lambda: app.current == "contacts")
    d.check("en_contacts", sorted(c["text"].split("\n")[0]
                                  for c in d.screen("contacts").ids.grid.data if c["contact_id"]))
    await d.shot("contacts")
    await d.tap(d.button(d.t("Back")), "Back")
    await d.tap(d.screen("home").ids.notices, "Notices")
    await d.until("notices", lambda: app.current == "notices")
    await d.shot("notices")
    await d.tap(d.find(lambda w: w.__class__.__name__ == "NoticeRow" and w.uid == glasses),
                "Safety glasses")
    await d.until("notice", lambda: app.current == "notice")
    await d.shot("notice")
    await d.tap(d.screen("notice").ids.ack, "I have read it")
    await d.until("glasses acknowledged in the database",
                  lambda: back.acknowledged("Amina Diallo", glasses), present=True)
    d.check("en_notice_acknowledged", True)
    await d.tap(d.button(d.t("Back")), "Back")
    await d.until("notices", lambda: app.current == "notices")
    await d.tap(d.button(d.t("Back")), "Back")
    await d.until("home", lambda: app.current == "home")

    # Offline: the banner, a quick reply waits in the outbox, leaves when the link is back.
    await d.offline()
    await d.shot("offline")
    await d.tap(await d.recycled(d.screen("home").ids.list, "Thomas's row", contact_id=thomas),
                "Thomas's conversation")
    await d.tap(d.screen("conversation").ids.replies.children[-2], "quick reply (offline)")
    late = next(m for m in reversed(list(k.session.messages.values())) if m.mine)
    d.check("en_offline_state", late.state)
    await d.shot("conversation-offline")
    await d.online()
    await d.until("held after reconnect", lambda: late.state == "held", 30, present=True)
    back.approve_held()
    await d.until("Thomas got the offline reply", lambda: inbox.message(late.id), 30, present=True)
    d.check("en_offline_received", inbox.message(late.id)["text"])

    # Walk away.
    await d.walk_away("logout-warning")
    await d.frames(3)
    leaks = [t for t in d.texts() if any(p in t for p in ("Amina", "Thomas", "dock", "thanks",
                                                          "Thanks", "Forklift", "glasses"))]
    d.check("en_leaks_after_auto_logout", leaks)
    d.check("en_duplicates_at_thomas", len(inbox.texts()) - len(set(
        e.message["msg"] for e in inbox.poll() if hasattr(e, "message"))))
    k.config = dataclasses.replace(k.config, language="fr")
    tr.switch("fr")


def _state_text(d: Driver, msg_id: str) -> str:
    """The words under a sent bubble, as shown."""
    _row, state = d.screen("conversation")._bubbles[msg_id]
    return state.text


async def walk_bench(d: Driver) -> None:
    """For docs/benchmarks.md: badge-in to Home a few times, the memory at Home, the size of
    a typical drawing as sent (tests/kiosk/bench_kiosk.py runs it)."""
    app, back, k = d.app, d.back, d.app.kiosk
    d.lang, d.t = "fr", _t("fr")
    times = []
    for _ in range(5):
        await d.frames(10)
        t0 = time.perf_counter()
        await d.badge(back.badge("Thomas Petit"))
        await d.until("home", lambda: app.current == "home")
        times.append(round(d.met_at - t0, 3))
        d.check("rss_home_kb", _rss_kb())
        await d.tap(app.root.ids.logout)
        await d.until("idle", lambda: k.session is None and app.current == "idle")
    d.check("badge_to_home_s", times)
    await d.badge(back.badge("Thomas Petit"))
    await d.until("home", lambda: app.current == "home")
    lucas = back.employee("Lucas Bernard")
    await d.tap(await d.recycled(d.screen("home").ids.list, "Lucas's row", contact_id=lucas))
    await d.tap(d.screen("conversation").ids.drawing)
    await d.until("drawing", lambda: app.current == "drawing")
    await _draw_something(d)
    drawing = d.screen("drawing").ids.pad.to_drawing()
    d.check("drawing_strokes", len(drawing["strokes"]))
    d.check("drawing_points", sum(len(s["p"]) // 2 for s in drawing["strokes"]))
    d.check("drawing_payload_bytes", len(json.dumps(drawing, separators=(",", ":"))))
    d.check("rss_drawing_kb", _rss_kb())
    await d.tap(app.root.ids.logout)
    await d.until("idle", lambda: k.session is None)


async def walk_groups(d: Driver) -> None:
    """Workgroups in French and English (tests/kiosk/group_walk.py)."""
    from tests.kiosk.group_walk import walk_groups as walk

    await walk(d)


async def walk_alert(d: Driver) -> None:
    """Safety alerts in French and English (tests/kiosk/alert_walk.py)."""
    from tests.kiosk.alert_walk import walk_alert as walk

    await walk(d)


async def walk_supervisor(d: Driver) -> None:
    """A team lead's broadcast and tracking in French and English (supervisor_walk.py)."""
    from tests.kiosk.supervisor_walk import walk_supervisor as walk

    await walk(d)


async def walk_offshift(d: Driver) -> None:
    """The off-shift notice and greyed contacts in French and English (offshift_walk.py)."""
    from tests.kiosk.offshift_walk import walk_offshift as walk

    await walk(d)


async def walk_alert_idle(d: Driver) -> None:
    """The safety alert button on the idle screen, no badge (tests/kiosk/alert_idle_walk.py)."""
    from tests.kiosk.alert_idle_walk import walk_alert_idle as walk

    await walk(d)


async def walk_reminder(d: Driver) -> None:
    """Reminders until acknowledged in French and English (tests/kiosk/reminder_walk.py)."""
    from tests.kiosk.reminder_walk import walk_reminder as walk

    await walk(d)


async def walk_charter(d: Driver) -> None:
    """The messaging charter at badge-in and "How my messages are handled" in French and
    English (tests/kiosk/charter_walk.py)."""
    from tests.kiosk.charter_walk import walk_charter as walk

    await walk(d)


async def walk_listen(d: Driver) -> None:
    """Read aloud, a message and a notice, in French and English (tests/kiosk/listen_walk.py)."""
    from tests.kiosk.listen_walk import walk_listen as walk

    await walk(d)


async def walk_voice(d: Driver) -> None:
    """Voice messages played, recorded, sent and deleted, in French and English
    (tests/kiosk/voice_walk.py)."""
    from tests.kiosk.voice_walk import walk_voice as walk

    await walk(d)


async def walk_many(d: Driver) -> None:
    """A worker who may write to 160 people, in French and English (tests/kiosk/many_walk.py)."""
    from tests.kiosk.many_walk import walk_many as walk

    await walk(d)


WALKS = {"fr": walk_fr, "offline": walk_offline, "en": walk_en, "groups": walk_groups,
         "bench": walk_bench, "alert": walk_alert, "supervisor": walk_supervisor,
         "offshift": walk_offshift, "reminder": walk_reminder, "alert_idle": walk_alert_idle,
         "charter": walk_charter, "listen": walk_listen, "voice": walk_voice,
         "many": walk_many}
# Walks that read the console's kiosk API: the console is served for them (tests.served).
WITH_CONSOLE = frozenset({"supervisor", "alert_idle", "alert", "many"})


# --- running ------------------------------------------------------------------------------------


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class _Records(logging.Handler):
    """The relay's warnings and errors, kept for a failed walk's report: the relay runs
    in this process and its log goes nowhere else."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: collections.deque[str] = collections.deque(maxlen=40)

    def emit(self, record: logging.LogRecord) -> None:
        line = (f"{record.relativeCreated / 1000:7.1f}s {record.name} "
                f"{record.levelname}: {record.getMessage()}")
        if record.exc_info:  # the cause, which the walk's log may have cut (CI shows its end)
            line += "\n" + "".join(traceback.format_exception(*record.exc_info))[-2500:]
        self.lines.append(line)


RECORDS = _Records()


def _diagnosis(app: Any, d: Driver) -> dict[str, Any]:
    """What the relay and the kiosk's link were doing when a walk failed."""
    out: dict[str, Any] = {"relay_log": list(RECORDS.lines)}
    with contextlib.suppress(Exception):
        link = app.kiosk.link
        thread = link.client._thread
        out["link"] = {"connected": link.connected, "asked": sorted(link._asked),
                       "pending_login": link._pending_login,
                       "outbox": link.outbox.pending_count(),
                       "network_thread": thread is not None and thread.is_alive()}
    with contextlib.suppress(Exception):
        relay = d.back.system.relays[0]
        out["relay"] = dataclasses.asdict(relay.counters)
        out["desk"] = dataclasses.asdict(relay.logins.counters)
        out["desk_held"] = {t: {"items": len(h.items), "done": h.done, "login": h.login_id,
                                "started": h.started, "answered": h.answered}
                            for t, h in relay.logins._held.items()}
        out["deferred"] = len(relay._deferred)
        out["inbox"] = relay._inbox.qsize()
        out["desk_ready"], out["desk_busy"] = len(relay.logins._ready), relay.logins._busy
        out["threads"] = {t.name: t.is_alive() for t in relay._threads}
    return out


async def _drive(app: Any, d: Driver, walks: list[str], t_start: float) -> None:
    try:
        await d.until("the window and the idle screen", lambda: app.root is not None
                      and app.sm is not None and app.current == "idle", 30)
        d.check("cold_start_to_idle_s", round(d.met_at - t_start, 3))
        d.check("rss_idle_kb", _rss_kb())
        await d.until("the link is up", lambda: app.kiosk.online, 30)
        for name in walks:
            d.step(f"--- walk {name}")
            await WALKS[name](d)
            d.check(f"rss_after_{name}_kb", _rss_kb())
        d.result["ok"] = True
    except BaseException:  # report everything, including a failed assertion
        d.result["ok"] = False
        d.result["error"] = traceback.format_exc()
        d.result["screen"] = app.current if app.sm else None
        d.result["diagnosis"] = _diagnosis(app, d)
        if d.shots:
            with contextlib.suppress(Exception):
                app.screenshot(Path(tempfile.gettempdir()) / f"relais-ui-failure-{d.size}.png")
    finally:
        app.stop()


def main() -> int:
    args = _parse()
    logging.getLogger("relais").addHandler(RECORDS)
    width, height = (int(v) for v in args.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="relais-ui-"))
    os.environ.setdefault("KIVY_HOME", str(tmp / "kivy"))
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    result_path = Path(args.result)
    shots = Path(args.shots).resolve() if args.shots else None
    back = Backstage(tmp / "system")
    cut = None
    try:
        from kiosk_app.config import KioskConfig
        from tests.kiosk.netcut import NetCut

        cut = NetCut(back.system.cfg.mqtt_port)
        images = tmp / "images"
        _images(images)
        creds = back.system.demo.terminals["kiosk-1"]
        walks = [w for w in args.walks.split(",") if w]
        api_url = back.serve_console() if WITH_CONSOLE & set(walks) else None
        microphone = "none"  # a walk never listens to this machine's own microphone
        if "voice" in walks:
            from tests.kiosk.voice_walk import microphone_file

            microphone = str(microphone_file(tmp / "microphone"))
        cfg = KioskConfig(terminal="kiosk-1", password=creds["password"], mqtt_port=cut.port,
                          api_url=api_url,
                          width=width, height=height, idle_timeout=args.idle_timeout,
                          idle_warning=min(15.0, args.idle_timeout / 2), image_folder=str(images),
                          outbox=str(tmp / "outbox.db"), site="demo", microphone=microphone)
        from kiosk_app.ui.launch import prepare

        rss_before_app = _rss_kb()  # the system behind the kiosk lives in this process too
        t_start = time.perf_counter()
        prepare(cfg)
        from kiosk_app.ui.app import KioskApp

        app = KioskApp(cfg)
        d = Driver(app, back, cut, args.size, shots)
        d.away = args.away_timeout
        d.check("density", os.environ.get("KIVY_METRICS_DENSITY"))
        d.check("rss_before_app_kb", rss_before_app)

        async def both() -> None:
            task = asyncio.ensure_future(_drive(app, d, walks, t_start))
            await app.async_run(async_lib="asyncio")
            await task

        asyncio.run(both())
        result = d.result
    except BaseException:
        result = {"ok": False, "error": traceback.format_exc()}
    finally:
        if cut is not None:
            cut.close()
        back.close()
    result_path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "steps"}, indent=1,
                     ensure_ascii=False, default=str)[:6000])
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
