"""Draws the kiosk's pictograms (white on transparent PNGs, tinted by the UI) with Pillow.

Run ``python -m assets.make_pictograms`` to regenerate ``assets/pictograms/*.png``; the PNGs
are kept in the repository so the kiosk never draws or downloads anything at start-up.
Shapes are drawn at 4x and scaled down, which gives clean anti-aliased edges. Every
pictogram is plain geometry so it reads at a glance from a metre away.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).with_name("pictograms")
SIZE = 128
S = SIZE * 4  # drawing scale
W = 44  # default line width at drawing scale
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)

Painter = Callable[[ImageDraw.ImageDraw], None]
PICTOGRAMS: dict[str, Painter] = {}


def pictogram(name: str) -> Callable[[Painter], Painter]:
    def register(fn: Painter) -> Painter:
        PICTOGRAMS[name] = fn
        return fn
    return register


def _line(d: ImageDraw.ImageDraw, points: list[tuple[float, float]], width: int = W) -> None:
    d.line(points, fill=WHITE, width=width, joint="curve")
    r = width / 2
    for x, y in (points[0], points[-1]):
        d.ellipse((x - r, y - r, x + r, y + r), fill=WHITE)


def _ring(d: ImageDraw.ImageDraw, box: tuple[float, float, float, float], width: int = W) -> None:
    d.ellipse(box, outline=WHITE, width=width)


def _dot(d: ImageDraw.ImageDraw, x: float, y: float, r: float) -> None:
    d.ellipse((x - r, y - r, x + r, y + r), fill=WHITE)


# --- quick replies ------------------------------------------------------------------------


@pictogram("ok")
def _ok(d: ImageDraw.ImageDraw) -> None:
    _line(d, [(100, 270), (210, 380), (420, 140)], 60)


@pictogram("thumb")
def _thumb(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((70, 230, 150, 440), 18, fill=WHITE)  # cuff
    d.rounded_rectangle((180, 220, 420, 440), 50, fill=WHITE)  # fist
    d.polygon([(190, 240), (250, 70), (300, 70), (320, 110), (300, 240)], fill=WHITE)  # thumb
    for y in (285, 335, 385):
        d.line([(330, y), (430, y)], fill=CLEAR, width=14)


@pictogram("clock")
def _clock(d: ImageDraw.ImageDraw) -> None:
    _ring(d, (56, 56, 456, 456))
    _line(d, [(256, 256), (256, 130)], 40)
    _line(d, [(256, 256), (350, 310)], 40)


@pictogram("help")
def _help(d: ImageDraw.ImageDraw) -> None:
    _ring(d, (56, 56, 456, 456))
    d.arc((176, 120, 336, 270), 180, 80, fill=WHITE, width=42)
    _line(d, [(300, 258), (256, 290), (256, 320)], 42)
    _dot(d, 256, 385, 28)


@pictogram("no")
def _no(d: ImageDraw.ImageDraw) -> None:
    _line(d, [(130, 130), (382, 382)], 60)
    _line(d, [(382, 130), (130, 382)], 60)


@pictogram("hand")
def _hand(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((150, 250, 390, 460), 60, fill=WHITE)
    for x, top in ((160, 120), (215, 70), (270, 80), (325, 120)):
        d.rounded_rectangle((x, top, x + 46, 300), 23, fill=WHITE)
    d.polygon([(150, 330), (80, 250), (110, 220), (190, 290)], fill=WHITE)


# --- navigation and actions -------------------------------------------------------------


@pictogram("back")
def _back(d: ImageDraw.ImageDraw) -> None:
    _line(d, [(420, 256), (110, 256)], 50)
    _line(d, [(240, 126), (110, 256), (240, 386)], 50)


@pictogram("logout")
def _logout(d: ImageDraw.ImageDraw) -> None:
    _line(d, [(250, 80), (90, 80), (90, 432), (250, 432)], 40)
    _line(d, [(200, 256), (440, 256)], 44)
    _line(d, [(350, 166), (440, 256), (350, 346)], 44)


@pictogram("message")
def _message(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((60, 90, 452, 360), 60, fill=WHITE)
    d.polygon([(140, 340), (130, 450), (250, 350)], fill=WHITE)
    for y in (180, 260):
        d.line([(130, y), (380, y)], fill=CLEAR, width=28)


@pictogram("new")
def _new(d: ImageDraw.ImageDraw) -> None:
    _line(d, [(256, 96), (256, 416)], 56)
    _line(d, [(96, 256), (416, 256)], 56)


@pictogram("keyboard")
def _keyboard(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((40, 130, 472, 390), 36, fill=WHITE)
    for row, y in enumerate((175, 235)):
        for i in range(6 - row):
            x = 85 + i * 62 + row * 30
            d.rounded_rectangle((x, y, x + 40, y + 36), 6, fill=CLEAR)
    d.rounded_rectangle((140, 305, 372, 340), 6, fill=CLEAR)


@pictogram("camera")
def _camera(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((50, 150, 462, 420), 40, fill=WHITE)
    d.rounded_rectangle((170, 100, 340, 180), 20, fill=WHITE)
    d.ellipse((166, 195, 346, 375), fill=CLEAR)
    d.ellipse((206, 235, 306, 335), fill=WHITE)


@pictogram("image")
def _image(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((50, 90, 462, 422), 30, outline=WHITE, width=36)
    d.polygon([(90, 390), (210, 230), (300, 330), (350, 280), (430, 390)], fill=WHITE)
    _dot(d, 350, 170, 36)


@pictogram("drawing")
def _drawing(d: ImageDraw.ImageDraw) -> None:
    d.polygon([(330, 70), (440, 180), (200, 420), (90, 310)], fill=WHITE)
    d.polygon([(90, 310), (200, 420), (60, 452)], fill=WHITE)
    d.line([(310, 110), (400, 200)], fill=CLEAR, width=20)


@pictogram("notices")
def _notices(d: ImageDraw.ImageDraw) -> None:
    d.pieslice((110, 80, 402, 420), 180, 360, fill=WHITE)
    d.rectangle((110, 250, 402, 360), fill=WHITE)
    d.polygon([(70, 380), (442, 380), (402, 330), (110, 330)], fill=WHITE)
    _dot(d, 256, 420, 40)
    _dot(d, 256, 70, 28)


@pictogram("send")
def _send(d: ImageDraw.ImageDraw) -> None:
    d.polygon([(60, 90), (460, 256), (60, 422), (120, 256)], fill=WHITE)
    d.line([(120, 256), (300, 256)], fill=CLEAR, width=24)


@pictogram("undo")
def _undo(d: ImageDraw.ImageDraw) -> None:
    d.arc((120, 130, 430, 430), 200, 100, fill=WHITE, width=48)
    d.polygon([(60, 170), (230, 120), (170, 300)], fill=WHITE)


@pictogram("clear")
def _clear(d: ImageDraw.ImageDraw) -> None:
    d.rectangle((80, 110, 432, 150), fill=WHITE)
    d.rounded_rectangle((200, 60, 312, 120), 16, fill=WHITE)
    d.polygon([(120, 170), (392, 170), (362, 452), (150, 452)], fill=WHITE)
    for x in (205, 256, 307):
        d.line([(x, 210), (x, 410)], fill=CLEAR, width=22)


@pictogram("close")
def _close(d: ImageDraw.ImageDraw) -> None:
    _line(d, [(120, 120), (392, 392)], 52)
    _line(d, [(392, 120), (120, 392)], 52)


@pictogram("person")
def _person(d: ImageDraw.ImageDraw) -> None:
    _dot(d, 256, 160, 96)
    d.pieslice((76, 280, 436, 620), 180, 360, fill=WHITE)


@pictogram("badge")
def _badge(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((96, 60, 416, 452), 36, fill=WHITE)
    d.rounded_rectangle((206, 90, 306, 120), 12, fill=CLEAR)
    d.ellipse((196, 160, 316, 280), fill=CLEAR)
    d.pieslice((156, 300, 356, 480), 180, 360, fill=CLEAR)


@pictogram("lock")
def _lock(d: ImageDraw.ImageDraw) -> None:
    d.arc((140, 60, 372, 300), 180, 360, fill=WHITE, width=46)
    d.line([(163, 180), (163, 240)], fill=WHITE, width=46)
    d.line([(349, 180), (349, 240)], fill=WHITE, width=46)
    d.rounded_rectangle((90, 220, 422, 460), 36, fill=WHITE)
    d.rounded_rectangle((236, 300, 276, 400), 20, fill=CLEAR)


@pictogram("warning")
def _warning(d: ImageDraw.ImageDraw) -> None:
    d.polygon([(256, 50), (470, 440), (42, 440)], fill=WHITE)
    d.rounded_rectangle((234, 170, 278, 330), 20, fill=CLEAR)
    d.ellipse((230, 356, 282, 408), fill=CLEAR)


@pictogram("offline")
def _offline(d: ImageDraw.ImageDraw) -> None:
    for r in (200, 130):
        d.arc((256 - r, 330 - r, 256 + r, 330 + r), 215, 325, fill=WHITE, width=40)
    _dot(d, 256, 360, 40)
    _line(d, [(90, 90), (422, 422)], 40)


@pictogram("outbox")
def _outbox(d: ImageDraw.ImageDraw) -> None:  # an hourglass: waiting to leave
    d.rectangle((110, 60, 402, 100), fill=WHITE)
    d.rectangle((110, 412, 402, 452), fill=WHITE)
    d.polygon([(150, 100), (362, 100), (280, 256), (362, 412), (150, 412), (232, 256)], fill=WHITE)
    d.polygon([(190, 130), (322, 130), (256, 230)], fill=CLEAR)


@pictogram("held")
def _held(d: ImageDraw.ImageDraw) -> None:  # a shield: waiting for HR
    d.polygon([(256, 50), (430, 110), (410, 300), (256, 460), (102, 300), (82, 110)], fill=WHITE)
    d.line([(180, 250), (240, 310), (340, 190)], fill=CLEAR, width=36, joint="curve")


@pictogram("delivered")
def _delivered(d: ImageDraw.ImageDraw) -> None:
    _line(d, [(100, 270), (210, 380), (420, 140)], 50)


@pictogram("read")
def _read(d: ImageDraw.ImageDraw) -> None:
    _line(d, [(40, 270), (140, 370), (330, 150)], 44)
    _line(d, [(230, 340), (260, 370), (470, 150)], 44)


@pictogram("refused")
def _refused(d: ImageDraw.ImageDraw) -> None:
    _ring(d, (56, 56, 456, 456), 48)
    _line(d, [(130, 382), (382, 130)], 48)


@pictogram("retracted")
def _retracted(d: ImageDraw.ImageDraw) -> None:  # an eraser
    d.polygon([(300, 60), (460, 220), (250, 430), (90, 270)], fill=WHITE)
    d.polygon([(170, 190), (330, 350), (250, 430), (90, 270)], fill=CLEAR)
    d.line([(170, 190), (330, 350), (250, 430), (90, 270), (170, 190)], fill=WHITE, width=26)
    d.line([(60, 460), (460, 460)], fill=WHITE, width=26)


@pictogram("sent")
def _sent(d: ImageDraw.ImageDraw) -> None:  # accepted by the relay: an arrow up and away
    _line(d, [(256, 440), (256, 100)], 50)
    _line(d, [(130, 226), (256, 100), (382, 226)], 50)


@pictogram("backspace")
def _backspace(d: ImageDraw.ImageDraw) -> None:
    d.polygon([(40, 256), (170, 110), (472, 110), (472, 402), (170, 402)], fill=WHITE)
    d.line([(250, 190), (380, 320)], fill=CLEAR, width=40)
    d.line([(380, 190), (250, 320)], fill=CLEAR, width=40)


@pictogram("shift")
def _shift(d: ImageDraw.ImageDraw) -> None:
    d.polygon([(256, 60), (460, 270), (350, 270), (350, 440), (162, 440), (162, 270), (52, 270)],
              fill=WHITE)


@pictogram("zoom")
def _zoom(d: ImageDraw.ImageDraw) -> None:
    _ring(d, (60, 60, 340, 340), 44)
    _line(d, [(320, 320), (450, 450)], 60)


@pictogram("check_all")
def _check_all(d: ImageDraw.ImageDraw) -> None:  # "J'ai lu": an eye
    d.chord((40, 130, 472, 480), 200, 340, fill=WHITE)
    d.chord((40, 30, 472, 380), 20, 160, fill=WHITE)
    d.ellipse((176, 176, 336, 336), fill=CLEAR)
    _dot(d, 256, 256, 50)


@pictogram("listen")
def _listen(d: ImageDraw.ImageDraw) -> None:  # a loudspeaker and two sound waves
    d.rectangle((60, 196, 150, 316), fill=WHITE)
    d.polygon([(140, 196), (260, 96), (260, 416), (140, 316)], fill=WHITE)
    for r in (90, 170):
        d.arc((250 - r, 256 - r, 250 + r, 256 + r), 300, 60, fill=WHITE, width=40)


@pictogram("microphone")
def _microphone(d: ImageDraw.ImageDraw) -> None:  # a capsule on a stand
    d.rounded_rectangle((186, 60, 326, 300), radius=70, fill=WHITE)
    d.arc((126, 150, 386, 360), 0, 180, fill=WHITE, width=34)
    d.rectangle((239, 355, 273, 430), fill=WHITE)
    d.rectangle((170, 420, 342, 452), fill=WHITE)


@pictogram("play")
def _play(d: ImageDraw.ImageDraw) -> None:  # a triangle pointing right
    d.polygon([(150, 90), (420, 256), (150, 422)], fill=WHITE)


@pictogram("pause")
def _pause(d: ImageDraw.ImageDraw) -> None:  # two bars
    d.rectangle((140, 100, 225, 412), fill=WHITE)
    d.rectangle((287, 100, 372, 412), fill=WHITE)


@pictogram("stop")
def _stop(d: ImageDraw.ImageDraw) -> None:  # a square
    d.rounded_rectangle((130, 130, 382, 382), radius=24, fill=WHITE)


def render(name: str) -> Image.Image:
    img = Image.new("RGBA", (S, S), CLEAR)
    PICTOGRAMS[name](ImageDraw.Draw(img))
    return img.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name in sorted(PICTOGRAMS):
        render(name).save(OUT / f"{name}.png", optimize=True)
    print(f"{len(PICTOGRAMS)} pictograms written to {OUT}")


if __name__ == "__main__":
    main()
