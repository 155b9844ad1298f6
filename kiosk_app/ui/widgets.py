"""The kiosk's own widgets: big buttons with pictograms, bubbles, drawings, keyboards.

Layout and looks live in ``widgets.kv``; this module holds behaviour only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Line, Rectangle
from kivy.graphics.texture import Texture
from kivy.metrics import dp, sp
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    DictProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.recycleview import RecycleView
from kivy.uix.widget import Widget

from kiosk_app import media
from kiosk_app.config import ASSETS
from kiosk_app.ui import theme

PICTOGRAMS = ASSETS / "pictograms"


def pictogram(name: str) -> str:
    path = PICTOGRAMS / f"{name}.png"
    return str(path if path.exists() else PICTOGRAMS / "message.png")


def hex_colour(value: str) -> tuple[float, float, float, float]:
    value = value.lstrip("#")
    return (int(value[0:2], 16) / 255, int(value[2:4], 16) / 255, int(value[4:6], 16) / 255, 1.0)


def texture_from(pixels: media.Pixels) -> Texture:
    tex = Texture.create(size=(pixels.width, pixels.height), colorfmt="rgba")
    tex.blit_buffer(pixels.rgba, colorfmt="rgba", bufferfmt="ubyte")
    tex.flip_vertical()  # Pillow's first row is the top; OpenGL's is the bottom
    return tex


class KLabel(Label):
    """A label that wraps to its width and grows to its text (the usual Kivy dance)."""


class Pictogram(Image):
    name = StringProperty("")


class LevelBar(Widget):
    """A bar filled to ``value`` (0..1): a voice message's loudness while recording, or how
    far it has played."""

    value = NumericProperty(0.0)
    colour = ColorProperty(theme.SUCCESS)


DOWN_ON = "relais.row"  # what a touch came down on in a recycled list (its ``ud`` key)


class RecycledList(RecycleView):
    """A recycled list (Home, New message) whose rows open conversations. A new message
    re-binds the widgets under a finger to other rows, and the list passes a touch on to a
    row only once it knows the touch is not a scroll (a quarter of a second later): so it
    notes which person or group was under the finger when it came down (``DOWN_ON``), and
    a row opens only that one (``RecycledRow``)."""

    def on_touch_down(self, touch: Any) -> bool:
        if self.collide_point(*touch.pos) and self.layout_manager is not None:
            x, y = self.to_local(*touch.pos)  # the rows scroll: they live in the list's frame
            for row in self.layout_manager.children:
                if isinstance(row, RecycledRow) and row.collide_point(x, y):
                    touch.ud[DOWN_ON] = row.shows()
                    break
        return super().on_touch_down(touch)


class RecycledRow:
    """A row of a ``RecycledList`` that opens a conversation: its ``open`` and the person
    or group it shows come from the row's data. A touch opens only what it came down on:
    if the row shows someone else by the time the finger lifts, the touch does nothing (as
    a rebuilt list's lost touch did), never someone else's conversation."""

    contact_id = NumericProperty(0)
    group_id = NumericProperty(0)
    open = ObjectProperty(None, allownone=True)

    def shows(self) -> tuple[int, int]:
        return (self.contact_id, self.group_id)

    def on_release(self) -> None:
        touch = getattr(self, "last_touch", None)
        came_down_on = touch.ud.get(DOWN_ON) if touch is not None else None
        if self.open is not None and came_down_on == self.shows():
            self.open()


class IconButton(ButtonBehavior, AnchorLayout):
    """A button with a pictogram beside its word. At least 48 dp in both directions.

    The word keeps its natural width while it fits and is shortened with an ellipsis only
    when the button is too narrow; ``content_width`` is what the button needs to show it all.
    """

    icon = StringProperty("")
    text = StringProperty("")
    bg_color = ColorProperty(theme.PRIMARY)
    fg_color = ColorProperty(theme.ON_DARK)
    font_size = NumericProperty(dp(theme.FONT))
    icon_size = NumericProperty(dp(36))
    halign = OptionProperty("left", options=["left", "center", "right"])
    badge = StringProperty("")  # a count shown in a red disc (unread, to do)
    text_width = NumericProperty(0)  # the word's natural width
    content_width = NumericProperty(0)  # padding + pictogram + word + badge

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(text=self._measure, font_size=self._measure)
        self._measure()

    def _measure(self, *_: Any) -> None:
        if not self.text:
            self.text_width = 0
            return
        lines = self.text.split("\n")
        label = CoreLabel(font_size=self.font_size, bold=True)
        self.text_width = max(label.get_extents(line)[0] for line in lines) + dp(2)


class Avatar(Label):
    """A person's initials in a disc: recognisable without reading."""

    full_name = StringProperty("")


def initials(name: str) -> str:
    parts = [p for p in name.replace("(", " ").replace(")", " ").split() if p[:1].isalpha()]
    return "".join(p[0].upper() for p in parts[:2]) or "?"


class DrawingView(Widget):
    """Draws a wire drawing scaled to fit, centred, on white: the same strokes, caps and
    colours as ``media.render_drawing`` (the console's and the tests' reference)."""

    drawing = DictProperty({})
    background = ColorProperty((1, 1, 1, 1))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(drawing=self._redraw, size=self._redraw, pos=self._redraw)

    def _redraw(self, *_: Any) -> None:
        self.canvas.clear()
        d = self.drawing
        if not d or not d.get("strokes") or self.width < 2 or self.height < 2:
            return
        w, h = float(d.get("w") or 1), float(d.get("h") or 1)
        scale = min(self.width / w, self.height / h)
        ox = self.x + (self.width - w * scale) / 2
        top = self.top - (self.height - h * scale) / 2
        with self.canvas:
            Color(*self.background)
            Rectangle(pos=(ox, top - h * scale), size=(w * scale, h * scale))
            for stroke in d["strokes"]:
                _stroke(stroke.get("c", "#111111"), stroke.get("w", 4) * scale,
                        [(ox + x * scale, top - y * scale) for x, y in _pairs(stroke.get("p", []))])


def _pairs(flat: Sequence[int]) -> list[tuple[float, float]]:
    return [(float(flat[i]), float(flat[i + 1])) for i in range(0, len(flat) - 1, 2)]


def _stroke(colour: str, thickness: float, points: list[tuple[float, float]]) -> None:
    """One stroke in the current canvas. Kivy's ``Line.width`` is half the thickness."""
    if not points:
        return
    Color(*hex_colour(colour))
    half = max(thickness / 2, 0.5)
    if len(points) == 1:
        x, y = points[0]
        points = [(x, y), (x + 0.01, y)]
    Line(points=[c for p in points for c in p], width=half, cap="round", joint="round")


class DrawingPad(Widget):
    """Finger drawing. Strokes are kept in screen pixels (y down from the pad's top) and
    turned into the wire format by ``media.build_drawing`` when sent."""

    colour = StringProperty(media.PALETTE[0])
    width_units = NumericProperty(media.WIDTHS[1])  # canvas units, as sent
    stroke_count = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.strokes: list[media.RawStroke] = []
        self._current: list[tuple[float, float]] | None = None
        self._current_style: tuple[str, float] = (self.colour, 0.0)
        self.bind(size=self._redraw, pos=self._redraw)

    def _px_per_unit(self) -> float:
        return max(self.width, self.height) / media.DRAWING_LONG_SIDE if self.width else 1.0

    def _local(self, touch: Any) -> tuple[float, float]:
        x = min(max(touch.x - self.x, 0), self.width)
        y = min(max(self.top - touch.y, 0), self.height)
        return (x, y)

    def on_touch_down(self, touch: Any) -> bool:
        if not self.collide_point(*touch.pos):
            return super().on_touch_down(touch)
        touch.grab(self)
        self._current = [self._local(touch)]
        self._current_style = (self.colour, self.width_units * self._px_per_unit())
        self._redraw()
        return True

    def on_touch_move(self, touch: Any) -> bool:
        if touch.grab_current is not self or self._current is None:
            return super().on_touch_move(touch)
        self._current.append(self._local(touch))
        self._redraw()
        return True

    def on_touch_up(self, touch: Any) -> bool:
        if touch.grab_current is not self or self._current is None:
            return super().on_touch_up(touch)
        touch.ungrab(self)
        colour, width = self._current_style
        self.strokes.append(media.RawStroke(colour, width, tuple(self._current)))
        self._current = None
        self.stroke_count = len(self.strokes)
        self._redraw()
        return True

    def undo(self) -> None:
        if self.strokes:
            self.strokes.pop()
            self.stroke_count = len(self.strokes)
            self._redraw()

    def clear(self) -> None:
        self.strokes.clear()
        self._current = None
        self.stroke_count = 0
        self._redraw()

    def to_drawing(self) -> dict[str, Any]:
        return media.build_drawing(self.strokes, self.width, self.height)

    def _redraw(self, *_: Any) -> None:
        self.canvas.clear()
        with self.canvas:
            Color(1, 1, 1, 1)
            Rectangle(pos=self.pos, size=self.size)
            for s in self.strokes:
                _stroke(s.colour, s.width, [(self.x + x, self.top - y) for x, y in s.points])
            if self._current:
                colour, width = self._current_style
                _stroke(colour, width, [(self.x + x, self.top - y) for x, y in self._current])


class PhotoThumb(ButtonBehavior, Image):
    """A photo decoded with the media guards; tapping it asks to enlarge it."""

    photo = ObjectProperty(None, allownone=True)  # JPEG bytes
    max_side = NumericProperty(480)

    def on_photo(self, *_: Any) -> None:
        self.texture = None
        if not self.photo:
            return
        try:
            self.texture = texture_from(media.pixels_for_display(self.photo, int(self.max_side)))
        except media.PhotoError:
            self.source = pictogram("warning")


class StateLine(BoxLayout):
    """The state of a sent message: a pictogram and a word, never colour alone."""

    icon = StringProperty("")
    text = StringProperty("")
    color = ColorProperty(theme.TEXT_MUTED)
    text_width = NumericProperty(0)  # the words on one line; wider than the bubble wraps

    def on_text(self, _self: Any, text: str) -> None:
        label = CoreLabel(font_size=sp(theme.FONT_SMALL), bold=True)
        self.text_width = (label.get_extents(text)[0] + dp(4)) if text else 0


class Bubble(BoxLayout):
    mine = BooleanProperty(False)
    stamp = StringProperty("")
    msg_id = StringProperty("")


class BubbleRow(BoxLayout):
    mine = BooleanProperty(False)


class Keyboard(BoxLayout):
    """An on-screen keyboard with big keys: AZERTY in French, QWERTY in English, accents
    on their own keys (no long presses with gloves)."""

    lang = StringProperty("fr")
    shift = BooleanProperty(False)
    symbols = BooleanProperty(False)
    rows = ListProperty([])

    LAYOUTS: dict[str, list[list[str]]] = {
        "fr": [list("azertyuiop") + ["⌫"], list("qsdfghjklm") + ["é"],
               ["⇧"] + list("wxcvbn") + ["è", "à", "ç", "'"], ["123", ",", " ", ".", "?", "!"]],
        "en": [list("qwertyuiop") + ["⌫"], list("asdfghjkl") + ["'", "-"],
               ["⇧"] + list("zxcvbnm") + [",", ".", "?"], ["123", "@", " ", "!", ":"]],
    }
    SYMBOLS: list[list[str]] = [list("1234567890") + ["⌫"], list("-/:;()€&@\"") + ["ê"],
                                ["⇧", "%", "+", "=", "*", "#", "ù", "û", "ô", "î", "ë"],
                                ["ABC", ",", " ", ".", "?", "!"]]

    __events__ = ("on_text", "on_backspace")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(lang=self._layout, symbols=self._layout)
        self._layout()

    def _layout(self, *_: Any) -> None:
        self.rows = self.SYMBOLS if self.symbols else self.LAYOUTS.get(self.lang, self.LAYOUTS["fr"])
        self.clear_widgets()
        for keys in self.rows:
            row = BoxLayout(spacing=dp(4))
            for key in keys:
                row.add_widget(KeyButton(key=key, keyboard=self,
                                         size_hint_x=5 if key == " " else 1.5 if len(key) > 1 else 1))
            self.add_widget(row)

    def press(self, key: str) -> None:
        if key == "⌫":
            self.dispatch("on_backspace")
        elif key == "⇧":
            self.shift = not self.shift
        elif key in ("123", "ABC"):
            self.symbols = not self.symbols
        else:
            self.dispatch("on_text", key.upper() if self.shift else key)
            self.shift = False

    def on_text(self, text: str) -> None:
        pass

    def on_backspace(self) -> None:
        pass



class KeyButton(ButtonBehavior, Label):
    key = StringProperty("")
    keyboard = ObjectProperty(None)

    def on_release(self) -> None:
        self.keyboard.press(self.key)


class PinPad(BoxLayout):
    """Digits for a PIN: 3 x 4 large keys, the code shown as dots."""

    code = StringProperty("")
    max_digits = NumericProperty(8)
    __events__ = ("on_submit",)

    def press(self, key: str) -> None:
        if key == "⌫":
            self.code = self.code[:-1]
        elif key == "OK":
            if self.code:
                self.dispatch("on_submit", self.code)
        elif key.isdigit() and len(self.code) < self.max_digits:
            self.code += key

    def on_submit(self, code: str) -> None:
        pass
