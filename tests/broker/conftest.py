"""Broker tests: no mosquitto_sub outlives its test, even when the test fails half-way."""

from collections.abc import Iterator

import pytest

from tests.mosquitto_clients import stop_all


@pytest.fixture(autouse=True)
def _no_stray_clients() -> Iterator[None]:
    yield
    stop_all()
