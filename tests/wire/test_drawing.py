"""relais_wire.drawing: every rule of the vector drawing format, and its JSON round trip."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from relais_wire import WireError, decode_uplink, encode, envelope, limits
from relais_wire.drawing import Drawing, Stroke, parse_drawing

ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def stroke(c="#000000", w=2, p=(0, 0, 10, 5)) -> dict:
    return {"c": c, "w": w, "p": list(p)}


def drawing(w=10, h=5, strokes=None) -> dict:
    return {"w": w, "h": h, "strokes": [stroke()] if strokes is None else strokes}


def refused(obj, field: str) -> WireError:
    with pytest.raises(WireError) as info:
        parse_drawing(obj)
    err = info.value
    assert (err.code, err.field, err.ref) == ("bad_drawing", field, None), err.message
    return err


# --- the valid shape --------------------------------------------------------------------


def test_parses_to_frozen_dataclasses():
    d = parse_drawing(drawing(strokes=[stroke("#A0b1C2", 1, (0, 0)), stroke(w=40)]))
    assert d == Drawing(
        width=10,
        height=5,
        strokes=(
            Stroke(colour="#a0b1c2", width=1, points=(0, 0)),
            Stroke(colour="#000000", width=40, points=(0, 0, 10, 5)),
        ),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.width = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.strokes[0].colour = "#ffffff"  # type: ignore[misc]


def test_ignores_unknown_keys_and_does_not_mutate_input():
    obj = drawing(strokes=[{**stroke(), "pressure": [1, 2]}])
    obj["bg"] = "#ffffff"
    before = copy.deepcopy(obj)
    parse_drawing(obj)
    assert obj == before


def test_to_json_round_trip():
    obj = drawing(w=2000, h=1, strokes=[stroke("#ABCDEF", 7, (2000, 1, 0, 0, 5, 1))])
    d = parse_drawing(obj)
    out = d.to_json()
    assert out == {"w": 2000, "h": 1, "strokes": [{"c": "#abcdef", "w": 7, "p": [2000, 1, 0, 0,
                                                                                5, 1]}]}
    assert parse_drawing(json.loads(json.dumps(out))) == d
    assert parse_drawing(out).to_json() == out


def test_round_trip_inside_an_envelope():
    d = parse_drawing(drawing())
    env = envelope("drawing", id=ID, ts=1, sid=SID, seq=1, to=2, drawing=d.to_json())
    assert decode_uplink(encode(env)).body.drawing == d


# --- the object and its dimensions ------------------------------------------------------


@pytest.mark.parametrize("obj", [None, [], "drawing", 3, True, [drawing()]])
def test_must_be_an_object(obj):
    refused(obj, "drawing")


@pytest.mark.parametrize("key", ["w", "h"])
@pytest.mark.parametrize("value", [None, 0, -1, limits.DRAWING_MAX_SIDE + 1, True, False,
                                   10.0, "10", [10]])
def test_bad_dimensions(key, value):
    obj = drawing()
    obj[key] = value
    err = refused(obj, f"drawing.{key}")
    assert "1 to 2000" in err.message


@pytest.mark.parametrize("key", ["w", "h"])
def test_missing_dimension(key):
    obj = drawing()
    del obj[key]
    refused(obj, f"drawing.{key}")


def test_dimension_bounds():
    assert parse_drawing(drawing(w=1, h=1, strokes=[stroke(p=(1, 1))])).width == 1
    big = parse_drawing(drawing(w=2000, h=2000, strokes=[stroke(p=(2000, 2000))]))
    assert (big.width, big.height) == (2000, 2000)


# --- the strokes list -------------------------------------------------------------------


@pytest.mark.parametrize("strokes", [None, [], {}, {"0": stroke()}, "strokes", 1, (stroke(),)])
def test_strokes_must_be_a_non_empty_list(strokes):
    obj = drawing()
    obj["strokes"] = strokes
    refused(obj, "drawing.strokes")


def test_strokes_missing():
    obj = drawing()
    del obj["strokes"]
    refused(obj, "drawing.strokes")


def test_stroke_count():
    at_limit = [stroke(p=(0, 0))] * limits.DRAWING_MAX_STROKES
    assert len(parse_drawing(drawing(strokes=at_limit)).strokes) == 300
    err = refused(drawing(strokes=at_limit + [stroke(p=(0, 0))]), "drawing.strokes")
    assert "at most 300 strokes" in err.message


@pytest.mark.parametrize("item", [None, [], "#000000", 1, [stroke()]])
def test_stroke_must_be_an_object(item):
    refused(drawing(strokes=[stroke(), item]), "drawing.strokes[1]")


# --- one stroke -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "colour",
    [None, 0, 0x112233, ["#000000"], "", "red", "#12345", "#1234567", "#gggggg", "123456",
     "#12 456", "# 123456", "#aabbcc\n", "\n#aabbcc", "#ａａｂｂｃｃ", "#\u0661\u0662\u0663456"],
)
def test_bad_colour(colour):
    refused(drawing(strokes=[stroke(), stroke(c=colour)]), "drawing.strokes[1].c")


def test_colour_missing():
    s = stroke()
    del s["c"]
    refused(drawing(strokes=[s]), "drawing.strokes[0].c")


@pytest.mark.parametrize("width", [None, 0, -3, limits.DRAWING_MAX_WIDTH + 1, True, False, 2.0,
                                   "2", [2]])
def test_bad_width(width):
    err = refused(drawing(strokes=[stroke(w=width)]), "drawing.strokes[0].w")
    assert "1 to 40" in err.message


def test_width_missing():
    s = stroke()
    del s["w"]
    refused(drawing(strokes=[s]), "drawing.strokes[0].w")


@pytest.mark.parametrize("width", [limits.DRAWING_MIN_WIDTH, limits.DRAWING_MAX_WIDTH])
def test_width_bounds(width):
    assert parse_drawing(drawing(strokes=[stroke(w=width)])).strokes[0].width == width


@pytest.mark.parametrize("points", [None, "0,0", {"x": 0}, 5, (0, 0), [], [1], [1, 2, 3],
                                    [0, 0, 1, 1, 2]])
def test_points_must_be_an_even_list(points):
    s = stroke()
    s["p"] = points
    err = refused(drawing(strokes=[s]), "drawing.strokes[0].p")
    assert "pairs" in err.message


def test_points_missing():
    s = stroke()
    del s["p"]
    refused(drawing(strokes=[s]), "drawing.strokes[0].p")


def test_point_count_is_for_all_strokes_together():
    half = limits.DRAWING_MAX_POINTS // 2
    s = stroke(p=[0, 0] * half)
    assert len(parse_drawing(drawing(strokes=[s, s])).strokes) == 2  # exactly 6000 points
    err = refused(drawing(strokes=[s, s, stroke(p=(0, 0))]), "drawing.strokes[2].p")
    assert "at most 6000 points" in err.message
    refused(drawing(strokes=[stroke(p=[0, 0] * (limits.DRAWING_MAX_POINTS + 1))]),
            "drawing.strokes[0].p")


@pytest.mark.parametrize(
    "points, index",
    [
        ([11, 0], 0),  # x beyond the width
        ([0, 6], 1),  # y beyond the height
        ([5, 10], 1),  # y is checked against the height, not the width
        ([-1, 0], 0),
        ([0, -1], 1),
        ([0, 0, 10, 5, 10, 6], 5),
        ([True, 0], 0),  # a bool is not a coordinate
        ([0, False], 1),
        ([1.0, 0], 0),
        ([0, 1.5], 1),
        (["1", 0], 0),
        ([None, 0], 0),
        ([[1], 0], 0),
        ([0, 10**100], 1),
    ],
)
def test_points_outside_the_canvas(points, index):
    err = refused(drawing(w=10, h=5, strokes=[stroke(), stroke(p=points)]),
                  "drawing.strokes[1].p")
    assert f"p[{index}]" in err.message


def test_canvas_edges_are_inclusive():
    d = parse_drawing(drawing(w=10, h=5, strokes=[stroke(p=(0, 0, 10, 5, 10, 0, 0, 5))]))
    assert d.strokes[0].points == (0, 0, 10, 5, 10, 0, 0, 5)


def test_first_error_wins():
    bad = [stroke(c="x"), stroke(w=0)]
    refused(drawing(strokes=bad), "drawing.strokes[0].c")
    refused({"w": 0, "h": 0, "strokes": []}, "drawing.w")
    refused({"w": 1, "h": 0, "strokes": []}, "drawing.h")
