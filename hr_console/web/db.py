"""The console's unit of work: one database session per use, from the app's Store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.orm import Session

from hr_console.config import Settings
from hr_console.store.db import Store


def store() -> Store:
    return current_app.extensions["relais_store"]


def settings() -> Settings:
    return current_app.config["RELAIS"]


@contextmanager
def uow() -> Iterator[Session]:
    with store().session() as s:
        yield s
