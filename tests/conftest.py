"""Fixtures shared by the whole suite; each lives in a module named for what it starts."""

from tests.system_fixture import db_url, system  # noqa: F401
