"""Photo normalisation and drawing helpers (kiosk_app.media): Pillow only, no display."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from kiosk_app import media
from kiosk_app.media import PhotoError, RawStroke, build_drawing, normalise_photo, simplify
from relais_wire import limits
from relais_wire.drawing import parse_drawing
from tests.kiosk import photos


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _markers(jpeg: bytes) -> set[int]:
    """The JPEG segment markers before the image data (APP1 = EXIF/XMP, APP2 = ICC, COM)."""
    found, i = set(), 2
    while i + 4 <= len(jpeg) and jpeg[i] == 0xFF:
        marker = jpeg[i + 1]
        found.add(marker)
        if marker == 0xDA:  # start of scan: metadata is over
            break
        i += 2 + int.from_bytes(jpeg[i + 2:i + 4], "big")
    return found


def _check_sendable(out: bytes) -> Image.Image:
    assert out.startswith(b"\xff\xd8\xff")
    assert len(out) <= limits.MAX_PHOTO_BYTES
    img = _open(out)
    assert img.format == "JPEG" and img.mode == "RGB"
    assert max(img.size) <= limits.MAX_PHOTO_SIDE
    assert not img.getexif()
    assert not {0xE1, 0xE2, 0xFE} & _markers(out), "EXIF, ICC or a comment survived"
    return img


def test_twelve_megapixel_photo_with_gps_is_shrunk_and_stripped() -> None:
    raw = photos.jpeg(photos.camera_like((4000, 3000)), gps=True, comment=b"secret place")
    assert len(raw) > limits.MAX_PHOTO_BYTES
    img = _check_sendable(normalise_photo(raw))
    assert img.size == (1280, 960)


def test_exif_orientation_is_applied() -> None:
    # Stored landscape, left half red; orientation 6 means "rotate 90 degrees clockwise to view".
    src = Image.new("RGB", (400, 200), (0, 0, 255))
    src.paste((255, 0, 0), (0, 0, 200, 200))
    img = _check_sendable(normalise_photo(photos.jpeg(src, orientation=6)))
    assert img.size == (200, 400)
    top, bottom = img.getpixel((100, 20)), img.getpixel((100, 380))
    assert top[0] > 200 and top[2] < 60, top  # the red half is on top once rotated
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_cmyk_jpeg_becomes_rgb_with_the_right_colours() -> None:
    src = Image.new("CMYK", (300, 300), (0, 255, 255, 0))  # pure red in CMYK
    out = io.BytesIO()
    src.save(out, "JPEG", quality=95)
    img = _check_sendable(normalise_photo(out.getvalue()))
    r, g, b = img.getpixel((150, 150))
    assert r > 200 and g < 60 and b < 60


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    src = Image.new("I;16", (300, 200), 32768)  # mid-grey on 16 bits
    img = _check_sendable(normalise_photo(photos.png(src)))
    r, g, b = img.getpixel((150, 100))
    assert 110 < r < 145 and r == g == b


def test_transparency_becomes_white() -> None:
    src = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    src.paste((0, 128, 0, 255), (0, 0, 100, 200))
    img = _check_sendable(normalise_photo(photos.png(src)))
    assert img.getpixel((250, 100)) >= (250, 250, 250)
    assert img.getpixel((50, 100))[1] > 100


def test_noise_that_does_not_compress_still_fits() -> None:
    src = Image.effect_noise((1280, 1280), 120).convert("RGB")
    merged = Image.merge("RGB", (src.getchannel(0), src.getchannel(0).rotate(90),
                                 src.getchannel(0).transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    _check_sendable(normalise_photo(photos.png(merged)))


def test_first_frame_of_an_animation() -> None:
    frames = [Image.new("P", (64, 64), i) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    _check_sendable(normalise_photo(out.getvalue()))


def test_normalising_twice_changes_nothing_that_matters() -> None:
    once = normalise_photo(photos.jpeg(photos.camera_like((2000, 1500))))
    twice = normalise_photo(once)
    assert _open(once).size == _open(twice).size
    assert len(twice) <= limits.MAX_PHOTO_BYTES


@pytest.mark.parametrize(("data", "code"), [
    (b"", "empty"),
    (b"hello, this is not a picture" * 10, "not_image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not_image"),
    (b"%PDF-1.4\n", "not_image"),
    (photos.png_header_bomb(), "too_many_pixels"),
    (photos.png_header_bomb(9000, 9000), "too_many_pixels"),
    (photos.png_header_bomb(4, 4), "too_small"),
])
def test_hostile_or_broken_input_is_refused_clearly(data: bytes, code: str) -> None:
    with pytest.raises(PhotoError) as info:
        normalise_photo(data)
    assert info.value.code == code
    fr, en = info.value.message("fr"), info.value.message("en")
    assert fr and en and fr != en


def test_truncated_jpeg_is_refused() -> None:
    raw = photos.jpeg(photos.camera_like((800, 600)))
    with pytest.raises(PhotoError) as info:
        normalise_photo(raw[: len(raw) // 2])
    assert info.value.code == "damaged"
    assert "abîmée" in info.value.message("fr")


def test_compressed_bomb_is_refused_before_decoding() -> None:
    # 100 megapixels of a single colour: a few kilobytes on disk, 400 MB once decoded.
    out = io.BytesIO()
    Image.new("1", (10000, 10000), 0).save(out, "PNG", optimize=True)
    assert len(out.getvalue()) < 200_000
    with pytest.raises(PhotoError) as info:
        normalise_photo(out.getvalue())
    assert info.value.code == "too_many_pixels"


def test_oversized_input_file_is_refused_unread() -> None:
    with pytest.raises(PhotoError) as info:
        normalise_photo(b"\xff\xd8\xff" + b"\0" * (media.MAX_INPUT_BYTES + 1))
    assert info.value.code == "too_large"


def test_pixels_for_display_applies_the_same_guards() -> None:
    px = media.pixels_for_display(photos.jpeg(photos.camera_like((1600, 1200))), 300)
    assert (px.width, px.height) == (300, 225) and len(px.rgba) == 300 * 225 * 4
    with pytest.raises(PhotoError):
        media.pixels_for_display(photos.png_header_bomb(), 300)


# --- drawings -------------------------------------------------------------------------------


def _scribble(n: int, x0: float = 10, y0: float = 10) -> tuple[tuple[float, float], ...]:
    import math

    return tuple((x0 + i * 2.5, y0 + 60 + 50 * math.sin(i / 9)) for i in range(n))


def test_simplify_keeps_corners_and_drops_collinear_points() -> None:
    line = [(float(i), 0.0) for i in range(100)] + [(99.0, float(j)) for j in range(1, 50)]
    out = simplify(line, 0.5)
    assert out == [(0.0, 0.0), (99.0, 0.0), (99.0, 49.0)]


def test_build_drawing_scales_to_the_canvas_and_passes_the_contract() -> None:
    strokes = [RawStroke("#D32F2F", 10, _scribble(200)),
               RawStroke("#111111", 4, ((300.0, 300.0),))]  # a dot
    drawing = build_drawing(strokes, 760, 380)
    parsed = parse_drawing(drawing)
    assert (parsed.width, parsed.height) == (800, 400)
    assert parsed.strokes[0].colour == "#d32f2f"
    assert len(parsed.strokes[0].points) < 200 * 2  # simplified
    assert parsed.strokes[1].points == (316, 316)


def test_build_drawing_stays_within_the_point_limit() -> None:
    many = [RawStroke("#111111", 4, _scribble(400, y0=i * 3)) for i in range(40)]  # 16 000 points
    drawing = build_drawing(many, 1200, 700)
    assert sum(len(s["p"]) for s in drawing["strokes"]) // 2 <= limits.DRAWING_MAX_POINTS
    parse_drawing(drawing)


def test_empty_drawing_is_refused() -> None:
    with pytest.raises(ValueError):
        build_drawing([], 100, 100)


def test_a_typical_drawing_is_a_few_kilobytes() -> None:
    # An arrow, a circle and a word-sized scribble, as a person would draw on a shop floor.
    import math

    circle = tuple((400 + 120 * math.cos(a / 20), 200 + 120 * math.sin(a / 20)) for a in range(126))
    arrow = tuple((60 + i * 4.0, 350 - i * 2.0) for i in range(60)) + ((300, 230), (280, 260))
    drawing = build_drawing([RawStroke("#d32f2f", 10, circle), RawStroke("#111111", 10, arrow),
                             RawStroke("#1565c0", 4, _scribble(150, 500, 300))], 760, 420)
    size = len(json.dumps(drawing, separators=(",", ":")))
    assert size < 4096, size


def test_render_drawing_matches_the_strokes() -> None:
    drawing = {"w": 100, "h": 50, "strokes": [{"c": "#d32f2f", "w": 10, "p": [10, 25, 90, 25]}]}
    img = media.render_drawing(drawing, max_side=200)
    assert img.size == (200, 100)
    assert img.getpixel((100, 50)) == (0xD3, 0x2F, 0x2F)
    assert img.getpixel((100, 10)) == (255, 255, 255)
    # y grows downwards: a stroke near y=0 is drawn at the top of the picture.
    top = media.render_drawing({"w": 100, "h": 50, "strokes": [{"c": "#111111", "w": 4,
                                                                "p": [0, 2, 100, 2]}]}, 100)
    assert top.getpixel((50, 2)) == (0x11, 0x11, 0x11)
