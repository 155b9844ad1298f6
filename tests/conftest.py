"""Fixtures shared by the whole suite; each lives in a module named for what it starts."""

import atexit
import os
import shutil
import tempfile
from typing import Any

import pytest

from broker_config import ports
from tests import suite_plan
from tests.broker_fixture import broker  # noqa: F401  (a real Mosquitto, see tests/broker_fixture.py)
from tests.clean_tree import tree
from tests.system_fixture import db_url, pg_url, system  # noqa: F401  (a whole installation)
from tests.web_fixture import console  # noqa: F401  (the console on a real database)

# The suite reads the command line's English (hr_console/cli/i18n.py follows the shell's
# locale; tests/cli/test_cli_french.py sets the French it wants): a developer's French shell,
# or a CI machine in French, must not fail it. LANGUAGE, the first variable gettext reads,
# changes nothing else (encodings, number formats) for the processes the tests start.
os.environ["LANGUAGE"] = "C"
# Kivy writes its config.ini and logs under KIVY_HOME (~/.kivy by default) at its first
# import: each process of the suite, and what it starts, gets one of its own, never the
# developer's, never one both processes write at once. The processes xdist starts inherit
# the environment of the one that loaded this first: one inherited from it is replaced.
if os.environ.get("KIVY_HOME") in (None, os.environ.get("RELAIS_SUITE_KIVY_HOME")):
    _kivy_home = tempfile.mkdtemp(prefix="relais-kivy-")
    os.environ["KIVY_HOME"] = os.environ["RELAIS_SUITE_KIVY_HOME"] = _kivy_home
    atexit.register(shutil.rmtree, _kivy_home, True)
# Two processes running the suite side by side (tests/suite_plan.py) draw free ports from
# two halves of the span, they and what they start: never the same port picked by both.
if os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw"):
    os.environ[ports.SHARE_ENV] = (f"{int(os.environ['PYTEST_XDIST_WORKER'][2:])}/"
                                   f"{os.environ.get('PYTEST_XDIST_WORKER_COUNT', '2')}")


# --- `make test` runs the suite in two processes (tests/suite_plan.py) -----------------------


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    return suite_plan.scheduler(config, log) if config.getvalue("dist") == "loadfile" else None


def pytest_sessionstart(session: pytest.Session) -> None:
    if tree.parallel(session.config) and not tree.worker(session.config):
        session.config.stash[tree.BEFORE] = tree.state()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The clean-tree check of a shared run, once both processes are done."""
    config = session.config
    if not tree.parallel(config) or tree.worker(config) or tree.BEFORE not in config.stash:
        return
    problem = tree.left_dirty(config.stash[tree.BEFORE], tree.state())
    if problem is not None:
        config.get_terminal_writer().line(f"clean tree check FAILED: {problem}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
