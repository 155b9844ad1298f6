"""Fixtures shared by the whole suite; each lives in a module named for what it starts."""

from tests.broker_fixture import broker  # noqa: F401  (a real Mosquitto, see tests/broker_fixture.py)
from tests.system_fixture import db_url, pg_url, system  # noqa: F401  (a whole installation)
from tests.web_fixture import console  # noqa: F401  (the console on a real database)
