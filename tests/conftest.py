"""Fixtures shared by the whole suite; each lives in a module named for what it starts."""

import os

from tests.broker_fixture import broker  # noqa: F401  (a real Mosquitto, see tests/broker_fixture.py)
from tests.system_fixture import db_url, pg_url, system  # noqa: F401  (a whole installation)
from tests.web_fixture import console  # noqa: F401  (the console on a real database)

# The suite reads the command line's English (hr_console/cli/i18n.py follows the shell's
# locale; tests/cli/test_cli_french.py sets the French it wants): a developer's French shell,
# or a CI machine in French, must not fail it. LANGUAGE, the first variable gettext reads,
# changes nothing else (encodings, number formats) for the processes the tests start.
os.environ["LANGUAGE"] = "C"
