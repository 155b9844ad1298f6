"""Draws a few demo "photos" for the kiosk's image folder (used where a terminal has no
camera, by ``make run`` and by the tests). Run ``python -m assets.make_demo_photos``."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).with_name("demo_photos")


def _floor(seed: int, size: tuple[int, int] = (1024, 768)) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    rnd = random.Random(seed)
    img = Image.new("RGB", size, (150, 150, 145))
    d = ImageDraw.Draw(img)
    w, h = size
    d.rectangle((0, 0, w, h * 0.45), fill=(205, 210, 215))  # wall
    for _ in range(400):  # concrete speckle
        x, y = rnd.randrange(w), rnd.randrange(int(h * 0.45), h)
        g = rnd.randrange(120, 175)
        d.point((x, y), fill=(g, g, g - 4))
    d.rectangle((0, h * 0.86, w, h * 0.9), fill=(240, 200, 0))  # painted walkway line
    return img, d


def pallet() -> Image.Image:
    img, d = _floor(1)
    d.rectangle((300, 420, 720, 470), fill=(160, 110, 60))
    for x in (310, 490, 670):
        d.rectangle((x, 470, x + 40, 520), fill=(140, 95, 50))
    for row in range(3):
        for col in range(3):
            x, y = 310 + col * 135, 300 - row * 110
            d.rectangle((x, y, x + 128, y + 115), fill=(190, 150, 100), outline=(120, 90, 60), width=4)
    return img.filter(ImageFilter.GaussianBlur(1))


def machine() -> Image.Image:
    img, d = _floor(2)
    d.rectangle((220, 180, 800, 600), fill=(40, 110, 160), outline=(20, 50, 80), width=6)
    d.rectangle((280, 240, 520, 420), fill=(30, 40, 45))
    d.ellipse((600, 260, 700, 360), fill=(220, 30, 30), outline=(90, 0, 0), width=6)  # stop button
    d.rectangle((560, 440, 760, 480), fill=(240, 200, 0))
    return img.filter(ImageFilter.GaussianBlur(1))


def spill() -> Image.Image:
    img, d = _floor(3)
    d.ellipse((260, 470, 760, 650), fill=(60, 70, 90))
    d.ellipse((700, 560, 800, 610), fill=(60, 70, 90))
    d.polygon([(120, 680), (170, 560), (220, 680)], fill=(250, 120, 0))  # cone
    d.rectangle((135, 625, 205, 640), fill=(255, 255, 255))
    return img.filter(ImageFilter.GaussianBlur(1))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, make in (("palette", pallet), ("machine", machine), ("fuite", spill)):
        make().save(OUT / f"{name}.jpg", quality=85, optimize=True)
    print(f"demo photos written to {OUT}")


if __name__ == "__main__":
    main()
