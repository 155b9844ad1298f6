"""relais_wire.topics: every topic name, built in one place, and the terminal-name rule."""

from __future__ import annotations

import pytest

from relais_wire import topics


@pytest.mark.parametrize("name", ["a", "0", "kiosk-1", "atelier-b-2", "9lives", "a" * 32, "a-"])
def test_valid_names(name):
    assert topics.valid_terminal_name(name)
    assert topics.check_terminal_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "+",
        "#",
        "kiosk+1",
        "kiosk#",
        "a/b",
        "/",
        "Kiosk",
        "KIOSK",
        "kiosK",
        "a" * 33,
        "-kiosk",
        "_relay",  # reserved prefix for server clients
        "kiosk 1",
        "kiosk_1",
        "kiosk.1",
        "kïosk",
        "kiosk\n",  # '$' alone would let a trailing newline through
        "\nkiosk",
        "kiosk\x00",
        "١٢",  # non-ASCII digits
    ],
)
def test_invalid_names(name):
    assert not topics.valid_terminal_name(name)
    with pytest.raises(ValueError, match="invalid terminal name"):
        topics.check_terminal_name(name)


def test_name_length_boundary():
    assert topics.valid_terminal_name("k" * 32)
    assert not topics.valid_terminal_name("k" * 33)


def test_builders():
    assert topics.uplink("kiosk-1") == "relais/v1/t/kiosk-1/up"
    assert topics.downlink("kiosk-1") == "relais/v1/t/kiosk-1/down"
    assert topics.status("kiosk-1") == "relais/v1/t/kiosk-1/status"


@pytest.mark.parametrize("builder", [topics.uplink, topics.downlink, topics.status])
@pytest.mark.parametrize("name", ["+", "#", "a/b", "A", "", "a" * 33, "-a"])
def test_builders_refuse_bad_names(builder, name):
    with pytest.raises(ValueError):
        builder(name)


def test_constants():
    assert topics.PREFIX == "relais/v1"
    assert topics.ALL_UPLINKS == "relais/v1/t/+/up"
    assert topics.ALL_STATUS == "relais/v1/t/+/status"
    assert topics.SHARED_UPLINKS == "$share/relais/relais/v1/t/+/up"
    assert topics.ONLINE == b"online"
    assert topics.OFFLINE == b"offline"
    # A terminal name can never take the reserved server prefix.
    assert not topics.valid_terminal_name(topics.RELAY_USER_PREFIX + "relay")


@pytest.mark.parametrize("builder", [topics.uplink, topics.downlink, topics.status])
def test_terminal_of_round_trip(builder):
    assert topics.terminal_of(builder("kiosk-7")) == "kiosk-7"


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "relais/v1/t/kiosk/up/extra",  # six levels
        "relais/v1/t/kiosk",  # four levels
        "relais/v2/t/kiosk/up",  # wrong version
        "other/v1/t/kiosk/up",  # wrong root
        "relais/v1/x/kiosk/up",  # wrong third level
        "relais/v1/t/kiosk/sideways",  # unknown leaf
        "relais/v1/t/kiosk/UP",
        "relais/v1/t/+/up",  # a wildcard is not a terminal
        "relais/v1/t/#/up",
        "relais/v1/t/Kiosk/up",
        "relais/v1/t//up",
        "relais/v1/t/-kiosk/down",
        "relais/v1/t/" + "a" * 33 + "/status",
        "$share/relais/relais/v1/t/+/up",
    ],
)
def test_terminal_of_foreign_topics(topic):
    assert topics.terminal_of(topic) is None
